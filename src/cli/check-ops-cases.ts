/**
 * The `check-ops` table: every op of the registry in f32 on odd sizes, and every f16-storage variant
 * (f16 operands and outputs, `half` rounding, each attention kernel variant), each with the
 * tolerances the op's tests use. Sizes are the tests' small ones; on SwiftShader compiling each
 * kernel variant (1-2 s a matmul) is most of the ~50 s the table takes, so a case is added for a
 * code path no other case compiles. Backward-only kernels are reached through the backward of the
 * op that emits them (registry.ts names which).
 */
import type { Attrs, OpDef } from '../autograd/op';
import type { OpInput } from '../autograd/op-check';
import { attentionDecodeOp } from '../autograd/ops/attention-decode';
import { attentionOp } from '../autograd/ops/attention';
import { castOp } from '../autograd/ops/cast';
import { crossEntropyOp } from '../autograd/ops/cross-entropy';
import { addOp, copyOp, geluOp } from '../autograd/ops/elementwise';
import { embeddingOp } from '../autograd/ops/embedding';
import { layerNormOp } from '../autograd/ops/layernorm';
import { matmulOp } from '../autograd/ops/matmul';
import type { GpuContext } from '../gpu/context';
import { type CaseComparison, compareDecode, compareGradSlot } from './check-ops-extra';
import { randint, randn, rng } from '../util/random';

export interface OpCase {
  name: string;
  op: OpDef;
  inputs: OpInput[];
  attrs: Attrs;
  /** Max error relative to the largest reference value of each output / gradient. */
  forwardTol: number;
  backwardTol: number;
  seed: number;
  /** An adapter feature the case needs; skipped (and said so) without it. */
  needs?: string;
  /** A comparison of its own, for an op without a float64 reference of its own (KV-cache decoding). */
  compare?: (ctx: GpuContext) => Promise<CaseComparison>;
}

/** f32 bars (checkOp's defaults). An f16 output holds half an ulp (2^-12 relative) more. */
const F32 = { forwardTol: 1e-5, backwardTol: 1e-4 };
const F16_OUT = { forwardTol: 1e-3, backwardTol: 1e-4 };
/**
 * Attention's f16 y: half an ulp is up to 2^-11 of the largest value when that value sits just above
 * a power of two (measured 2.1-3.8e-4 on SwiftShader), and y feeds D = rowsum(dy * y) in the backward
 * with that rounding (measured 1.2-5.2e-4).
 */
const ATTENTION_F16_OUT = { forwardTol: 1e-3, backwardTol: 1e-3 };

function opCase<A extends Attrs>(
  name: string,
  op: OpDef<A>,
  inputs: OpInput[],
  attrs: A,
  tols: { forwardTol: number; backwardTol: number } = F32,
  extra: { seed?: number; needs?: string } = {},
): OpCase {
  return { name, op, inputs, attrs, ...tols, seed: extra.seed ?? 1, needs: extra.needs };
}

type DT = 'f32' | 'f16';

/** The feature the tensor-core cases need (on other adapters their products run on the tiled kernel, checked above). */
export const TENSOR_CORES = 'chromium-experimental-subgroup-matrix';

/** matmul operands for op(A) [M, K] and op(B) [K, N] as stored, with their dtypes and an optional f32 bias. */
function mm(
  [M, K, N]: [number, number, number],
  t: { transA?: boolean; transB?: boolean },
  a: DT = 'f32',
  b: DT = 'f32',
  bias = false,
): OpInput[] {
  return [
    { shape: t.transA ? [K, M] : [M, K], dtype: a },
    { shape: t.transB ? [N, K] : [K, N], dtype: b },
    ...(bias ? [{ shape: [N] }] : []),
  ];
}

/** A `half` matmul case for the tensor-core kernel; run only where the adapter has subgroup matrices. */
function tc(
  name: string,
  dims: [number, number, number],
  t: { transA?: boolean; transB?: boolean },
  a: DT,
  b: DT,
  { bias = false, out = 'f32' }: { bias?: boolean; out?: DT } = {},
): OpCase {
  const attrs = { ...t, half: true, ...(out === 'f16' ? { out } : {}) };
  const tols = out === 'f16' ? F16_OUT : F32;
  return opCase(`matmul tensor cores: half, ${name}`, matmulOp, mm(dims, t, a, b, bias), attrs, tols, {
    needs: TENSOR_CORES,
  });
}

/** A matmul adding a weight's gradient into its parameter slot (check-ops-extra.ts). */
function slot(name: string, [M, K, N]: [number, number, number], half: boolean, needs?: string): OpCase {
  const inputs: OpInput[] = [{ shape: [M, K], dtype: half ? 'f16' : 'f32' }, { shape: [K, N] }];
  return {
    ...opCase(`matmul into a gradient slot, ${name}`, matmulOp, inputs, half ? { half } : {}, F32, { needs }),
    compare: (ctx) => compareGradSlot(ctx, [M, K, N], half),
  };
}

const ids = (shape: number[], V: number, seed: number): OpInput => ({
  shape,
  dtype: 'i32',
  data: randint(
    shape.reduce((x, y) => x * y, 1),
    V,
    rng(seed),
  ),
  grad: false,
});

/** GELU's input: odd count, with tails past tanh's saturation. */
function geluInput(): Float32Array {
  const x = randn(7 * 49, rng(7), 3);
  x[0] = 12;
  x[1] = -12;
  return x;
}

/** attention's qkv [B, T, 3C] for nHead heads, its dtype and y's. */
function attn(
  name: string,
  [B, T, C, NH]: [number, number, number, number],
  kernel: 'subgroups' | 'workgroup' | undefined,
  qkv: DT,
  out: DT,
): OpCase {
  const tols = out === 'f16' ? ATTENTION_F16_OUT : F32;
  const label = `attention ${kernel ?? 'default'} ${name}, qkv ${qkv} y ${out}, B${B} T${T} C${C} NH${NH} (HS ${C / NH})`;
  return opCase(
    label,
    attentionOp,
    [{ shape: [B, T, 3 * C], dtype: qkv }],
    { nHead: NH, out, ...(kernel ? { kernel } : {}) },
    tols,
    { seed: B * 1000 + T, needs: kernel === 'subgroups' ? 'subgroups' : undefined },
  );
}

export const OP_CASES: readonly OpCase[] = [
  // Elementwise and cast.
  opCase('add 3x37', addOp, [{ shape: [3, 37] }, { shape: [3, 37] }], {}),
  opCase('copy 101', copyOp, [{ shape: [101] }], {}),
  opCase('cast f32 -> f16 3x37', castOp, [{ shape: [3, 37] }], { to: 'f16' }, { forwardTol: 1e-7, backwardTol: 1e-4 }),
  opCase(
    'cast f16 -> f32 5x13',
    castOp,
    [{ shape: [5, 13], dtype: 'f16' }],
    { to: 'f32' },
    {
      forwardTol: 1e-12,
      backwardTol: 1e-4,
    },
  ),
  opCase('gelu f32 7x49', geluOp, [{ shape: [7, 49], data: geluInput() }], {}),
  opCase('gelu f32 -> f16 7x49', geluOp, [{ shape: [7, 49], data: geluInput() }], { out: 'f16' }, F16_OUT),
  opCase(
    'gelu f16 -> f16 7x49',
    geluOp,
    [{ shape: [7, 49], data: geluInput(), dtype: 'f16' }],
    { out: 'f16' },
    F16_OUT,
  ),
  opCase('gelu f16 -> f32 7x49', geluOp, [{ shape: [7, 49], data: geluInput(), dtype: 'f16' }], {}),

  // matmul in f32: each transpose form, several tiles, split-K, 3-D operands.
  opCase('matmul f32 37x48x67 +bias', matmulOp, mm([37, 48, 67], {}, 'f32', 'f32', true), {}),
  opCase('matmul f32 A^T 130x70x129', matmulOp, mm([130, 70, 129], { transA: true }), { transA: true }),
  opCase('matmul f32 B^T 37x48x67 +bias', matmulOp, mm([37, 48, 67], { transB: true }, 'f32', 'f32', true), {
    transB: true,
  }),
  opCase('matmul f32 A^T B^T 1x5x3', matmulOp, mm([1, 5, 3], { transA: true, transB: true }), {
    transA: true,
    transB: true,
  }),
  opCase('matmul f32 split-K 9x700x13 +bias', matmulOp, mm([9, 700, 13], {}, 'f32', 'f32', true), {}),
  opCase(
    'matmul f32 3-D [2,37,48] @ [48,67] +bias',
    matmulOp,
    [{ shape: [2, 37, 48] }, { shape: [48, 67] }, { shape: [67] }],
    {},
  ),
  // matmul over f16 storage: f16 operands hold exact halves, so they meet the f32 bars. f16 A alone
  // is read as in the mixed case (half rounds f32 operands only): each case here compiles new
  // variants (seconds each on SwiftShader), so none repeats another's loads.
  opCase(
    'matmul f32 A, f16 B^T split-K 9x700x130 +bias',
    matmulOp,
    mm([9, 700, 130], { transB: true }, 'f32', 'f16', true),
    {
      transB: true,
    },
  ),
  opCase(
    'matmul f16 A^T, f16 B with odd rows 130x69x129',
    matmulOp,
    mm([130, 69, 129], { transA: true }, 'f16', 'f16'),
    {
      transA: true,
    },
  ),
  // half: the reference rounds the f32 operands (and dC in the backward) as the kernels load them.
  opCase('matmul half, f32 operands 37x48x67 +bias', matmulOp, mm([37, 48, 67], {}, 'f32', 'f32', true), {
    half: true,
  }),
  opCase(
    'matmul out f16, even N 37x48x66 +bias',
    matmulOp,
    mm([37, 48, 66], {}, 'f32', 'f32', true),
    { out: 'f16' },
    F16_OUT,
  ),
  opCase(
    'matmul out f16, odd N 37x48x67 +bias',
    matmulOp,
    mm([37, 48, 67], {}, 'f32', 'f32', true),
    { out: 'f16' },
    F16_OUT,
  ),
  opCase('matmul out f16 split-K 9x700x13', matmulOp, mm([9, 700, 13], {}), { out: 'f16' }, F16_OUT),
  opCase(
    'matmul mixed: f16 A and B (aligned), half, out f16 130x48x130 +bias',
    matmulOp,
    mm([130, 48, 130], {}, 'f16', 'f16', true),
    {
      half: true,
      out: 'f16',
    },
    { forwardTol: 1e-3, backwardTol: 2e-5 },
  ),

  // Tensor cores: where the adapter offers subgroup matrices, every `half` product takes them (matmul-tc.ts),
  // the cases above included. These add what that kernel stages differently: each transpose form,
  // M, N and K off its tiles (128 x 64 a workgroup, K by 32, matrices of 16), f16 rows starting
  // mid-word, bias, an f16 C written whole (even N) or through the reduce kernel (odd N), split-K.
  tc('f32 operands, ragged 150x72x100 +bias', [150, 72, 100], {}, 'f32', 'f32', { bias: true }),
  tc('f16 A^T B^T 150x72x100', [150, 72, 100], { transA: true, transB: true }, 'f16', 'f16'),
  tc('f16 A^T, f32 B, odd K 37x69x67', [37, 69, 67], { transA: true }, 'f16', 'f32'),
  tc('f16 B^T, out f16 (even N) 150x72x100 +bias', [150, 72, 100], { transB: true }, 'f16', 'f16', {
    bias: true,
    out: 'f16',
  }),
  tc('out f16 (odd N) 37x48x67 +bias', [37, 48, 67], {}, 'f16', 'f16', { bias: true, out: 'f16' }),
  tc('split-K 9x700x13 +bias', [9, 700, 13], {}, 'f32', 'f16', { bias: true }),
  tc("the model's qkv 256x128x384 +bias", [256, 128, 384], {}, 'f16', 'f16', { bias: true, out: 'f16' }),

  // A weight's gradient added by the backward's matmul straight into its parameter slot (accumulate),
  // in f32 and as mixed precision runs it (f16 x, W cast to an f16 copy, half), split-K (the model's
  // long inner dimension: the reduce kernel adds) and direct on tensor cores (their own accumulate;
  // the tiled kernel's is the f32 case's).
  slot('f32 150x72x100', [150, 72, 100], false),
  slot('half, f16 x and weight copy, tensor cores 150x72x100', [150, 72, 100], true, TENSOR_CORES),
  slot('half, split-K: 700 rows into 13x9', [700, 13, 9], true),

  // layernorm: several partial-sum chunks; f16 y, a row wider than the workgroup.
  opCase('layernorm f32 37x48', layerNormOp, [{ shape: [37, 48] }, { shape: [48] }, { shape: [48] }], {}),
  opCase('layernorm f32 300x20', layerNormOp, [{ shape: [300, 20] }, { shape: [20] }, { shape: [20] }], {}),
  opCase(
    'layernorm out f16 37x50',
    layerNormOp,
    [{ shape: [37, 50] }, { shape: [50] }, { shape: [50] }],
    { out: 'f16' },
    F16_OUT,
  ),
  opCase(
    'layernorm out f16 3x258',
    layerNormOp,
    [{ shape: [3, 258] }, { shape: [258] }, { shape: [258] }],
    { out: 'f16' },
    F16_OUT,
  ),

  // Embedding (repeated ids, unused rows) and cross-entropy (ignored rows).
  opCase(
    'embedding B2 T37 C48 V300',
    embeddingOp,
    [ids([2, 37], 300, 1), { shape: [300, 48] }, { shape: [40, 48] }],
    {},
  ),
  opCase(
    'embedding at position 5, B2 T37 C48 V101',
    embeddingOp,
    [
      ids([2, 37], 101, 4),
      { shape: [101, 48] },
      { shape: [50, 48] },
      { shape: [1], dtype: 'i32', data: Int32Array.of(5), grad: false },
    ],
    {},
  ),
  opCase('cross-entropy 37x67', crossEntropyOp, [{ shape: [37, 67] }, ids([37], 67, 1)], {}),
  // Mixed precision's f16 logits: the loss as exact as f32, dlogits stored as halves.
  opCase(
    'cross-entropy 37x67, f16 logits',
    crossEntropyOp,
    [{ shape: [37, 67], dtype: 'f16' }, ids([37], 67, 1)],
    {},
    {
      forwardTol: 1e-5,
      backwardTol: 1e-3,
    },
  ),
  opCase(
    'cross-entropy [2,37,101], ignored rows',
    crossEntropyOp,
    [
      { shape: [2, 37, 101] },
      { ...ids([2, 37], 101, 2), data: Int32Array.from(randint(74, 101, rng(2)), (t, i) => (i % 9 === 4 ? -1 : t)) },
    ],
    {},
  ),

  // Attention: each kernel variant (workgroup; subgroups whole rows at HS 8, split at HS 18), and
  // the device's pick, in f32 and over f16 storage.
  attn('whole rows', [1, 70, 18, 3], 'workgroup', 'f32', 'f32'),
  attn('whole rows', [2, 37, 24, 3], 'subgroups', 'f32', 'f32'),
  attn('split', [1, 70, 54, 3], 'subgroups', 'f32', 'f32'),
  attn('pick', [2, 37, 18, 3], undefined, 'f32', 'f32'),
  attn('whole rows', [2, 37, 18, 3], 'workgroup', 'f16', 'f32'),
  attn('whole rows', [2, 37, 18, 3], 'workgroup', 'f32', 'f16'),
  attn('whole rows', [2, 37, 18, 3], 'workgroup', 'f16', 'f16'),
  attn('odd head size', [1, 23, 21, 3], 'workgroup', 'f16', 'f16'),
  attn('whole rows', [2, 37, 24, 3], 'subgroups', 'f16', 'f16'),
  attn('split', [1, 70, 54, 3], 'subgroups', 'f16', 'f16'),
  attn('pick', [2, 37, 18, 3], undefined, 'f16', 'f16'),
  {
    ...opCase('attention_decode prefill 9 at position 14, T23 C24 NH3', attentionDecodeOp, [], { nHead: 3 }),
    compare: compareDecode,
  },
];
