/**
 * The lab machine's answers to the training worker's messages (LabEvent), and the small steps both
 * halves of the machine share. Pure, like `transition` (lab-machine.ts), which calls it.
 */
import type { LabEvent, LabRequest, RunSummary } from '../../train/protocol';
import { MAX_LOG_LINES } from '../../train/train-log';
import type { LabEffect, LabMachineState } from './lab-machine';
import { exportFolderName, isBusy, type LabPhase, type SampleState } from './lab-state';

export interface Step {
  state: LabMachineState;
  effects: LabEffect[];
}

/** An event that changes nothing: the very same state, no effects. */
export const same = (state: LabMachineState): Step => ({ state, effects: [] });

/** The requests this store sends under its own ids (samples are tracked apart). */
export type AskedRequest = Extract<
  LabRequest,
  { type: 'list-runs' | 'load-run' | 'delete-run' | 'export-run' | 'import-run' | 'run-tokenizer' }
>;

/**
 * The newest request ids remembered: an answered request leaves its id behind (only errors remove
 * it), so the list is cut to those a late error could still name.
 */
export const ASKED_KEPT = 64;

/** Posts a request under `requestId`, remembered as this store's so that its answers and errors are ours. */
export function ask(state: LabMachineState, request: AskedRequest, requestId: number): Step {
  return {
    state: { ...state, book: { ...state.book, asked: [...state.book.asked, requestId].slice(-ASKED_KEPT) } },
    effects: [{ type: 'post', request: { ...request, requestId } }],
  };
}

/** The model's vocabulary is the tokenizer's, whatever else the user typed. */
export function syncVocab(state: LabMachineState): LabMachineState {
  const vocabSize = state.book.tokenizerVocab;
  const { form } = state;
  if (vocabSize === null || form.model.vocabSize === vocabSize) return state;
  return { ...state, form: { ...form, model: { ...form.model, vocabSize } } };
}

/** The phase a stored run puts the lab in; a pause or stop already asked for is kept until it lands. */
export function phaseOf(state: LabMachineState, run: RunSummary): LabPhase {
  if (run.status === 'running')
    return state.phase === 'pausing' || state.phase === 'stopping' ? state.phase : 'running';
  return run.status;
}

/** Ends the sample of `requestId` with `patch` and sends the next one queued. */
function finishSample(state: LabMachineState, requestId: number, patch: Partial<SampleState>): Step {
  const asked = state.book.sampling.find((s) => s.requestId === requestId);
  if (!asked) return same(state);
  const [next, ...queued] = state.book.queued;
  const { weights } = asked;
  return {
    state: {
      ...state,
      samples: { ...state.samples, [weights]: { ...state.samples[weights], ...patch } },
      book: { ...state.book, sampling: state.book.sampling.filter((s) => s !== asked), queued },
    },
    effects: next ? [{ type: 'post', request: next }] : [],
  };
}

export function onWorkerEvent(state: LabMachineState, event: LabEvent, at: number, freshId: number): Step {
  const { book } = state;
  // Another store's 'load-run' (the chart's compared runs) is answered under its own id: not this store's run.
  if (
    (event.type === 'run' || event.type === 'history') &&
    event.requestId !== undefined &&
    !book.asked.includes(event.requestId)
  )
    return same(state);
  const current = state.run;
  const set = (patch: Partial<LabMachineState>): Step => ({ state: { ...state, ...patch }, effects: [] });
  switch (event.type) {
    case 'device': {
      const { report } = event;
      if (!report.ok) return set({ device: { status: 'unavailable', report } });
      const device = { status: 'ready' as const, report };
      if (state.formEdited || !report.suggested) return set({ device });
      const vocabSize = book.tokenizerVocab ?? report.suggested.model.vocabSize;
      const form = {
        ...report.suggested,
        model: { ...report.suggested.model, vocabSize },
        datasetId: state.form.datasetId,
      };
      return set({ device, form });
    }
    case 'run':
      return onRun(state, event.run, event.requestId, freshId, at);
    case 'history':
      if (current?.id !== event.runId) return same(state);
      return set({
        steps: event.steps,
        evals: event.evals,
        ...(event.log ? { log: { runId: event.runId, events: event.log } } : {}),
      });
    case 'log': {
      if (current?.id !== event.runId) return same(state);
      const earlier = state.log?.runId === event.runId ? state.log.events : [];
      return set({ log: { runId: event.runId, events: [...earlier, event.event].slice(-MAX_LOG_LINES) } });
    }
    case 'device-recovering':
      // The status line says it (and times the wait) until the first step on the new device lands.
      return current?.id === event.runId ? set({ stage: event.message, stepStartedAt: at }) : same(state);
    case 'step': {
      if (current?.id !== event.runId) return same(state);
      const first = state.firstStepMs === null && book.pressedAt !== null ? { firstStepMs: at - book.pressedAt } : {};
      // After a pause or stop request this was the last step: nothing else runs in flight.
      return set({
        steps: [...state.steps, event.point],
        stage: null,
        stepStartedAt: state.phase === 'running' ? at : null,
        ...first,
      });
    }
    case 'eval':
      return current?.id === event.runId ? set({ evals: [...state.evals, event.point] }) : same(state);
    case 'checkpoint': {
      if (current?.id !== event.runId) return same(state);
      // The stored summary moved on too: keep the runs list in step without asking the worker.
      const last = state.steps.at(-1);
      const lastEval = state.evals.at(-1);
      const patch = {
        checkpointStep: event.step,
        ...(last ? { tokens: last.tokens, lastLoss: last.loss } : {}),
        ...(lastEval ? { lastValLoss: lastEval.valLoss } : {}),
      };
      return set({
        checkpointStep: event.step,
        run: { ...current, ...patch },
        runs: state.runs.map((r) => (r.id === event.runId ? { ...r, ...patch } : r)),
      });
    }
    case 'sample-token': {
      const asked = book.sampling.find((s) => s.requestId === event.requestId);
      if (!asked) return same(state);
      const sample = state.samples[asked.weights];
      return set({ samples: { ...state.samples, [asked.weights]: { ...sample, text: sample.text + event.text } } });
    }
    case 'sample-done':
      return finishSample(state, event.requestId, {
        status: 'done',
        text: event.text,
        tokens: event.tokens,
        seconds: event.seconds,
        promptTokens: event.promptTokens,
        outputTokens: event.outputTokens,
      });
    case 'runs':
      return set({ runs: event.runs, damagedRuns: event.damaged ?? [] });
    case 'error':
      return onError(state, event);
    case 'export': {
      if (event.requestId === undefined || !book.exports.includes(event.requestId)) return same(state);
      const exports = book.exports.filter((id) => id !== event.requestId);
      const name = state.runs.find((r) => r.id === event.runId)?.name ?? event.runId;
      const folderName = exportFolderName(name) + (event.full ? '-full-state' : '');
      return {
        state: { ...state, book: { ...book, exports } },
        effects: [{ type: 'download', folderName, files: event.files }],
      };
    }
    case 'run-tokenizer': {
      if (!book.runData || event.requestId !== book.runData.requestId) return same(state);
      const dataset = state.runs.find((r) => r.id === event.runId)?.missingDataset;
      return {
        state: { ...state, book: { ...book, runData: null } },
        effects: [{ type: 'use-run-tokenizer', tokenizerJson: event.tokenizerJson, dataset }],
      };
    }
    default:
      return same(state);
  }
}

function onRun(
  state: LabMachineState,
  run: RunSummary,
  requestId: number | undefined,
  freshId: number,
  at: number,
): Step {
  const { book } = state;
  const runs = [run, ...state.runs.filter((r) => r.id !== run.id)];
  if (book.importing !== null && requestId === book.importing) {
    const next: LabMachineState = {
      ...state,
      runs,
      run,
      steps: [],
      evals: [],
      phase: run.imported ? 'done' : phaseOf(state, run),
      stage: null,
      checkpointStep: run.checkpointStep,
      book: { ...book, importing: null },
    };
    // A full-state import brings its curve: show it.
    return run.imported ? same(next) : ask(next, { type: 'load-run', runId: run.id }, freshId);
  }
  const mine = !state.run || state.run.id === run.id || state.phase === 'preparing';
  if (!mine) return same({ ...state, runs });
  // The first run the worker names after our start is that start's run.
  const named =
    book.starting && state.phase === 'preparing' && state.started
      ? { started: { ...state.started, runId: run.id }, book: { ...book, starting: false } }
      : {};
  if (book.stopRequested && run.status === 'running') {
    // Stop came while the worker was building this run: it ends after its first step.
    return {
      state: {
        ...state,
        ...named,
        runs,
        run,
        phase: 'stopping',
        stage: null,
        checkpointStep: run.checkpointStep,
        stepStartedAt: at,
        book: { ...(named.book ?? book), stopRequested: false },
      },
      effects: [{ type: 'post', request: { type: 'stop' } }],
    };
  }
  const phase = phaseOf(state, run);
  const starting = phase === 'running' && state.phase === 'preparing';
  // Until the first step lands, the status line says what the wait is for.
  const stage = starting
    ? 'Compiling the kernels and running the first step…'
    : phase === 'running'
      ? state.stage
      : null;
  const stepStartedAt = starting ? (state.stepStartedAt ?? at) : isBusy(phase) ? state.stepStartedAt : null;
  return same({ ...state, ...named, runs, run, phase, stage, checkpointStep: run.checkpointStep, stepStartedAt });
}

function onError(state: LabMachineState, event: Extract<LabEvent, { type: 'error' }>): Step {
  const { book } = state;
  const error = { kind: event.kind, message: event.message };
  if (event.requestId !== undefined) {
    if (book.sampling.some((s) => s.requestId === event.requestId)) {
      // A failed sample also ends the ones queued behind it.
      let step = same({ ...state, book: { ...book, queued: [] } });
      for (const s of book.sampling)
        step = finishSample(step.state, s.requestId, { status: 'error', error: event.message });
      return step;
    }
    if (!book.asked.includes(event.requestId)) return same(state);
    // Only the failed request's own state ends: the phase of a Train press is not its business.
    const importing = event.requestId === book.importing ? null : book.importing;
    const runData = event.requestId === book.runData?.requestId ? null : book.runData;
    const asked = book.asked.filter((id) => id !== event.requestId);
    const exports = book.exports.filter((id) => id !== event.requestId);
    return same({ ...state, error, book: { ...book, asked, importing, runData, exports } });
  }
  const lost =
    event.kind === 'device-lost'
      ? { device: { status: 'unavailable' as const, report: { ok: false as const, reason: event.message } } }
      : {};
  const current = state.run;
  const ended =
    state.phase === 'preparing' && (event.runId === undefined || event.runId === current?.id || !current)
      ? {
          phase: current ? ('error' as const) : ('idle' as const),
          stage: null,
          book: { ...book, starting: false, preparing: null },
        }
      : {};
  return same({ ...state, error, ...lost, ...ended });
}
