/**
 * A Hugging Face GPT-2 folder (config.json, model.safetensors, tokenizer.json — what the lab's
 * Download gives, or what transformers' save_pretrained writes) turned into a stored run that can
 * be sampled and downloaded again. No GPU: the weights go straight into a checkpoint's arena layout.
 * Every problem is a DataError that names the file and what is wrong with it.
 */
import { DataError } from '../data/types';
import { fingerprint } from '../data/fingerprint';
import type { GPTConfig } from '../model/config';
import { checkConfigMatchesTensors, checkWeightsFit, configFromHfJson } from '../model/hf';
import { expectTensor, parseSafetensors, tensorAsFloat32 } from '../model/safetensors';
import { parseTokenizerJson } from '../tokenizer/tokenizer-json';
import { Tokenizer } from '../tokenizer/tokenizer';
import type { ShardStore } from '../data/types';
import { suggestSettings } from './defaults';
import type { RunSettings, RunSummary } from './protocol';
import { isRunDir } from './run-dir';
import { paramArenaLength, paramLayout, type CheckpointData, type RunStore } from './run-store';
import { importRunDir } from './run-transfer';
import { messageOf } from '../util/errors';

export interface ImportedRun {
  settings: RunSettings;
  tokenizerJson: string;
  tokenizer: RunSummary['tokenizer'];
  checkpoint: CheckpointData;
}

const REQUIRED = ['config.json', 'model.safetensors', 'tokenizer.json'] as const;

/** `files` by base name (a folder's or a zip's paths are fine: "my-run/config.json"). */
function pick(files: { name: string; bytes: Uint8Array }[]): Record<(typeof REQUIRED)[number], Uint8Array> {
  const byName = new Map(files.map((f) => [f.name.split('/').pop()!, f.bytes]));
  const missing = REQUIRED.filter((name) => !byName.has(name));
  if (missing.length > 0) {
    throw new DataError(
      'format',
      `a Hugging Face model folder needs ${REQUIRED.join(', ')}; missing: ${missing.join(', ')}`,
    );
  }
  return Object.fromEntries(REQUIRED.map((name) => [name, byName.get(name)!])) as Record<
    (typeof REQUIRED)[number],
    Uint8Array
  >;
}

function readConfig(bytes: Uint8Array): GPTConfig {
  try {
    return configFromHfJson(JSON.parse(new TextDecoder().decode(bytes)));
  } catch (error) {
    throw new DataError('format', `config.json: ${messageOf(error)}`);
  }
}

/** The model's parameters laid out as a checkpoint arena (the ParameterStore's offsets, f32). */
function readWeights(bytes: Uint8Array, config: GPTConfig): Uint8Array {
  const arena = new Float32Array(paramArenaLength(config));
  try {
    const file = parseSafetensors(bytes);
    for (const e of paramLayout(config)) arena.set(tensorAsFloat32(expectTensor(file, e.name, e.shape)), e.offset);
  } catch (error) {
    throw new DataError('format', `model.safetensors: ${messageOf(error)}`);
  }
  // Not finite weights would sample nothing but NaN: say so now.
  if (!arena.every(Number.isFinite))
    throw new DataError('format', 'model.safetensors: some weights are NaN or infinite');
  return new Uint8Array(arena.buffer);
}

export function importHfRun(files: { name: string; bytes: Uint8Array }[]): ImportedRun {
  const picked = pick(files);
  const model = readConfig(picked['config.json']);
  // A truncated or garbled weights file is that file's fault, whatever the config says: check it first.
  let weights: ReturnType<typeof parseSafetensors>;
  try {
    weights = parseSafetensors(picked['model.safetensors']);
  } catch (error) {
    throw new DataError('format', `model.safetensors: ${messageOf(error)}`);
  }
  // Before the tokenizer or the arena: a crafted size must never reach an allocation.
  try {
    checkWeightsFit(model, picked['model.safetensors'].byteLength);
  } catch (error) {
    throw new DataError('format', `config.json: ${messageOf(error)}`);
  }
  // Whole weights whose shapes disagree with config.json: the config is the one at fault.
  try {
    checkConfigMatchesTensors(model, new Map([...weights.tensors].map(([name, t]) => [name, t.shape])));
  } catch (error) {
    throw new DataError('format', `config.json: ${messageOf(error)}`);
  }
  const tokenizerJson = new TextDecoder().decode(picked['tokenizer.json']);
  let vocabSize: number;
  try {
    vocabSize = new Tokenizer(parseTokenizerJson(tokenizerJson)).vocabSize;
  } catch (error) {
    throw new DataError('format', `tokenizer.json: ${messageOf(error)}`);
  }
  if (vocabSize > model.vocabSize) {
    throw new DataError(
      'format',
      `tokenizer.json has ${vocabSize} tokens but config.json's vocab_size is ${model.vocabSize}: they are not from the same model`,
    );
  }
  const params = readWeights(picked['model.safetensors'], model);
  // Imported weights come without optimizer state: fresh AdamW moments.
  const zeros = new Uint8Array(params.byteLength);
  return {
    settings: { ...suggestSettings({ isSoftware: true }), model, datasetId: '' },
    tokenizerJson,
    tokenizer: { vocabSize, fingerprint: fingerprint(tokenizerJson) },
    checkpoint: {
      step: 0,
      adamStep: 0,
      samplerState: 0,
      tokens: 0,
      elapsedSeconds: 0,
      params,
      adamM: zeros,
      adamV: zeros.slice(),
    },
  };
}

/** A run directory's files whose bytes make it what it is (config.json and run.json differ in cosmetics only). */
const RUN_DIR_IDENTITY = ['model.safetensors', 'tokenizer.json', 'training_state.safetensors'];

/**
 * Two 32-bit FNV-1a style lanes over the bytes, 4 at a time: cheap enough for hundreds of MB in
 * a worker, and two lanes keep an accidental match out of reach for a per-browser list of runs.
 */
function hashBytes(bytes: Uint8Array, h: [number, number]): [number, number] {
  let [h1, h2] = h;
  const words = bytes.byteLength >>> 2;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < words; i++) {
    const w = view.getUint32(i * 4, true);
    h1 = Math.imul(h1 ^ w, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ w, 0x5bd1e995) >>> 0;
    h2 = (h2 ^ (h2 >>> 15)) >>> 0;
  }
  for (let i = words * 4; i < bytes.byteLength; i++) {
    h1 = Math.imul(h1 ^ bytes[i]!, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ bytes[i]!, 0x5bd1e995) >>> 0;
  }
  return [h1, h2];
}

/** One hex key over named parts, each prefixed by its name and length so parts never run together. */
function keyOf(parts: [name: string, bytes: Uint8Array][]): string {
  let h: [number, number] = [0x811c9dc5, 0x9747b28c];
  for (const [name, bytes] of parts) {
    h = hashBytes(new TextEncoder().encode(`${name}:${bytes.byteLength};`), h);
    h = hashBytes(bytes, h);
  }
  return h.map((v) => v.toString(16).padStart(8, '0')).join('');
}

/**
 * What tells an import apart. A Hugging Face folder: its weights as f32 (whatever dtype or
 * metadata the file had) and its tokenizer, so the lab's own download of an imported model is
 * the same model. A run directory: the bytes of its weights, tokenizer and optimizer state.
 */
export function importKey(files: { name: string; bytes: Uint8Array }[], imported?: ImportedRun): string {
  if (imported)
    return keyOf([
      ['weights', imported.checkpoint.params],
      ['tokenizer.json', new TextEncoder().encode(imported.tokenizerJson)],
    ]);
  const byName = new Map(files.map((f) => [f.name.split('/').pop()!, f.bytes]));
  return keyOf(RUN_DIR_IDENTITY.filter((name) => byName.has(name)).map((name) => [name, byName.get(name)!]));
}

/** Refuses files already imported as a stored run, naming that run (given to `onExisting` first, to open it). */
async function refuseDuplicate(
  runStore: RunStore,
  key: string,
  source: string,
  onExisting?: (run: RunSummary) => void,
): Promise<void> {
  const existing = (await runStore.list()).find((r) => r.importKey === key);
  if (existing) {
    onExisting?.(existing);
    throw new DataError(
      'config',
      `${source} is already imported as "${existing.name}": that run is shown instead of a copy (delete it in Runs in this browser to import it again)`,
    );
  }
}

/**
 * The lab worker's import: a run directory becomes a run to resume, a Hugging Face folder a run to
 * sample. The same model a second time makes no second run: `onExisting` gets the run it already
 * is (the lab opens it) and the error names it.
 */
export async function importRunFiles(
  runStore: RunStore,
  shardStore: ShardStore,
  files: { name: string; bytes: Uint8Array }[],
  source: string,
  onExisting?: (run: RunSummary) => void,
): Promise<RunSummary> {
  if (isRunDir(files)) {
    const key = importKey(files);
    await refuseDuplicate(runStore, key, source, onExisting);
    const summary = await importRunDir(runStore, shardStore, files, source);
    return runStore.updateSummary(summary.id, { importKey: key });
  }
  const imported = importHfRun(files);
  const key = importKey(files, imported);
  await refuseDuplicate(runStore, key, source, onExisting);
  const { nLayer, nEmbd } = imported.settings.model;
  const record = await runStore.create({ ...imported, name: `${nLayer}L ${nEmbd}w imported from ${source}` });
  const id = record.summary.id;
  try {
    return await runStore.saveCheckpoint(
      id,
      imported.checkpoint,
      { steps: [], evals: [] },
      { status: 'done', imported: source, importKey: key },
    );
  } catch (error) {
    await runStore.delete(id).catch(() => undefined); // a run without its weights is of no use
    throw error;
  }
}
