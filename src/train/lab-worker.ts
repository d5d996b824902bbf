/**
 * Web Worker entry of the lab (WebGPU, the model, the data and IndexedDB all live here):
 *   new Worker(new URL('./lab-worker.ts', import.meta.url), { type: 'module' })
 * The message logic is createLabHandler, which tests drive in Node with Dawn and fake-indexeddb.
 * One run trains at a time (lab-run.ts); 'start'/'resume' resolve when it ends, while other
 * messages (pause, sample, list...) are handled as they come.
 */
import { IdbShardStore } from '../data/idb-store';
import type { DamagedRecord } from '../data/records';
import { DataError, type ShardStore } from '../data/types';
import { createBrowserContext } from '../gpu/browser';
import { GpuError, type GpuContext } from '../gpu/context';
import { TokenizerError } from '../tokenizer/types';
import { settingsProblems } from './defaults';
import type { RecoveryPolicy } from './device-recovery';
import { importRunFiles } from './import-run';
import { trainRun, type ActiveRun, type RunHost } from './lab-run';
import { describeDevice } from './probe';
import { profileTrainingStep } from './profile-step';
import { measureTrainingSpeed, speedProbeProblems, DEFAULT_SPEED_STEPS } from './speed-probe';
import type { LabErrorKind, LabEvent, LabRequest, RunSummary, SampleRequest } from './protocol';
import { RunStore, type RunRecord } from './run-store';
import { exportRunDir, locateDataset } from './run-transfer';
import { sampleText } from './sampling';
import { StoredModel } from './stored-model';
import { loadRunTokenizer } from './run-tokenizer';
import { messageOf } from '../util/errors';

export interface LabDeps {
  createContext: () => Promise<GpuContext>;
  shardStore: ShardStore;
  runStore: RunStore;
  /** How often a lost device is replaced during one run (tests shorten the waits). */
  recovery?: RecoveryPolicy;
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
  const host: RunHost = {
    post,
    fail,
    shardStore,
    runStore,
    context,
    recovery: deps.recovery,
    freeSampler: () => stored.destroy(),
    started: (run) => {
      active = run;
      lastRunId = run.runId;
    },
    ended: (run) => {
      if (active === run) active = null;
    },
  };

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

  /** The stored run, or an error the page can show. */
  async function storedRun(runId: string): Promise<RunRecord> {
    const record = await runStore.get(runId);
    if (!record)
      throw new DataError('config', `there is no run "${runId}" (it may have been deleted): refresh the list of runs`);
    return record;
  }

  function requireIdle(): void {
    if (active) throw new DataError('config', 'a run is training: pause or stop it first');
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
            await trainRun(host, record, undefined);
          } catch (error) {
            // trainRun throws only before the first step: a run that never started is not worth keeping.
            await runStore.delete(record.summary.id).catch(() => undefined);
            throw error;
          }
          return;
        }
        case 'resume': {
          requireIdle();
          const record = await storedRun(message.runId);
          if (record.summary.imported)
            throw new DataError(
              'config',
              `"${record.summary.name}" was imported, not trained here: sample it, or download it to train it further`,
            );
          // A run made elsewhere names its dataset by the id it had there: find the local copy.
          await trainRun(
            host,
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
          const record = await storedRun(message.runId);
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
          const record = await storedRun(message.runId);
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
            profile: await profileTrainingStep(gpu, message.model, message.batchSize, message.precision),
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
