/**
 * Matrix products: C[M,N] = op(A) @ op(B) (+ bias[N]), the bias-gradient reduction, and `linear`.
 * Every operand is viewed as 2-D [prod(leading dims), last dim] (row-major memory is the same), so
 * A [B,T,C] is [B*T, C] and the output keeps A's leading dims: [B,T,N].
 * A and B may each be f32 or f16 (halves two to a word); products accumulate in f32 and C is f32 or,
 * when asked, f16. One shader serves every dtype: the operand bindings are prepended per variant.
 */
import { grid1d, u32Params } from '../../gpu/uniforms';
import { type StorageDType, storageOf } from '../../gpu/wgsl-storage';
import { roundHalf } from '../../util/half';
import type { BufferRef, KernelCall, OpDef, RefArray, Shape, TensorSpec } from '../op';
import { assertShape, numel, shapeString } from '../op';
import type { Tensor } from '../tensor';
import { mmSource, reduceCode } from './matmul-source';
import { tensorCoreCall, tensorCoreRoute } from './matmul-tc';

export type MatmulAttrs = {
  /** A is stored [K, M]. */
  transA?: boolean;
  /** B is stored [N, K]. */
  transB?: boolean;
  /** C += result (gradient slots); never together with a bias. */
  accumulate?: boolean;
  /** Output shape override (same numel as [M, N]); backward uses it to match an input's shape. */
  outShape?: Shape;
  /**
   * Operands at f16 precision, as tensor cores take them: f32 operands are rounded to f16 as they
   * are loaded (f16 ones already are); products accumulate in f32. The backward's products inherit it.
   */
  half?: boolean;
  /** C's dtype (default f32); f16 stores C as halves, never together with accumulate. */
  out?: 'f32' | 'f16';
};

/**
 * The kernel's sizes, written only here and passed to shaders/matmul.wgsl as override constants:
 * a BM x BN tile of C per workgroup of WG threads (one 8x8 register block each), K staged BK at a
 * time, GROUP_M tiles down M visited together.
 */
export const MATMUL_TILE = { WG: 256, BM: 128, BN: 128, BK: 8, GROUP_M: 8 } as const;
const { BM, BN, BK } = MATMUL_TILE;
// The kernel's thread mapping: one 8x8 block per thread, one vec4 of A and of B loaded per stage.
if (
  MATMUL_TILE.WG !== (BM / 8) * (BN / 8) ||
  (BM * BK) / 4 !== MATMUL_TILE.WG ||
  (BN * BK) / 4 !== MATMUL_TILE.WG ||
  BK % 4 !== 0
)
  throw new Error('MATMUL_TILE: WG must be (BM/8)(BN/8) = BM*BK/4 = BN*BK/4, BK a multiple of 4');
/** Split-K's ordered sum, one output per thread. */
const REDUCE_WG = 256;
/** Bias gradient: first pass BG_COLS columns x 4 row lanes per workgroup (its sum is written for 4), then one column per thread. */
const BIAS_GRAD = { WG: 256, BG_COLS: 64 } as const;
if (BIAS_GRAD.WG !== 4 * BIAS_GRAD.BG_COLS) throw new Error('BIAS_GRAD: WG must be 4 * BG_COLS');
/** Split K when the tile grid alone would leave the GPU idle (~2 workgroups per SM on big GPUs). */
const TARGET_WORKGROUPS = 512;
/** Each split keeps at least this much K, so the partials stay worth their memory traffic. */
const MIN_SPLIT_K = 256;
const MAX_SPLITS = 64;
/** Largest split-K scratch in f32 elements (64 MiB: well inside default binding limits). */
const MAX_SCRATCH = 1 << 24;

export interface MatmulDims {
  M: number;
  N: number;
  K: number;
}

const rows2d = (s: Shape) => numel(s.slice(0, -1));
const cols2d = (s: Shape) => s[s.length - 1]!;

/** M, N, K of op(A) @ op(B), checking that the shapes agree. */
export function matmulDims(a: TensorSpec, b: TensorSpec, attrs: MatmulAttrs): MatmulDims {
  assertShape(
    a.shape.length >= 2 && b.shape.length >= 2,
    'matmul',
    `operands need 2+ dims, got ${shapeString(a.shape)} and ${shapeString(b.shape)}`,
  );
  assertShape(
    a.dtype !== 'i32' && b.dtype !== 'i32',
    'matmul',
    `operands must be f32 or f16, got ${a.dtype} and ${b.dtype}`,
  );
  const M = attrs.transA ? cols2d(a.shape) : rows2d(a.shape);
  const K = attrs.transA ? rows2d(a.shape) : cols2d(a.shape);
  const Kb = attrs.transB ? cols2d(b.shape) : rows2d(b.shape);
  const N = attrs.transB ? rows2d(b.shape) : cols2d(b.shape);
  const desc = `${shapeString(a.shape)}${attrs.transA ? 'ᵀ' : ''} @ ${shapeString(b.shape)}${attrs.transB ? 'ᵀ' : ''}`;
  assertShape(K === Kb, 'matmul', `inner dims differ: ${desc}`);
  return { M, N, K };
}

/** How many K-splits a product gets (1 = none); a pure function of the shape, so runs are deterministic. */
export function matmulSplits({ M, N, K }: MatmulDims): number {
  const tiles = Math.ceil(M / BM) * Math.ceil(N / BN);
  if (tiles >= TARGET_WORKGROUPS || M * N === 0) return 1;
  const want = Math.min(
    Math.ceil(TARGET_WORKGROUPS / tiles),
    Math.floor(K / MIN_SPLIT_K),
    MAX_SPLITS,
    Math.floor(MAX_SCRATCH / (M * N)),
  );
  if (want <= 1) return 1;
  // Round the chunk up to whole K-stages, then drop splits that would be empty.
  const chunk = Math.ceil(K / want / BK) * BK;
  return Math.ceil(K / chunk);
}

/**
 * The kernel's override constants: the tile sizes and the variant (transposes, bias, accumulate,
 * which operands `half` rounds on load: only f32 ones, f16 values are already halves).
 */
export function matmulConstants(
  attrs: MatmulAttrs,
  bias: boolean,
  accumulate: boolean,
  dtypes: { a: StorageDType; b: StorageDType } = { a: 'f32', b: 'f32' },
): Record<string, number> {
  return {
    ...MATMUL_TILE,
    TRANS_A: attrs.transA ? 1 : 0,
    TRANS_B: attrs.transB ? 1 : 0,
    BIAS: bias ? 1 : 0,
    ACCUMULATE: accumulate ? 1 : 0,
    HALF_A: attrs.half && dtypes.a === 'f32' ? 1 : 0,
    HALF_B: attrs.half && dtypes.b === 'f32' ? 1 : 0,
  };
}

/**
 * How a product runs: split-K or not, and whether the tile kernel writes C itself. It cannot when
 * K is split, nor for an f16 C with odd N: a word would then hold two rows' ends, written by two
 * threads. Those go through f32 scratch [splits, M, N] and the reduce kernel, one word per thread.
 */
function matmulRoute(a: TensorSpec, b: TensorSpec, attrs: MatmulAttrs) {
  const dims = matmulDims(a, b, attrs);
  const splits = matmulSplits(dims);
  const direct = splits === 1 && (attrs.out !== 'f16' || dims.N % 2 === 0);
  return { dims, splits, direct };
}

function kChunk(K: number, splits: number): number {
  return splits === 1 ? Math.max(K, 1) : Math.ceil(K / splits / BK) * BK;
}

export const matmulOp: OpDef<MatmulAttrs> = {
  name: 'matmul',
  canAccumulate: true,
  outputs: (inputs, attrs) => {
    const [a, b, bias] = inputs;
    const { M, N } = matmulDims(a!, b!, attrs);
    if (bias) {
      assertShape(
        bias.shape.length === 1 && bias.shape[0] === N,
        'matmul',
        `bias ${shapeString(bias.shape)} does not match N = ${N}`,
      );
      assertShape(bias.dtype === 'f32', 'matmul', `the bias must be f32, got ${bias.dtype}`);
    }
    const shape = attrs.outShape ?? (attrs.transA ? [M, N] : [...a!.shape.slice(0, -1), N]);
    assertShape(numel(shape) === M * N, 'matmul', `outShape ${shapeString(shape)} does not hold [${M}, ${N}]`);
    assertShape(!(attrs.accumulate && attrs.out === 'f16'), 'matmul', 'cannot accumulate into an f16 output');
    return [{ shape, dtype: attrs.out ?? 'f32' }];
  },
  scratch: ([a, b], attrs) => {
    const { dims, splits, direct } = matmulRoute(a!, b!, attrs);
    return direct ? [] : [splits * dims.M * dims.N];
  },
  encode: (inputs, attrs, device) => {
    const { dims, splits, direct } = matmulRoute(inputs[0]!, inputs[1]!, attrs);
    const { M, N, K } = dims;
    const hasBias = inputs.length === 3;
    assertShape(!(attrs.accumulate && hasBias), 'matmul', 'accumulate mode takes no bias');
    assertShape(!(attrs.accumulate && attrs.out === 'f16'), 'matmul', 'cannot accumulate into an f16 output');
    const dtypes = { a: storageOf(inputs[0]!), b: storageOf(inputs[1]!) };
    const out: StorageDType = attrs.out ?? 'f32';
    // The f16 vec4 fast path needs each operand's contiguous rows to start on a word.
    const alignedA = (attrs.transA ? M : K) % 2 === 0;
    const alignedB = (attrs.transB ? K : N) % 2 === 0;
    const code = (c: StorageDType) => mmSource(dtypes.a, alignedA, dtypes.b, alignedB, c);
    const tilesM = Math.ceil(M / BM);
    const tilesN = Math.ceil(N / BN);
    const [gx, gy] = grid1d(tilesM * tilesN);
    const params = u32Params(M, N, K, kChunk(K, splits), tilesM, tilesN);
    // Without a bias (BIAS = 0) binding 4 still exists, so B stands in for it: the kernel never reads it.
    const standIn: BufferRef = { in: 1 };
    const bias: BufferRef = hasBias ? { in: 2 } : standIn;
    // `half` products run on tensor cores where the adapter has them (matmul-tc.ts), as one call.
    const route = attrs.half ? tensorCoreRoute(device) : null;
    const product = { ...dims, kChunk: kChunk(K, splits), splits, attrs, dtypes, hasBias };
    const tc = (c: StorageDType, split: boolean, buffers: BufferRef[]) =>
      tensorCoreCall(route!, product, { c, split, buffers });
    if (direct && route) return [tc(out, false, [{ in: 0 }, { in: 1 }, { out: 0 }, bias])];
    if (direct) {
      const constants = matmulConstants(attrs, hasBias, !!attrs.accumulate, dtypes);
      const buffers: BufferRef[] = [{ in: 0 }, { in: 1 }, { out: 0 }, bias];
      return [
        { label: 'matmul', code: code(out), entryPoint: 'mm', constants, buffers, params, workgroups: [gx, gy, 1] },
      ];
    }
    // Split-K (or an f16 C with odd N): partial products into f32 scratch [splits, M, N], then an
    // ordered sum (plus bias) into the output, PER outputs a thread: one packed word for f16.
    const reduceBuffers: KernelCall['buffers'] = [{ scratch: 0 }, { out: 0 }];
    if (hasBias) reduceBuffers.push({ in: 2 });
    const per = out === 'f16' ? 2 : 1;
    const partials: BufferRef[] = [{ in: 0 }, { in: 1 }, { scratch: 0 }, standIn];
    return [
      route
        ? tc('f32', true, partials)
        : {
            label: 'matmul',
            code: code('f32'),
            entryPoint: 'mm',
            constants: matmulConstants(attrs, false, false, dtypes),
            buffers: partials,
            params,
            workgroups: [gx, gy, splits],
          },
      {
        label: 'matmul_reduce',
        code: reduceCode(out),
        entryPoint: hasBias ? 'mm_reduce_bias' : 'mm_reduce',
        constants: { WG: REDUCE_WG, PER: per },
        buffers: reduceBuffers,
        params: u32Params(M * N, N, splits, attrs.accumulate ? 1 : 0),
        workgroups: grid1d(Math.ceil((M * N) / per / REDUCE_WG)),
      },
    ];
  },
  backward: (inputs, _outputs, [dC], attrs) => {
    const [A, B, bias] = inputs as [Tensor, Tensor, Tensor | undefined];
    const tA = !!attrs.transA;
    const tB = !!attrs.transB;
    const dy = dC!;
    // The gradients' products take their operands (dC included) at the forward's precision; they are f32.
    const half = attrs.half ? { half: true } : {};
    // a = op(A) [M,K], b = op(B) [K,N]: da = dC bᵀ, db = aᵀ dC; stored-transposed operands get the transposes.
    const dA = !A.requiresGrad
      ? null
      : tA
        ? matmul(B, dy, { transA: tB, transB: true, outShape: A.shape, ...half }) // Aᵀ-stored: dA = b dCᵀ [K,M]
        : matmul(dy, B, { transB: !tB, outShape: A.shape, ...half }); // dA = dC bᵀ
    const dB = !B.requiresGrad
      ? null
      : tB
        ? matmul(dy, A, { transA: true, transB: tA, outShape: B.shape, ...half }) // Bᵀ-stored: dB = dCᵀ a [N,K]
        : matmul(A, dy, { transA: !tA, outShape: B.shape, ...half }); // dB = aᵀ dC
    const dBias = bias?.requiresGrad ? biasGrad(dy) : null;
    return bias ? [dA, dB, dBias] : [dA, dB];
  },
  reference: {
    // An f16 C is left unrounded: its gradient passes straight through, as cast's does.
    forward: (inputs, specs, attrs) => {
      const { M, N, K } = matmulDims(specs[0]!, specs[1]!, attrs);
      const [A, B, bias] = inputs;
      const a = opA(A!, M, K, attrs);
      const b = opB(B!, K, N, attrs);
      const c = new Float64Array(M * N);
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          let s = bias ? bias[n]! : 0;
          for (let k = 0; k < K; k++) s += a[m * K + k]! * b[k * N + n]!;
          c[m * N + n] = s;
        }
      return [c];
    },
    // With `half` the operands and dC are rounded to halves, as the kernels load them.
    backward: (inputs, specs, [dC], attrs) => {
      const { M, N, K } = matmulDims(specs[0]!, specs[1]!, attrs);
      const a = opA(inputs[0]!, M, K, attrs);
      const b = opB(inputs[1]!, K, N, attrs);
      const dy = attrs.half ? dC!.map(roundHalf) : dC!;
      const dA = new Float64Array(M * K);
      const dB = new Float64Array(K * N);
      for (let m = 0; m < M; m++)
        for (let k = 0; k < K; k++) {
          let s = 0;
          for (let n = 0; n < N; n++) s += dy[m * N + n]! * b[k * N + n]!;
          dA[attrs.transA ? k * M + m : m * K + k] = s;
        }
      for (let k = 0; k < K; k++)
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let m = 0; m < M; m++) s += a[m * K + k]! * dy[m * N + n]!;
          dB[attrs.transB ? n * K + k : k * N + n] = s;
        }
      if (inputs.length < 3) return [dA, dB];
      const dBias = new Float64Array(N); // a plain f32 sum of dC, unrounded
      for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) dBias[n] = dBias[n]! + dC![m * N + n]!;
      return [dA, dB, dBias];
    },
  },
};

/** op(A) as a dense [M, K] float64 array (rounded to halves with `half`). */
function opA(A: RefArray, M: number, K: number, attrs: MatmulAttrs): Float64Array {
  return Float64Array.from({ length: M * K }, (_, i) => {
    const m = Math.floor(i / K);
    const k = i % K;
    const v = A[attrs.transA ? k * M + m : i]!;
    return attrs.half ? roundHalf(v) : v;
  });
}

/** op(B) as a dense [K, N] float64 array (rounded to halves with `half`). */
function opB(B: RefArray, K: number, N: number, attrs: MatmulAttrs): Float64Array {
  return Float64Array.from({ length: K * N }, (_, i) => {
    const k = Math.floor(i / N);
    const n = i % N;
    const v = B[attrs.transB ? n * K + k : i]!;
    return attrs.half ? roundHalf(v) : v;
  });
}

/** Rows per chunk of the bias-gradient's first pass, and the chunk count. */
function biasGradChunks(R: number): { rowsPerChunk: number; chunks: number } {
  const chunks = Math.min(64, Math.max(1, Math.ceil(R / 256)));
  const rowsPerChunk = Math.max(1, Math.ceil(R / chunks));
  return { rowsPerChunk, chunks: Math.max(1, Math.ceil(R / rowsPerChunk)) };
}

/** Kernel-only: dbias[N] = column sums of dy [..., N] (deterministic). Checked through matmulOp's backward. */
export const biasGradOp: OpDef<{ accumulate?: boolean }> = {
  name: 'bias_grad',
  canAccumulate: true,
  outputs: ([dy]) => {
    assertShape(dy!.shape.length >= 1 && dy!.dtype === 'f32', 'bias_grad', `bad input ${shapeString(dy!.shape)}`);
    return [{ shape: [cols2d(dy!.shape)], dtype: 'f32' }];
  },
  scratch: ([dy]) => [biasGradChunks(rows2d(dy!.shape)).chunks * cols2d(dy!.shape)],
  encode: ([dy], attrs) => {
    const N = cols2d(dy!.shape);
    const R = rows2d(dy!.shape);
    const { rowsPerChunk, chunks } = biasGradChunks(R);
    const params = u32Params(R, N, rowsPerChunk, chunks, attrs.accumulate ? 1 : 0);
    return [
      {
        label: 'bias_grad',
        code: reduceCode('f32'),
        entryPoint: 'bias_grad_partial',
        constants: BIAS_GRAD,
        buffers: [{ in: 0 }, { scratch: 0 }],
        params,
        workgroups: [Math.ceil(N / BIAS_GRAD.BG_COLS), chunks, 1],
      },
      {
        label: 'bias_grad',
        code: reduceCode('f32'),
        entryPoint: 'bias_grad_finish',
        constants: BIAS_GRAD,
        buffers: [{ scratch: 0 }, { out: 0 }],
        params,
        workgroups: grid1d(Math.ceil(N / BIAS_GRAD.WG)),
      },
    ];
  },
};

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  bias?: Tensor;
  /** Output shape override (see MatmulAttrs.outShape). */
  outShape?: Shape;
  /** Operands at f16 precision (see MatmulAttrs.half). */
  half?: boolean;
  /** C's dtype (default f32). */
  out?: 'f32' | 'f16';
}

/**
 * op(a) @ op(b) (+ bias). E.g. the LM head: matmul(x [N,C], wte [V,C], { transB: true }) -> [N,V].
 * a and b may be f32 or f16; the bias is f32.
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const attrs: MatmulAttrs = {};
  if (opts.transA) attrs.transA = true;
  if (opts.transB) attrs.transB = true;
  if (opts.outShape) attrs.outShape = opts.outShape;
  if (opts.half) attrs.half = true;
  if (opts.out === 'f16') attrs.out = 'f16';
  return a.graph.apply1(matmulOp, opts.bias ? [a, b, opts.bias] : [a, b], attrs);
}

/** x [..., K] @ w [K, N] (+ b [N]) -> [..., N]; w in HF Conv1D layout. */
export function linear(x: Tensor, w: Tensor, b?: Tensor, opts: { half?: boolean; out?: 'f32' | 'f16' } = {}): Tensor {
  return matmul(x, w, { ...opts, ...(b ? { bias: b } : {}) });
}

/** Column sums of dy [..., N] -> [N]. */
export function biasGrad(dy: Tensor): Tensor {
  return dy.graph.apply1(biasGradOp, [dy], {});
}
