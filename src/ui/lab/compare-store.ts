/**
 * Which saved runs the loss chart overlays on the current one, their curves (asked of the training
 * worker with 'load-run' under this store's own request ids, so the lab store's current run is left
 * alone), and how the chart is drawn (x-axis, smoothing, log scale). Picks and view survive a reload;
 * on a return visit with nothing picked and no current run, the latest run's curve is shown.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import {
  nextRequestId,
  type EvalPoint,
  type LabEvent,
  type LabRequest,
  type RunSummary,
  type StepPoint,
} from '../../train/protocol';
import type { WorkerClient } from '../data/worker-client';
import { SMOOTHING } from './chart-data';
import type { CompareRun, XAxisKind } from './compare-data';
import { isBusy, type LabState } from './lab-state';

export interface History {
  status: 'loading' | 'ready';
  steps: StepPoint[];
  evals: EvalPoint[];
  /** The summary's updatedAt and checkpoint step it was loaded at: a newer one asks again. */
  version: string;
}

export interface CompareView {
  axis: XAxisKind;
  /** EMA weight, 0 (raw) to 0.99. */
  smoothing: number;
  /** Log scale on y, and on x when it is tokens or FLOPs. */
  log: boolean;
  /** The points as an HTML table instead of the chart. */
  table: boolean;
}

export interface CompareState extends CompareView {
  /** Saved runs the user picked to overlay, in the order picked. */
  picked: string[];
  /** The run the page picked itself (the latest, on a return visit); dropped once a run is current. */
  autoPicked: string | null;
  histories: Record<string, History>;
  toggle: (runId: string, on: boolean) => void;
  setView: (patch: Partial<CompareView>) => void;
}

export interface CompareDeps {
  worker: WorkerClient<LabRequest, LabEvent>;
  lab: StoreApi<LabState>;
  /** Where picks and view are kept between visits (localStorage on a page); none in tests that need none. */
  storage?: Pick<Storage, 'getItem' | 'setItem'> | null;
}

const KEY = 'gpt-garden-compare';
const DEFAULT_VIEW: CompareView = { axis: 'step', smoothing: SMOOTHING, log: false, table: false };

function version(run: RunSummary): string {
  return `${run.updatedAt}:${run.checkpointStep}`;
}

/** What was saved, checked field by field: a damaged or old entry falls back to the defaults. */
function restore(storage: CompareDeps['storage']): { picked: string[] } & CompareView {
  let saved: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(storage?.getItem(KEY) ?? '{}');
    if (parsed && typeof parsed === 'object') saved = parsed as Record<string, unknown>;
  } catch {
    // Unreadable: start from the defaults.
  }
  const axis = saved.axis === 'tokens' || saved.axis === 'flops' ? saved.axis : 'step';
  const smoothing =
    typeof saved.smoothing === 'number' && saved.smoothing >= 0 && saved.smoothing <= 0.99
      ? saved.smoothing
      : DEFAULT_VIEW.smoothing;
  const picked = Array.isArray(saved.picked) ? saved.picked.filter((id): id is string => typeof id === 'string') : [];
  return { axis, smoothing, log: saved.log === true, table: saved.table === true, picked };
}

export function createCompareStore(deps: CompareDeps): StoreApi<CompareState> {
  /** This store's load-run requests: request id -> run id. */
  const loading = new Map<number, string>();
  let autoDone = false;

  const store = createStore<CompareState>()((set, get) => ({
    ...restore(deps.storage),
    autoPicked: null,
    histories: {},

    toggle(runId, on) {
      const picked = get().picked.filter((id) => id !== runId);
      // Touching the page's own pick makes it the user's (kept, or gone); other picks leave it the page's.
      set({
        picked: on ? [...picked, runId] : picked,
        autoPicked: get().autoPicked === runId ? null : get().autoPicked,
      });
      save();
      sync();
    },

    setView(patch) {
      set(patch);
      save();
    },
  }));
  const { getState: get, setState: set } = store;

  function save() {
    const { picked, autoPicked, axis, smoothing, log, table } = get();
    try {
      // A page-made pick is not the user's: the next visit picks the latest again.
      deps.storage?.setItem(
        KEY,
        JSON.stringify({ picked: picked.filter((id) => id !== autoPicked), axis, smoothing, log, table }),
      );
    } catch {
      // Storage full or refused: the view just is not remembered.
    }
  }

  function load(run: RunSummary) {
    const requestId = nextRequestId();
    loading.set(requestId, run.id);
    set({
      histories: { ...get().histories, [run.id]: { status: 'loading', steps: [], evals: [], version: version(run) } },
    });
    deps.worker.post({ type: 'load-run', runId: run.id, requestId });
  }

  /** Asks for each picked run's curve once, and again when the run has moved on since. */
  function sync() {
    const lab = deps.lab.getState();
    for (const id of get().picked) {
      const run = lab.runs.find((r) => r.id === id);
      // The current run's curve is the lab store's own, live.
      if (!run || lab.run?.id === id) continue;
      const history = get().histories[id];
      if (!history || (history.status === 'ready' && history.version !== version(run))) load(run);
    }
  }

  /** A return visit: the latest run with a curve is shown, once, unless the user has picks or a run is current. */
  function autoPick() {
    const lab = deps.lab.getState();
    if (autoDone || lab.runs.length === 0) return;
    autoDone = true;
    if (get().picked.length > 0 || lab.run || isBusy(lab.phase)) return;
    const latest = lab.runs
      .filter((r) => r.checkpointStep > 0)
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))[0];
    if (latest) set({ picked: [latest.id], autoPicked: latest.id });
  }

  deps.lab.subscribe((lab, before) => {
    if (lab.runs === before.runs && lab.run === before.run) return;
    autoPick();
    const { autoPicked } = get();
    // Once the user trains or opens a run, the page's own pick gives way to it.
    if (autoPicked && lab.run && lab.run.id !== autoPicked)
      set({ picked: get().picked.filter((id) => id !== autoPicked), autoPicked: null });
    sync();
  });

  deps.worker.subscribe((event) => {
    if (!('requestId' in event) || event.requestId === undefined || !loading.has(event.requestId)) return;
    const runId = loading.get(event.requestId)!;
    if (event.type === 'history') {
      loading.delete(event.requestId);
      const old = get().histories[runId];
      if (old)
        set({
          histories: {
            ...get().histories,
            [runId]: { ...old, status: 'ready', steps: event.steps, evals: event.evals },
          },
        });
    } else if (event.type === 'error') {
      // The run is gone (deleted in another tab): it is no longer picked.
      loading.delete(event.requestId);
      const { [runId]: _gone, ...histories } = get().histories;
      set({ histories, picked: get().picked.filter((id) => id !== runId) });
      save();
    }
  });

  autoPick();
  sync();
  return store;
}

/**
 * The runs the chart draws: the current one (live from the lab store) first, then each picked run
 * whose curve has arrived, by the order picked.
 */
export function shownRuns(
  lab: Pick<LabState, 'run' | 'runs' | 'steps' | 'evals'>,
  compare: Pick<CompareState, 'picked' | 'histories'>,
): CompareRun[] {
  const out: CompareRun[] = [];
  const { run } = lab;
  if (run && (lab.steps.length > 0 || lab.evals.length > 0))
    out.push({ id: run.id, name: run.name, settings: run.settings, steps: lab.steps, evals: lab.evals });
  for (const id of compare.picked) {
    if (id === run?.id) continue;
    const summary = lab.runs.find((r) => r.id === id);
    const history = compare.histories[id];
    if (!summary || history?.status !== 'ready') continue;
    out.push({ id, name: summary.name, settings: summary.settings, steps: history.steps, evals: history.evals });
  }
  return out;
}
