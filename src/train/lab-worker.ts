/**
 * Web Worker entry of the lab (WebGPU, the model, the data and IndexedDB all live here):
 *   new Worker(new URL('./lab-worker.ts', import.meta.url), { type: 'module' })
 * The message logic is createLabHandler, which tests drive in Node with Dawn and fake-indexeddb.
 * One run trains at a time; 'start'/'resume' resolve when it ends, while other messages (pause,
 * sample, list...) are handled as they come.
 */
import { IdbShardStore } from '../data/idb-store';
import type { DamagedRecord } from '../data/records';
import { DataError, type ShardStore } from '../data/types';
import { createBrowserContext } from '../gpu/browser';
import { GpuError, type GpuContext } from '../gpu/context';
import { TokenizerError } from '../tokenizer/types';
import { settingsProblems } from './defaults';
import { importRunFiles } from './import-run';
import { describeDevice } from './probe';
import {
  dropTrainer,
  recoverRun,
  RecoveryBudget,
  runUntilLost,
  unlessLost,
  type RecoveryPolicy,
} from './device-recovery';
import { profileTrainingStep } from './profile-step';
import { measureTrainingSpeed, speedProbeProblems, DEFAULT_SPEED_STEPS } from './speed-probe';
import type { EvalPoint, LabErrorKind, LabEvent, LabRequest, RunSummary, SampleRequest, StepPoint } from './protocol';
import { RunStore, type CheckpointData, type RunRecord } from './run-store';
import { exportRunDir, locateDataset } from './run-transfer';
import { sampleText } from './sampling';
import { StoredModel } from './stored-model';
import { appendLog, logUpTo, type LogEvent } from './train-log';
import { loadRunTokenizer } from './run-tokenizer';
import { checkpointBytes, Trainer } from './trainer';
import { messageOf } from '../util/errors';

export interface LabDeps {
  createContext: () => Promise<GpuContext>;
  shardStore: ShardStore;
  runStore: RunStore;
  /** How often a lost device is replaced during one run (tests shorten the waits). */
  recovery?: RecoveryPolicy;
}

interface ActiveRun {
  runId: string;
  trainer: Trainer;
  steps: StepPoint[];
  evals: EvalPoint[];
  /** The training log's events (train-log.ts); cut back with the curve. */
  log: LogEvent[];
  /** Set once an outcome (done, paused, error, device lost) has been reported. */
  ended: boolean;
  /** Why the loss went NaN, when it did. */
  nanMessage?: string;
  /** Counts the trainers built for this run (a new one per device). */
  session: number;
  /** Pause or stop asked for: carried over to a trainer built on a new device. */
  request?: 'pause' | 'stop';
}

export function labErrorKind(error: unknown): LabErrorKind {
  if (error instanceof DataError) return error.kind === 'config' || error.kind === 'quota' ? error.kind : 'data';
  if (error instanceof GpuError) return 'webgpu';
  if (error instanceof TokenizerError) return 'config';
  return 'internal';
}

export function createLabHandler(
  post: (event: LabEvent) => void,
  deps: LabDeps,
): (message: LabRequest) => Promise<void> {
  const { shardStore, runStore } = deps;
  let ctx: GpuContext | null = null;
  let active: ActiveRun | null = null;
  const stored = new StoredModel(runStore);
  let lastRunId: string | undefined;

  const fail = (error: unknown, extra: { runId?: string; requestId?: number } = {}) =>
    post({ type: 'error', kind: labErrorKind(error), message: messageOf(error), ...extra });

  async function context(): Promise<GpuContext> {
    if (ctx && !ctx.isLost()) return ctx;
    const created = await deps.createContext();
    ctx = created;
    void created.lost.then(() => onDeviceLost(created));
    return created;
  }

  /** The next request makes a new device; a run training on this one recovers by itself (see train). */
  function onDeviceLost(lostCtx: GpuContext): void {
    if (ctx === lostCtx) ctx = null;
  }

  /** Adds an event to the run's log and shows it. */
  function note(run: ActiveRun, event: LogEvent): void {
    const stamped = { ...event, at: new Date().toISOString() };
    appendLog(run.log, stamped);
    post({ type: 'log', runId: run.runId, event: stamped });
  }

  async function finishRun(runId: string, patch: Partial<RunSummary>, log?: LogEvent[]): Promise<void> {
    try {
      post({ type: 'run', run: await runStore.updateSummary(runId, patch, log) });
    } catch (error) {
      fail(error, { runId });
    }
  }

  /**
   * A stored run as the page should see it: one saved as 'running' that is not training in this
   * worker was interrupted (the page closed or crashed mid-run), so it is paused at its checkpoint.
   */
  function asStored(summary: RunSummary): RunSummary {
    if (summary.status !== 'running' || active?.runId === summary.id) return summary;
    return {
      ...summary,
      status: 'paused',
      message: summary.message ?? 'interrupted: the page closed while it trained',
    };
  }

  async function listRuns(): Promise<{ runs: RunSummary[]; damaged: DamagedRecord[] }> {
    const { runs, damaged } = await runStore.listAll();
    return { runs: runs.map(asStored), damaged };
  }

  function requireIdle(): void {
    if (active) throw new DataError('config', 'a run is training: pause or stop it first');
  }

  /** Builds the trainer, announces the run and trains until it ends, on a new device when one is lost. */
  async function train(record: RunRecord, resume: CheckpointData | undefined): Promise<void> {
    const { settings, id: runId } = record.summary;
    const { manifest, tokenizer } = await loadRunTokenizer(
      shardStore,
      record.tokenizerJson,
      settings,
      record.summary.tokenizer.fingerprint,
    );
    let gpu = await context();
    const problems = settingsProblems(settings, gpu.limits);
    if (problems.length) throw new DataError('config', problems.join(' '));
    stored.destroy();
    // The history up to the checkpoint; steps after it were lost with the page and are redone.
    const from = record.summary.checkpointStep;
    const run: ActiveRun = {
      runId,
      trainer: undefined as unknown as Trainer,
      steps: [...record.steps],
      evals: [...record.evals],
      log: logUpTo(record.log ?? [], from),
      ended: false,
      session: 0,
    };
    const lastStep = () => run.steps.at(-1)?.step ?? 0;
    // Each device gets its own trainer; a lost one's late events and saves are dropped.
    const build = (on: GpuContext, from: CheckpointData | undefined) => {
      const session = ++run.session;
      const current = () => !run.ended && run.session === session;
      return Trainer.create({
        ctx: on,
        settings,
        store: shardStore,
        manifest,
        tokenizer,
        resume: from,
        onEvent: (event) => {
          if (!current()) return;
          if (event.type === 'step') {
            run.steps.push(event.point);
            post({ type: 'step', runId, point: event.point });
          } else if (event.type === 'eval') {
            run.evals.push(event.point);
            post({ type: 'eval', runId, point: event.point });
          } else if (event.type === 'checkpoint') {
            post({ type: 'checkpoint', runId, step: event.step, bytes: event.bytes });
            note(run, { step: event.step, kind: 'checkpoint', bytes: event.bytes });
          } else {
            run.nanMessage = event.message;
            note(run, { step: event.step, kind: 'nan', message: event.message });
            post({ type: 'error', kind: 'nan', message: event.message, runId });
          }
        },
        saveCheckpoint: async (data) => {
          // Read back from a device that has just been lost, these bytes cannot be trusted.
          if (!current() || on.isLost())
            throw new Error('the GPU device was lost before this checkpoint could be saved');
          // The record's log ends with this checkpoint's line (its event follows once it is saved).
          const log = [
            ...run.log,
            {
              step: data.step,
              kind: 'checkpoint' as const,
              bytes: checkpointBytes(data),
              at: new Date().toISOString(),
            },
          ];
          await runStore.saveCheckpoint(runId, data, { steps: [...run.steps], evals: [...run.evals], log });
        },
      });
    };
    const first = await unlessLost(gpu, build(gpu, resume));
    if (!first) throw new GpuError('the GPU device was lost while the model was being built: try again');
    run.trainer = first;
    active = run;
    lastRunId = runId;
    const budget = new RecoveryBudget(deps.recovery);
    const { batches, tokens } = first.validationSize;
    const validation =
      batches > 0 ? `validation on ${tokens.toLocaleString('en-US')} tokens (${batches} batches)` : 'no validation';
    // Shown with the history that follows.
    const at = new Date().toISOString();
    appendLog(
      run.log,
      from > 0
        ? { step: from, kind: 'resume', message: `step ${from}; ${validation}`, at }
        : { step: 0, kind: 'start', message: `${record.summary.name}; ${validation}`, at },
    );
    try {
      post({ type: 'run', run: await runStore.updateSummary(runId, { status: 'running', message: undefined }) });
      post({ type: 'history', runId, steps: [...run.steps], evals: [...run.evals], log: [...run.log] });
      for (;;) {
        const result = await runUntilLost(run.trainer, gpu, run.request);
        if ('outcome' in result) {
          run.ended = true;
          if (result.outcome !== 'error')
            note(run, {
              step: lastStep(),
              kind: result.outcome === 'paused' ? 'pause' : result.outcome === 'stopped' ? 'stop' : 'done',
            });
          await finishRun(
            runId,
            result.outcome === 'error'
              ? { status: 'error', message: run.nanMessage }
              : { status: result.outcome, message: undefined },
            run.log,
          );
          return;
        }
        const lostAt = run.steps.at(-1)?.step ?? 0;
        dropTrainer(run.trainer);
        // A pause or stop asked for: the checkpoint is where it would have ended anyway.
        const next = run.request
          ? null
          : await recoverRun(
              {
                latestCheckpoint: () => runStore.latestCheckpoint(runId),
                newContext: context,
                build,
                onRecovering: (notice) => {
                  run.steps = run.steps.filter((p) => p.step <= notice.from);
                  run.evals = run.evals.filter((p) => p.step <= notice.from);
                  run.log = logUpTo(run.log, notice.from);
                  appendLog(run.log, {
                    step: notice.from,
                    kind: 'device-lost',
                    message: `at step ${notice.lostAt}; continuing from the checkpoint at step ${notice.from} (try ${notice.attempt} of ${notice.maxTries})`,
                    at: new Date().toISOString(),
                  });
                  post({ type: 'history', runId, steps: [...run.steps], evals: [...run.evals], log: [...run.log] });
                  post({
                    type: 'device-recovering',
                    runId,
                    lostAtStep: notice.lostAt,
                    fromStep: notice.from,
                    attempt: notice.attempt,
                    maxTries: notice.maxTries,
                    message: notice.message,
                  });
                },
              },
              budget,
              lostAt,
              result.lost,
            );
        if (next && 'trainer' in next) {
          run.trainer = next.trainer;
          gpu = next.ctx;
          continue;
        }
        run.ended = true;
        const from = next?.from ?? run.trainer.lastCheckpointStep;
        if (!next) {
          // The page's curve ends where the stored one does.
          run.steps = run.steps.filter((p) => p.step <= from);
          run.evals = run.evals.filter((p) => p.step <= from);
          run.log = logUpTo(run.log, from);
          const status = run.request === 'stop' ? 'stopped' : 'paused';
          appendLog(run.log, {
            step: from,
            kind: 'device-lost',
            message: `at step ${lostAt}; ${status} at the checkpoint at step ${from}`,
            at: new Date().toISOString(),
          });
          post({ type: 'history', runId, steps: [...run.steps], evals: [...run.evals], log: [...run.log] });
          await finishRun(
            runId,
            { status, message: `GPU device lost at step ${lostAt}; ${status} at the checkpoint at step ${from}` },
            run.log,
          );
          return;
        }
        const message = `${next.failed} ${from > 0 ? `The checkpoint at step ${from} is saved` : 'No checkpoint was saved yet'}: reload the page and resume the run.`;
        post({ type: 'error', kind: 'device-lost', message, runId });
        note(run, { step: lastStep(), kind: 'device-lost', message });
        await finishRun(runId, { status: 'error', message }, run.log);
        return;
      }
    } catch (error) {
      if (run.ended) return;
      run.ended = true;
      fail(error, { runId });
      const message = `${messageOf(error)} (the checkpoint at step ${run.trainer.lastCheckpointStep} is kept)`;
      note(run, { step: lastStep(), kind: 'error', message });
      await finishRun(runId, { status: 'error', message }, run.log);
    } finally {
      if (active === run) active = null;
      if (!gpu.isLost()) await run.trainer.close();
    }
  }

  async function sample(request: SampleRequest): Promise<void> {
    const onText = (text: string) => post({ type: 'sample-token', requestId: request.requestId, text });
    const run = active;
    let result;
    if (run && (request.runId === undefined || request.runId === run.runId)) {
      result = await run.trainer.sample(request, onText);
    } else {
      const runId = request.runId ?? lastRunId;
      if (!runId) throw new DataError('config', 'no run is loaded: pick a run to sample from, or start one');
      const { sampler, tokenizer } = await stored.get(context, runId, request.weights);
      result = await sampleText(sampler, tokenizer, request, onText);
    }
    const { text, tokens, seconds, promptTokens, outputTokens } = result;
    post({ type: 'sample-done', requestId: request.requestId, text, tokens, seconds, promptTokens, outputTokens });
  }

  return async (message) => {
    try {
      switch (message.type) {
        case 'probe': {
          let gpu: GpuContext;
          try {
            gpu = await context();
          } catch (error) {
            const reason =
              error instanceof GpuError
                ? error.message
                : `requesting a WebGPU device failed (${messageOf(error)}): close other GPU-heavy tabs or restart the browser`;
            post({ type: 'device', report: { ok: false, reason } });
            return;
          }
          post({ type: 'device', report: await describeDevice(gpu) });
          return;
        }
        case 'start': {
          requireIdle();
          const { settings, tokenizerJson } = message;
          const problems = settingsProblems(settings);
          if (problems.length) throw new DataError('config', problems.join(' '));
          const {
            manifest,
            tokenizer,
            fingerprint: print,
          } = await loadRunTokenizer(shardStore, tokenizerJson, settings);
          const record = await runStore.create({
            settings,
            tokenizerJson,
            tokenizer: { vocabSize: tokenizer.vocabSize, fingerprint: print },
            name: message.name ?? `${settings.model.nLayer}L ${settings.model.nEmbd}w on ${manifest.name}`,
          });
          try {
            await train(record, undefined);
          } catch (error) {
            // train() throws only before the first step: a run that never started is not worth keeping.
            await runStore.delete(record.summary.id).catch(() => undefined);
            throw error;
          }
          return;
        }
        case 'resume': {
          requireIdle();
          const record = await runStore.get(message.runId);
          if (!record)
            throw new DataError(
              'config',
              `there is no run "${message.runId}" (it may have been deleted): refresh the list of runs`,
            );
          if (record.summary.imported)
            throw new DataError(
              'config',
              `"${record.summary.name}" was imported, not trained here: sample it, or download it to train it further`,
            );
          // A run made elsewhere names its dataset by the id it had there: find the local copy.
          await train(
            await locateDataset(runStore, shardStore, record),
            await runStore.latestCheckpoint(message.runId),
          );
          return;
        }
        case 'pause':
        case 'stop':
          if (active) active.request = message.type;
          if (message.type === 'pause') active?.trainer.pause();
          else active?.trainer.stop();
          return;
        case 'sample':
          try {
            await sample(message);
          } catch (error) {
            fail(error, { requestId: message.requestId });
          }
          return;
        case 'list-runs':
          post({ type: 'runs', ...(await listRuns()), requestId: message.requestId });
          return;
        case 'load-run': {
          const record = await runStore.get(message.runId);
          if (!record)
            throw new DataError(
              'config',
              `there is no run "${message.runId}" (it may have been deleted): refresh the list of runs`,
            );
          const live = active?.runId === message.runId ? active : null;
          post({ type: 'run', run: asStored(record.summary), requestId: message.requestId });
          post({
            type: 'history',
            runId: message.runId,
            steps: [...(live?.steps ?? record.steps)],
            evals: [...(live?.evals ?? record.evals)],
            log: [...(live?.log ?? record.log ?? [])],
            requestId: message.requestId,
          });
          return;
        }
        case 'run-tokenizer': {
          const record = await runStore.get(message.runId);
          if (!record)
            throw new DataError(
              'config',
              `there is no run "${message.runId}" (it may have been deleted): refresh the list of runs`,
            );
          post({
            type: 'run-tokenizer',
            runId: message.runId,
            tokenizerJson: record.tokenizerJson,
            requestId: message.requestId,
          });
          return;
        }
        case 'delete-run':
          if (active?.runId === message.runId)
            throw new DataError('config', 'this run is training: stop it before deleting it');
          if (stored.holds(message.runId)) stored.destroy();
          await runStore.delete(message.runId);
          post({ type: 'runs', ...(await listRuns()), requestId: message.requestId });
          return;
        case 'import-run': {
          // Files already imported: that run is the answer (the page opens it), then the error names it.
          const shown = (run: RunSummary) => post({ type: 'run', run: asStored(run), requestId: message.requestId });
          post({
            type: 'run',
            run: await importRunFiles(runStore, shardStore, message.files, message.source, shown),
            requestId: message.requestId,
          });
          post({ type: 'runs', ...(await listRuns()), requestId: message.requestId });
          return;
        }
        case 'export-run':
          if (message.full)
            post({
              type: 'export',
              runId: message.runId,
              files: await exportRunDir(runStore, shardStore, message.runId),
              full: true,
              requestId: message.requestId,
            });
          else
            post({
              type: 'export',
              runId: message.runId,
              files: await runStore.exportHf(message.runId),
              requestId: message.requestId,
            });
          return;
        case 'speed-probe': {
          // The GPU is busy with the run: a probe now would time both and slow the run down.
          if (active)
            throw new DataError(
              'config',
              'a run is training: measure the speed when it has ended (pause or stop it first)',
            );
          const steps = message.steps ?? DEFAULT_SPEED_STEPS;
          const gpu = await context();
          const problems = speedProbeProblems(message.model, message.batchSize, steps, gpu.limits);
          if (problems.length) throw new DataError('config', problems.join(' '));
          stored.destroy(); // free the sampling model's buffers for the probe's
          const speed = await measureTrainingSpeed(gpu, message.model, message.batchSize, steps);
          post({
            type: 'speed',
            model: message.model,
            tokensPerSecond: speed.tokensPerSecond,
            flopsPerSecond: speed.flopsPerSecond,
            requestId: message.requestId,
          });
          return;
        }
        case 'profile': {
          if (active)
            throw new DataError(
              'config',
              'a run is training: profile a step when it has ended (pause or stop it first)',
            );
          const gpu = await context();
          stored.destroy(); // free the sampling model's buffers for the profiled one's
          post({
            type: 'profile',
            model: message.model,
            profile: await profileTrainingStep(gpu, message.model, message.batchSize),
            requestId: message.requestId,
          });
          return;
        }
        default:
          throw new Error(`unknown message type ${JSON.stringify((message as { type?: unknown }).type)}`);
      }
    } catch (error) {
      // The id goes back with the error, so only the store that asked takes it.
      fail(error, {
        ...('runId' in message ? { runId: message.runId } : {}),
        ...('requestId' in message ? { requestId: message.requestId } : {}),
      });
    }
  };
}

// Only when loaded as a worker (importing this file in Node or a page does nothing).
declare const WorkerGlobalScope: unknown;
if (typeof WorkerGlobalScope !== 'undefined' && typeof self !== 'undefined') {
  const scope = self as unknown as {
    postMessage(message: LabEvent, transfer?: Transferable[]): void;
    onmessage: ((event: MessageEvent<LabRequest>) => void) | null;
  };
  const post = (event: LabEvent) => {
    // Exported files can be large: hand their bytes over instead of copying them.
    const transfer = event.type === 'export' ? event.files.map((f) => f.bytes.buffer as ArrayBuffer) : [];
    scope.postMessage(event, transfer);
  };
  const handle = createLabHandler(post, {
    createContext: createBrowserContext,
    shardStore: new IdbShardStore(),
    runStore: new RunStore(),
  });
  scope.onmessage = (event) => void handle(event.data);
}
