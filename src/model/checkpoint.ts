/**
 * Models in and out as a Hugging Face GPT-2 folder: model.safetensors (HF names, Conv1D weights
 * [in, out], `{"format":"pt"}` metadata) and config.json for GPT2LMHeadModel. Loading names the
 * exact problem: a missing tensor, a wrong shape, a malformed or truncated file.
 */
import type { GpuContext } from '../gpu/context';
import { GPTModel } from './gpt';
import { configFromHfJson, hfConfigJson } from './hf';
import { expectTensor, parseSafetensors, tensorAsFloat32, writeSafetensors } from './safetensors';

export interface HfModelFiles {
  /** model.safetensors */
  safetensors: Uint8Array;
  /** config.json */
  config: Record<string, unknown>;
}

export async function exportHfModel(model: GPTModel): Promise<HfModelFiles> {
  const weights = await model.exportWeights();
  const tensors = model.store.entries.map((e) => ({
    name: e.name,
    dtype: 'F32' as const,
    shape: e.shape,
    data: weights.get(e.name)!,
  }));
  return { safetensors: writeSafetensors(tensors), config: hfConfigJson(model.config) };
}

/**
 * Reads weights for `model` from a safetensors file. Extra tensors that transformers writes for
 * GPT-2 (the tied `lm_head.weight`, attention mask buffers `attn.bias` / `attn.masked_bias`) are
 * ignored; every parameter must be present with its exact shape (F32, F16, BF16 or F64).
 */
export function loadHfWeights(model: GPTModel, bytes: Uint8Array): void {
  const file = parseSafetensors(bytes);
  const weights = new Map<string, Float32Array>();
  for (const e of model.store.entries) weights.set(e.name, tensorAsFloat32(expectTensor(file, e.name, e.shape)));
  model.loadWeights(weights);
}

/** A model built from config.json and model.safetensors. */
export function importHfModel(ctx: GpuContext, files: { safetensors: Uint8Array; config: unknown }): GPTModel {
  const model = new GPTModel(ctx, configFromHfJson(files.config));
  try {
    loadHfWeights(model, files.safetensors);
  } catch (error) {
    model.destroy();
    throw error;
  }
  return model;
}
