/**
 * The IsoFLOP sweep's queue: points train one after another through the lab store (as if the user
 * pressed Train with the point's settings), each waited for until its run is done or failed, and
 * the state is saved after every change, so a reload continues where the sweep stopped.
 *
 * A point that was training when the page went away is RESUMED from its last checkpoint (the lab
 * keeps it as an unfinished run); if that run is gone, the point starts over. A run the user paused
 * from the Train tab pauses the sweep; "Continue" resumes that run. Cancel stops the current run
 * and forgets its partial result (a stopped run's loss is not the budget's).
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { isBusy, type LabState } from '../lab/lab-store';
import {
  type SweepDefinition,
  type SweepPoint,
  type SweepState,
  pointName,
  pointSettings,
  sweepPoints,
} from './sweep-plan';
import { messageOf } from '../../util/errors';

/** The part of the lab store a sweep uses (tests pass a fake). */
export type LabView = Pick<LabState, 'phase' | 'run' | 'started' | 'error' | 'device' | 'train' | 'resume' | 'stop'>;

export interface SweepLab {
  getState(): LabView;
  subscribe(listener: (state: LabView) => void): () => void;
}

export interface SweepStorage {
  load(): Promise<SweepState | undefined>;
  save(state: SweepState | undefined): Promise<void>;
}

export interface SweepStoreState {
  sweep: SweepState | null;
  /** The stored sweep has been read (before that, Start would overwrite an unknown one). */
  loaded: boolean;
  /** Index of the point training now. */
  current: number | null;
  error: string | null;
  /** init() has been called (a second call does nothing). */
  initialized: boolean;
  /** The loop that trains the points one after another is running (Start or Continue joins it). */
  driving: boolean;

  /** Reads the stored sweep and continues it when it was running. */
  init(): Promise<void>;
  start(definition: SweepDefinition): void;
  /** Continues a paused or cancelled sweep (the point that was interrupted starts again or resumes). */
  proceed(): void;
  cancel(): void;
  /** Forgets the sweep and its results. */
  clear(): void;
}

/** A point's run: resumed by id, or started (the start's id; null when the lab sent none). */
type RunOf = { runId: string } | { startId: number | null };

type Outcome =
  | { kind: 'done'; valLoss?: number }
  | { kind: 'error'; message: string }
  | { kind: 'paused' }
  | { kind: 'interrupted' };

export function createSweepStore(deps: { lab: SweepLab; storage: SweepStorage }): StoreApi<SweepStoreState> {
  const { lab, storage } = deps;
  let saving: Promise<void> = Promise.resolve();

  const store = createStore<SweepStoreState>()((set, get) => ({
    sweep: null,
    loaded: false,
    current: null,
    error: null,
    initialized: false,
    driving: false,

    async init() {
      if (get().initialized) return;
      set({ initialized: true });
      try {
        const stored = await storage.load();
        if (stored && !get().sweep) set({ sweep: stored });
      } catch (error) {
        set({ error: `The saved sweep could not be read (${messageOf(error)}).` });
      }
      set({ loaded: true });
      if (get().sweep?.status === 'running') void drive();
    },

    start(definition) {
      if (get().sweep?.status === 'running') return;
      update({ definition, points: sweepPoints(definition), status: 'running' });
      set({ error: null });
      void drive();
    },

    proceed() {
      const sweep = get().sweep;
      if (!sweep || sweep.status === 'running' || sweep.status === 'done') return;
      update({ ...sweep, status: 'running' });
      void drive();
    },

    cancel() {
      const sweep = get().sweep;
      if (!sweep || sweep.status !== 'running') return;
      update({ ...sweep, status: 'cancelled' });
      const index = get().current;
      const { phase, run } = lab.getState();
      const runId = index === null ? undefined : sweep.points[index]?.runId;
      if (run && runId !== undefined && run.id === runId && (phase === 'running' || phase === 'pausing'))
        lab.getState().stop();
    },

    clear() {
      if (get().sweep?.status === 'running') get().cancel();
      set({ sweep: null, error: null });
      persist(undefined);
    },
  }));

  const { getState: get, setState: set } = store;

  function persist(state: SweepState | undefined) {
    // Saves in order, so an older state never lands after a newer one.
    saving = saving
      .then(() => storage.save(state))
      .catch((error) =>
        set({ error: `The sweep could not be saved (${messageOf(error)}); it goes on, but a reload would lose it.` }),
      );
  }

  function update(sweep: SweepState) {
    set({ sweep });
    persist(sweep);
  }

  function patchPoint(index: number, patch: Partial<SweepPoint>) {
    const sweep = get().sweep!;
    update({ ...sweep, points: sweep.points.map((p, i) => (i === index ? { ...p, ...patch } : p)) });
  }

  const running = () => get().sweep?.status === 'running';

  async function drive(): Promise<void> {
    if (get().driving) return;
    set({ driving: true });
    try {
      while (running()) {
        const sweep = get().sweep!;
        const index = sweep.points.findIndex((p) => p.status === 'pending' || p.status === 'running');
        if (index < 0) {
          update({ ...sweep, status: 'done' });
          break;
        }
        // The device probe comes first; another run (the user's own) may be training: wait for both.
        await until((s) => s.device.status !== 'probing' && !isBusy(s.phase));
        if (!running()) break;
        if (lab.getState().device.status === 'unavailable') {
          update({ ...get().sweep!, status: 'paused' });
          set({ error: 'The sweep needs WebGPU, and this page has no GPU device now (see the Train tab).' });
          break;
        }
        set({ current: index });
        await runPoint(index);
      }
    } finally {
      set({ driving: false, current: null });
    }
  }

  async function runPoint(index: number): Promise<void> {
    const { definition, points } = get().sweep!;
    const point = points[index]!;
    const resuming = point.status === 'running' && point.runId !== undefined;
    // The point's run is known by its id: the one resumed, or the one the lab's start answered with.
    let run: RunOf;
    if (resuming) {
      await lab.getState().resume(point.runId);
      run = { runId: point.runId! };
    } else {
      patchPoint(index, { status: 'running', runId: undefined, message: undefined });
      // The name is only the run's label in the lab's list.
      const name = pointName(definition, point);
      run = { startId: await lab.getState().train({ settings: pointSettings(definition, point), name }) };
    }
    const outcome = await outcomeOf(run, (runId) => {
      if (get().sweep?.points[index]?.runId !== runId) patchPoint(index, { runId });
    });
    if (!running() || outcome.kind === 'interrupted') {
      // Cancelled: the stopped run's loss is not this budget's; the point trains again on Continue.
      patchPoint(index, { status: 'pending', runId: undefined });
      return;
    }
    switch (outcome.kind) {
      case 'done':
        if (outcome.valLoss === undefined)
          patchPoint(index, { status: 'error', message: 'the run ended without a validation loss' });
        else patchPoint(index, { status: 'done', valLoss: outcome.valLoss });
        return;
      case 'paused':
        update({ ...get().sweep!, status: 'paused' });
        return;
      case 'error':
        // A run that could not be resumed (deleted, damaged) starts over once; a fresh one that fails is reported.
        if (resuming) patchPoint(index, { status: 'pending', runId: undefined });
        else patchPoint(index, { status: 'error', message: outcome.message });
        return;
    }
  }

  /** Waits for the point's run to end; reports its id as soon as the lab knows it. */
  function outcomeOf(target: RunOf, onRunId: (runId: string) => void): Promise<Outcome> {
    return new Promise((resolve) => {
      let settled = false;
      let known = 'runId' in target ? target.runId : null;
      const check = () => {
        if (settled) return;
        const s = lab.getState();
        if (known === null && 'startId' in target && target.startId !== null && s.started?.startId === target.startId)
          known = s.started.runId;
        const ours = known !== null && s.run?.id === known;
        if (ours && known !== null) onRunId(known);
        if (settled) return; // onRunId's update ran check again
        // Cancelled while the run was still being prepared: stop it as soon as it trains.
        if (!running() && ours && s.phase === 'running') s.stop();
        let outcome: Outcome | null = null;
        if (!running() && !isBusy(s.phase)) outcome = { kind: 'interrupted' };
        else if (ours && s.phase === 'done') outcome = { kind: 'done', valLoss: s.run!.lastValLoss };
        else if (ours && s.phase === 'error')
          outcome = { kind: 'error', message: s.run!.message ?? s.error?.message ?? 'the run failed' };
        // Stopped from the Train tab mid-point: its loss is not the budget's; the sweep waits like a pause.
        else if (ours && (s.phase === 'paused' || s.phase === 'stopped')) outcome = { kind: 'paused' };
        // Not ours and idle: the start failed before the run existed (bad settings, data, GPU).
        else if (!ours && !isBusy(s.phase))
          outcome = { kind: 'error', message: s.error?.message ?? 'the run did not start' };
        if (!outcome) return;
        settled = true;
        stopLab();
        stopSelf();
        resolve(outcome);
      };
      const stopLab = lab.subscribe(check);
      // Cancel while the lab is idle must end the wait too.
      const stopSelf = store.subscribe(check);
      check();
    });
  }

  function until(done: (s: LabView) => boolean): Promise<void> {
    return new Promise((resolve) => {
      if (done(lab.getState())) return resolve();
      const stop = lab.subscribe((s) => {
        if (!done(s)) return;
        stop();
        resolve();
      });
    });
  }

  return store;
}
