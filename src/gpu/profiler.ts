/**
 * Per-dispatch GPU timing from timestamp queries. In profile mode every dispatch gets its own
 * compute pass whose begin/end timestamps land in one query set; the durations are then summed
 * per op and direction into a table with each op's achieved TFLOP/s (or GB/s when it has no
 * FLOP count). Normal training never uses this: it keeps all dispatches in one pass.
 */

export type Phase = 'forward' | 'backward' | 'optimizer';

/** What one dispatch is charged with. A node's FLOPs and bytes go on its first dispatch only. */
export interface DispatchTag {
  op: string;
  phase: Phase;
  /** True on the first dispatch of an op call (counts the call once). */
  first: boolean;
  flops?: number;
  bytes: number;
}

export interface ProfileRow {
  op: string;
  phase: Phase;
  calls: number;
  dispatches: number;
  ms: number;
  share: number;
  flops: number;
  bytes: number;
  /** Achieved TFLOP/s when the op has a FLOP count, else null. */
  tflops: number | null;
  gbps: number;
}

export interface ProfileResult {
  rows: ProfileRow[];
  totalMs: number;
  dispatches: number;
  /** The step's wall time measured the normal way (one pass, no timestamps), when known. */
  wallMs?: number;
}

/** WebGPU caps a query set at 4096 queries. */
const MAX_QUERIES = 4096;

export class Profiler {
  readonly tags: DispatchTag[] = [];
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuffer: GPUBuffer;
  private readonly readback: GPUBuffer;

  constructor(
    device: GPUDevice,
    features: ReadonlySet<string>,
    readonly capacity: number,
  ) {
    if (!features.has('timestamp-query')) throw new ProfilerUnavailable();
    if (2 * capacity > MAX_QUERIES)
      throw new Error(
        `profile: ${capacity} dispatches need ${2 * capacity} timestamps, more than one query set holds (${MAX_QUERIES}); profile a smaller step (fewer micro-batches)`,
      );
    this.querySet = device.createQuerySet({ label: 'profile', type: 'timestamp', count: 2 * capacity });
    this.resolveBuffer = device.createBuffer({
      label: 'profile.resolve',
      size: 16 * capacity,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    this.readback = device.createBuffer({
      label: 'profile.readback',
      size: 16 * capacity,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
  }

  /** The timestamp writes for the pass of the next dispatch, charged to `tag`. */
  next(tag: DispatchTag): GPUComputePassTimestampWrites {
    const i = this.tags.length;
    if (i >= this.capacity) throw new Error(`profile: more than the ${this.capacity} dispatches planned for`);
    this.tags.push(tag);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Records the copy of the timestamps to a mappable buffer (after the last profiled pass). */
  resolve(encoder: GPUCommandEncoder): void {
    const n = this.tags.length;
    if (n === 0) return;
    encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, this.readback, 0, 16 * n);
  }

  /** Reads the timestamps of a submitted step and sums them per op and direction. */
  async read(): Promise<ProfileResult> {
    const n = this.tags.length;
    await this.readback.mapAsync(GPUMapMode.READ, 0, 16 * n);
    const stamps = new BigUint64Array(this.readback.getMappedRange(0, 16 * n).slice(0));
    this.readback.unmap();
    // Nanoseconds; a pass whose end reads before its begin (a wrapped or reset counter) counts 0.
    const ms = this.tags.map((_, i) => Math.max(0, Number(stamps[2 * i + 1]! - stamps[2 * i]!)) / 1e6);
    return aggregate(this.tags, ms);
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuffer.destroy();
    this.readback.destroy();
  }
}

export class ProfilerUnavailable extends Error {
  constructor() {
    super('this adapter has no timestamp-query feature: it cannot time single dispatches');
  }
}

const PHASE_ORDER: Record<Phase, number> = { forward: 0, backward: 1, optimizer: 2 };

/** Sums per-dispatch times into one row per op and direction, sorted by time (longest first). */
export function aggregate(tags: readonly DispatchTag[], ms: readonly number[]): ProfileResult {
  if (tags.length !== ms.length) throw new Error(`profile: ${tags.length} dispatches but ${ms.length} timings`);
  const rows = new Map<string, ProfileRow>();
  let totalMs = 0;
  tags.forEach((tag, i) => {
    const key = `${tag.op}/${tag.phase}`;
    let row = rows.get(key);
    if (!row)
      rows.set(
        key,
        (row = {
          op: tag.op,
          phase: tag.phase,
          calls: 0,
          dispatches: 0,
          ms: 0,
          share: 0,
          flops: 0,
          bytes: 0,
          tflops: null,
          gbps: 0,
        }),
      );
    row.dispatches++;
    if (tag.first) row.calls++;
    row.ms += ms[i]!;
    row.flops += tag.flops ?? 0;
    row.bytes += tag.bytes;
    if (tag.flops !== undefined) row.tflops = 0; // marks the row as FLOP-counted
    totalMs += ms[i]!;
  });
  const list = [...rows.values()];
  for (const row of list) {
    row.share = totalMs > 0 ? row.ms / totalMs : 0;
    const s = row.ms / 1000;
    row.gbps = s > 0 ? row.bytes / s / 1e9 : 0;
    if (row.tflops !== null) row.tflops = s > 0 ? row.flops / s / 1e12 : 0;
  }
  list.sort((a, b) => b.ms - a.ms || PHASE_ORDER[a.phase] - PHASE_ORDER[b.phase] || a.op.localeCompare(b.op));
  return { rows: list, totalMs, dispatches: tags.length };
}

// Small units on small devices (SwiftShader), so a figure never reads 0.00.
const rate = (r: ProfileRow): string => {
  if (r.tflops !== null)
    return r.tflops < 0.1 ? `${(r.tflops * 1000).toFixed(2)} GFLOP/s` : `${r.tflops.toFixed(2)} TFLOP/s`;
  return r.gbps < 0.1 ? `${(r.gbps * 1000).toFixed(2)} MB/s` : `${r.gbps.toFixed(2)} GB/s`;
};

/** The profile as a text table, with the wall time beside the total when known. */
export function formatProfile(p: ProfileResult): string {
  const lines = [
    `${'op'.padEnd(24)} ${'direction'.padEnd(9)} ${'calls'.padStart(5)} ${'disp'.padStart(5)} ${'ms'.padStart(10)} ${'share'.padStart(6)}  achieved`,
  ];
  for (const r of p.rows) {
    lines.push(
      `${r.op.padEnd(24)} ${r.phase.padEnd(9)} ${String(r.calls).padStart(5)} ${String(r.dispatches).padStart(5)} ${r.ms.toFixed(3).padStart(10)} ${`${(r.share * 100).toFixed(1)}%`.padStart(6)}  ${rate(r)}`,
    );
  }
  lines.push(
    `${'total (GPU, per dispatch)'.padEnd(40)} ${String(p.dispatches).padStart(5)} ${p.totalMs.toFixed(3).padStart(10)} 100.0%`,
  );
  if (p.wallMs !== undefined) {
    const ratio = p.totalMs / p.wallMs;
    lines.push(
      `step wall time (one pass, no timestamps): ${p.wallMs.toFixed(3)} ms; the dispatches add up to ${(ratio * 100).toFixed(1)}% of it`,
    );
  }
  return lines.join('\n');
}
