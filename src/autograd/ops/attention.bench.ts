/**
 * Times causal attention on the context's GPU, forward alone and forward + backward (the training
 * step's three backward dispatches included), as matmul.bench.ts does for matmul: random inputs,
 * warm-up runs, then `reps` replays recorded into one command buffer and submitted once.
 * Napkin math: the forward does 2 causal products (QK^T, PV) of ~B NH T^2 HS FLOPs each with the
 * mask halving them; the backward recomputes QK^T and does 4 more (dV, dP, dQ, dK).
 * `dtype: 'f16'` times mixed precision's attention: qkv and y stored as halves (the arithmetic stays
 * f32), dy and dqkv f32.
 */
import type { GpuContext } from '../../gpu/context';
import type { StorageDType } from '../../gpu/wgsl-storage';
import { packHalves } from '../../util/half';
import { backward } from '../backward';
import { Graph } from '../graph';
import { type TensorSpec, tensorBytes } from '../op';
import { Plan } from '../plan';
import { attention, type AttentionAttrs, attentionBackwardOp, type AttentionKernel, attentionOp } from './attention';
import { benchFill, timePlan } from './timing.bench';

export interface BenchAttentionOptions {
  /** Force a kernel variant (default: the best the device offers). */
  kernel?: AttentionKernel;
  /** Storage of qkv and y (default f32). */
  dtype?: StorageDType;
  reps?: number;
  warmup?: number;
}

export interface BenchAttentionResult {
  /** Milliseconds per forward, and per forward + backward (wall clock over one submit / reps). */
  fwdMs: number;
  stepMs: number;
  /** Useful (causal) FLOPs per second of the forward + backward, in TFLOP/s. */
  tflops: number;
}

/** Causal FLOPs of one forward (2 products) and one backward (5 products: S again, dV, dP, dQ, dK). */
export function attentionFlops(B: number, NH: number, T: number, HS: number): { fwd: number; bwd: number } {
  const product = B * NH * T * (T + 1) * HS; // 2 * HS FLOPs per (query, visible key) pair
  return { fwd: 2 * product, bwd: 5 * product };
}

export async function benchAttention(
  ctx: GpuContext,
  B: number,
  NH: number,
  T: number,
  HS: number,
  opts: BenchAttentionOptions = {},
): Promise<BenchAttentionResult> {
  const C = NH * HS;
  const flops = attentionFlops(B, NH, T, HS);
  const reps = opts.reps ?? Math.min(20, Math.max(2, Math.ceil(2 ** 38 / (flops.fwd + flops.bwd))));
  const warmup = opts.warmup ?? 1;
  const data = benchFill(B * T * 3 * C, 1);
  const dtype = opts.dtype ?? 'f32';
  const attrs = { ...(opts.kernel ? { kernel: opts.kernel } : {}), out: dtype };

  const fwdGraph = new Graph();
  const x = fwdGraph.input('qkv', [B, T, 3 * C], dtype);
  attention(x, NH, attrs);
  const fwd = new Plan(ctx, fwdGraph, { label: 'bench.attention.fwd' });
  fwd.write(x, data);
  const fwdMs = (await timePlan(ctx, fwd, reps, warmup)).ms;
  fwd.destroy();

  const graph = new Graph();
  const qkv = graph.input('qkv', [B, T, 3 * C], dtype, true);
  const y = attention(qkv, NH, attrs);
  const dy = graph.input('dy', [B, T, C]);
  backward(graph, [{ tensor: y, grad: dy }]);
  const step = new Plan(ctx, graph, { label: 'bench.attention.step' });
  step.write(qkv, data);
  step.write(dy, benchFill(B * T * C, 2));
  const stepMs = (await timePlan(ctx, step, reps, warmup)).ms;
  step.destroy();
  return { fwdMs, stepMs, tflops: (flops.fwd + flops.bwd) / (stepMs * 1e9) };
}

/**
 * GPU milliseconds of each attention dispatch (forward; backward D, dK/dV, dQ), from timestamp
 * queries around each one in its own pass: where a step's attention time goes. Needs timestamp-query.
 */
export async function benchAttentionKernels(
  ctx: GpuContext,
  B: number,
  NH: number,
  T: number,
  HS: number,
  opts: BenchAttentionOptions = {},
): Promise<Record<string, number>> {
  const device = ctx.device;
  if (!ctx.features.has('timestamp-query'))
    throw new Error('benchAttentionKernels: this adapter has no timestamp-query feature');
  const C = NH * HS;
  const reps = opts.reps ?? 3;
  const dtype = opts.dtype ?? 'f32';
  const attrs: AttentionAttrs = { nHead: NH, out: dtype, ...(opts.kernel ? { kernel: opts.kernel } : {}) };
  const qkvSpec: TensorSpec = { shape: [B, T, 3 * C], dtype };
  const ySpec: TensorSpec = { shape: [B, T, C], dtype };
  const lseSpec: TensorSpec = { shape: [B, NH, T], dtype: 'f32' };
  const dySpec: TensorSpec = { shape: [B, T, C], dtype: 'f32' };
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const buffer = (spec: TensorSpec, data?: Float32Array) => {
    const b = device.createBuffer({ size: tensorBytes(spec), usage });
    const bytes = data && spec.dtype === 'f16' ? packHalves(data) : data;
    if (bytes) device.queue.writeBuffer(b, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return b;
  };
  const [qkv, y, lse, dy, D, dqkv] = [
    buffer(qkvSpec, benchFill(B * T * 3 * C, 1)),
    buffer(ySpec),
    buffer(lseSpec),
    buffer(dySpec, benchFill(B * T * C, 2)),
    buffer(lseSpec),
    buffer({ shape: qkvSpec.shape, dtype: 'f32' }),
  ];

  // The buffers each call's refs name: forward [qkv] -> [y, lse]; backward [qkv, y, lse, dy] -> [dqkv], scratch [D].
  const calls = [
    ...attentionOp
      .encode([qkvSpec], attrs, ctx)
      .map((call) => ({ call, ins: [qkv], outs: [y, lse], scratch: [] as GPUBuffer[] })),
    ...attentionBackwardOp
      .encode([qkvSpec, ySpec, lseSpec, dySpec], attrs, ctx)
      .map((call) => ({ call, ins: [qkv, y, lse, dy], outs: [dqkv], scratch: [D] })),
  ];
  const owned: GPUBuffer[] = [qkv, y, lse, dy, D, dqkv];
  const steps = calls.map(({ call, ins, outs, scratch }) => {
    const pipeline = ctx.pipelines.get(call.label, call.code, call.entryPoint, call.constants);
    const params = device.createBuffer({
      size: call.params!.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(params, 0, call.params!);
    owned.push(params);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: params } }];
    call.buffers.forEach((ref, k) => {
      const b = 'in' in ref ? ins[ref.in]! : 'out' in ref ? outs[ref.out]! : scratch[ref.scratch]!;
      entries.push({ binding: k + 1, resource: { buffer: b } });
    });
    return {
      name: call.entryPoint,
      pipeline,
      bindGroup: device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }),
      workgroups: call.workgroups,
    };
  });
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * steps.length * reps });
  const resolve = device.createBuffer({
    size: 16 * steps.length * reps,
    usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  const readback = device.createBuffer({
    size: 16 * steps.length * reps,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const encoder = device.createCommandEncoder();
  for (let r = -1; r < reps; r++)
    // r = -1: a warm-up round, untimed
    steps.forEach((s, i) => {
      const q = 2 * (r * steps.length + i);
      const pass = encoder.beginComputePass(
        r < 0 ? {} : { timestampWrites: { querySet, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1 } },
      );
      pass.setPipeline(s.pipeline);
      pass.setBindGroup(0, s.bindGroup);
      pass.dispatchWorkgroups(...s.workgroups);
      pass.end();
    });
  encoder.resolveQuerySet(querySet, 0, 2 * steps.length * reps, resolve, 0);
  encoder.copyBufferToBuffer(resolve, 0, readback, 0, 16 * steps.length * reps);
  device.queue.submit([encoder.finish()]);
  await readback.mapAsync(GPUMapMode.READ);
  const stamps = new BigUint64Array(readback.getMappedRange().slice(0));
  readback.unmap();
  const ms: Record<string, number> = {};
  steps.forEach((s, i) => {
    let best = Infinity; // the fastest repetition: the least disturbed by other work
    for (let r = 0; r < reps; r++)
      best = Math.min(
        best,
        Number(stamps[2 * (r * steps.length + i) + 1]! - stamps[2 * (r * steps.length + i)]!) / 1e6,
      );
    ms[s.name] = best;
  });
  [...owned, resolve, readback].forEach((b) => b.destroy());
  querySet.destroy();
  return ms;
}
