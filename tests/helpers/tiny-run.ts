/**
 * What the GPU tests train: the tiny model's flags for the CLI (one layer, 2 heads, 32 wide, block
 * 16; small enough for SwiftShader) and a token dataset held in memory for the Trainer.
 */
import type { DatasetManifest, ShardStore, TokenArray } from '../../src/data/types';
import { Tokenizer } from '../../src/tokenizer/tokenizer';
import { trainBpe } from '../../src/tokenizer/trainer';
import { END_OF_TEXT } from '../../src/tokenizer/types';

/** `--layers 1 --heads 2 --width 32 --block 16 --batch <batch>`: the tiny model as train/bench flags. */
export function tinyModelFlags(batch: number): string[] {
  return ['--layers', '1', '--heads', '2', '--width', '32', '--block', '16', '--batch', String(batch)];
}

/** A ShardStore over one shard of tokens in memory (what IndexedDB or a data folder holds elsewhere). */
export class MemoryShardStore implements ShardStore {
  readonly manifests = new Map<string, DatasetManifest>();
  readonly shards = new Map<string, TokenArray>();
  async getManifest(id: string) {
    return this.manifests.get(id);
  }
  async putManifest(m: DatasetManifest) {
    this.manifests.set(m.id, m);
  }
  async listManifests() {
    return [...this.manifests.values()];
  }
  async putShard(key: string, tokens: TokenArray) {
    this.shards.set(key, tokens);
  }
  async getShard(key: string) {
    const shard = this.shards.get(key);
    if (!shard) throw new Error(`no shard ${key} in memory`);
    return shard;
  }
  async deleteShard(key: string) {
    this.shards.delete(key);
  }
  async deleteDataset(id: string) {
    this.manifests.delete(id);
  }
}

/** A complete one-shard dataset 'rep' of `tokens` (from `rows` lines, `textBytes` long) in a fresh store. */
export async function memoryDataset(
  tokens: TokenArray,
  vocabSize: number,
  rows: number,
  textBytes: number,
): Promise<{ store: MemoryShardStore; manifest: DatasetManifest }> {
  const store = new MemoryShardStore();
  const manifest: DatasetManifest = {
    format: 'gpt-garden-tokens',
    version: 1,
    id: 'rep',
    name: 'repetitive',
    source: { kind: 'bundled', url: 'memory' },
    tokenizer: { vocabSize, fingerprint: 'test' },
    dtype: 'uint16',
    shards: [{ key: 'rep/0', tokens: tokens.length, rows }],
    tokens: tokens.length,
    rows,
    textBytes,
    cursor: { file: 0, row: rows },
    complete: true,
    valFraction: 0.2,
    createdAt: '',
    updatedAt: '',
  };
  await store.putShard('rep/0', tokens);
  return { store, manifest };
}

const REPETITIVE_LINES = [
  'the quick brown fox jumps over the lazy dog.',
  'a garden of forking paths grows in the night.',
  'she sells sea shells by the sea shore.',
];

/**
 * The Trainer tests' corpus: three lines repeated to 60, a 300-token BPE trained on them, and their
 * tokens as the in-memory dataset 'rep' (a model learns it within a few dozen steps).
 */
export async function repetitiveDataset(): Promise<{
  text: string;
  tokenizer: Tokenizer;
  store: MemoryShardStore;
  manifest: DatasetManifest;
}> {
  const text = Array.from({ length: 60 }, (_, i) => REPETITIVE_LINES[i % REPETITIVE_LINES.length]).join('\n');
  const tokenizer = new Tokenizer(
    await trainBpe(text.split('\n'), { vocabSize: 300, minFrequency: 2, specialTokens: [END_OF_TEXT] }),
  );
  const { store, manifest } = await memoryDataset(
    Uint16Array.from(tokenizer.encode(text)),
    tokenizer.vocabSize,
    60,
    text.length,
  );
  return { text, tokenizer, store, manifest };
}
