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
import { basename, join, resolve } from 'node:path';
import { BatchSampler } from '../data/sampler';
import { fingerprint } from '../data/fingerprint';
import { FolderShardStore } from '../data/folder-store';
import { DataError, type DatasetManifest } from '../data/types';
import type { GpuContext } from '../gpu/context';
import { createNodeContext } from '../gpu/node';
import { Tokenizer } from '../tokenizer/tokenizer';
import { parseTokenizerJson } from '../tokenizer/tokenizer-json';
import { settingsProblems } from '../train/defaults';
import { importHfRun } from '../train/import-run';
import { isSoftwareAdapter } from '../train/probe';
import type { EvalPoint, RunSettings, RunStatus, StepPoint } from '../train/protocol';
import { datasetOf as manifestDataset, HF_FILES, readRunDir, runDirFiles, type RunDataset } from '../train/run-dir';
import type { CheckpointData, RunRecord } from '../train/run-store';
import { writeArena } from '../train/sampling';
import { Trainer, type TrainerEvent, type TrainerOutcome } from '../train/trainer';
import { dropTrainer, recoverRun, RecoveryBudget, runUntilLost, type RecoveryPolicy } from '../train/device-recovery';
import { buildSettings, microBatchLine, parseTrainArgs, readPlan, type TrainArgs } from './train-args';
import { Progress } from './train-progress';
import { folderEntries, readRunFolder, recoverRunFolder, writeRunCheckpoint, writeTextAtomic } from './run-folder';

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

interface DataFolder {
  dir: string;
  store: FolderShardStore;
  manifest: DatasetManifest;
  tokenizerJson: string;
  tokenizer: Tokenizer;
}

/** A folder from `prepare`: its manifest and the tokenizer.json whose fingerprint the manifest records. */
async function openData(dirArg: string): Promise<DataFolder> {
  const dir = resolve(dirArg);
  const store = new FolderShardStore(dir);
  const [manifest] = await store.listManifests();
  if (!manifest)
    throw new DataError(
      'config',
      `${dir} holds no manifest.json: make the data with \`prepare --source ... --tokenizer tokenizer.json --out ${dirArg}\``,
    );
  if (manifest.shards.length === 0)
    throw new DataError('config', `${dir} has no token shards yet: run prepare on it until some are written`);
  const tokenizerJson = await readFile(join(dir, 'tokenizer.json'), 'utf8').catch(() => undefined);
  if (tokenizerJson === undefined)
    throw new DataError(
      'config',
      `${dir} has no tokenizer.json: run prepare on it again (it copies the tokenizer there), or copy in the tokenizer.json its tokens were made with`,
    );
  const print = fingerprint(tokenizerJson);
  if (print !== manifest.tokenizer.fingerprint) {
    throw new DataError(
      'config',
      `${dir}/tokenizer.json (fingerprint ${print}) is not the tokenizer its tokens were made with (manifest.json says ${manifest.tokenizer.fingerprint}): copy the right tokenizer.json there, or prepare the data again`,
    );
  }
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(parseTokenizerJson(tokenizerJson));
  } catch (error) {
    throw new DataError('format', `${dir}/tokenizer.json: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { dir, store, manifest, tokenizerJson, tokenizer };
}

/** Opens both samplers without a GPU: a block size longer than the data's windows is refused here. */
async function checkWindows(data: DataFolder, settings: RunSettings): Promise<void> {
  const options = { batchSize: settings.batchSize, seqLen: settings.model.blockSize, seed: settings.seed };
  await BatchSampler.open(data.store, data.manifest, { ...options, split: 'train' });
  if (settings.evalBatches > 0) await BatchSampler.open(data.store, data.manifest, { ...options, split: 'val' });
}

/** The dataset as the run records it, with the folder it was read from. */
function datasetOf(data: DataFolder): RunDataset {
  return { ...manifestDataset(data.manifest), path: data.dir };
}

function stepLine(p: StepPoint): object {
  return {
    step: p.step,
    loss: p.loss,
    lr: p.lr,
    tokens: p.tokens,
    tokens_per_s: p.tokensPerSecond,
    elapsed_s: p.elapsedSeconds,
  };
}

function evalLine(p: EvalPoint): object {
  return { step: p.step, val_loss: p.valLoss };
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

interface Prepared {
  out: string;
  data: DataFolder;
  record: RunRecord;
  dataset: RunDataset;
  resume?: CheckpointData;
  initParams?: Uint8Array;
}

/** Everything checked and read before a GPU is touched or a file written. */
async function prepareRun(args: TrainArgs, gpuContext: () => Promise<GpuContext>): Promise<Prepared> {
  if (args.resume !== undefined) {
    const out = resolve(args.resume);
    await recoverRunFolder(out).catch(() => undefined);
    const run = readRunDir(await readRunFolder(out));
    const dataDir = args.data ?? run.dataset?.path;
    if (!dataDir) {
      const source = run.dataset ? ` (${run.dataset.name}, source ${JSON.stringify(run.dataset.source)})` : '';
      throw new DataError(
        'config',
        `run.json names no data folder here: prepare its dataset${source} with \`prepare --tokenizer ${join(args.resume, 'tokenizer.json')} ...\` and pass --data <that folder>`,
      );
    }
    const data = await openData(dataDir);
    if (data.manifest.tokenizer.fingerprint !== run.record.summary.tokenizer.fingerprint) {
      throw new DataError(
        'config',
        `the data in ${data.dir} was tokenized with another tokenizer (fingerprint ${data.manifest.tokenizer.fingerprint}) than the run's (${run.record.summary.tokenizer.fingerprint}): prepare it with ${join(args.resume, 'tokenizer.json')}`,
      );
    }
    if (run.dataset && run.dataset.tokens !== data.manifest.tokens) {
      // Allowed (a dataset prepared further), but the batches then differ from an uninterrupted run.
      process.stderr.write(
        `train: the run started on ${run.dataset.tokens} tokens; ${data.dir} has ${data.manifest.tokens}, so its batches differ from those the run would have drawn\n`,
      );
    }
    const settings = { ...run.record.summary.settings, datasetId: data.manifest.id };
    if (args.numbers.steps !== undefined) {
      if (args.numbers.steps < run.checkpoint.step)
        throw new DataError(
          'config',
          `--steps ${args.numbers.steps} is before the checkpoint at step ${run.checkpoint.step}: give more steps to extend the run`,
        );
      settings.maxSteps = args.numbers.steps;
    }
    await checkWindows(data, settings);
    const record = { ...run.record, summary: { ...run.record.summary, settings } };
    return {
      out,
      data,
      record,
      dataset: { ...(run.dataset ?? datasetOf(data)), path: data.dir },
      resume: run.checkpoint,
    };
  }
  const out = resolve(args.out!);
  const entries = await folderEntries(out);
  if (entries.includes('run.json'))
    throw new DataError(
      'config',
      `${out} holds another run: continue it with \`train --resume ${args.out}\`, or give a new --out`,
    );
  if (entries.length > 0)
    throw new DataError(
      'config',
      `${out} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}): give a new or empty folder as --out`,
    );
  const data = await openData(args.data!);
  const plan = args.plan !== undefined ? await readPlan(args.plan) : undefined;
  const vocabSize = data.tokenizer.vocabSize;
  if (plan?.model.vocabSize !== undefined && plan.model.vocabSize !== vocabSize) {
    process.stderr.write(
      `train: the plan is for a ${plan.model.vocabSize}-token vocabulary; the data's tokenizer has ${vocabSize}, so the model has ${vocabSize}\n`,
    );
  }
  let initParams: Uint8Array | undefined;
  let initModel: RunSettings['model'] | undefined;
  if (args.init !== undefined) {
    const imported = importHfRun(await readRunFolder(resolve(args.init), HF_FILES));
    if (imported.tokenizer.fingerprint !== data.manifest.tokenizer.fingerprint) {
      throw new DataError(
        'config',
        `${args.init}/tokenizer.json is another tokenizer (fingerprint ${imported.tokenizer.fingerprint}) than the data's (${data.manifest.tokenizer.fingerprint}): prepare the data with ${join(args.init, 'tokenizer.json')}`,
      );
    }
    initParams = imported.checkpoint.params;
    initModel = imported.settings.model;
  }
  const ctx = await gpuContext();
  const settings = buildSettings(args, {
    isSoftware: isSoftwareAdapter(ctx),
    limits: ctx.limits,
    vocabSize,
    datasetId: data.manifest.id,
    plan,
    initModel,
  });
  const problems = settingsProblems(settings);
  if (problems.length > 0) throw new DataError('config', problems.join(' '));
  await checkWindows(data, settings);
  const now = new Date().toISOString();
  const { nLayer, nEmbd } = settings.model;
  const record: RunRecord = {
    summary: {
      id: `run-${now.replace(/[-:.TZ]/g, '').slice(0, 14)}-${basename(out)}`,
      name: `${nLayer}L ${nEmbd}w on ${data.manifest.name}`,
      createdAt: now,
      updatedAt: now,
      settings,
      status: 'running',
      checkpointStep: 0,
      tokens: 0,
      tokenizer: { vocabSize, fingerprint: data.manifest.tokenizer.fingerprint },
      ...(args.init !== undefined ? { imported: basename(resolve(args.init)) } : {}),
    },
    tokenizerJson: data.tokenizerJson,
    steps: [],
    evals: [],
  };
  return { out, data, record, dataset: datasetOf(data), initParams };
}

export async function trainCommand(argv: string[], options: TrainOptions = {}): Promise<number> {
  let ctx: GpuContext | undefined;
  let trainer: Trainer | undefined;
  let signalled = false;
  const onSignal = () => {
    if (signalled) process.exit(130); // a second Ctrl-C: leave now (the last checkpoint stays whole)
    signalled = true;
    process.stderr.write('\ntrain: stopping after this step (checkpointing)… press Ctrl-C again to quit at once\n');
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
    const progress = new Progress(settings, args.printEvery, prepared.resume?.step ?? 0);
    const log = (line: object) => appendFile(logPath, JSON.stringify(line) + '\n');
    let pendingLog: Promise<void> = Promise.resolve();
    const onEvent = (event: TrainerEvent) => {
      if (event.type === 'step') {
        const p = event.point;
        steps.push(p);
        pendingLog = pendingLog.then(() => log(stepLine(p)));
        progress.step(p);
      } else if (event.type === 'eval') {
        evals.push(event.point);
        const point = event.point;
        pendingLog = pendingLog.then(() => log(evalLine(point)));
        progress.eval(event.point);
      } else if (event.type === 'error') {
        process.stderr.write(`\ntrain: ${event.message}\n`);
      }
    };
    process.stderr.write(
      `train: ${device.adapterInfo.description || device.adapterInfo.vendor || 'GPU'}; ${progress.describe()} -> ${out}\n`,
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
            process.stderr.write(`\ntrain: ${notice.message}\n`);
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
    progress.finish();
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
    process.stderr.write(`\ntrain: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof DataError ? 2 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await trainer?.close().catch(() => undefined);
    if (ctx && !options.context) ctx.device.destroy();
  }
}
