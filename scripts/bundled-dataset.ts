/**
 * The measurement scripts' dataset: the bundled corpus, a BPE tokenizer trained on its first 1,500
 * lines, and the whole text as one in-memory shard with the usual 5% validation tail.
 */
import { readFileSync } from 'node:fs';
import type { DatasetManifest, ShardStore, TokenArray } from '../src/data/types';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';

export async function bundledDataset(vocabSize = 2048) {
  const text = readFileSync('public/corpus/brown-fiction.txt', 'utf8');
  const lines = text.split('\n');
  const tokenizer = new Tokenizer(
    await trainBpe(lines.slice(0, 1500), { vocabSize, minFrequency: 2, specialTokens: [END_OF_TEXT] }),
  );
  const ids = tokenizer.encode(text);
  const shards = new Map<string, TokenArray>([['c/0', Uint16Array.from(ids)]]);
  const store = { getShard: async (k: string) => shards.get(k)! } as unknown as ShardStore;
  const manifest = {
    id: 'c',
    name: 'brown',
    tokenizer: { vocabSize: tokenizer.vocabSize, fingerprint: 'x' },
    dtype: 'uint16',
    shards: [{ key: 'c/0', tokens: ids.length, rows: lines.length }],
    tokens: ids.length,
    valFraction: 0.05,
  } as unknown as DatasetManifest;
  console.log(
    `tokenizer ${tokenizer.vocabSize}, ${ids.length} tokens, ${Math.floor(ids.length * 0.05)} in the validation tail`,
  );
  return { tokenizer, store, manifest };
}
