/**
 * How noisy is the validation loss? Trains the software-adapter default model (2 layers × 64 wide,
 * block 64, batch 4) on the bundled corpus for a few steps, then reads the loss of up to 256 fixed
 * validation batches (the tail's cap) and prints their standard error for 4..256 batches and the time per batch.
 *   node scripts/build-cli.mjs scripts/measure-val-noise.ts dist/measure-val-noise.mjs && node dist/measure-val-noise.mjs [steps] [layers] [width] [peak lr]
 */
import { readFileSync } from 'node:fs';
import type { DatasetManifest, ShardStore, TokenArray } from '../src/data/types';
import { createNodeContext } from '../src/gpu/node';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import { summarize } from '../src/train/eval';
import { suggestSettings } from '../src/train/defaults';
import { Trainer } from '../src/train/trainer';

const steps = Number(process.argv[2] ?? 100);
// A smaller model than the default when the machine is slow: the loss's spread over windows is mostly the data's.
const nLayer = Number(process.argv[3] ?? 2);
const nEmbd = Number(process.argv[4] ?? 64);
// A higher peak learning rate gets a few steps past the uniform loss, where windows differ most.
const maxLr = Number(process.argv[5] ?? 1e-3);
const text = readFileSync('public/corpus/brown-fiction.txt', 'utf8');
const lines = text.split('\n');
const tokenizer = new Tokenizer(
  await trainBpe(lines.slice(0, 1500), { vocabSize: 2048, minFrequency: 2, specialTokens: [END_OF_TEXT] }),
);
const ids = tokenizer.encode(text);
console.log(`tokenizer ${tokenizer.vocabSize}, ${ids.length} tokens`);
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
const base = suggestSettings({ isSoftware: true });
const settings = {
  ...base,
  model: { ...base.model, vocabSize: tokenizer.vocabSize, nLayer, nEmbd },
  lr: { ...base.lr, maxLr, warmupSteps: Math.min(base.lr.warmupSteps, Math.floor(steps / 10)) },
  maxSteps: steps,
  evalEvery: steps,
  evalBatches: 1,
  checkpointEvery: steps,
  datasetId: 'c',
};
const ctx = await createNodeContext();
const trainer = await Trainer.create({ ctx, settings, store, manifest, tokenizer, onEvent: () => undefined });
let t = performance.now();
await trainer.run();
console.log(
  `${ids.length} tokens (${Math.floor(ids.length * 0.05)} in the validation tail); ${steps} steps in ${((performance.now() - t) / 1000).toFixed(1)} s`,
);
t = performance.now();
// At most the tail's cap (evalBatchCap): more batches would re-read the same windows.
const losses = await trainer.validationLosses(256);
const perBatch = (performance.now() - t) / 1000 / losses.length;
const all = summarize(losses);
const T = settings.model.blockSize * settings.batchSize;
for (const n of [4, 8, 16, 32, 64, 128, 256, losses.length].filter(
  (n, i, a) => n <= losses.length && a.indexOf(n) === i,
)) {
  const s = summarize(losses.subarray(0, n));
  console.log(
    `${n} batches (${n * T} tokens): mean ${s.mean.toFixed(4)} (${(s.mean - all.mean).toFixed(4)} from all ${losses.length}) SE ${s.standardError.toFixed(4)}; ${(n * perBatch).toFixed(2)} s`,
  );
}
trainer.destroy();
process.exit(0);
