/**
 * `train`: the lab's Trainer, headless. Token shards from `prepare` in, a run directory out (a
 * Hugging Face folder plus training state, see src/train/run-dir.ts), checkpointed crash-safely;
 * every step appended to log.jsonl, progress on stderr, one JSON summary as stdout's last line.
 * SIGINT/SIGTERM pause the Trainer (the step finishes and is checkpointed) and exit 0;
 * `train --resume` continues bit for bit. A lost GPU device is replaced and the run goes on from
 * its last checkpoint (bounded tries, see device-recovery.ts). Every refusal is one line on stderr,
 * exit 2, and comes before anything is written.
 */
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from '../data/types';
import type { GpuContext } from '../gpu/context';
import { createNodeContext } from '../gpu/node';
import { settingsProblems } from '../train/defaults';
import type { EvalPoint, RunStatus, StepPoint } from '../train/protocol';
import { readRunDir, runDirFiles } from '../train/run-dir';
import type { CheckpointData, RunRecord } from '../train/run-store';
import { writeArena } from '../train/sampling';
import { Trainer, type TrainerEvent, type TrainerOutcome } from '../train/trainer';
import { dropTrainer, recoverRun, RecoveryBudget, runUntilLost, type RecoveryPolicy } from '../train/device-recovery';
import { messageOf } from '../util/errors';
import { microBatchLine, parseTrainArgs } from './train-args';
import { prepareRun } from './train-prepare';
import { Progress } from './train-progress';
import { readRunFolder, writeRunCheckpoint, writeTextAtomic } from './run-folder';

export interface TrainOptions {
  /** The GPU to train on (tests pass theirs); by default a Dawn device made here and destroyed at the end. */
  context?: () => Promise<GpuContext>;
  /** How often a lost device is replaced (tests shorten the waits). */
  recovery?: RecoveryPolicy;
  /** Sees each trainer event with the device in use (tests destroy it mid-run). */
  watch?: (event: TrainerEvent, ctx: GpuContext) => void;
}

/** Drops the points after `step` (they are in step order). */
function cutAfter(points: { step: number }[], step: number): void {
  const i = points.findIndex((p) => p.step > step);
  if (i >= 0) points.length = i;
}

function stepLine(p: StepPoint): object {
  return {
    step: p.step,
    loss: p.loss,
    lr: p.lr,
    tokens: p.tokens,
    tokens_per_s: p.tokensPerSecond,
    elapsed_s: p.elapsedSeconds,
    // Mixed precision's dynamic loss scale, and a step its overflow skipped.
    ...(p.lossScale !== undefined ? { loss_scale: p.lossScale } : {}),
    ...(p.skipped ? { skipped: true } : {}),
  };
}

function evalLine(p: EvalPoint): object {
  // The fixed set's size and the mean's standard error, as the lab and the progress lines show them.
  return {
    step: p.step,
    val_loss: p.valLoss,
    ...(p.standardError !== undefined ? { val_loss_se: p.standardError } : {}),
    ...(p.tokens !== undefined ? { val_tokens: p.tokens } : {}),
  };
}

/**
 * log.jsonl keeps each step once: lines past the checkpoint a resume starts from are dropped. A run
 * directory without one (the lab's download) gets its curve from run.json written out first.
 */
async function trimLog(path: string, record: RunRecord, step: number): Promise<void> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  const lines =
    text !== undefined
      ? text.split('\n')
      : [
          ...record.steps.map((p) => [p.step, 0, stepLine(p)] as const),
          ...record.evals.map((p) => [p.step, 1, evalLine(p)] as const),
        ]
          .sort((a, b) => a[0] - b[0] || a[1] - b[1])
          .map(([, , line]) => JSON.stringify(line));
  const kept = lines.filter((line) => {
    try {
      return (JSON.parse(line) as { step: number }).step <= step;
    } catch {
      return false; // a line cut short by a crash
    }
  });
  await writeTextAtomic(path, kept.map((l) => l + '\n').join(''));
}

export async function trainCommand(argv: string[], options: TrainOptions = {}): Promise<number> {
  let ctx: GpuContext | undefined;
  let trainer: Trainer | undefined;
  let signalled = false;
  let progress: Progress | undefined;
  const onSignal = () => {
    if (signalled) process.exit(130); // a second Ctrl-C: leave now (the last checkpoint stays whole)
    signalled = true;
    const line = 'train: stopping after this step (checkpointing)… press Ctrl-C again to quit at once';
    if (progress) progress.say(line);
    else process.stderr.write(`${line}\n`);
    trainer?.pause();
  };
  try {
    const args = parseTrainArgs(argv);
    const getContext = async () => (ctx ??= await (options.context ?? createNodeContext)());
    const prepared = await prepareRun(args, getContext);
    const device = await getContext();
    const { out, data, dataset } = prepared;
    const settings = prepared.record.summary.settings;
    const limitProblems = settingsProblems(settings, device.limits);
    if (limitProblems.length > 0) throw new DataError('config', limitProblems.join(' '));
    // After every check: a refusal stays one line.
    if (args.resume === undefined && args.microBatch !== undefined)
      process.stderr.write(`train: ${microBatchLine(settings)}\n`);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    const logPath = join(out, 'log.jsonl');
    const steps: StepPoint[] = [...prepared.record.steps];
    const evals: EvalPoint[] = [...prepared.record.evals];
    const status = (step: number): RunStatus => (step >= settings.maxSteps ? 'done' : signalled ? 'paused' : 'running');
    const save = async (data: CheckpointData) => {
      const lastLoss = steps.filter((p) => p.step <= data.step).at(-1)?.loss;
      const lastValLoss = evals.filter((p) => p.step <= data.step).at(-1)?.valLoss;
      const summary = {
        ...prepared.record.summary,
        status: status(data.step),
        updatedAt: new Date().toISOString(),
        ...(lastLoss !== undefined ? { lastLoss } : {}),
        ...(lastValLoss !== undefined ? { lastValLoss } : {}),
      };
      const record: RunRecord = {
        ...prepared.record,
        summary,
        steps: steps.filter((p) => p.step <= data.step),
        evals: evals.filter((p) => p.step <= data.step),
      };
      await writeRunCheckpoint(out, runDirFiles(record, data, dataset));
    };
    const live = new Progress(settings, args.printEvery, prepared.resume?.step ?? 0);
    progress = live;
    const log = (line: object) => appendFile(logPath, JSON.stringify(line) + '\n');
    let pendingLog: Promise<void> = Promise.resolve();
    const onEvent = (event: TrainerEvent) => {
      if (event.type === 'step') {
        const p = event.point;
        steps.push(p);
        pendingLog = pendingLog.then(() => log(stepLine(p)));
        live.step(p);
      } else if (event.type === 'eval') {
        evals.push(event.point);
        const point = event.point;
        pendingLog = pendingLog.then(() => log(evalLine(point)));
        live.eval(event.point);
      } else if (event.type === 'error') {
        live.say(`train: ${event.message}`);
      }
    };
    process.stderr.write(
      `train: ${device.adapterInfo.description || device.adapterInfo.vendor || 'GPU'}; ${live.describe()} -> ${out}\n`,
    );
    process.stderr.write('train: compiling the kernels and running the first step…\n'); // minutes on a CPU adapter
    const build = (on: GpuContext, resume: CheckpointData | undefined) =>
      Trainer.create({
        ctx: on,
        settings,
        store: data.store,
        manifest: data.manifest,
        tokenizer: data.tokenizer,
        resume,
        onEvent: (event) => {
          if (on.isLost()) return; // a lost device's last words are not the run's
          options.watch?.(event, on);
          onEvent(event);
        },
        saveCheckpoint: async (checkpoint) => {
          // Read back from a device that has just been lost, these bytes cannot be trusted.
          if (on.isLost()) throw new Error('the GPU device was lost before this checkpoint could be saved');
          await pendingLog;
          await save(checkpoint);
        },
      });
    trainer = await build(device, prepared.resume);
    if (prepared.initParams) writeArena(trainer.model, 'param', prepared.initParams);
    if (prepared.resume) await trimLog(logPath, prepared.record, prepared.resume.step);
    // A checkpoint of the starting point: a run killed before its first save can still be resumed.
    else await save(await trainer.snapshot());
    let outcome: TrainerOutcome = 'paused';
    // A lost device: a new one, from the last checkpoint written here (bounded tries, one line each).
    const budget = new RecoveryBudget(options.recovery);
    for (let on = device; !signalled;) {
      const result = await runUntilLost(trainer, on);
      if ('outcome' in result) {
        outcome = result.outcome;
        break;
      }
      const lostAt = steps.at(-1)?.step ?? 0;
      dropTrainer(trainer);
      const next = await recoverRun(
        {
          latestCheckpoint: async () => readRunDir(await readRunFolder(out)).checkpoint,
          newContext: async () => (ctx = await (options.context ?? createNodeContext)()),
          build,
          onRecovering: (notice) => {
            cutAfter(steps, notice.from);
            cutAfter(evals, notice.from);
            live.say(`train: ${notice.message}`);
          },
        },
        budget,
        lostAt,
        result.lost,
      );
      await pendingLog;
      await trimLog(logPath, prepared.record, next.from);
      if ('failed' in next)
        throw new Error(
          `${next.failed} The checkpoint at step ${next.from} is saved: continue with \`train --resume ${args.resume ?? args.out}\``,
        );
      ({ trainer, ctx: on } = next);
    }
    await pendingLog;
    live.finish();
    const last = steps.at(-1);
    const lastEval = evals.at(-1);
    process.stderr.write(
      `train: ${outcome} at step ${trainer.step} of ${settings.maxSteps}${outcome === 'done' ? '' : `; continue with \`train --resume ${args.resume ?? args.out}\``}\n`,
    );
    process.stdout.write(
      `${JSON.stringify({ run: out, step: trainer.step, tokens: trainer.tokens, loss: last?.loss ?? null, val_loss: lastEval?.valLoss ?? null })}\n`,
    );
    return outcome === 'error' ? 1 : 0;
  } catch (error) {
    // Under the progress bar if one was drawn; a refusal before training is its one line.
    if (progress) progress.say(`train: ${messageOf(error)}`);
    else process.stderr.write(`train: ${messageOf(error)}\n`);
    return error instanceof DataError ? 2 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await trainer?.close().catch(() => undefined);
    if (ctx && !options.context) ctx.device.destroy();
  }
}
