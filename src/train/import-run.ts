/**
 * A Hugging Face GPT-2 folder (config.json, model.safetensors, tokenizer.json — what the lab's
 * Download gives, or what transformers' save_pretrained writes) turned into a stored run that can
 * be sampled and downloaded again. No GPU: the weights go straight into a checkpoint's arena layout.
 * Every problem is a DataError that names the file and what is wrong with it.
 */
import { DataError } from '../data/types';
import { fingerprint } from '../data/fingerprint';
import type { GPTConfig } from '../model/config';
import { checkWeightsFit, configFromHfJson } from '../model/hf';
import { expectTensor, parseSafetensors, tensorAsFloat32 } from '../model/safetensors';
import { parseTokenizerJson } from '../tokenizer/tokenizer-json';
import { Tokenizer } from '../tokenizer/tokenizer';
import { suggestSettings } from './defaults';
import type { RunSettings, RunSummary } from './protocol';
import { paramArenaLength, paramLayout, type CheckpointData } from './run-store';

export interface ImportedRun {
  settings: RunSettings;
  tokenizerJson: string;
  tokenizer: RunSummary['tokenizer'];
  checkpoint: CheckpointData;
}

const REQUIRED = ['config.json', 'model.safetensors', 'tokenizer.json'] as const;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `files` by base name (a folder's or a zip's paths are fine: "my-run/config.json"). */
function pick(files: { name: string; bytes: Uint8Array }[]): Record<(typeof REQUIRED)[number], Uint8Array> {
  const byName = new Map(files.map((f) => [f.name.split('/').pop()!, f.bytes]));
  const missing = REQUIRED.filter((name) => !byName.has(name));
  if (missing.length > 0) {
    throw new DataError('format', `a Hugging Face model folder needs ${REQUIRED.join(', ')}; missing: ${missing.join(', ')}`);
  }
  return Object.fromEntries(REQUIRED.map((name) => [name, byName.get(name)!])) as Record<(typeof REQUIRED)[number], Uint8Array>;
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
  if (!arena.every(Number.isFinite)) throw new DataError('format', 'model.safetensors: some weights are NaN or infinite');
  return new Uint8Array(arena.buffer);
}

export function importHfRun(files: { name: string; bytes: Uint8Array }[]): ImportedRun {
  const picked = pick(files);
  const model = readConfig(picked['config.json']);
  // A truncated or garbled weights file is that file's fault, whatever the config says: check it first.
  try {
    parseSafetensors(picked['model.safetensors']);
  } catch (error) {
    throw new DataError('format', `model.safetensors: ${messageOf(error)}`);
  }
  // Before the tokenizer or the arena: a crafted size must never reach an allocation.
  try {
    checkWeightsFit(model, picked['model.safetensors'].byteLength);
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
    throw new DataError('format', `tokenizer.json has ${vocabSize} tokens but config.json's vocab_size is ${model.vocabSize}: they are not from the same model`);
  }
  const params = readWeights(picked['model.safetensors'], model);
  // Imported weights come without optimizer state: fresh AdamW moments.
  const zeros = new Uint8Array(params.byteLength);
  return {
    settings: { ...suggestSettings({ isSoftware: true }), model, datasetId: '' },
    tokenizerJson,
    tokenizer: { vocabSize, fingerprint: fingerprint(tokenizerJson) },
    checkpoint: { step: 0, adamStep: 0, samplerState: 0, tokens: 0, elapsedSeconds: 0, params, adamM: zeros, adamV: zeros.slice() },
  };
}
