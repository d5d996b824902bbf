/**
 * Token + position embedding: x[b, t, :] = wte[idx[b, t], :] + wpe[offset + t, :], where offset is
 * the optional pos input (KV-cache decoding) or 0. Out-of-range token ids (outside [0, V)) and
 * positions (outside [0, maxT)) contribute zero rows and get no gradient: kernels never read out of
 * bounds. The backward is deterministic (no atomics): dwte sums matching rows in increasing (b, t)
 * order, dwpe sums over b in order.
 */
import shader from '../../../shaders/embedding.wgsl?raw';
import { wgslConstBlock } from '../../gpu/pipelines';
import { grid1d, u32Params } from '../../gpu/uniforms';
import type { KernelCall, OpDef, TensorSpec } from '../op';
import { assertShape, shapeString } from '../op';
import type { Tensor } from '../tensor';

/**
 * The kernels' sizes, written only here and passed to shaders/embedding.wgsl as override constants:
 * WG threads per workgroup (one element each in the flat kernels, one column each in dwte, whose
 * workgroup owns WTE_VB vocab rows x WG columns).
 */
const EMBEDDING_SIZES = { WG: 256, WTE_VB: 8 } as const;
const { WG, WTE_VB } = EMBEDDING_SIZES;
/** dwte: idx entries each thread scans per chunk; sizes a private array, so it goes in as a const. */
const source = wgslConstBlock({ WTE_PER: 4 }) + shader;

interface Dims {
  B: number;
  T: number;
  C: number;
  V: number;
  maxT: number;
}

function params(d: Dims, accumulate = false): ArrayBuffer {
  return u32Params(d.B * d.T, d.T, d.C, d.V, d.maxT, accumulate ? 1 : 0);
}

const call = (entryPoint: string, buffers: KernelCall['buffers'], p: ArrayBuffer, workgroups: number): KernelCall => ({
  label: 'embedding',
  code: source,
  entryPoint,
  constants: EMBEDDING_SIZES,
  buffers,
  params: p,
  workgroups: grid1d(workgroups),
});

/** Inputs [idx i32 [B, T], wte [V, C], wpe [maxT, C], pos? i32 [1]]; output [x [B, T, C]]. */
export const embeddingOp: OpDef = {
  name: 'embedding',
  outputs: ([idx, wte, wpe, pos]) => {
    assertShape(
      idx!.dtype === 'i32' && idx!.shape.length === 2,
      'embedding',
      `idx must be i32 [B, T], got ${idx!.dtype} ${shapeString(idx!.shape)}`,
    );
    assertShape(
      wte!.shape.length === 2 && wpe!.shape.length === 2,
      'embedding',
      `wte ${shapeString(wte!.shape)} and wpe ${shapeString(wpe!.shape)} must be 2-D`,
    );
    assertShape(
      wte!.shape[1] === wpe!.shape[1],
      'embedding',
      `wte ${shapeString(wte!.shape)} and wpe ${shapeString(wpe!.shape)} differ in width`,
    );
    assertShape(
      idx!.shape[1]! <= wpe!.shape[0]!,
      'embedding',
      `T = ${idx!.shape[1]} exceeds the ${wpe!.shape[0]} positions of wpe`,
    );
    if (pos)
      assertShape(
        pos.dtype === 'i32' && pos.shape.join() === '1',
        'embedding',
        `pos must be i32 [1], got ${pos.dtype} ${shapeString(pos.shape)}`,
      );
    return [{ shape: [idx!.shape[0]!, idx!.shape[1]!, wte!.shape[1]!], dtype: 'f32' }];
  },
  encode: (inputs) => {
    const d = dims(inputs);
    const withPos = inputs.length > 3;
    const buffers: KernelCall['buffers'] = withPos
      ? [{ in: 0 }, { in: 1 }, { in: 2 }, { in: 3 }, { out: 0 }]
      : [{ in: 0 }, { in: 1 }, { in: 2 }, { out: 0 }];
    return [
      call(
        withPos ? 'embedding_forward_pos' : 'embedding_forward',
        buffers,
        params(d),
        Math.ceil((d.B * d.T * d.C) / WG),
      ),
    ];
  },
  backward: ([idx, wte, wpe, pos], _outputs, [dx]) => {
    const g = idx!.graph;
    const dwte = wte!.requiresGrad ? g.apply1(embeddingWteGradOp, [idx!, dx!], { V: wte!.shape[0]! }) : null;
    const dwpe = wpe!.requiresGrad
      ? g.apply1(embeddingWpeGradOp, pos ? [dx!, pos] : [dx!], { maxT: wpe!.shape[0]! })
      : null;
    return [null, dwte, dwpe, null];
  },
  reference: {
    forward: ([idx, wte, wpe, pos], specs) => {
      const { B, T, C, V, maxT } = dims(specs);
      const offset = pos ? pos[0]! : 0;
      const out = new Float64Array(B * T * C);
      for (let r = 0; r < B * T; r++) {
        const tok = idx![r]!;
        const t = offset + (r % T);
        for (let c = 0; c < C; c++) {
          const a = tok >= 0 && tok < V ? wte![tok * C + c]! : 0;
          const b = t >= 0 && t < maxT ? wpe![t * C + c]! : 0;
          out[r * C + c] = a + b;
        }
      }
      return [out];
    },
    backward: ([idx, , , pos], specs, [dx]) => {
      const { B, T, C, V, maxT } = dims(specs);
      const offset = pos ? pos[0]! : 0;
      const dwte = new Float64Array(V * C);
      const dwpe = new Float64Array(maxT * C);
      for (let r = 0; r < B * T; r++) {
        const tok = idx![r]!;
        const t = offset + (r % T);
        for (let c = 0; c < C; c++) {
          if (tok >= 0 && tok < V) dwte[tok * C + c] = dwte[tok * C + c]! + dx![r * C + c]!;
          if (t >= 0 && t < maxT) dwpe[t * C + c] = dwpe[t * C + c]! + dx![r * C + c]!;
        }
      }
      return [null, dwte, dwpe, null];
    },
  },
};

function dims([idx, wte, wpe]: readonly TensorSpec[]): Dims {
  return { B: idx!.shape[0]!, T: idx!.shape[1]!, C: wte!.shape[1]!, V: wte!.shape[0]!, maxT: wpe!.shape[0]! };
}

/** Kernel-only: dwte [V, C] from inputs [idx i32 [B, T], dx [B, T, C]]; rows no token hits are zero. */
export const embeddingWteGradOp: OpDef<{ V: number; accumulate?: boolean }> = {
  name: 'embedding_wte_grad',
  canAccumulate: true,
  outputs: ([, dx], attrs) => [{ shape: [attrs.V, dx!.shape[2]!], dtype: 'f32' }],
  encode: ([idx, dx], attrs) => {
    const [B, T, C] = dx!.shape as [number, number, number];
    assertShape(
      idx!.shape.join() === `${B},${T}`,
      'embedding_wte_grad',
      `idx ${shapeString(idx!.shape)} vs dx ${shapeString(dx!.shape)}`,
    );
    const d: Dims = { B, T, C, V: attrs.V, maxT: 0 };
    const workgroups = Math.ceil(attrs.V / WTE_VB) * Math.ceil(C / WG);
    return [
      call('embedding_wte_backward', [{ in: 0 }, { in: 1 }, { out: 0 }], params(d, attrs.accumulate), workgroups),
    ];
  },
};

/** Kernel-only: dwpe [maxT, C] from inputs [dx [B, T, C], pos? i32 [1]]; rows no position hits are zero. */
export const embeddingWpeGradOp: OpDef<{ maxT: number; accumulate?: boolean }> = {
  name: 'embedding_wpe_grad',
  canAccumulate: true,
  outputs: ([dx], attrs) => [{ shape: [attrs.maxT, dx!.shape[2]!], dtype: 'f32' }],
  encode: (inputs, attrs) => {
    const [B, T, C] = inputs[0]!.shape as [number, number, number];
    const d: Dims = { B, T, C, V: 0, maxT: attrs.maxT };
    const withPos = inputs.length > 1;
    const buffers: KernelCall['buffers'] = withPos ? [{ in: 0 }, { in: 1 }, { out: 0 }] : [{ in: 0 }, { out: 0 }];
    return [
      call(
        withPos ? 'embedding_wpe_backward_pos' : 'embedding_wpe_backward',
        buffers,
        params(d, attrs.accumulate),
        Math.ceil((attrs.maxT * C) / WG),
      ),
    ];
  },
};

/** x [B, T, C] = wte[idx] + wpe[pos + t] (pos: optional i32 [1] position offset, default 0). */
export function embedding(idx: Tensor, wte: Tensor, wpe: Tensor, pos?: Tensor): Tensor {
  return idx.graph.apply1(embeddingOp, pos ? [idx, wte, wpe, pos] : [idx, wte, wpe], {}, 'embedding');
}
