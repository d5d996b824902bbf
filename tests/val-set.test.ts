/**
 * The validation set: the same windows at every evaluation of a run and after a reload (a fresh
 * sampler, whatever the training stream's state or seed), capped at one cover of the validation
 * split; and the standard error reported beside the loss.
 */
import { describe, expect, it } from 'vitest';
import { BatchSampler } from '../src/data/sampler';
import type { DatasetManifest, MicroBatch, ShardStore, TokenArray } from '../src/data/types';
import { summarize } from '../src/train/eval';
import { sweepEvalBatches } from '../src/ui/plan/sweep-plan';

// Tokens numbered by position, so a window tells where it came from.
const SHARDS = new Map<string, TokenArray>([
  ['d/0', Uint16Array.from({ length: 4000 }, (_, i) => i % 60000)],
  ['d/1', Uint16Array.from({ length: 3000 }, (_, i) => (4000 + i) % 60000)],
]);
const store = { getShard: async (key: string) => SHARDS.get(key)!.slice() } as unknown as ShardStore;
const manifest = {
  id: 'd',
  name: 'numbers',
  dtype: 'uint16',
  valFraction: 0.1,
  shards: [
    { key: 'd/0', tokens: 4000, rows: 1 },
    { key: 'd/1', tokens: 3000, rows: 1 },
  ],
} as unknown as DatasetManifest;

async function collect(batches: AsyncIterable<MicroBatch>): Promise<Int32Array[]> {
  const out: Int32Array[] = [];
  for await (const b of batches) out.push(b.idx);
  return out;
}

const open = (seed: number, state?: number) =>
  BatchSampler.open(store, manifest, { split: 'val', batchSize: 4, seqLen: 16, seed, state });

describe('the fixed validation set', () => {
  it('is the same windows at every evaluation, after training batches and after a reload', async () => {
    const sampler = await open(7);
    const first = await collect(sampler.evalBatches(5));
    for (let i = 0; i < 3; i++) await sampler.next(); // the stream moves on; validation does not
    expect(await collect(sampler.evalBatches(5))).toEqual(first);
    // A reload: a new sampler resumed mid-stream from a checkpoint, same seed.
    expect(await collect((await open(7, 123456)).evalBatches(5))).toEqual(first);
    // Another seed reads the same windows (they are the dataset's); all lie in the validation tails.
    expect(await collect((await open(8)).evalBatches(5))).toEqual(first);
    for (const idx of first) {
      const start = idx[0]!;
      expect((start >= 3600 && start < 4000) || start >= 6700).toBe(true);
    }
  });

  it('reads at most enough windows to cover the validation split once', async () => {
    const sampler = await open(7);
    // 400 + 300 validation tokens hold 24 + 18 windows at a stride of 16: 10 whole batches of 4.
    expect(sampler.tokens).toBe(700);
    expect(sampler.evalBatchCap()).toBe(10);
    expect(await collect(sampler.evalBatches(1000))).toHaveLength(10);
    expect(await collect(sampler.evalBatches(3))).toEqual((await collect(sampler.evalBatches(10))).slice(0, 3));
  });

  it('reports the mean and its standard error over batches', () => {
    const s = summarize([3, 4, 5, 4]);
    expect(s.mean).toBe(4);
    // Sample variance 2/3, over 4 batches.
    expect(s.standardError).toBeCloseTo(Math.sqrt(2 / 3 / 4), 12);
    expect(summarize([3]).standardError).toBeNaN();
    expect(summarize([]).mean).toBeNaN();
  });

  it('gives every point of a sweep as many batches as its shortest point trains, at most 64', () => {
    expect(sweepEvalBatches(10)).toBe(10);
    expect(sweepEvalBatches(1000)).toBe(64);
    expect(sweepEvalBatches(0)).toBe(1);
  });
});
