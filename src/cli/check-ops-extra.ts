/**
 * check-ops cases that need more than op-check's comparison: KV-cache decoding (no reference of its
 * own: checked against attention's) and a matmul adding a weight's gradient into its slot of the
 * parameter store (the `accumulate` path every training step takes, mixed precision's included).
 */
import { backward } from '../autograd/backward';
import { Graph } from '../autograd/graph';
import type { OpComparison } from '../autograd/op-check';
import { attentionDecodeOp } from '../autograd/ops/attention-decode';
import { referenceForward } from '../autograd/ops/attention-reference';
import { cast } from '../autograd/ops/cast';
import { matmul, matmulOp } from '../autograd/ops/matmul';
import { ParameterStore } from '../autograd/params';
import { Plan } from '../autograd/plan';
import type { GpuContext } from '../gpu/context';
import { maxRelError } from '../util/compare';
import { roundHalf } from '../util/half';
import { randn, rng } from '../util/random';

export type CaseComparison = Pick<OpComparison, 'forward' | 'backward'>;

/**
 * KV-cache decoding of the last Tq tokens at position pos, the cache's earlier rows written from
 * the same qkv (later rows hold junk that must never be read), against attention's float64 forward.
 */
export async function compareDecode(ctx: GpuContext): Promise<CaseComparison> {
  const [T, C, NH, maxT, Tq] = [23, 24, 3, 32, 9];
  const HS = C / NH;
  const pos = T - Tq;
  const qkv = randn(T * 3 * C, rng(21));
  const caches = [1, 2].map((part) => {
    const cache = randn(NH * maxT * HS, rng(90 + part), 100);
    for (let h = 0; h < NH; h++)
      for (let t = 0; t < pos; t++)
        for (let e = 0; e < HS; e++) cache[(h * maxT + t) * HS + e] = qkv[t * 3 * C + part * C + h * HS + e]!;
    return cache;
  });
  const graph = new Graph();
  const x = graph.input('qkv', [1, Tq, 3 * C]);
  const kCache = graph.input('kCache', [NH, maxT, HS]);
  const vCache = graph.input('vCache', [NH, maxT, HS]);
  const at = graph.input('pos', [1], 'i32');
  const [y] = graph.apply(attentionDecodeOp, [x, kCache, vCache, at], { nHead: NH });
  const plan = await Plan.create(ctx, graph, { retain: [y!], label: 'check-ops.decode' });
  try {
    plan.write(x, qkv.slice(pos * 3 * C));
    plan.write(kCache, caches[0]!);
    plan.write(vCache, caches[1]!);
    plan.write(at, Int32Array.of(pos));
    plan.run();
    const ref = referenceForward(Float64Array.from(qkv), { B: 1, T, C, NH, HS }).y;
    return { forward: [maxRelError(await plan.read(y!), ref.subarray(pos * C))], backward: [] };
  } finally {
    plan.destroy();
  }
}

/**
 * y = x · W (W a parameter; with `half`, x f16 and W cast to an f16 copy, as mixed precision runs
 * it), then dW added by the backward's matmul straight into W's gradient slot, which holds a prior
 * value: y and the slot against the float64 reference (slot = prior + xᵀ·dy).
 */
export async function compareGradSlot(
  ctx: GpuContext,
  [M, K, N]: [number, number, number],
  half: boolean,
): Promise<CaseComparison> {
  const random = rng(M + K + N);
  const round = (v: Float32Array) => (half ? Float32Array.from(v, roundHalf) : v);
  const x = round(randn(M * K, random));
  const w = randn(K * N, random);
  const dy = randn(M * N, random);
  const prior = randn(K * N, random);
  const store = new ParameterStore(ctx.device, [{ name: 'w', shape: [K, N] }]);
  const graph = new Graph();
  const xt = graph.input('x', [M, K], half ? 'f16' : 'f32');
  const wt = graph.param('w', [K, N]);
  const y = matmul(xt, half ? cast(wt, 'f16') : wt, { half });
  const dyt = graph.input('dy', [M, N]);
  backward(graph, [{ tensor: y, grad: dyt }]);
  try {
    const plan = await Plan.create(ctx, graph, { store, retain: [y], label: 'check-ops.grad-slot' });
    try {
      // The slot must be written by the matmul itself: a copy node would leave accumulate unchecked.
      if (plan.dispatchLabels.some((l) => l.startsWith('copy')))
        throw new Error('the weight gradient went through a copy, not the matmul accumulating into its slot');
      store.write('w', w);
      store.write('w', prior, 'grad');
      plan.write(xt, x);
      plan.write(dyt, dy);
      plan.run();
      // With half the reference rounds W (the f16 copy) and dy as the kernels load them.
      const refIn = [Float64Array.from(x), Float64Array.from(w)];
      const specs = [xt.spec, { shape: [K, N], dtype: 'f32' as const }];
      const attrs = half ? { half: true } : {};
      const refY = matmulOp.reference!.forward(refIn, specs, attrs)[0]!;
      const refW = matmulOp.reference!.backward(refIn, specs, [Float64Array.from(dy)], attrs)[1]!;
      const slot = refW.map((v, i) => v + prior[i]!);
      const gotSlot = (await store.readAll('grad')).get('w')!;
      return { forward: [maxRelError(await plan.read(y), refY)], backward: [maxRelError(gotSlot, slot)] };
    } finally {
      plan.destroy();
    }
  } finally {
    store.destroy();
  }
}
