/**
 * LayerNorm over the last axis with PyTorch semantics (biased variance, eps inside the sqrt).
 * The forward saves the per-row mean and rstd; the backward computes dx per row and reduces dw, db
 * over rows in two deterministic stages (per-chunk partials, then a fixed-order sum). y may be
 * stored as f16 (mixed precision: it feeds a half matmul); statistics and gradients stay f32, and
 * the backward never reads y.
 */
import shader from '../../../shaders/layernorm.wgsl?raw';
import { wgslConstBlock } from '../../gpu/pipelines';
import type { StorageDType } from '../../gpu/wgsl-storage';
import { wgslWriter } from '../../gpu/wgsl-storage';
import { grid1d, packUniforms } from '../../gpu/uniforms';
import type { KernelCall, OpDef, RefArray, TensorSpec } from '../op';
import { assertShape, numel, shapeString } from '../op';
import type { Tensor } from '../tensor';

/**
 * The kernels' sizes, written only here and passed to shaders/layernorm.wgsl as override constants:
 * LN_WG threads per row (forward, backward); the param-grad reduce takes LNR_COLS columns per
 * workgroup of LNR_WG threads (LNR_WG / LNR_COLS lanes per column).
 */
const LAYERNORM_SIZES = { LN_WG: 128, LNR_WG: 256, LNR_COLS: 32 } as const;
/** Columns per thread: sizes private arrays, so WGSL needs it as a const (a block before the source). */
const LN_MAXK = 16;

/**
 * y's binding and stores. f32: each value goes straight to its element. f16: a thread's columns are
 * LN_WG apart, so the row is staged in workgroup memory and then written a word (two columns) per
 * invocation; the statistics are the f32 kernel's, so y is exactly the f32 result rounded.
 */
const Y_STORES: Record<StorageDType, string> = {
  f32: `fn ln_y_set(base: u32, c: u32, v: f32) { ln_y[base + c] = v; }
fn ln_y_flush(lid: u32, base: u32, C: u32) {}
`,
  f16: `var<workgroup> ln_stage: array<f32, LN_WG * LN_MAXK>;
fn ln_y_set(base: u32, c: u32, v: f32) { ln_stage[c] = v; }
fn ln_y_flush(lid: u32, base: u32, C: u32) {
  workgroupBarrier();
  for (var c = 2u * lid; c < C; c += 2u * LN_WG) { ln_y_put2(base + c, vec2f(ln_stage[c], ln_stage[c + 1u]), 0u); }
}
`,
};
const sources: Record<StorageDType, string> = {
  f32: wgslConstBlock({ LN_MAXK }) + wgslWriter('ln_y', 4, 'f32') + Y_STORES.f32 + shader,
  f16: wgslConstBlock({ LN_MAXK }) + wgslWriter('ln_y', 4, 'f16') + Y_STORES.f16 + shader,
};

/** Threads per row times columns per thread in the kernels (private arrays are sized for this). */
export const LAYERNORM_MAX_C = LAYERNORM_SIZES.LN_WG * LN_MAXK;

/** eps (default 1e-5); out: y's dtype (default f32; f16 needs an even C so rows start on a word). */
export type LayerNormAttrs = { eps?: number; out?: 'f32' | 'f16' };

interface Dims {
  /** Rows: numel / C. */
  N: number;
  C: number;
}

function dims(x: TensorSpec): Dims {
  const C = x.shape[x.shape.length - 1] ?? 0;
  return { N: C > 0 ? numel(x.shape) / C : 0, C };
}

/** Rows per partial-sum chunk of the backward, and the number of chunks P (about 256 at most). */
function chunking(N: number): { rows: number; chunks: number } {
  const rows = Math.max(8, Math.ceil(N / 256));
  return { rows, chunks: Math.max(1, Math.ceil(N / rows)) };
}

interface LnParams {
  N: number;
  C: number;
  eps?: number;
  chunkRows?: number;
  chunks?: number;
  colOffset?: number;
  accumulate?: boolean;
}

function params(q: LnParams): ArrayBuffer {
  return packUniforms([
    ['u32', q.N],
    ['u32', q.C],
    ['f32', q.eps ?? 0],
    ['u32', q.chunkRows ?? 0],
    ['u32', q.chunks ?? 0],
    ['u32', q.colOffset ?? 0],
    ['u32', q.accumulate ? 1 : 0],
  ]);
}

const call = (
  entryPoint: string,
  buffers: KernelCall['buffers'],
  p: ArrayBuffer,
  workgroups: number,
  y: StorageDType = 'f32',
): KernelCall => ({
  label: 'layernorm',
  code: sources[y],
  entryPoint,
  constants: LAYERNORM_SIZES,
  buffers,
  params: p,
  workgroups: grid1d(workgroups),
});

/** Inputs [x [..., C], w [C], b [C]]; outputs [y [..., C], mean [N], rstd [N]] (N = numel(x) / C). */
export const layerNormOp: OpDef<LayerNormAttrs> = {
  name: 'layernorm',
  differentiableOutputs: [true, false, false],
  outputs: ([x, w, b], attrs) => {
    const { N, C } = dims(x!);
    const out = attrs.out ?? 'f32';
    assertShape(x!.shape.length >= 1 && C > 0, 'layernorm', `x must have a last axis, got ${shapeString(x!.shape)}`);
    assertShape(C <= LAYERNORM_MAX_C, 'layernorm', `C = ${C} exceeds ${LAYERNORM_MAX_C}`);
    assertShape(
      x!.dtype === 'f32' && w!.dtype === 'f32' && b!.dtype === 'f32',
      'layernorm',
      `x, weight and bias must be f32, got ${x!.dtype}, ${w!.dtype}, ${b!.dtype}`,
    );
    assertShape(
      out === 'f32' || C % 2 === 0,
      'layernorm',
      `f16 output needs an even last axis (each row starts on a whole word), got C = ${C}`,
    );
    assertShape(
      w!.shape.length === 1 && w!.shape[0] === C,
      'layernorm',
      `weight ${shapeString(w!.shape)} must be [${C}]`,
    );
    assertShape(
      b!.shape.length === 1 && b!.shape[0] === C,
      'layernorm',
      `bias ${shapeString(b!.shape)} must be [${C}]`,
    );
    return [
      { shape: x!.shape, dtype: out },
      { shape: [N], dtype: 'f32' },
      { shape: [N], dtype: 'f32' },
    ];
  },
  encode: ([x], attrs) => {
    const { N, C } = dims(x!);
    const buffers = [{ in: 0 }, { in: 1 }, { in: 2 }, { out: 0 }, { out: 1 }, { out: 2 }];
    return [call('layernorm_forward', buffers, params({ N, C, eps: attrs.eps ?? 1e-5 }), N, attrs.out ?? 'f32')];
  },
  backward: ([x, w, b], [, mean, rstd], [dy]) => {
    const g = x!.graph;
    const [dx, partials] = g.apply(layerNormBackwardOp, [x!, w!, mean!, rstd!, dy!], {});
    const dw = w!.requiresGrad ? g.apply1(layerNormParamGradOp, [partials!], { part: 'weight' }) : null;
    const db = b!.requiresGrad ? g.apply1(layerNormParamGradOp, [partials!], { part: 'bias' }) : null;
    return [x!.requiresGrad ? dx! : null, dw, db];
  },
  reference: {
    forward: ([x, w, b], [xs], attrs) => {
      const { N, C } = dims(xs!);
      const eps = attrs.eps ?? 1e-5;
      const y = new Float64Array(N * C);
      const mean = new Float64Array(N);
      const rstd = new Float64Array(N);
      for (let n = 0; n < N; n++) {
        const { m, r } = rowStats(x!, n * C, C, eps);
        mean[n] = m;
        rstd[n] = r;
        for (let c = 0; c < C; c++) y[n * C + c] = (x![n * C + c]! - m) * r * w![c]! + b![c]!;
      }
      return [y, mean, rstd];
    },
    backward: ([x, w], [xs], [dy], attrs) => {
      const { N, C } = dims(xs!);
      const eps = attrs.eps ?? 1e-5;
      const dx = new Float64Array(N * C);
      const dw = new Float64Array(C);
      const db = new Float64Array(C);
      for (let n = 0; n < N; n++) {
        const { m, r } = rowStats(x!, n * C, C, eps);
        let sg = 0;
        let sgx = 0;
        for (let c = 0; c < C; c++) {
          const i = n * C + c;
          const xh = (x![i]! - m) * r;
          const g = dy![i]! * w![c]!;
          sg += g;
          sgx += g * xh;
          dw[c] = dw[c]! + dy![i]! * xh;
          db[c] = db[c]! + dy![i]!;
        }
        for (let c = 0; c < C; c++) {
          const i = n * C + c;
          const xh = (x![i]! - m) * r;
          dx[i] = r * (dy![i]! * w![c]! - sg / C - (xh * sgx) / C);
        }
      }
      return [dx, dw, db];
    },
  },
};

function rowStats(x: RefArray, base: number, C: number, eps: number): { m: number; r: number } {
  let s = 0;
  for (let c = 0; c < C; c++) s += x[base + c]!;
  const m = s / C;
  let v = 0;
  for (let c = 0; c < C; c++) v += (x[base + c]! - m) ** 2;
  return { m, r: 1 / Math.sqrt(v / C + eps) };
}

/**
 * Kernel-only: inputs [x [N, C], w [C], mean [N], rstd [N], dy [N, C]]; outputs [dx (like x),
 * partials [P, 2, C]: per-chunk sums of dy * xhat, then of dy].
 */
export const layerNormBackwardOp: OpDef = {
  name: 'layernorm_backward',
  outputs: ([x]) => {
    const { N, C } = dims(x!);
    return [
      { shape: x!.shape, dtype: 'f32' },
      { shape: [chunking(N).chunks, 2, C], dtype: 'f32' },
    ];
  },
  encode: ([x]) => {
    const { N, C } = dims(x!);
    const { rows, chunks } = chunking(N);
    const buffers = [{ in: 0 }, { in: 1 }, { in: 2 }, { in: 3 }, { in: 4 }, { out: 0 }, { out: 1 }];
    return [call('layernorm_backward', buffers, params({ N, C, chunkRows: rows, chunks }), chunks)];
  },
};

/**
 * Kernel-only: dw (part 'weight') or db (part 'bias') [C] = fixed-order sum of the partials of
 * layerNormBackwardOp. Can add into a gradient slot.
 */
export const layerNormParamGradOp: OpDef<{ part: 'weight' | 'bias'; accumulate?: boolean }> = {
  name: 'layernorm_param_grad',
  canAccumulate: true,
  outputs: ([partials]) => [{ shape: [partials!.shape[2]!], dtype: 'f32' }],
  encode: ([partials], attrs) => {
    const [chunks, , C] = partials!.shape as [number, number, number];
    const p = params({ N: 0, C, chunks, colOffset: attrs.part === 'bias' ? C : 0, accumulate: attrs.accumulate });
    return [call('layernorm_param_grad', [{ in: 0 }, { out: 0 }], p, Math.ceil(C / LAYERNORM_SIZES.LNR_COLS))];
  },
};

/** y = LayerNorm(x) * w + b over the last axis of x; y stored as `out` (f32 unless asked). */
export function layerNorm(x: Tensor, w: Tensor, b: Tensor, opts: LayerNormAttrs = {}): Tensor {
  const attrs: LayerNormAttrs = { eps: opts.eps ?? 1e-5, out: opts.out ?? 'f32' };
  return x.graph.apply(layerNormOp, [x, w, b], attrs, ['layernorm', 'layernorm.mean', 'layernorm.rstd'])[0]!;
}
