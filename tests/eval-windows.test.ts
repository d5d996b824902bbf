/**
 * The validation set belongs to the dataset, not the run: the same windows for every seed, RNG
 * state and batch size on one dataset (so two runs' losses are a paired comparison), other windows
 * on another dataset; a stride of T through the validation tails, each token a target at most once;
 * any first batches spread over the whole split. And the loss of one set of weights over those
 * windows is the same whichever batch shape reads them.
 */
import { describe, expect, it } from 'vitest';
import { BatchSampler } from '../src/data/sampler';
import type { DatasetManifest, MicroBatch, ShardStore, TokenArray } from '../src/data/types';
import { BufferPool } from '../src/gpu/pool';
import { GPTModel } from '../src/model/gpt';
import { EvalPlan, summarize } from '../src/train/eval';
import { gpu } from './helpers/gpu';

/** Token i of the dataset is `offset + i` (mod 2^16), so a window says where it came from. */
function dataset(id: string, shardTokens: number[], valFraction = 0.1, offset = 0, modulo = 60000) {
  const shards = new Map<string, TokenArray>();
  let at = offset;
  const infos = shardTokens.map((tokens, i) => {
    const key = `${id}/${i}`;
    shards.set(
      key,
      Uint16Array.from({ length: tokens }, (_, j) => (at + j) % modulo),
    );
    at += tokens;
    return { key, tokens, rows: 1 };
  });
  const store = { getShard: async (key: string) => shards.get(key)!.slice() } as unknown as ShardStore;
  const manifest = { id, name: id, dtype: 'uint16', valFraction, shards: infos } as unknown as DatasetManifest;
  return { store, manifest };
}

type Data = ReturnType<typeof dataset>;

const open = (data: Data, options: { seed?: number; state?: number; batchSize?: number; seqLen?: number } = {}) =>
  BatchSampler.open(data.store, data.manifest, { split: 'val', batchSize: 4, seqLen: 16, ...options });

async function collect(batches: AsyncIterable<MicroBatch>): Promise<MicroBatch[]> {
  const out: MicroBatch[] = [];
  for await (const b of batches) out.push(b);
  return out;
}

/** Each window's first token (its position in the dataset here), batch by batch. */
const starts = (batches: MicroBatch[], T = 16) =>
  batches.flatMap((b) => Array.from({ length: b.idx.length / T }, (_, r) => b.idx[r * T]!));

describe('the validation windows', () => {
  const numbers = dataset('n', [4000, 3000]);

  it('are the same for every seed, RNG state and batch size on one dataset', async () => {
    const first = await open(numbers, { seed: 1 });
    const all = await collect(first.evalBatches(first.evalBatchCap()));
    expect(await collect((await open(numbers, { seed: 2 })).evalBatches(100))).toEqual(all);
    expect(await collect((await open(numbers, { seed: 99, state: 123456 })).evalBatches(100))).toEqual(all);
    // A run with twice the batch reads the same windows in half as many batches.
    const wide = await open(numbers, { seed: 5, batchSize: 8 });
    expect(starts(await collect(wide.evalBatches(3)))).toEqual(starts(all.slice(0, 6)));
  });

  it('differ on another dataset: other tokens, or another layout of the same tokens', async () => {
    const base = starts(await collect((await open(numbers)).evalBatches(4)));
    const otherTokens = dataset('m', [4000, 3000], 0.1, 17);
    expect(starts(await collect((await open(otherTokens)).evalBatches(4)))).not.toEqual(base);
    const otherSplit = dataset('s', [4000, 3000], 0.2);
    expect(starts(await collect((await open(otherSplit)).evalBatches(4)))).not.toEqual(base);
  });

  it('step through the validation tails by the block size, each token a target at most once', async () => {
    const sampler = await open(numbers);
    // Tails of 400 and 300 tokens hold 24 + 18 windows of 17 tokens at a stride of 16: 10 batches of 4.
    expect(sampler.evalBatchCap()).toBe(10);
    const batches = await collect(sampler.evalBatches(1000));
    expect(batches).toHaveLength(10);
    const targets = batches.flatMap((b) => [...b.targets]);
    expect(new Set(targets).size).toBe(targets.length);
    for (const start of starts(batches)) {
      const inTail = (start >= 3600 && start + 16 < 4000) || (start >= 6700 && start + 16 < 7000);
      expect(inTail, `window at ${start}`).toBe(true);
      expect((start >= 6700 ? start - 6700 : start - 3600) % 16).toBe(0);
    }
    // Every window's tokens are consecutive: idx then the next token as target.
    for (const b of batches) for (let i = 0; i < b.idx.length; i++) expect(b.targets[i]).toBe(b.idx[i]! + 1);
  });

  it('spread any first batches over the whole split', async () => {
    const first = starts(await collect((await open(numbers)).evalBatches(1)));
    // Bit-reversed order: the first 4 of 42 windows lie in both shards' tails, a quarter apart.
    expect(first.some((s) => s < 4000)).toBe(true);
    expect(first.some((s) => s >= 6700)).toBe(true);
    expect(new Set(first.map((s) => Math.floor(s / 1000))).size).toBeGreaterThan(1);
  });

  it('repeat from the first when the split holds fewer windows than one batch', async () => {
    const tiny = dataset('t', [400], 0.1); // 40 validation tokens: 2 windows of 17
    const sampler = await open(tiny);
    expect(sampler.evalBatchCap()).toBe(1);
    const [batch] = await collect(sampler.evalBatches(5));
    expect(starts([batch!])).toEqual([360, 376, 360, 376]);
  });
});

describe('the validation loss over the fixed windows', () => {
  it('is the same in batches of 2 and of 8 (float32 rounding apart)', async () => {
    const ctx = await gpu();
    const config = { vocabSize: 300, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32 };
    const model = new GPTModel(ctx, config);
    model.initialize(3);
    const data = dataset('g', [3000], 0.1, 0, 300); // 300 validation tokens: 18 windows
    const mean = async (batchSize: number) => {
      const pool = new BufferPool(ctx.device);
      const plan = new EvalPlan(model, { batchSize, seqLen: 16 }, pool);
      const sampler = await open(data, { batchSize });
      const losses = await plan.batchLosses(sampler.evalBatches(8 / batchSize));
      plan.destroy();
      pool.destroy();
      return { losses, mean: summarize(losses).mean };
    };
    const small = await mean(2);
    const large = await mean(8);
    expect(small.losses).toHaveLength(4);
    expect(large.losses).toHaveLength(1);
    // Untrained weights: about ln 300 = 5.70 per token.
    expect(Math.abs(large.mean - Math.log(300))).toBeLessThan(0.5);
    expect(Math.abs(small.mean - large.mean)).toBeLessThan(1e-5);
    // The 4 small batches really differ (the windows do), so agreeing is not a constant.
    expect(Math.max(...small.losses) - Math.min(...small.losses)).toBeGreaterThan(1e-4);
    model.destroy();
  });
});
