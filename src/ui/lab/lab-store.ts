/**
 * The lab's state: the device, the Train form, the current run and its curve, stored runs and
 * samples. A thin shell around `transition` (lab-machine.ts): every action and worker message is
 * an event; the store keeps the state it returns and carries out its effects (posting requests,
 * the training lock, preparing the data). It talks to the training worker by messages only
 * (LabRequest / LabEvent) and to the Data store for the tokenizer and datasets; tests drive it in
 * Node with fakes for both.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { settingsProblems } from '../../train/defaults';
import { nextRequestId, type LabErrorKind } from '../../train/protocol';
import { messageOf } from '../../util/errors';
import type { DataState } from '../data/data-store';
import { sourceFormFor } from '../data/source-form';
import { prepareData } from './first-run';
import { initialLabData, labEstimate, transition, type LabEffect, type LabMachineEvent } from './lab-machine';
import { isBusy, type LabDeps, type LabState } from './lab-state';

export * from './lab-state';

/** The vocabulary of the Data store's tokenizer when one is ready. */
const vocabOf = (data: DataState) => (data.tokenizer.status === 'ready' ? (data.tokenizer.vocabSize ?? null) : null);

export function createLabStore(deps: LabDeps): StoreApi<LabState> {
  const now = deps.now ?? (() => performance.now());
  /**
   * The training lock's release function, which no state can hold: it lives here, and the state's
   * `book.lock` says when it is held ('held' exactly while this shell keeps a release to call).
   */
  let releaseLock: (() => void) | null = null;

  const store = createStore<LabState>()((_set, get) => ({
    ...initialLabData(vocabOf(deps.data.getState())),

    init() {
      const hasWebGpu = deps.hasWebGpu?.() ?? true;
      fire({ type: 'tokenizer', vocabSize: vocabOf(deps.data.getState()) });
      fire({ type: 'init', hasWebGpu, requestId: nextRequestId() });
    },
    setForm: (patch) => fire({ type: 'set-form', patch }),
    problems: () => settingsProblems(get().form, get().device.report?.limits),
    estimate: () => labEstimate(get()),
    stepElapsedMs() {
      const started = get().stepStartedAt;
      return started === null || !isBusy(get().phase) ? null : now() - started;
    },
    setMeasuredSpeed: (speed) => fire({ type: 'measured-speed', speed }),
    setPlanNotes: (notes) => fire({ type: 'plan-notes', notes }),

    async confirmTrain() {
      if (!get().confirm) return;
      await get().train({ confirmed: true });
    },
    cancelTrain: () => fire({ type: 'cancel-train' }),

    async train(run) {
      const startId = nextRequestId();
      await dispatch({ type: 'train', at: now(), startId, run });
      return get().started?.startId === startId ? startId : null;
    },
    pause: () => fire({ type: 'pause' }),
    stop: () => fire({ type: 'stop' }),
    resume: (runId) => dispatch({ type: 'resume', at: now(), runId }),
    open: (runId) => fire({ type: 'open', runId, requestId: nextRequestId() }),
    generate: (options) => fire({ type: 'generate', options, requestIds: [nextRequestId(), nextRequestId()] }),
    deleteRun: (runId) => fire({ type: 'delete-run', runId, requestId: nextRequestId() }),
    exportRun: (runId, options) => fire({ type: 'export-run', runId, full: options?.full, requestId: nextRequestId() }),
    importRun: (files, source) => fire({ type: 'import-run', files, source, requestId: nextRequestId() }),
    prepareRunData: (runId) => fire({ type: 'prepare-run-data', runId, requestId: nextRequestId() }),
    dismissError: () => fire({ type: 'dismiss-error' }),
  }));

  const { setState: set, getState: get } = store;

  /**
   * Feeds one event to the machine, keeps its state and carries out its effects; resolves when the
   * effects (and the events they answer with) are done, so train() resolves once the start is sent.
   */
  async function dispatch(event: LabMachineEvent): Promise<void> {
    const before = get();
    const { state, effects } = transition(before, event);
    if (state !== before) set(state);
    await Promise.all(effects.map(run));
  }

  /** An event nobody awaits: an effect that fails (a post, a tokenizer import) is shown, never lost. */
  function fire(event: LabMachineEvent): void {
    dispatch(event).catch((error: unknown) => set({ error: { kind: 'internal', message: messageOf(error) } }));
  }

  async function run(effect: LabEffect): Promise<void> {
    switch (effect.type) {
      case 'post':
        deps.worker.post(effect.request);
        return;
      case 'take-lock': {
        // Without a lock (tests, a page without Web Locks) a run may always start.
        const release = deps.trainingLock ? await deps.trainingLock() : () => {};
        releaseLock = release;
        return dispatch({ type: 'lock', held: release !== null, at: now() });
      }
      case 'release-lock':
        releaseLock?.();
        releaseLock = null;
        return;
      case 'cancel-data':
        deps.data.getState().cancelTokenizer();
        deps.data.getState().cancel();
        return;
      case 'prepare-data':
        return prepare(effect.defaultVocab, effect.datasetId);
      case 'download':
        deps.download(effect.folderName, effect.files);
        return;
      case 'use-run-tokenizer': {
        const { tokenizerJson, dataset } = effect;
        await deps.data.getState().importTokenizer(tokenizerJson);
        // Only if the tokenizer is still that one: the Data tab then names what to tokenize with it.
        if (dataset && deps.data.getState().tokenizer.json === tokenizerJson)
          deps.data.getState().setSourceForm(sourceFormFor(dataset.source, dataset.maxTokens));
        return;
      }
    }
  }

  async function prepare(defaultVocab: number, datasetId: string): Promise<void> {
    let answer: LabMachineEvent;
    try {
      const prepared = await prepareData(deps.data, {
        defaultVocab,
        datasetId,
        bundledUrl: deps.bundledUrl(),
        onStage: (stage) => fire({ type: 'stage', stage }),
        stopped: () => get().book.stopRequested,
      });
      answer = {
        type: 'prepared',
        at: now(),
        vocabSize: prepared.vocabSize,
        datasetId: prepared.dataset.id,
        tokenizerJson: prepared.tokenizerJson,
      };
    } catch (error) {
      const kind = (error as { kind?: LabErrorKind }).kind ?? 'data';
      answer = { type: 'prepare-failed', kind, message: messageOf(error) };
    }
    return dispatch(answer);
  }

  deps.worker.subscribe((event) => {
    fire({ type: 'worker', event, at: now(), requestId: nextRequestId() });
  });
  // The one store the lab listens to: the Data store owns the tokenizer and knows nothing of the lab.
  deps.data.subscribe((state, previous) => {
    if (state.tokenizer !== previous.tokenizer) fire({ type: 'tokenizer', vocabSize: vocabOf(state) });
  });
  return store;
}
