/**
 * Times one matmul node (forward kernel(s) only) on the context's GPU: a plan with random inputs,
 * warm-up runs, then `reps` replays recorded into one command buffer and submitted once.
 */
import type { GpuContext } from '../../gpu/context';
import { Graph } from '../graph';
import { Plan } from '../plan';
import { matmul } from './matmul';

export interface BenchMatmulOptions {
  transA?: boolean;
  transB?: boolean;
  bias?: boolean;
  /** Timed replays (default: enough for ~2^41 FLOPs, between 3 and 50). */
  reps?: number;
  warmup?: number;
}

export interface BenchMatmulResult {
  /** Milliseconds per product, wall clock over one submit (queue done / reps). */
  ms: number;
  tflops: number;
  /** GPU time per product from timestamp queries, when the device has them. */
  gpuMs?: number;
}

/** Cheap pseudo-random fill (values in [-1, 1)); quality is irrelevant, only non-zero data matters. */
function fill(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 2147483648 - 1;
  }
  return out;
}

export async function benchMatmul(
  ctx: GpuContext,
  M: number,
  N: number,
  K: number,
  opts: BenchMatmulOptions = {},
): Promise<BenchMatmulResult> {
  const device = ctx.device;
  const flops = 2 * M * N * K;
  const reps = opts.reps ?? Math.min(50, Math.max(3, Math.ceil(2 ** 41 / flops)));
  const graph = new Graph();
  const a = graph.input('a', opts.transA ? [K, M] : [M, K]);
  const b = graph.input('b', opts.transB ? [N, K] : [K, N]);
  const bias = opts.bias ? graph.input('bias', [N]) : undefined;
  matmul(a, b, { transA: opts.transA, transB: opts.transB, bias });
  const plan = new Plan(ctx, graph, { label: `bench.matmul.${M}x${N}x${K}` });
  plan.write(a, fill(M * K, 1));
  plan.write(b, fill(K * N, 2));
  if (bias) plan.write(bias, fill(N, 3));

  for (let i = 0; i < (opts.warmup ?? 2); i++) plan.run();
  await device.queue.onSubmittedWorkDone();

  const timestamps = ctx.features.has('timestamp-query');
  const querySet = timestamps ? device.createQuerySet({ type: 'timestamp', count: 2 }) : null;
  const encoder = device.createCommandEncoder();
  for (let i = 0; i < reps; i++) {
    const writes: GPUComputePassTimestampWrites | undefined = querySet
      ? i === 0 && i === reps - 1
        ? { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 }
        : i === 0
          ? { querySet, beginningOfPassWriteIndex: 0 }
          : i === reps - 1
            ? { querySet, endOfPassWriteIndex: 1 }
            : undefined
      : undefined;
    plan.encode(encoder, writes);
  }
  let resolve: GPUBuffer | null = null;
  let readback: GPUBuffer | null = null;
  if (querySet) {
    resolve = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    readback = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, readback, 0, 16);
  }
  const start = performance.now();
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  const ms = (performance.now() - start) / reps;

  const result: BenchMatmulResult = { ms, tflops: flops / (ms * 1e9) };
  if (readback) {
    await readback.mapAsync(GPUMapMode.READ);
    const [t0, t1] = new BigUint64Array(readback.getMappedRange());
    readback.unmap();
    const gpuMs = Number(t1! - t0!) / 1e6 / reps;
    if (gpuMs > 0) result.gpuMs = gpuMs;
  }
  readback?.destroy();
  resolve?.destroy();
  querySet?.destroy();
  plan.destroy();
  return result;
}
