/**
 * One training run in the lab worker: builds its Trainer, reports steps, evaluations and log lines
 * to the page, saves checkpoints to the run store and, when the GPU device is lost, continues from
 * the last checkpoint on a new one (device-recovery.ts). lab-worker.ts owns the device and the
 * stores and hands them over as a RunHost.
 */
import { DataError, type ShardStore } from '../data/types';
import { GpuError, type GpuContext } from '../gpu/context';
import { settingsProblems } from './defaults';
import {
  dropTrainer,
  recoverRun,
  RecoveryBudget,
  runUntilLost,
  unlessLost,
  type RecoveryPolicy,
} from './device-recovery';
import type { EvalPoint, LabEvent, RunSummary, StepPoint } from './protocol';
import type { CheckpointData, RunRecord, RunStore } from './run-store';
import { loadRunTokenizer } from './run-tokenizer';
import { appendLog, logUpTo, type LogEvent } from './train-log';
import { checkpointBytes, Trainer } from './trainer';
import { messageOf } from '../util/errors';

/** The run training in the worker: its trainer and the history the page is shown. */
export interface ActiveRun {
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

/** What a run needs from the worker around it. */
export interface RunHost {
  post: (event: LabEvent) => void;
  /** Reports an error to the page (with the run's id). */
  fail: (error: unknown, extra: { runId: string }) => void;
  shardStore: ShardStore;
  runStore: RunStore;
  /** The worker's GPU device: the current one, or a new one when it was lost. */
  context: () => Promise<GpuContext>;
  /** How often a lost device is replaced during one run. */
  recovery?: RecoveryPolicy;
  /** Frees the sampling model's buffers before the run makes its own. */
  freeSampler: () => void;
  /** The run trains from here (its first trainer is built) ... */
  started: (run: ActiveRun) => void;
  /** ... until here, whatever the outcome. */
  ended: (run: ActiveRun) => void;
}

/** Adds an event to the run's log and shows it. */
function note(host: RunHost, run: ActiveRun, event: LogEvent): void {
  const stamped = { ...event, at: new Date().toISOString() };
  appendLog(run.log, stamped);
  host.post({ type: 'log', runId: run.runId, event: stamped });
}

/** Stores the run's outcome and shows it (a failed save is reported, not thrown). */
async function finishRun(host: RunHost, runId: string, patch: Partial<RunSummary>, log?: LogEvent[]): Promise<void> {
  try {
    host.post({ type: 'run', run: await host.runStore.updateSummary(runId, patch, log) });
  } catch (error) {
    host.fail(error, { runId });
  }
}

/** Builds the trainer, announces the run and trains until it ends, on a new device when one is lost. */
export async function trainRun(host: RunHost, record: RunRecord, resume: CheckpointData | undefined): Promise<void> {
  const { post, shardStore, runStore } = host;
  const { settings, id: runId } = record.summary;
  const { manifest, tokenizer } = await loadRunTokenizer(
    shardStore,
    record.tokenizerJson,
    settings,
    record.summary.tokenizer.fingerprint,
  );
  let gpu = await host.context();
  const problems = settingsProblems(settings, gpu.limits);
  if (problems.length) throw new DataError('config', problems.join(' '));
  host.freeSampler();
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
          note(host, run, { step: event.step, kind: 'checkpoint', bytes: event.bytes });
        } else {
          run.nanMessage = event.message;
          note(host, run, { step: event.step, kind: 'nan', message: event.message });
          post({ type: 'error', kind: 'nan', message: event.message, runId });
        }
      },
      saveCheckpoint: async (data) => {
        // Read back from a device that has just been lost, these bytes cannot be trusted.
        if (!current() || on.isLost()) throw new Error('the GPU device was lost before this checkpoint could be saved');
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
  host.started(run);
  const budget = new RecoveryBudget(host.recovery);
  const { batches, tokens } = first.validationSize;
  const mixed = first.settings.precision === 'mixed' ? 'mixed precision; ' : '';
  const validation = `${mixed}${batches > 0 ? `validation on ${tokens.toLocaleString('en-US')} tokens (${batches} batches)` : 'no validation'}`;
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
          note(host, run, {
            step: lastStep(),
            kind: result.outcome === 'paused' ? 'pause' : result.outcome === 'stopped' ? 'stop' : 'done',
          });
        await finishRun(
          host,
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
              newContext: host.context,
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
          host,
          runId,
          { status, message: `GPU device lost at step ${lostAt}; ${status} at the checkpoint at step ${from}` },
          run.log,
        );
        return;
      }
      const message = `${next.failed} ${from > 0 ? `The checkpoint at step ${from} is saved` : 'No checkpoint was saved yet'}: reload the page and resume the run.`;
      post({ type: 'error', kind: 'device-lost', message, runId });
      note(host, run, { step: lastStep(), kind: 'device-lost', message });
      await finishRun(host, runId, { status: 'error', message }, run.log);
      return;
    }
  } catch (error) {
    if (run.ended) return;
    run.ended = true;
    host.fail(error, { runId });
    const message = `${messageOf(error)} (the checkpoint at step ${run.trainer.lastCheckpointStep} is kept)`;
    note(host, run, { step: lastStep(), kind: 'error', message });
    await finishRun(host, runId, { status: 'error', message }, run.log);
  } finally {
    host.ended(run);
    if (!gpu.isLost()) await run.trainer.close();
  }
}
