/**
 * Fused softmax + cross-entropy. The loss is the mean over rows whose target lies in [0, V) of
 * logsumexp(logits[n]) - logits[n, target[n]]; rows with another target (negative: the ignore index)
 * add nothing to the loss, are left out of the mean's count and get zero gradient. With no valid row
 * the loss is 0. The forward saves lse per row so the backward needs no second pass over max/sum.
 */
import shader from '../../../shaders/cross_entropy.wgsl?raw';
import { grid1d, u32Params } from '../../gpu/uniforms';
import { type StorageDType, storageOf, wgslReader, wgslWriter } from '../../gpu/wgsl-storage';
import type { KernelCall, OpDef, TensorSpec } from '../op';
import { assertShape, numel, shapeString } from '../op';
import type { Tensor } from '../tensor';

function dims(logits: TensorSpec): { N: number; V: number } {
  const V = logits.shape[logits.shape.length - 1]!;
  return { N: numel(logits.shape) / V, V };
}

/** Threads per workgroup (a row, the mean, or WG logits of the backward); the override WG of the shader. */
const CROSS_ENTROPY_WG = 256;

/** The shader for logits (and dlogits) stored as `dtype`: mixed precision's LM head writes f16 logits. */
const source = (dtype: StorageDType) =>
  wgslReader('ce_logits', 1, dtype) + wgslReader('ceB_logits', 1, dtype) + wgslWriter('ceB_dlogits', 5, dtype) + shader;

const call = (
  entryPoint: string,
  buffers: KernelCall['buffers'],
  N: number,
  V: number,
  workgroups: number,
  dtype: StorageDType,
): KernelCall => ({
  label: 'cross_entropy',
  code: source(dtype),
  entryPoint,
  constants: { WG: CROSS_ENTROPY_WG },
  buffers,
  params: u32Params(N, V),
  workgroups: grid1d(workgroups),
});

const valid = (t: number, V: number) => t >= 0 && t < V;

/**
 * Inputs [logits [N, V] or [B, T, V], targets i32 [N] or [B, T]]; outputs [loss [1], lse [N]].
 * Scratch: the per-row losses [N], summed in a fixed order by a second kernel.
 */
export const crossEntropyOp: OpDef = {
  name: 'cross_entropy',
  differentiableOutputs: [true, false],
  outputs: ([logits, targets]) => {
    assertShape(
      logits!.dtype !== 'i32' && logits!.shape.length >= 2,
      'cross_entropy',
      `logits must be f32 or f16 [..., V], got ${logits!.dtype} ${shapeString(logits!.shape)}`,
    );
    assertShape(targets!.dtype === 'i32', 'cross_entropy', 'targets must be i32');
    assertShape(
      targets!.shape.join() === logits!.shape.slice(0, -1).join(),
      'cross_entropy',
      `targets ${shapeString(targets!.shape)} do not match logits ${shapeString(logits!.shape)}`,
    );
    return [
      { shape: [1], dtype: 'f32' },
      { shape: [dims(logits!).N], dtype: 'f32' },
    ];
  },
  scratch: ([logits]) => [dims(logits!).N],
  encode: ([logits]) => {
    const { N, V } = dims(logits!);
    const dtype = storageOf(logits!);
    return [
      call('cross_entropy_forward', [{ in: 0 }, { in: 1 }, { out: 1 }, { scratch: 0 }], N, V, N, dtype),
      call('cross_entropy_mean', [{ in: 1 }, { scratch: 0 }, { out: 0 }], N, V, 1, dtype),
    ];
  },
  backward: ([logits, targets], [, lse], [dloss]) => [
    logits!.graph.apply1(crossEntropyBackwardOp, [logits!, targets!, lse!, dloss!], {}),
    null,
  ],
  reference: {
    forward: ([logits, targets], [spec]) => {
      const { N, V } = dims(spec!);
      const lse = new Float64Array(N);
      let sum = 0;
      let count = 0;
      for (let n = 0; n < N; n++) {
        lse[n] = logSumExp(logits as Float64Array, n * V, V);
        const t = targets![n]!;
        if (valid(t, V)) {
          sum += lse[n]! - logits![n * V + t]!;
          count++;
        }
      }
      return [Float64Array.of(count > 0 ? sum / count : 0), lse];
    },
    backward: ([logits, targets], [spec], [dloss]) => {
      const { N, V } = dims(spec!);
      let count = 0;
      for (let n = 0; n < N; n++) if (valid(targets![n]!, V)) count++;
      const scale = count > 0 ? dloss![0]! / count : 0;
      const d = new Float64Array(N * V);
      for (let n = 0; n < N; n++) {
        const t = targets![n]!;
        if (!valid(t, V)) continue;
        const lse = logSumExp(logits as Float64Array, n * V, V);
        for (let v = 0; v < V; v++) d[n * V + v] = scale * (Math.exp(logits![n * V + v]! - lse) - (v === t ? 1 : 0));
      }
      return [d, null];
    },
  },
};

function logSumExp(x: Float64Array, base: number, V: number): number {
  let m = -Infinity;
  for (let v = 0; v < V; v++) m = Math.max(m, x[base + v]!);
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(x[base + v]! - m);
  return m + Math.log(s);
}

/**
 * Kernel-only: inputs [logits, targets, lse [N], dloss [1]]; output dlogits (like logits, f16 with
 * f16 logits) = dloss * (softmax - onehot(target)) / count. dloss is read on the GPU (scratch: the
 * scale [1]). An f16 dlogits loses nothing mixed precision keeps: the LM head's backward products
 * are `half`, which rounds them to f16 anyway; it halves the largest buffer of a step.
 */
export const crossEntropyBackwardOp: OpDef = {
  name: 'cross_entropy_backward',
  outputs: ([logits]) => [{ shape: logits!.shape, dtype: logits!.dtype }],
  scratch: () => [1],
  encode: ([logits]) => {
    const { N, V } = dims(logits!);
    const dtype = storageOf(logits!);
    return [
      call('cross_entropy_scale', [{ in: 1 }, { in: 3 }, { scratch: 0 }], N, V, 1, dtype),
      call(
        'cross_entropy_backward',
        [{ in: 0 }, { in: 1 }, { in: 2 }, { scratch: 0 }, { out: 0 }],
        N,
        V,
        Math.ceil((N * V) / 2 / CROSS_ENTROPY_WG),
        dtype,
      ),
    ];
  },
};

/** Mean cross-entropy [1] of logits [..., V] against i32 targets [...] (targets < 0 are ignored). */
export function crossEntropy(logits: Tensor, targets: Tensor): Tensor {
  return logits.graph.apply(crossEntropyOp, [logits, targets], {}, ['loss', 'lse'])[0]!;
}
