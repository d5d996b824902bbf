/**
 * `train`'s checks before a GPU is touched or a file written: the data folder from `prepare` (its
 * manifest and the tokenizer.json it was made with), a new --out or the run to --resume, a plan
 * or --init model, the settings and whether the data has windows long enough for them.
 */
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { BatchSampler } from '../data/sampler';
import { fingerprint } from '../data/fingerprint';
import { FolderShardStore } from '../data/folder-store';
import { DataError, type DatasetManifest } from '../data/types';
import type { GpuContext } from '../gpu/context';
import { Tokenizer } from '../tokenizer/tokenizer';
import { parseTokenizerJson } from '../tokenizer/tokenizer-json';
import { settingsProblems } from '../train/defaults';
import { importHfRun } from '../train/import-run';
import { isSoftwareAdapter } from '../train/probe';
import type { RunSettings } from '../train/protocol';
import { datasetOf as manifestDataset, HF_FILES, readRunDir, type RunDataset } from '../train/run-dir';
import type { CheckpointData, RunRecord } from '../train/run-store';
import { messageOf } from '../util/errors';
import { buildSettings, readPlan, type TrainArgs } from './train-args';
import { folderEntries, readRunFolder, recoverRunFolder } from './run-folder';

export interface DataFolder {
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
    throw new DataError('format', `${dir}/tokenizer.json: ${messageOf(error)}`);
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

export interface Prepared {
  out: string;
  data: DataFolder;
  record: RunRecord;
  dataset: RunDataset;
  resume?: CheckpointData;
  initParams?: Uint8Array;
}

/** Everything checked and read before a GPU is touched or a file written. */
export async function prepareRun(args: TrainArgs, gpuContext: () => Promise<GpuContext>): Promise<Prepared> {
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
    adapter: ctx,
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
