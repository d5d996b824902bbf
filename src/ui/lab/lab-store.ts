/**
 * The lab's state: the device, the Train form, the current run and its curve, stored runs and
 * samples. It talks to the training worker by messages only (LabRequest / LabEvent) and to the
 * Data store for the tokenizer and datasets; tests drive it in Node with fakes for both.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { settingsProblems } from '../../train/defaults';
import {
  nextRequestId,
  type LabErrorKind,
  type LabEvent,
  type LabRequest,
  type RunSettings,
  type RunSummary,
} from '../../train/protocol';
import { MAX_LOG_LINES } from '../../train/train-log';
import { CONFIRM_SECONDS, confirmMessage, runEstimate } from './estimate';
import { messageOf } from '../../util/errors';
import { prepareData } from './first-run';
import { runFiles } from './run-files';
import {
  ANOTHER_TAB_TRAINS,
  IDLE_SAMPLE,
  initialForm,
  isBusy,
  NO_WEBGPU,
  type LabDeps,
  type LabPhase,
  type LabState,
  type SampleState,
  type SampleWeights,
} from './lab-state';

export * from './lab-state';

export function createLabStore(deps: LabDeps): StoreApi<LabState> {
  const now = deps.now ?? (() => performance.now());
  let initialized = false;
  let pressedAt: number | null = null;
  /** Stop was pressed while preparing: nothing starts, or what the worker is starting stops at once. */
  let stopRequested = false;
  /** The import sent (its id): the run it answers with becomes the current one. */
  let importing: number | null = null;
  /** Ids of this store's other requests: an error carrying one is ours to show; others' (speed probe, profile) are not. */
  const asked = new Set<number>();
  /** The training lock's release while this tab prepares or trains a run; null when not held. */
  let releaseLock: (() => void) | null = null;

  /** Takes the lock (true), or says another tab trains (false). */
  async function takeLock(): Promise<boolean> {
    if (releaseLock || !deps.trainingLock) return true;
    releaseLock = await deps.trainingLock();
    if (!releaseLock) set({ error: { kind: 'config', message: ANOTHER_TAB_TRAINS } });
    return releaseLock !== null;
  }
  /** Which sample each request id fills; samples run one after another (the worker caches one model). */
  const requests = new Map<number, SampleWeights>();
  const queued: LabRequest[] = [];

  const store = createStore<LabState>()((set, get) => ({
    device: { status: 'probing', report: null },
    form: initialForm(),
    formEdited: false,
    phase: 'idle',
    stage: null,
    run: null,
    runs: [],
    damagedRuns: [],
    steps: [],
    evals: [],
    log: null,
    checkpointStep: 0,
    firstStepMs: null,
    stepStartedAt: null,
    measuredSpeed: null,
    confirm: null,
    planNotes: [],
    error: null,
    samples: { current: IDLE_SAMPLE, initial: IDLE_SAMPLE },

    init() {
      if (initialized) return;
      initialized = true;
      if (deps.hasWebGpu && !deps.hasWebGpu())
        set({ device: { status: 'unavailable', report: { ok: false, reason: NO_WEBGPU } } });
      else deps.worker.post({ type: 'probe' });
      ask({ type: 'list-runs' });
      const tokenizer = deps.data.getState().tokenizer;
      if (tokenizer.status === 'ready') syncVocab(tokenizer.vocabSize!);
    },

    setForm(patch) {
      const { form } = get();
      const model = { ...form.model, ...patch.model };
      // The model's vocabulary is its tokenizer's: only a first tokenizer's size can be chosen here.
      const tokenizer = deps.data.getState().tokenizer;
      if (tokenizer.status === 'ready') model.vocabSize = tokenizer.vocabSize!;
      set({
        formEdited: true,
        confirm: null,
        form: { ...form, ...patch, model, lr: { ...form.lr, ...patch.lr } },
      });
    },

    problems() {
      return settingsProblems(get().form, get().device.report?.limits);
    },

    estimate() {
      const { form, device, measuredSpeed } = get();
      if (settingsProblems(form).length > 0) return null;
      return runEstimate(form, device.report, measuredSpeed);
    },

    stepElapsedMs() {
      const started = get().stepStartedAt;
      return started === null || !isBusy(get().phase) ? null : now() - started;
    },

    setMeasuredSpeed: (measuredSpeed) => set({ measuredSpeed }),
    setPlanNotes: (planNotes) => set({ planNotes }),

    async confirmTrain() {
      if (!get().confirm) return;
      set({ confirm: null });
      await get().train({ confirmed: true });
    },

    cancelTrain: () => set({ confirm: null }),

    async train(run) {
      if (isBusy(get().phase)) return; // 'preparing' is set before the lock is awaited
      const form = run?.settings ?? get().form;
      const problems = settingsProblems(form, get().device.report?.limits);
      if (problems.length > 0) {
        set({ error: { kind: 'config', message: problems.join(' ') } });
        return;
      }
      if (!run?.settings && !run?.confirmed) {
        // Time before cost: a run past a few hours on this device is asked about, not started.
        const estimate = get().estimate();
        if (estimate && estimate.seconds > CONFIRM_SECONDS) {
          set({ confirm: { message: confirmMessage(estimate) }, error: null });
          return;
        }
      }
      set({ confirm: null });
      pressedAt = now();
      stopRequested = false;
      const previous = get().phase;
      set({ phase: 'preparing', stage: 'Getting the data ready…', error: null });
      if (!(await takeLock()) || stopRequested) {
        set({ phase: previous, stage: null });
        return;
      }
      set({ run: null, steps: [], evals: [], checkpointStep: 0, firstStepMs: null, stepStartedAt: null });
      try {
        const prepared = await prepareData(deps.data, {
          defaultVocab: form.model.vocabSize,
          datasetId: form.datasetId,
          bundledUrl: deps.bundledUrl(),
          onStage: (stage) => set({ stage }),
          stopped: () => stopRequested,
        });
        const settings: RunSettings = {
          ...form,
          model: { ...form.model, vocabSize: prepared.vocabSize },
          datasetId: prepared.dataset.id,
        };
        // The form shows what the run really uses: the tokenizer's vocabulary (a first BPE may stop short of the size asked for).
        if (!run?.settings) set({ form: { ...form, model: settings.model } });
        set({ stage: 'Compiling the model on the GPU…' });
        const late = settingsProblems(settings, get().device.report?.limits);
        if (late.length > 0) throw Object.assign(new Error(late.join(' ')), { kind: 'config' as const });
        if (stopRequested) throw new Error('Stopped before training started.');
        // The first step's clock starts here: building the model on the GPU is part of its wait.
        set({ stepStartedAt: now() });
        deps.worker.post({ type: 'start', settings, tokenizerJson: prepared.tokenizerJson, name: run?.name });
      } catch (error) {
        const kind = (error as { kind?: LabErrorKind }).kind ?? 'data';
        set({ phase: 'idle', stage: null, error: stopRequested ? null : { kind, message: messageOf(error) } });
      }
    },

    pause() {
      if (get().phase !== 'running') return;
      // Said at once; the worker pauses at the next step boundary (a step may take minutes on a slow device).
      set({ phase: 'pausing', stage: null });
      deps.worker.post({ type: 'pause' });
    },

    stop() {
      if (get().phase === 'preparing') {
        // Tokenizer training and ingestion cancel in their workers (what they saved is kept).
        stopRequested = true;
        deps.data.getState().cancelTokenizer();
        deps.data.getState().cancel();
        set({ stage: 'Stopping before training starts…' });
        return;
      }
      if (get().phase !== 'running' && get().phase !== 'pausing') return;
      set({ phase: 'stopping', stage: null });
      deps.worker.post({ type: 'stop' });
    },

    async resume(runId) {
      const id = runId ?? get().run?.id;
      if (!id || isBusy(get().phase)) return;
      pressedAt = now();
      stopRequested = false;
      const previous = get().phase;
      const run = get().runs.find((r) => r.id === id) ?? get().run;
      // Another run than the one shown: its curve comes with the worker's answer, never the last one's.
      const other =
        run?.id === id && get().run?.id !== id ? { steps: [], evals: [], checkpointStep: run.checkpointStep } : {};
      set({
        phase: 'preparing',
        stage: 'Loading the checkpoint…',
        error: null,
        firstStepMs: null,
        run: run?.id === id ? run : get().run,
        ...other,
      });
      if (!(await takeLock()) || stopRequested) {
        set({ phase: previous, stage: null });
        return;
      }
      set({ stepStartedAt: now() });
      deps.worker.post({ type: 'resume', runId: id });
    },

    open(runId) {
      if (isBusy(get().phase)) return;
      // Becoming the current run first makes its 'run' and 'history' answers ours.
      const run = get().runs.find((r) => r.id === runId) ?? null;
      set({
        run,
        steps: [],
        evals: [],
        checkpointStep: run?.checkpointStep ?? 0,
        phase: run ? phaseOf(run) : 'idle',
        error: null,
      });
      ask({ type: 'load-run', runId });
    },

    generate(options) {
      if (get().samples.current.status === 'running' || get().samples.initial.status === 'running') return;
      const order: SampleWeights[] = options.compare ? ['initial', 'current'] : ['current'];
      const samples = {
        ...get().samples,
        initial: options.compare ? { ...IDLE_SAMPLE, status: 'running' as const } : IDLE_SAMPLE,
        current: { ...IDLE_SAMPLE, status: 'running' as const },
      };
      set({ samples });
      const { compare: _compare, ...sampling } = options;
      for (const weights of order) {
        const requestId = nextRequestId();
        requests.set(requestId, weights);
        queued.push({ type: 'sample', requestId, ...sampling, weights, runId: get().run?.id });
      }
      deps.worker.post(queued.shift()!);
    },

    deleteRun(runId) {
      if (get().run?.id === runId && isBusy(get().phase)) return;
      if (get().run?.id === runId) set({ run: null, steps: [], evals: [], phase: 'idle', checkpointStep: 0 });
      ask({ type: 'delete-run', runId });
    },

    exportRun: (runId, options) => files.exportRun(runId, options),

    importRun(files, source) {
      if (isBusy(get().phase)) return;
      set({ error: null });
      importing = ask({ type: 'import-run', files, source });
    },

    prepareRunData: (runId) => files.prepareRunData(runId),

    dismissError() {
      set({ error: null });
    },
  }));

  const { setState: set, getState: get } = store;

  /** Posts a request under a fresh id this store will recognise in the replies. */
  function ask(
    request: Extract<
      LabRequest,
      { type: 'list-runs' | 'load-run' | 'delete-run' | 'export-run' | 'import-run' | 'run-tokenizer' }
    >,
  ): number {
    const requestId = nextRequestId();
    asked.add(requestId);
    deps.worker.post({ ...request, requestId });
    return requestId;
  }
  const files = runFiles(deps, () => get().runs, ask);

  /** The model's vocabulary is the tokenizer's, whatever else the user typed. */
  function syncVocab(vocabSize: number) {
    const { form } = get();
    if (form.model.vocabSize !== vocabSize) set({ form: { ...form, model: { ...form.model, vocabSize } } });
  }

  deps.data.subscribe((state, previous) => {
    if (state.tokenizer.status === 'ready' && state.tokenizer.json !== previous.tokenizer.json && !isBusy(get().phase))
      syncVocab(state.tokenizer.vocabSize!);
  });

  function phaseOf(run: RunSummary): LabPhase {
    const phase = get().phase;
    if (run.status === 'running') return phase === 'pausing' || phase === 'stopping' ? phase : 'running';
    return run.status;
  }

  function finishSample(requestId: number, patch: Partial<SampleState>) {
    const weights = requests.get(requestId);
    if (!weights) return;
    requests.delete(requestId);
    set({ samples: { ...get().samples, [weights]: { ...get().samples[weights], ...patch } } });
    const next = queued.shift();
    if (next) deps.worker.post(next);
  }

  function onEvent(event: LabEvent) {
    if (files.onEvent(event)) return;
    // Another store's 'load-run' (the chart's compared runs) is answered under its own id: not this store's run.
    if (
      (event.type === 'run' || event.type === 'history') &&
      event.requestId !== undefined &&
      !asked.has(event.requestId)
    )
      return;
    const current = get().run;
    switch (event.type) {
      case 'device': {
        const { report } = event;
        if (!report.ok) {
          set({ device: { status: 'unavailable', report } });
          return;
        }
        set({ device: { status: 'ready', report } });
        if (!get().formEdited && report.suggested) {
          const tokenizer = deps.data.getState().tokenizer;
          const vocabSize = tokenizer.status === 'ready' ? tokenizer.vocabSize! : report.suggested.model.vocabSize;
          set({
            form: {
              ...report.suggested,
              model: { ...report.suggested.model, vocabSize },
              datasetId: get().form.datasetId,
            },
          });
        }
        return;
      }
      case 'run': {
        const runs = [event.run, ...get().runs.filter((r) => r.id !== event.run.id)];
        if (importing !== null && event.requestId === importing) {
          importing = null;
          set({
            runs,
            run: event.run,
            steps: [],
            evals: [],
            phase: event.run.imported ? 'done' : phaseOf(event.run),
            stage: null,
            checkpointStep: event.run.checkpointStep,
          });
          // A full-state import brings its curve: show it.
          if (!event.run.imported) ask({ type: 'load-run', runId: event.run.id });
          return;
        }
        const mine = !current || current.id === event.run.id || get().phase === 'preparing';
        if (!mine) return set({ runs });
        if (stopRequested && event.run.status === 'running') {
          // Stop came while the worker was building this run: it ends after its first step.
          stopRequested = false;
          deps.worker.post({ type: 'stop' });
          set({
            runs,
            run: event.run,
            phase: 'stopping',
            stage: null,
            checkpointStep: event.run.checkpointStep,
            stepStartedAt: now(),
          });
          return;
        }
        const phase = phaseOf(event.run);
        const starting = phase === 'running' && get().phase === 'preparing';
        // Until the first step lands, the status line says what the wait is for.
        const stage = starting
          ? 'Compiling the kernels and running the first step…'
          : phase === 'running'
            ? get().stage
            : null;
        const stepStartedAt = starting ? (get().stepStartedAt ?? now()) : isBusy(phase) ? get().stepStartedAt : null;
        set({ runs, run: event.run, phase, stage, checkpointStep: event.run.checkpointStep, stepStartedAt });
        return;
      }
      case 'history':
        if (current?.id === event.runId)
          set({
            steps: event.steps,
            evals: event.evals,
            ...(event.log ? { log: { runId: event.runId, events: event.log } } : {}),
          });
        return;
      case 'log': {
        const log = get().log;
        if (current?.id === event.runId)
          set({
            log: {
              runId: event.runId,
              events: [...(log?.runId === event.runId ? log.events : []), event.event].slice(-MAX_LOG_LINES),
            },
          });
        return;
      }
      case 'device-recovering':
        // The status line says it (and times the wait) until the first step on the new device lands.
        if (current?.id === event.runId) set({ stage: event.message, stepStartedAt: now() });
        return;
      case 'step':
        if (current?.id !== event.runId) return;
        // After a pause or stop request this was the last step: nothing else runs in flight.
        set({
          steps: [...get().steps, event.point],
          stage: null,
          stepStartedAt: get().phase === 'running' ? now() : null,
        });
        if (get().firstStepMs === null && pressedAt !== null) set({ firstStepMs: now() - pressedAt });
        return;
      case 'eval':
        if (current?.id === event.runId) set({ evals: [...get().evals, event.point] });
        return;
      case 'checkpoint': {
        if (current?.id !== event.runId) return;
        // The stored summary moved on too: keep the runs list in step without asking the worker.
        const last = get().steps.at(-1);
        const patch = {
          checkpointStep: event.step,
          ...(last ? { tokens: last.tokens, lastLoss: last.loss } : {}),
          ...(get().evals.length ? { lastValLoss: get().evals.at(-1)!.valLoss } : {}),
        };
        set({
          checkpointStep: event.step,
          run: { ...current, ...patch },
          runs: get().runs.map((r) => (r.id === event.runId ? { ...r, ...patch } : r)),
        });
        return;
      }
      case 'sample-token': {
        const weights = requests.get(event.requestId);
        if (weights)
          set({
            samples: {
              ...get().samples,
              [weights]: { ...get().samples[weights], text: get().samples[weights].text + event.text },
            },
          });
        return;
      }
      case 'sample-done':
        finishSample(event.requestId, {
          status: 'done',
          text: event.text,
          tokens: event.tokens,
          seconds: event.seconds,
          promptTokens: event.promptTokens,
          outputTokens: event.outputTokens,
        });
        return;
      case 'runs':
        set({ runs: event.runs, damagedRuns: event.damaged ?? [] });
        return;
      case 'error':
        if (event.requestId !== undefined) {
          if (requests.has(event.requestId)) {
            // A failed sample also ends the ones queued behind it.
            queued.length = 0;
            for (const id of [...requests.keys()]) finishSample(id, { status: 'error', error: event.message });
          } else if (asked.delete(event.requestId)) {
            // Only the failed request's own state ends: the phase of a Train press is not its business.
            if (event.requestId === importing) importing = null;
            set({ error: { kind: event.kind, message: event.message } });
          }
          return;
        }
        set({ error: { kind: event.kind, message: event.message } });
        if (event.kind === 'device-lost')
          set({ device: { status: 'unavailable', report: { ok: false, reason: event.message } } });
        if (get().phase === 'preparing' && (event.runId === undefined || event.runId === current?.id || !current))
          set({ phase: current ? 'error' : 'idle', stage: null });
        return;
    }
  }

  deps.worker.subscribe(onEvent);
  // The lock is held exactly while a run prepares or trains here: paused, finished or failed frees it.
  store.subscribe((state) => {
    if (releaseLock && !isBusy(state.phase)) {
      releaseLock();
      releaseLock = null;
    }
  });
  return store;
}
