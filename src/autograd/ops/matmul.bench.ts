/**
 * Times one matmul node (forward kernel(s) only; f32 or f16 operands, f32 or f16 output) on the context's GPU: a plan with random inputs,
 * warm-up runs, then `reps` replays recorded into one command buffer and submitted once
 * (timing.bench.ts).
 */
import type { GpuContext } from '../../gpu/context';
import { Graph } from '../graph';
import { Plan } from '../plan';
import { matmul } from './matmul';
import { benchFill, timePlan } from './timing.bench';

export interface BenchMatmulOptions {
  transA?: boolean;
  transB?: boolean;
  bias?: boolean;
  /** Operands stored as f16 (halves two to a word): the mixed-precision model's products. Default f32. */
  operands?: 'f32' | 'f16';
  /** Operands taken at f16 precision (f32 ones rounded on load; see MatmulAttrs.half). */
  half?: boolean;
  /** C's dtype (default f32). */
  out?: 'f32' | 'f16';
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

export async function benchMatmul(
  ctx: GpuContext,
  M: number,
  N: number,
  K: number,
  opts: BenchMatmulOptions = {},
): Promise<BenchMatmulResult> {
  const flops = 2 * M * N * K;
  const reps = opts.reps ?? Math.min(50, Math.max(3, Math.ceil(2 ** 41 / flops)));
  const graph = new Graph();
  const dtype = opts.operands ?? 'f32';
  const a = graph.input('a', opts.transA ? [K, M] : [M, K], dtype);
  const b = graph.input('b', opts.transB ? [N, K] : [K, N], dtype);
  const bias = opts.bias ? graph.input('bias', [N]) : undefined;
  matmul(a, b, { transA: opts.transA, transB: opts.transB, bias, half: opts.half, out: opts.out });
  const plan = new Plan(ctx, graph, { label: `bench.matmul.${M}x${N}x${K}` });
  plan.write(a, benchFill(M * K, 1));
  plan.write(b, benchFill(K * N, 2));
  if (bias) plan.write(bias, benchFill(N, 3));

  const { ms, gpuMs } = await timePlan(ctx, plan, reps, opts.warmup ?? 2, true);
  const result: BenchMatmulResult = { ms, tflops: flops / (ms * 1e9), ...(gpuMs !== undefined ? { gpuMs } : {}) };
  plan.destroy();
  return result;
}
