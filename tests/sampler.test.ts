import { describe, expect, it } from 'vitest';
import { BatchSampler, splitRange, trainLength, type SamplerOptions, type Split } from '../src/data/sampler';
import { DataError, type DatasetManifest, type ShardStore, type TokenArray, type TokenDtype } from '../src/data/types';

/** A ShardStore in memory that counts shard reads. */
class MemoryShardStore implements ShardStore {
  readonly manifests = new Map<string, DatasetManifest>();
  readonly shards = new Map<string, TokenArray>();
  reads = 0;

  async getManifest(id: string): Promise<DatasetManifest | undefined> {
    return this.manifests.get(id);
  }
  async putManifest(manifest: DatasetManifest): Promise<void> {
    this.manifests.set(manifest.id, structuredClone(manifest));
  }
  async listManifests(): Promise<DatasetManifest[]> {
    return [...this.manifests.values()];
  }
  async putShard(key: string, tokens: TokenArray): Promise<void> {
    this.shards.set(key, tokens.slice());
  }
  async getShard(key: string, dtype: TokenDtype): Promise<TokenArray> {
    const tokens = this.shards.get(key);
    if (!tokens) throw new DataError('format', `no shard ${key}`);
    if ((dtype === 'uint16') !== tokens instanceof Uint16Array) throw new Error(`shard ${key} asked for as ${dtype}`);
    this.reads++;
    return tokens.slice();
  }
  async deleteShard(key: string): Promise<void> {
    this.shards.delete(key);
  }
  async deleteDataset(id: string): Promise<void> {
    this.manifests.delete(id);
    for (const key of this.shards.keys()) if (key.startsWith(`${id}/`)) this.shards.delete(key);
  }
}

/**
 * Shards whose tokens are `base + global position`, so any window tells where it came from.
 * uint32 data uses a base above 65535 to catch values squeezed through 16 bits.
 */
async function dataset(lengths: number[], options: { dtype?: TokenDtype; valFraction?: number } = {}) {
  const dtype = options.dtype ?? 'uint16';
  const base = dtype === 'uint16' ? 1 : 100_000;
  const store = new MemoryShardStore();
  const shards = [];
  let offset = 0;
  for (const [i, length] of lengths.entries()) {
    const tokens = dtype === 'uint16' ? new Uint16Array(length) : new Uint32Array(length);
    for (let j = 0; j < length; j++) tokens[j] = base + offset + j;
    const key = `ds/shard-${String(i).padStart(5, '0')}`;
    await store.putShard(key, tokens);
    shards.push({ key, tokens: length, rows: 1 });
    offset += length;
  }
  const manifest: DatasetManifest = {
    format: 'gpt-garden-tokens',
    version: 1,
    id: 'ds',
    name: 'test data',
    source: { kind: 'bundled', url: '/corpus/brown-fiction.txt' },
    tokenizer: { vocabSize: dtype === 'uint16' ? 65536 : 200_000, fingerprint: 'test' },
    dtype,
    shards,
    tokens: offset,
    rows: lengths.length,
    textBytes: offset * 4,
    cursor: { file: 0, row: lengths.length },
    complete: true,
    valFraction: options.valFraction ?? 0.1,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
  };
  await store.putManifest(manifest);
  /** Shard index and offset of a global position. */
  const locate = (value: number): { shard: number; offset: number } => {
    let position = value - base;
    for (const [shard, length] of lengths.entries()) {
      if (position < length) return { shard, offset: position };
      position -= length;
    }
    throw new Error(`token ${value} is in no shard`);
  };
  return { store, manifest, locate };
}

async function draw(sampler: BatchSampler, count: number) {
  const batches = [];
  for (let i = 0; i < count; i++) batches.push(await sampler.next());
  return batches;
}

/** Pearson's chi-square statistic of counts against expected counts. */
function chiSquare(observed: number[], expected: number[]): number {
  return observed.reduce((sum, o, i) => sum + (o - expected[i]!) ** 2 / expected[i]!, 0);
}

describe('split ranges', () => {
  it('puts the tail of each shard in val', () => {
    expect(trainLength(100, 0.1)).toBe(90);
    expect(splitRange(100, 0.1, 'train')).toEqual([0, 90]);
    expect(splitRange(100, 0.1, 'val')).toEqual([90, 100]);
    // floor(7 * 0.05) = 0: a small shard is all train.
    expect(splitRange(7, 0.05, 'train')).toEqual([0, 7]);
    expect(splitRange(7, 0.05, 'val')).toEqual([7, 7]);
    expect(splitRange(1001, 0.25, 'val')).toEqual([751, 1001]);
  });
});

describe.each<TokenDtype>(['uint16', 'uint32'])('BatchSampler on %s shards', (dtype) => {
  const lengths = [300, 1000, 45, 2000];
  const T = 16;
  const B = 8;

  it.each<Split>(['train', 'val'])(
    '%s windows are T+1 consecutive tokens of one shard, inside the split',
    async (split) => {
      const { store, manifest, locate } = await dataset(lengths, { dtype, valFraction: 0.1 });
      const sampler = await BatchSampler.open(store, manifest, { split, batchSize: B, seqLen: T, seed: 7 });
      expect(sampler.tokens).toBe(
        lengths.reduce((sum, n) => sum + (split === 'train' ? trainLength(n, 0.1) : n - trainLength(n, 0.1)), 0),
      );
      const used = new Set<number>();
      for (const { idx, targets } of await draw(sampler, 40)) {
        expect(idx).toBeInstanceOf(Int32Array);
        expect(idx.length).toBe(B * T);
        expect(targets.length).toBe(B * T);
        for (let b = 0; b < B; b++) {
          const first = idx[b * T]!;
          const { shard, offset } = locate(first);
          for (let t = 0; t < T; t++) {
            expect(idx[b * T + t]).toBe(first + t);
            expect(targets[b * T + t]).toBe(first + t + 1);
          }
          const [start, end] = splitRange(lengths[shard]!, 0.1, split);
          expect(offset).toBeGreaterThanOrEqual(start);
          expect(offset + T + 1).toBeLessThanOrEqual(end);
          used.add(shard);
        }
      }
      // Shard 2 has 45 tokens: its train part (41) fits a window of 17, its val part (4) does not.
      expect([...used].sort()).toEqual(split === 'train' ? [0, 1, 2, 3] : [0, 1, 3]);
    },
  );

  it('resumes from a saved state with the same batches', async () => {
    const { store, manifest } = await dataset(lengths, { dtype });
    const options: SamplerOptions = { split: 'train', batchSize: B, seqLen: T, seed: 42 };
    const first = await BatchSampler.open(store, manifest, options);
    await draw(first, 5);
    const saved = first.state();
    const expected = await draw(first, 3);
    const resumed = await BatchSampler.open(store, manifest, { ...options, state: saved });
    expect(resumed.state()).toBe(saved);
    expect(await draw(resumed, 3)).toEqual(expected);
    expect(resumed.state()).toBe(first.state());
  });
});

describe('BatchSampler streams', () => {
  it('gives the same stream for the same seed and another for another seed', async () => {
    const { store, manifest } = await dataset([500, 800]);
    const open = (seed: number) =>
      BatchSampler.open(store, manifest, { split: 'train', batchSize: 4, seqLen: 8, seed });
    const a = await draw(await open(1), 4);
    const b = await draw(await open(1), 4);
    const c = await draw(await open(2), 4);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('uses the RNG exactly twice per window', async () => {
    const { store, manifest } = await dataset([500, 800]);
    const sampler = await BatchSampler.open(store, manifest, { split: 'train', batchSize: 5, seqLen: 8, seed: 3 });
    const before = sampler.state();
    await sampler.next();
    // mulberry32 adds 0x6d2b79f5 per draw: 10 draws for 5 windows.
    expect(sampler.state()).toBe((before + 10 * 0x6d2b79f5) >>> 0);
  });

  it('evalBatches repeats the same batches and leaves the training stream alone', async () => {
    const { store, manifest } = await dataset([500, 800]);
    const sampler = await BatchSampler.open(store, manifest, { split: 'val', batchSize: 4, seqLen: 8, seed: 5 });
    const collect = async () => {
      const out = [];
      for await (const batch of sampler.evalBatches(3)) out.push(batch);
      return out;
    };
    const state = sampler.state();
    const first = await collect();
    await draw(sampler, 2);
    const second = await collect();
    expect(first).toHaveLength(3);
    expect(second).toEqual(first);
    expect(first[1]).not.toEqual(first[0]);
    const fresh = await BatchSampler.open(store, manifest, { split: 'val', batchSize: 4, seqLen: 8, seed: 5 });
    expect(fresh.state()).toBe(state);
    await collect();
    expect(fresh.state()).toBe(state);
  });

  it('covers shards of different lengths in proportion to their window starts, and uniformly within', async () => {
    const lengths = [200, 1000, 3000];
    const T = 8;
    const { store, manifest, locate } = await dataset(lengths, { valFraction: 0.1 });
    const sampler = await BatchSampler.open(store, manifest, { split: 'train', batchSize: 50, seqLen: T, seed: 11 });
    const perShard = [0, 0, 0];
    const bins = new Array<number>(10).fill(0); // window starts in the largest shard
    const largestStarts = trainLength(3000, 0.1) - T;
    let windows = 0;
    for (const { idx } of await draw(sampler, 400)) {
      for (let b = 0; b < 50; b++) {
        const { shard, offset } = locate(idx[b * T]!);
        perShard[shard]!++;
        if (shard === 2) bins[Math.floor((offset * 10) / largestStarts)]!++;
        windows++;
      }
    }
    const starts = lengths.map((n) => trainLength(n, 0.1) - T);
    const total = starts.reduce((a, b) => a + b, 0);
    // 99.9% points of chi-square: 13.8 for 2 degrees of freedom, 27.9 for 9.
    expect(
      chiSquare(
        perShard,
        starts.map((s) => (windows * s) / total),
      ),
    ).toBeLessThan(13.8);
    expect(
      chiSquare(
        bins,
        bins.map(() => perShard[2]! / 10),
      ),
    ).toBeLessThan(27.9);
    // Choosing a shard uniformly would put a third of the windows in the smallest one.
    expect(perShard[0]! / windows).toBeLessThan(0.06);
  });

  it('reads each shard once while it fits in the cache, and again when it does not', async () => {
    const { store, manifest } = await dataset([400, 400, 400]);
    const cached = await BatchSampler.open(store, manifest, { split: 'train', batchSize: 16, seqLen: 8 });
    await draw(cached, 10);
    expect(store.reads).toBe(3);
    store.reads = 0;
    // 0 bytes: every batch reads each shard it uses (once per batch).
    const uncached = await BatchSampler.open(store, manifest, {
      split: 'train',
      batchSize: 16,
      seqLen: 8,
      cacheBytes: 0,
    });
    const batches = await draw(uncached, 10);
    expect(store.reads).toBeGreaterThan(10);
    expect(store.reads).toBeLessThanOrEqual(30);
    const again = await draw(
      await BatchSampler.open(store, manifest, { split: 'train', batchSize: 16, seqLen: 8 }),
      10,
    );
    expect(again).toEqual(batches);
  });
});

describe('BatchSampler errors', () => {
  async function openError(lengths: number[], options: Partial<SamplerOptions>, valFraction = 0.1): Promise<DataError> {
    const { store, manifest } = await dataset(lengths, { valFraction });
    const error = await BatchSampler.open(store, manifest, {
      split: 'train',
      batchSize: 4,
      seqLen: 16,
      ...options,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    return error as DataError;
  }

  it('refuses data shorter than one window, saying how long it is', async () => {
    const error = await openError([10, 12], {});
    expect(error.kind).toBe('config');
    expect(error.message).toContain('train split of "test data" has 20 tokens (at most 11 in one shard');
    expect(error.message).toContain('needs 17');
    expect(error.message).toContain('block size of at most 10');
  });

  it('refuses an empty val split', async () => {
    const error = await openError([1000], { split: 'val' }, 0);
    expect(error.kind).toBe('config');
    expect(error.message).toContain('val split of "test data" has 0 tokens');
    expect(error.message).toContain('larger validation fraction');
  });

  it('refuses bad options', async () => {
    expect((await openError([1000], { batchSize: 0 })).kind).toBe('config');
    expect((await openError([1000], { seqLen: 2.5 })).message).toContain('block size (sequence length) is 2.5');
  });

  it('reports a shard shorter than its manifest says', async () => {
    const { store, manifest } = await dataset([100, 100]);
    store.shards.set('ds/shard-00001', new Uint16Array(50));
    const sampler = await BatchSampler.open(store, manifest, { split: 'train', batchSize: 32, seqLen: 8 });
    const error = await sampler.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).kind).toBe('format');
    expect((error as DataError).message).toContain(
      'ds/shard-00001 of "test data" has 50 tokens but its manifest lists 100',
    );
  });
});
