/**
 * The lab's phases as one pure function: `transition(state, event)` gives the next state and the
 * effects the store must carry out (post a request, take or release the training lock, prepare the
 * data, cancel it). Events are the user's actions, the worker's messages and the answers to the
 * effects; time and fresh request ids come in on the events, so nothing here reads a clock, posts,
 * awaits or keeps a variable: the same state and event always give the same result.
 *
 *   idle/paused/stopped/done/error --train|resume--> preparing --run--> running --pause--> pausing
 *   --run(paused)--> paused;  running|pausing --stop--> stopping --run(stopped)--> stopped;
 *   running --run(done)--> done;  preparing --stop--> (nothing starts, or what starts stops at once)
 */
import { settingsProblems } from '../../train/defaults';
import type { LabErrorKind, LabEvent, LabRequest, RunDataset } from '../../train/protocol';
import { CONFIRM_SECONDS, confirmMessage, runEstimate, type MeasuredSpeed, type RunEstimate } from './estimate';
import { ask, onWorkerEvent, phaseOf, same, syncVocab, type Step } from './lab-machine-worker';
import {
  ANOTHER_TAB_TRAINS,
  IDLE_SAMPLE,
  initialForm,
  isBusy,
  NO_WEBGPU,
  type FormPatch,
  type LabData,
  type SampleOptions,
  type SampleRequestMessage,
  type SampleWeights,
  type TrainOptions,
} from './lab-state';

export type LabMachineState = LabData;

export type LabMachineEvent =
  | { type: 'init'; hasWebGpu: boolean; requestId: number }
  /** The Data store's tokenizer changed: its vocabulary when ready, else null. */
  | { type: 'tokenizer'; vocabSize: number | null }
  | { type: 'set-form'; patch: FormPatch }
  | { type: 'measured-speed'; speed: MeasuredSpeed | null }
  | { type: 'plan-notes'; notes: string[] }
  | { type: 'train'; at: number; startId: number; run?: TrainOptions }
  | { type: 'cancel-train' }
  /** The answer to 'take-lock'. */
  | { type: 'lock'; held: boolean; at: number }
  /** What the data preparation does now, in words. */
  | { type: 'stage'; stage: string }
  /** The answer to 'prepare-data': the tokenizer and dataset the run trains with, or why not. */
  | { type: 'prepared'; at: number; vocabSize: number; datasetId: string; tokenizerJson: string }
  | { type: 'prepare-failed'; kind: LabErrorKind; message: string }
  | { type: 'pause' }
  | { type: 'stop' }
  | { type: 'resume'; at: number; runId?: string }
  | { type: 'open'; runId: string; requestId: number }
  | { type: 'generate'; options: SampleOptions; requestIds: [number, number] }
  | { type: 'delete-run'; runId: string; requestId: number }
  | { type: 'import-run'; files: { name: string; bytes: Uint8Array }[]; source: string; requestId: number }
  | { type: 'export-run'; runId: string; full?: boolean; requestId: number }
  | { type: 'prepare-run-data'; runId: string; requestId: number }
  | { type: 'dismiss-error' }
  /** A worker message; `requestId` is a fresh id in case the answer needs a request of its own. */
  | { type: 'worker'; event: LabEvent; at: number; requestId: number };

export type LabEffect =
  | { type: 'post'; request: LabRequest }
  | { type: 'take-lock' }
  | { type: 'release-lock' }
  | { type: 'prepare-data'; defaultVocab: number; datasetId: string }
  /** Stop while preparing: tokenizer training and ingestion cancel in their workers (what they saved is kept). */
  | { type: 'cancel-data' }
  /** Saves an exported run (a Hugging Face folder) for the user. */
  | { type: 'download'; folderName: string; files: { name: string; bytes: Uint8Array }[] }
  /** "Prepare its data": the run's tokenizer becomes the current one, and the Data tab names its dataset's source. */
  | { type: 'use-run-tokenizer'; tokenizerJson: string; dataset?: RunDataset };

/** The lab before anything happened; `tokenizerVocab` is the Data store's tokenizer's, if one is ready. */
export function initialLabData(tokenizerVocab: number | null = null): LabMachineState {
  return {
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
    started: null,
    book: {
      initialized: false,
      pressedAt: null,
      stopRequested: false,
      previousPhase: 'idle',
      preparing: null,
      lock: 'free',
      starting: false,
      importing: null,
      asked: [],
      sampling: [],
      queued: [],
      exports: [],
      runData: null,
      tokenizerVocab,
    },
  };
}

/** The form's run time on this device; null while the form cannot run. */
export function labEstimate(state: LabMachineState): RunEstimate | null {
  if (settingsProblems(state.form).length > 0) return null;
  return runEstimate(state.form, state.device.report, state.measuredSpeed);
}

export function transition(state: LabMachineState, event: LabMachineEvent): Step {
  const result =
    event.type === 'worker' ? onWorkerEvent(state, event.event, event.at, event.requestId) : act(state, event);
  return settleLock(result);
}

/** The lock is held exactly while a run prepares or trains here: paused, finished or failed frees it. */
function settleLock(result: Step): Step {
  const { state, effects } = result;
  if (state.book.lock !== 'held' || isBusy(state.phase)) return result;
  return {
    state: { ...state, book: { ...state.book, lock: 'free' } },
    effects: [...effects, { type: 'release-lock' }],
  };
}

function act(state: LabMachineState, event: Exclude<LabMachineEvent, { type: 'worker' }>): Step {
  const { book } = state;
  switch (event.type) {
    case 'init': {
      if (book.initialized) return same(state);
      const probed = event.hasWebGpu;
      const next: LabMachineState = {
        ...syncVocab({ ...state, book: { ...book, initialized: true } }),
        ...(probed ? {} : { device: { status: 'unavailable', report: { ok: false, reason: NO_WEBGPU } } }),
      };
      const listed = ask(next, { type: 'list-runs' }, event.requestId);
      return probed
        ? { ...listed, effects: [{ type: 'post', request: { type: 'probe' } }, ...listed.effects] }
        : listed;
    }
    case 'tokenizer': {
      const next = { ...state, book: { ...book, tokenizerVocab: event.vocabSize } };
      return { state: isBusy(state.phase) ? next : syncVocab(next), effects: [] };
    }
    case 'set-form': {
      const { form } = state;
      const model = { ...form.model, ...event.patch.model };
      // The model's vocabulary is its tokenizer's: only a first tokenizer's size can be chosen here.
      if (book.tokenizerVocab !== null) model.vocabSize = book.tokenizerVocab;
      const lr = { ...form.lr, ...event.patch.lr };
      return {
        state: { ...state, formEdited: true, confirm: null, form: { ...form, ...event.patch, model, lr } },
        effects: [],
      };
    }
    case 'measured-speed':
      return { state: { ...state, measuredSpeed: event.speed }, effects: [] };
    case 'plan-notes':
      return { state: { ...state, planNotes: event.notes }, effects: [] };
    case 'train':
      return train(state, event);
    case 'cancel-train':
      return { state: { ...state, confirm: null }, effects: [] };
    case 'lock':
      return onLock(state, event.held, event.at);
    case 'stage':
      return state.phase === 'preparing' ? { state: { ...state, stage: event.stage }, effects: [] } : same(state);
    case 'prepared':
      return onPrepared(state, event);
    case 'prepare-failed':
      if (state.phase !== 'preparing') return same(state);
      return {
        state: {
          ...state,
          phase: 'idle',
          stage: null,
          error: book.stopRequested ? null : { kind: event.kind, message: event.message },
          book: { ...book, preparing: null },
        },
        effects: [],
      };
    case 'pause':
      if (state.phase !== 'running') return same(state);
      // Said at once; the worker pauses at the next step boundary (a step may take minutes on a slow device).
      return {
        state: { ...state, phase: 'pausing', stage: null },
        effects: [{ type: 'post', request: { type: 'pause' } }],
      };
    case 'stop':
      if (state.phase === 'preparing')
        return {
          state: { ...state, stage: 'Stopping before training starts…', book: { ...book, stopRequested: true } },
          effects: [{ type: 'cancel-data' }],
        };
      if (state.phase !== 'running' && state.phase !== 'pausing') return same(state);
      return {
        state: { ...state, phase: 'stopping', stage: null },
        effects: [{ type: 'post', request: { type: 'stop' } }],
      };
    case 'resume':
      return resume(state, event.at, event.runId);
    case 'open': {
      if (isBusy(state.phase)) return same(state);
      // Becoming the current run first makes its 'run' and 'history' answers ours.
      const run = state.runs.find((r) => r.id === event.runId) ?? null;
      const next: LabMachineState = {
        ...state,
        run,
        steps: [],
        evals: [],
        checkpointStep: run?.checkpointStep ?? 0,
        phase: run ? phaseOf(state, run) : 'idle',
        error: null,
      };
      return ask(next, { type: 'load-run', runId: event.runId }, event.requestId);
    }
    case 'generate':
      return generate(state, event.options, event.requestIds);
    case 'delete-run': {
      const current = state.run?.id === event.runId;
      if (current && isBusy(state.phase)) return same(state);
      const next: LabMachineState = current
        ? { ...state, run: null, steps: [], evals: [], phase: 'idle', checkpointStep: 0 }
        : state;
      return ask(next, { type: 'delete-run', runId: event.runId }, event.requestId);
    }
    case 'import-run': {
      if (isBusy(state.phase)) return same(state);
      const next = { ...state, error: null, book: { ...book, importing: event.requestId } };
      return ask(next, { type: 'import-run', files: event.files, source: event.source }, event.requestId);
    }
    case 'export-run': {
      const next = { ...state, book: { ...book, exports: [...book.exports, event.requestId] } };
      return ask(next, { type: 'export-run', runId: event.runId, full: event.full }, event.requestId);
    }
    case 'prepare-run-data': {
      const next = { ...state, book: { ...book, runData: { runId: event.runId, requestId: event.requestId } } };
      return ask(next, { type: 'run-tokenizer', runId: event.runId }, event.requestId);
    }
    case 'dismiss-error':
      return state.error ? { state: { ...state, error: null }, effects: [] } : same(state);
  }
}

function train(state: LabMachineState, event: Extract<LabMachineEvent, { type: 'train' }>): Step {
  if (isBusy(state.phase)) return same(state);
  const form = event.run?.settings ?? state.form;
  const problems = settingsProblems(form, state.device.report?.limits);
  if (problems.length > 0)
    return { state: { ...state, error: { kind: 'config', message: problems.join(' ') } }, effects: [] };
  if (!event.run?.settings && !event.run?.confirmed) {
    // Time before cost: a run past a few hours on this device is asked about, not started.
    const estimate = labEstimate(state);
    if (estimate && estimate.seconds > CONFIRM_SECONDS)
      return { state: { ...state, confirm: { message: confirmMessage(estimate) }, error: null }, effects: [] };
  }
  const preparing = {
    kind: 'train' as const,
    startId: event.startId,
    settings: form,
    name: event.run?.name,
    fromForm: !event.run?.settings,
  };
  return takeLock({ ...state, confirm: null, stage: 'Getting the data ready…' }, preparing, event.at);
}

function resume(state: LabMachineState, at: number, runId: string | undefined): Step {
  const id = runId ?? state.run?.id;
  if (!id || isBusy(state.phase)) return same(state);
  const run = state.runs.find((r) => r.id === id) ?? state.run;
  // Another run than the one shown: its curve comes with the worker's answer, never the last one's.
  const other =
    run?.id === id && state.run?.id !== id ? { steps: [], evals: [], checkpointStep: run.checkpointStep } : {};
  const next: LabMachineState = {
    ...state,
    stage: 'Loading the checkpoint…',
    firstStepMs: null,
    run: run?.id === id ? run : state.run,
    ...other,
  };
  return takeLock(next, { kind: 'resume', runId: id }, at);
}

/** Train or Resume pressed: 'preparing' at once, and the lock asked for before anything else. */
function takeLock(state: LabMachineState, preparing: NonNullable<LabData['book']['preparing']>, at: number): Step {
  const book = {
    ...state.book,
    pressedAt: at,
    stopRequested: false,
    previousPhase: state.phase,
    preparing,
    lock: 'asking' as const,
  };
  return { state: { ...state, phase: 'preparing', error: null, book }, effects: [{ type: 'take-lock' }] };
}

function onLock(state: LabMachineState, held: boolean, at: number): Step {
  const { book } = state;
  if (book.lock !== 'asking') return same(state);
  const preparing = book.preparing;
  const next = { ...state, book: { ...book, lock: held ? ('held' as const) : ('free' as const) } };
  // Nothing waits for it any more (an error ended the preparation): settleLock hands a held lock back.
  if (state.phase !== 'preparing' || !preparing)
    return { state: { ...next, book: { ...next.book, preparing: null } }, effects: [] };
  if (!held || book.stopRequested)
    return {
      state: {
        ...next,
        phase: book.previousPhase,
        stage: null,
        ...(held ? {} : { error: { kind: 'config' as const, message: ANOTHER_TAB_TRAINS } }),
        book: { ...next.book, preparing: null },
      },
      effects: [],
    };
  if (preparing.kind === 'resume')
    return {
      state: { ...next, stepStartedAt: at, book: { ...next.book, preparing: null } },
      effects: [{ type: 'post', request: { type: 'resume', runId: preparing.runId } }],
    };
  return {
    state: { ...next, run: null, steps: [], evals: [], checkpointStep: 0, firstStepMs: null, stepStartedAt: null },
    effects: [
      {
        type: 'prepare-data',
        defaultVocab: preparing.settings.model.vocabSize,
        datasetId: preparing.settings.datasetId,
      },
    ],
  };
}

function onPrepared(state: LabMachineState, event: Extract<LabMachineEvent, { type: 'prepared' }>): Step {
  const { book } = state;
  const preparing = book.preparing;
  if (state.phase !== 'preparing' || preparing?.kind !== 'train') return same(state);
  const form = preparing.settings;
  const settings = { ...form, model: { ...form.model, vocabSize: event.vocabSize }, datasetId: event.datasetId };
  // The form shows what the run really uses: the tokenizer's vocabulary (a first BPE may stop short of the size asked for).
  const shown = preparing.fromForm ? { ...state, form: { ...form, model: settings.model } } : state;
  const late = settingsProblems(settings, state.device.report?.limits);
  const failed = late.length > 0 ? late.join(' ') : book.stopRequested ? 'Stopped before training started.' : null;
  if (failed !== null)
    return act(shown, { type: 'prepare-failed', kind: late.length > 0 ? 'config' : 'data', message: failed });
  return {
    state: {
      ...shown,
      stage: 'Compiling the model on the GPU…',
      // The first step's clock starts here: building the model on the GPU is part of its wait.
      stepStartedAt: event.at,
      started: { startId: preparing.startId, runId: null },
      book: { ...book, preparing: null, starting: true },
    },
    effects: [
      { type: 'post', request: { type: 'start', settings, tokenizerJson: event.tokenizerJson, name: preparing.name } },
    ],
  };
}

function generate(state: LabMachineState, options: SampleOptions, requestIds: [number, number]): Step {
  if (state.samples.current.status === 'running' || state.samples.initial.status === 'running') return same(state);
  const order: SampleWeights[] = options.compare ? ['initial', 'current'] : ['current'];
  const samples = {
    initial: options.compare ? { ...IDLE_SAMPLE, status: 'running' as const } : IDLE_SAMPLE,
    current: { ...IDLE_SAMPLE, status: 'running' as const },
  };
  const { compare: _compare, ...sampling } = options;
  const requests: SampleRequestMessage[] = order.map((weights, i) => ({
    type: 'sample',
    requestId: requestIds[i]!,
    ...sampling,
    weights,
    runId: state.run?.id,
  }));
  const [first, ...queued] = requests;
  const book = {
    ...state.book,
    sampling: requests.map((r) => ({ requestId: r.requestId, weights: r.weights })),
    queued,
  };
  return { state: { ...state, samples, book }, effects: first ? [{ type: 'post', request: first }] : [] };
}
