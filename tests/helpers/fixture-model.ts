/** A PyTorch fixture's tensors, the model it was made with (from its `config` metadata) and its weights under HF names. */
import { readFileSync } from 'node:fs';
import type { GPTConfig } from '../../src/model/config';
import { parseSafetensors, tensorAsFloat32, type SafetensorsFile } from '../../src/model/safetensors';

export function fixtureModel(path = 'tests/fixtures/gpt-mid.safetensors'): {
  fixture: SafetensorsFile;
  config: GPTConfig;
} {
  const fixture = parseSafetensors(new Uint8Array(readFileSync(path)));
  const meta = JSON.parse(fixture.metadata.config!) as {
    vocab_size: number;
    block_size: number;
    n_layer: number;
    n_head: number;
    n_embd: number;
  };
  const config = {
    vocabSize: meta.vocab_size,
    blockSize: meta.block_size,
    nLayer: meta.n_layer,
    nHead: meta.n_head,
    nEmbd: meta.n_embd,
  };
  return { fixture, config };
}

/** The fixture's weights (its `param.` tensors) under their Hugging Face names, as float32, ready to write. */
export function fixtureHfTensors(
  fixture: SafetensorsFile,
): { name: string; dtype: 'F32'; shape: number[]; data: Float32Array }[] {
  return [...fixture.tensors.values()]
    .filter((t) => t.name.startsWith('param.'))
    .map((t) => ({
      name: t.name.slice('param.'.length),
      dtype: 'F32' as const,
      shape: t.shape,
      data: tensorAsFloat32(t),
    }));
}
