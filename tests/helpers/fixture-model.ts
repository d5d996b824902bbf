/** A PyTorch fixture's tensors and the model it was made with (from its `config` metadata, nanoGPT's names). */
import { readFileSync } from 'node:fs';
import type { GPTConfig } from '../../src/model/config';
import { parseSafetensors, type SafetensorsFile } from '../../src/model/safetensors';

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
