/**
 * Training batches from a tokenized dataset: random windows of T+1 tokens read from the shards a
 * DatasetManifest lists. Each shard's head is the 'train' split and its tail the 'val' split, so
 * both splits see every part of the source. Windows never cross a shard or the split boundary.
 *
 * Reproducibility: the stream of windows depends only on the manifest, the options and the RNG
 * state, and the RNG is used exactly twice per window, so `state()` saved in a checkpoint resumes
 * the stream where it stopped. Validation windows (`evalBatches`) depend on the dataset and the
 * block size alone, so every run on one dataset is judged on the same tokens.
 */
import { SeededRandom } from '../util/random';
import {
  DataError,
  type DatasetManifest,
  type MicroBatch,
  type ShardInfo,
  type ShardStore,
  type TokenArray,
} from './types';

export type Split = 'train' | 'val';

export interface SamplerOptions {
  split: Split;
  batchSize: number;
  /** T: tokens per row of `idx`; each window reads T+1 tokens. */
  seqLen: number;
  /** Seed of the batch stream (default DEFAULT_SEED); validation windows do not depend on it. */
  seed?: number;
  /** Resume: a SeededRandom state saved by state(). */
  state?: number;
  /** Bytes of decoded shards kept in memory, least recently used dropped first (default 256 MiB). */
  cacheBytes?: number;
}

export const DEFAULT_SEED = 1337;
const DEFAULT_CACHE_BYTES = 256 * 2 ** 20;

/** Tokens at the head of a shard of `shardTokens` tokens that belong to the 'train' split. */
export function trainLength(shardTokens: number, valFraction: number): number {
  return shardTokens - Math.floor(shardTokens * valFraction);
}

/** The half-open token range [start, end) of a shard that belongs to `split`. */
export function splitRange(shardTokens: number, valFraction: number, split: Split): [number, number] {
  const boundary = trainLength(shardTokens, valFraction);
  return split === 'train' ? [0, boundary] : [boundary, shardTokens];
}

/** The part of one shard a split may read windows from. */
interface Region {
  shard: ShardInfo;
  start: number;
  /** Valid window starts: start .. start + starts - 1 (a window of T+1 tokens ends by `end`). */
  starts: number;
}

interface Window {
  shard: ShardInfo;
  start: number;
}

export class BatchSampler {
  /** Tokens in this split, over all shards (including pieces too short for one window). */
  readonly tokens: number;
  private readonly totalStarts: number;
  /** cumulativeStarts[i] = starts of regions 0..i together, for choosing a region by one draw. */
  private readonly cumulativeStarts: number[];
  /** Validation windows (a stride of T) in regions 0..i together (built on first use). */
  private strideWindows: number[] | null = null;

  private constructor(
    private readonly regions: Region[],
    tokens: number,
    private readonly random: SeededRandom,
    private readonly batchSize: number,
    private readonly seqLen: number,
    private readonly cache: ShardCache,
  ) {
    this.tokens = tokens;
    let sum = 0;
    this.cumulativeStarts = regions.map((region) => (sum += region.starts));
    this.totalStarts = sum;
  }

  static async open(store: ShardStore, manifest: DatasetManifest, options: SamplerOptions): Promise<BatchSampler> {
    const { split, batchSize, seqLen } = options;
    requireCount('batch size', batchSize);
    requireCount('block size (sequence length)', seqLen);
    const { valFraction } = manifest;
    if (!(valFraction >= 0 && valFraction <= 1)) {
      throw new DataError(
        'config',
        `Dataset "${manifest.name}" has validation fraction ${valFraction}; it must be between 0 and 1: tokenize the data again.`,
      );
    }
    const seed = (options.seed ?? DEFAULT_SEED) >>> 0;
    const random = new SeededRandom(options.state ?? seed);
    const cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES;

    let tokens = 0;
    let longest = 0;
    const regions: Region[] = [];
    for (const shard of manifest.shards) {
      const [start, end] = splitRange(shard.tokens, valFraction, split);
      tokens += end - start;
      longest = Math.max(longest, end - start);
      // A window is T+1 tokens, so a region of `len` tokens has len - T starts.
      if (end - start > seqLen) regions.push({ shard, start, starts: end - start - seqLen });
    }
    if (regions.length === 0) throw notEnoughTokens(manifest, split, tokens, longest, seqLen);
    return new BatchSampler(regions, tokens, random, batchSize, seqLen, new ShardCache(store, manifest, cacheBytes));
  }

  /** idx[b*T+t] = tokens[s+t], targets[b*T+t] = tokens[s+t+1]; both Int32Array [B, T]. */
  next(): Promise<MicroBatch> {
    return this.batch(this.random);
  }

  /** RNG state to store in a checkpoint; open(..., { state }) continues the same stream. */
  state(): number {
    return this.random.state;
  }

  /**
   * The first `count` batches of the validation set (at most evalBatchCap()): the same on every
   * call, for every seed and after a reload, so validation losses at different steps and of
   * different runs on this dataset compare like with like (a paired comparison). Does not move
   * the training stream.
   */
  async *evalBatches(count: number): AsyncGenerator<MicroBatch> {
    count = Math.min(count, this.evalBatchCap());
    const B = this.batchSize;
    const windows = this.validationWindows(count * B);
    // Fewer windows than one batch (a tiny split) repeat from the first.
    for (let i = 0; i < count; i++)
      yield await this.read(Array.from({ length: B }, (_, r) => windows[(i * B + r) % windows.length]!));
  }

  /**
   * Validation batches in the whole set: its windows in whole batches (a remainder of fewer than
   * B windows is left out), at least 1. Reading all of them reads nearly every token of the split
   * once as a target; more would only repeat windows.
   */
  evalBatchCap(): number {
    return Math.max(1, Math.floor(this.cumulativeStrideWindows().at(-1)! / this.batchSize));
  }

  private cumulativeStrideWindows(): number[] {
    let sum = 0;
    // Offsets 0, T, 2T, ... below a region's number of starts.
    return (this.strideWindows ??= this.regions.map((region) => (sum += Math.ceil(region.starts / this.seqLen))));
  }

  /**
   * The first `n` validation windows. The set is every window of T+1 tokens at a stride of T
   * through each region (consecutive windows share one token, so each token after a region's first
   * is a target once), read in bit-reversed order: any first k spread evenly over the split, so a
   * partial read samples all of it rather than its first shards. Depends on the shards, the
   * validation fraction and T only; made one by one, so a large split costs only what is read.
   */
  private validationWindows(n: number): Window[] {
    const cumulative = this.cumulativeStrideWindows();
    const total = cumulative.at(-1)!;
    const bits = Math.ceil(Math.log2(total));
    const out: Window[] = [];
    for (let i = 0; out.length < Math.min(n, total); i++) {
      const j = reverseBits(i, bits);
      if (j >= total) continue;
      // The region holding the j-th window: the first whose cumulative count passes j.
      let low = 0;
      let high = cumulative.length - 1;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (cumulative[middle]! > j) high = middle;
        else low = middle + 1;
      }
      const region = this.regions[low]!;
      const index = j - (low > 0 ? cumulative[low - 1]! : 0);
      out.push({ shard: region.shard, start: region.start + index * this.seqLen });
    }
    return out;
  }

  private batch(random: SeededRandom): Promise<MicroBatch> {
    // Every draw happens before the first await, so calls that overlap still get the stream's order.
    return this.read(Array.from({ length: this.batchSize }, () => this.drawWindow(random)));
  }

  private async read(windows: Window[]): Promise<MicroBatch> {
    const B = this.batchSize;
    const T = this.seqLen;
    const idx = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    const rowsByShard = new Map<ShardInfo, number[]>();
    windows.forEach((window, row) => {
      const rows = rowsByShard.get(window.shard);
      if (rows) rows.push(row);
      else rowsByShard.set(window.shard, [row]);
    });
    for (const [shard, rows] of rowsByShard) {
      const shardTokens = await this.cache.get(shard);
      for (const row of rows) {
        const start = windows[row]!.start;
        idx.set(shardTokens.subarray(start, start + T), row * T);
        targets.set(shardTokens.subarray(start + 1, start + T + 1), row * T);
      }
    }
    return { idx, targets };
  }

  /**
   * Draw 1 picks a region with probability proportional to its number of window starts; draw 2 a
   * start in it, uniformly. Together: every window of the split is equally likely.
   */
  private drawWindow(random: SeededRandom): Window {
    const target = random.next() * this.totalStarts;
    let low = 0;
    let high = this.regions.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.cumulativeStarts[middle]! > target) high = middle;
      else low = middle + 1;
    }
    const region = this.regions[low]!;
    return { shard: region.shard, start: region.start + random.int(region.starts) };
  }
}

/** `value`'s low `bits` bits in reverse order. */
function reverseBits(value: number, bits: number): number {
  let out = 0;
  for (let b = 0; b < bits; b++) out = (out << 1) | ((value >>> b) & 1);
  return out;
}

function requireCount(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new DataError('config', `The ${what} is ${value}; it must be a whole number of at least 1.`);
  }
}

function notEnoughTokens(
  manifest: DatasetManifest,
  split: Split,
  tokens: number,
  longest: number,
  seqLen: number,
): DataError {
  const where =
    manifest.shards.length > 1 ? ` (at most ${longest} in one shard, and a window stays within a shard)` : '';
  const fixes = [
    longest > 1 ? `a block size of at most ${longest - 1}` : undefined,
    'more data',
    split === 'val' ? 'a larger validation fraction' : undefined,
  ];
  return new DataError(
    'config',
    `The ${split} split of "${manifest.name}" has ${tokens} tokens${where} but one window needs ${seqLen + 1} (block size ${seqLen} + 1): use ${fixes.filter(Boolean).join(', or ')}.`,
  );
}

/** Decoded shards, least recently used dropped first once over the byte budget. */
class ShardCache {
  private readonly entries = new Map<string, { tokens: Promise<TokenArray>; bytes: number }>();
  private usedBytes = 0;
  private readonly bytesPerToken: number;

  constructor(
    private readonly store: ShardStore,
    private readonly manifest: DatasetManifest,
    private readonly limitBytes: number,
  ) {
    this.bytesPerToken = manifest.dtype === 'uint16' ? 2 : 4;
  }

  get(shard: ShardInfo): Promise<TokenArray> {
    const hit = this.entries.get(shard.key);
    if (hit) {
      this.entries.delete(shard.key);
      this.entries.set(shard.key, hit);
      return hit.tokens;
    }
    // The promise is cached, so two batches needing one shard read it once.
    const entry = { tokens: this.load(shard), bytes: shard.tokens * this.bytesPerToken };
    entry.tokens.catch(() => {
      if (this.entries.get(shard.key) === entry) this.remove(shard.key);
    });
    this.entries.set(shard.key, entry);
    this.usedBytes += entry.bytes;
    // Keep the newest entry even if it alone is over the budget: the caller is about to read it.
    for (const key of this.entries.keys()) {
      if (this.usedBytes <= this.limitBytes || key === shard.key) break;
      this.remove(key);
    }
    return entry.tokens;
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.usedBytes -= entry.bytes;
  }

  private async load(shard: ShardInfo): Promise<TokenArray> {
    const tokens = await this.store.getShard(shard.key, this.manifest.dtype);
    if (tokens.length !== shard.tokens) {
      throw new DataError(
        'format',
        `Shard ${shard.key} of "${this.manifest.name}" has ${tokens.length} tokens but its manifest lists ${shard.tokens}: the stored data is damaged; delete the dataset and tokenize it again.`,
      );
    }
    return tokens;
  }
}
