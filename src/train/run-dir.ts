/**
 * A run directory: the Hugging Face folder transformers' from_pretrained loads as is (config.json,
 * model.safetensors, tokenizer.json) plus what it takes to continue training exactly
 * (training_state.safetensors: AdamW moments, step, sampler state, tokens; run.json: settings,
 * dataset, curve). The CLI writes one per run; the lab's "full state" zip is one. Pure: no node:
 * imports, so it runs in the browser's worker too. Reading checks everything and names the file.
 */
import { ParameterStore } from '../autograd/params';
import { fingerprint } from '../data/fingerprint';
import { DataError, type DatasetManifest } from '../data/types';
import type { GPTConfig } from '../model/config';
import {
  checkConfigMatchesTensors,
  checkWeightsFit,
  configFromHfJson,
  endOfTextId,
  gpt2ParamShapes,
  hfConfigJson,
} from '../model/hf';
import {
  expectTensor,
  parseSafetensors,
  tensorAsFloat32,
  writeSafetensors,
  type SafetensorsFile,
  type TensorToWrite,
} from '../model/safetensors';
import { Tokenizer } from '../tokenizer/tokenizer';
import { parseTokenizerJson } from '../tokenizer/tokenizer-json';
import { lossScaleMetadata, lossScaleProblem } from './loss-scale';
import type { RunDataset, RunSummary } from './protocol';
import type { CheckpointData, RunRecord } from './run-store';
import { fail, readRunJson, RUN_FORMAT } from './run-json';
import { messageOf } from '../util/errors';

export interface RunDirFile {
  name: string;
  bytes: Uint8Array;
}

export type { RunDataset };

/** What a run records of its dataset, to find (by content) or prepare the same tokens elsewhere. */
export function datasetOf(manifest: DatasetManifest): RunDataset {
  return {
    id: manifest.id,
    name: manifest.name,
    source: manifest.source,
    tokenizerFingerprint: manifest.tokenizer.fingerprint,
    tokens: manifest.tokens,
    ...(manifest.maxTokens !== undefined ? { maxTokens: manifest.maxTokens } : {}),
    valFraction: manifest.valFraction,
    ...(manifest.shards.length > 1 ? { shardTokens: manifest.shards[0]!.tokens } : {}),
  };
}

/** The five files, in the order a checkpoint writes them (the state last, run.json very last). */
export const RUN_DIR_FILES = [
  'config.json',
  'tokenizer.json',
  'model.safetensors',
  'training_state.safetensors',
  'run.json',
] as const;
export const HF_FILES = ['model.safetensors', 'config.json', 'tokenizer.json'] as const;

const STATE_FORMAT = 'gpt-garden-state';

/** Where each parameter sits in a checkpoint's arena: the ParameterStore's own layout, without a device. */
export function paramLayout(config: GPTConfig): ParameterStore['entries'] {
  return layoutStore(config).entries;
}

/** Floats in one arena of a checkpoint (what writeArena expects), padding included. */
export function paramArenaLength(config: GPTConfig): number {
  return layoutStore(config).length;
}

function layoutStore(config: GPTConfig): ParameterStore {
  // The constructor only computes offsets; buffers are made on first use, which never comes here.
  return new ParameterStore(undefined as unknown as GPUDevice, gpt2ParamShapes(config));
}

function floats(bytes: Uint8Array): Float32Array {
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  return new Float32Array(bytes.slice().buffer);
}

/** One arena split into its parameters under `prefix` + HF name. */
function arenaTensors(config: GPTConfig, arenaBytes: Uint8Array, prefix: string, what: string): TensorToWrite[] {
  const arena = floats(arenaBytes);
  return paramLayout(config).map((e) => {
    if (e.offset + e.numel > arena.length)
      throw new DataError(
        'format',
        `the checkpoint's ${what} are shorter than its model: it is damaged; start the run again`,
      );
    return {
      name: prefix + e.name,
      dtype: 'F32' as const,
      shape: e.shape,
      data: arena.subarray(e.offset, e.offset + e.numel),
    };
  });
}

/** The bare Hugging Face folder (what RunStore.exportHf gives): model.safetensors, config.json, tokenizer.json. */
export function hfFolderFiles(config: GPTConfig, params: Uint8Array, tokenizerJson: string): RunDirFile[] {
  const encoder = new TextEncoder();
  return [
    { name: 'model.safetensors', bytes: writeSafetensors(arenaTensors(config, params, '', 'weights')) },
    {
      name: 'config.json',
      bytes: encoder.encode(JSON.stringify(hfConfigJson(config, endOfTextId(tokenizerJson)), null, 2) + '\n'),
    },
    { name: 'tokenizer.json', bytes: encoder.encode(tokenizerJson) },
  ];
}

/** config.json, model.safetensors, tokenizer.json, training_state.safetensors, run.json. */
export function runDirFiles(record: RunRecord, checkpoint: CheckpointData, dataset?: RunDataset): RunDirFile[] {
  const config = record.summary.settings.model;
  const state = writeSafetensors(
    [
      ...arenaTensors(config, checkpoint.adamM, 'adam_m.', 'AdamW moments'),
      ...arenaTensors(config, checkpoint.adamV, 'adam_v.', 'AdamW moments'),
    ],
    {
      format: STATE_FORMAT,
      step: String(checkpoint.step),
      adam_step: String(checkpoint.adamStep),
      sampler_state: String(checkpoint.samplerState),
      tokens: String(checkpoint.tokens),
      elapsed_seconds: String(checkpoint.elapsedSeconds), // String() of a double reads back to the same bits
      ...lossScaleMetadata(checkpoint.lossScale),
    },
  );
  // run.json names the checkpoint's step too: a reader refuses a state and a record that disagree.
  const summary: RunSummary = { ...record.summary, checkpointStep: checkpoint.step, tokens: checkpoint.tokens };
  const run = {
    format: RUN_FORMAT,
    version: 1,
    summary,
    steps: record.steps,
    evals: record.evals,
    ...(dataset ? { dataset } : {}),
  };
  return [
    ...hfFolderFiles(config, checkpoint.params, record.tokenizerJson),
    { name: 'training_state.safetensors', bytes: state },
    { name: 'run.json', bytes: new TextEncoder().encode(JSON.stringify(run, null, 1) + '\n') },
  ];
}

/** True when the files are a full-state run directory (run.json and training_state.safetensors present), not a bare HF folder. */
export function isRunDir(files: { name: string }[]): boolean {
  const names = new Set(files.map((f) => baseName(f.name)));
  return names.has('run.json') && names.has('training_state.safetensors');
}

function baseName(path: string): string {
  return path.split(/[/\\]/).pop()!;
}

/** Parses and checks a run directory's files; every problem names its file and what to do. */
export function readRunDir(files: RunDirFile[]): {
  record: RunRecord;
  checkpoint: CheckpointData;
  dataset?: RunDataset;
} {
  const byName = new Map(files.map((f) => [baseName(f.name), f.bytes]));
  for (const name of RUN_DIR_FILES) {
    if (!byName.has(name))
      fail(
        name,
        `missing from the run directory (a run directory holds ${RUN_DIR_FILES.join(', ')}): copy the whole folder again, or use the last complete checkpoint`,
      );
  }
  const file = (name: (typeof RUN_DIR_FILES)[number]) => byName.get(name)!;
  const run = readRunJson(file('run.json'));
  const config = readConfig(file('config.json'));
  // A truncated or garbled weights file is that file's fault, whatever the config says: check it first.
  const weights = parseOrFail('model.safetensors', file('model.safetensors'));
  try {
    // Bounded by the file before any arena (the state's arenas are the same size as this one).
    checkWeightsFit(config, file('model.safetensors').byteLength);
  } catch (error) {
    fail('config.json', messageOf(error));
  }
  const settings = run.summary.settings;
  if ((['vocabSize', 'blockSize', 'nLayer', 'nHead', 'nEmbd'] as const).some((k) => config[k] !== settings.model[k])) {
    fail(
      'config.json',
      `the model ${JSON.stringify(config)} is not run.json's ${JSON.stringify(settings.model)}: the files come from different runs`,
    );
  }
  try {
    // Whole weights of other dimensions than config.json's: the config is at fault, named with both values.
    checkConfigMatchesTensors(config, new Map([...weights.tensors].map(([name, t]) => [name, t.shape])));
  } catch (error) {
    fail('config.json', messageOf(error));
  }
  const tokenizerJson = new TextDecoder().decode(file('tokenizer.json'));
  let vocabSize: number;
  try {
    vocabSize = new Tokenizer(parseTokenizerJson(tokenizerJson)).vocabSize;
  } catch (error) {
    fail('tokenizer.json', `${messageOf(error)}; copy the run's tokenizer.json again`);
  }
  if (vocabSize > config.vocabSize)
    fail(
      'tokenizer.json',
      `it has ${vocabSize} tokens but config.json's vocab_size is ${config.vocabSize}: they are not from the same model`,
    );
  const print = fingerprint(tokenizerJson);
  if (print !== run.summary.tokenizer.fingerprint) {
    fail(
      'tokenizer.json',
      `not the tokenizer this run was trained with (fingerprint ${print}, run.json says ${run.summary.tokenizer.fingerprint}): copy the run's own tokenizer.json`,
    );
  }
  const params = readArena('model.safetensors', file('model.safetensors'), config, '', 'weights');
  const state = parseOrFail('training_state.safetensors', file('training_state.safetensors'));
  const meta = state.metadata;
  if (meta.format !== STATE_FORMAT)
    fail(
      'training_state.safetensors',
      `its __metadata__ format is ${JSON.stringify(meta.format)}, not "${STATE_FORMAT}": not a GPT Garden training state`,
    );
  const num = (key: string, integer: boolean) => {
    const value = Number(meta[key]);
    if (
      meta[key] === undefined ||
      meta[key] === '' ||
      !Number.isFinite(value) ||
      value < 0 ||
      (integer && !Number.isSafeInteger(value))
    ) {
      fail(
        'training_state.safetensors',
        `__metadata__ ${key} is ${JSON.stringify(meta[key])}, not a ${integer ? 'whole ' : ''}number of at least 0`,
      );
    }
    return value;
  };
  const checkpoint: CheckpointData = {
    step: num('step', true),
    adamStep: num('adam_step', true),
    samplerState: num('sampler_state', true),
    tokens: num('tokens', true),
    elapsedSeconds: num('elapsed_seconds', false),
    params,
    adamM: readArena('training_state.safetensors', state, config, 'adam_m.', 'AdamW first moments'),
    adamV: readArena('training_state.safetensors', state, config, 'adam_v.', 'AdamW second moments'),
  };
  // Older states have no loss scale: the run starts from its precision's default.
  if (meta.loss_scale !== undefined) {
    const lossScale = {
      scale: num('loss_scale', false),
      cleanSteps: num('loss_scale_clean_steps', true),
      skippedSteps: num('loss_scale_skipped_steps', true),
    };
    const problem = lossScaleProblem(lossScale);
    if (problem) fail('training_state.safetensors', `__metadata__ ${problem}`);
    checkpoint.lossScale = lossScale;
  }
  if (checkpoint.adamStep > checkpoint.step)
    fail(
      'training_state.safetensors',
      `adam_step ${checkpoint.adamStep} is past step ${checkpoint.step}: the file is damaged`,
    );
  if (checkpoint.step !== run.summary.checkpointStep) {
    fail(
      'run.json',
      `it is for step ${run.summary.checkpointStep} but training_state.safetensors is at step ${checkpoint.step}: the checkpoint was not written completely; use the previous one`,
    );
  }
  const record: RunRecord = {
    summary: { ...run.summary, tokens: checkpoint.tokens },
    tokenizerJson,
    steps: run.steps,
    evals: run.evals,
  };
  return { record, checkpoint, ...(run.dataset ? { dataset: run.dataset } : {}) };
}

function readConfig(bytes: Uint8Array): GPTConfig {
  try {
    return configFromHfJson(JSON.parse(new TextDecoder().decode(bytes)));
  } catch (error) {
    fail('config.json', `${messageOf(error)}; copy the run's config.json again`);
  }
}

function parseOrFail(name: string, bytes: Uint8Array): SafetensorsFile {
  try {
    return parseSafetensors(bytes);
  } catch (error) {
    fail(name, `${messageOf(error)}; the file is damaged: copy it again or use the previous checkpoint`);
  }
}

/** One role's arena rebuilt from tensors named `prefix` + HF name (padding stays zero). */
function readArena(
  name: string,
  input: Uint8Array | SafetensorsFile,
  config: GPTConfig,
  prefix: string,
  what: string,
): Uint8Array {
  const file = input instanceof Uint8Array ? parseOrFail(name, input) : input;
  const arena = new Float32Array(paramArenaLength(config));
  try {
    for (const e of paramLayout(config))
      arena.set(tensorAsFloat32(expectTensor(file, prefix + e.name, e.shape)), e.offset);
  } catch (error) {
    fail(name, `${messageOf(error)}; it does not hold this run's ${what}`);
  }
  // Not finite values would train or sample nothing but NaN: say so now.
  if (!arena.every(Number.isFinite)) fail(name, `some ${what} are NaN or infinite: use an earlier checkpoint`);
  return new Uint8Array(arena.buffer);
}
