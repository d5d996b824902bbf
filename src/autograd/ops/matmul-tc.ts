/**
 * The tensor-core route of matmul: `half` products (mixed precision) on adapters that multiply
 * f16 subgroup matrices into f32 (chromium-experimental-subgroup-matrix with shader-f16), through
 * shaders/matmul_tc.wgsl. Same operands, params, bindings and split-K scratch as the tiled kernel,
 * so ops/matmul.ts swaps one call for the other; everywhere else the tiled kernel runs.
 */
import source from '../../../shaders/matmul_tc.wgsl?raw';
import type { SubgroupMatrixConfig } from '../../gpu/context';
import { wgslConstBlock } from '../../gpu/pipelines';
import { grid1d, u32Params } from '../../gpu/uniforms';
import { type StorageDType, wgslReader, wgslWriter } from '../../gpu/wgsl-storage';
import type { BufferRef, EncodeDevice, KernelCall } from '../op';

/**
 * The kernel's shape, written only here and emitted as WGSL consts: SG_ROWS × SG_COLS subgroups a
 * workgroup, TM × TN result matrices a subgroup, K staged BK at a time, staged rows padded by PAD
 * halves (a stride of BK + PAD keeps matrix loads 16-byte aligned and off one bank).
 */
export const MATMUL_TC_TILE = { SG_ROWS: 2, SG_COLS: 2, TM: 4, TN: 2, BK: 32, PAD: 8 } as const;

export interface TensorCoreRoute {
  config: SubgroupMatrixConfig;
  /** Invocations a subgroup (the adapter's only subgroup size). */
  subgroupSize: number;
}

const HEADER = `enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, chromium.subgroup_matrix_uniformity);
`;

/** Workgroup bytes the kernel stages: the two f16 tiles and one f32 result matrix per subgroup. */
function workgroupBytes({ M, N }: SubgroupMatrixConfig): number {
  const { SG_ROWS, SG_COLS, TM, TN, BK, PAD } = MATMUL_TC_TILE;
  const tiles = (SG_ROWS * TM * M + SG_COLS * TN * N) * (BK + PAD) * 2;
  return tiles + SG_ROWS * SG_COLS * M * N * 4;
}

/**
 * The configuration tensor cores run `half` products with on this device, or null (the tiled
 * kernel then runs): f16 operands into f32, 16×16×16 where offered (NVIDIA), else the largest.
 */
export function tensorCoreRoute(device?: EncodeDevice): TensorCoreRoute | null {
  if (!device) return null;
  const { features, subgroupSizes, limits } = device;
  if (!['chromium-experimental-subgroup-matrix', 'shader-f16', 'subgroups'].every((f) => features.has(f))) return null;
  // Subgroup ids name the workgroup's tiles only when every subgroup has the one size.
  if (!subgroupSizes || subgroupSizes.min !== subgroupSizes.max) return null;
  const subgroupSize = subgroupSizes.max;
  const { SG_ROWS, SG_COLS, BK } = MATMUL_TC_TILE;
  const usable = (device.subgroupMatrixConfigs ?? []).filter(
    (c) =>
      c.componentType === 'f16' &&
      c.resultComponentType === 'f32' &&
      c.N % 2 === 0 &&
      BK % c.K === 0 &&
      workgroupBytes(c) <= limits.maxComputeWorkgroupStorageSize &&
      SG_ROWS * SG_COLS * subgroupSize <= limits.maxComputeInvocationsPerWorkgroup,
  );
  const size = (c: SubgroupMatrixConfig) => (c.M === 16 && c.N === 16 && c.K === 16 ? Infinity : c.M * c.N * c.K);
  const config = usable.sort((a, b) => size(b) - size(a))[0];
  return config ? { config, subgroupSize } : null;
}

/** C stores for the kernel's epilogue: f32 elements (added to when accumulating), or one f16 word. */
function putPair(c: StorageDType): string {
  if (c === 'f16')
    return `fn c_put_pair(i: u32, w: vec2f, more: bool, accumulate: bool) { mm_c[i >> 1u] = pack2x16float(w); }\n`;
  return `fn c_put_pair(i: u32, w: vec2f, more: bool, accumulate: bool) {
  if (accumulate) {
    mm_c[i] += w.x;
    if (more) { mm_c[i + 1u] += w.y; }
  } else {
    mm_c[i] = w.x;
    if (more) { mm_c[i + 1u] = w.y; }
  }
}
`;
}

/** The product as matmul.ts routes it. */
export interface TensorCoreProduct {
  M: number;
  N: number;
  K: number;
  kChunk: number;
  splits: number;
  attrs: { transA?: boolean; transB?: boolean; accumulate?: boolean };
  dtypes: { a: StorageDType; b: StorageDType };
  hasBias: boolean;
}

/** Where this call writes: C's dtype (f32 for split-K scratch), whether to scratch, the bindings. */
export interface TensorCoreTarget {
  c: StorageDType;
  /** Writes partial products to scratch [splits, M, N] for the reduce kernel (no bias, no accumulate). */
  split: boolean;
  buffers: BufferRef[];
}

/** The tensor-core dispatch of one product (the main call; split-K's reduce is matmul.ts's). */
export function tensorCoreCall(route: TensorCoreRoute, o: TensorCoreProduct, target: TensorCoreTarget): KernelCall {
  const { config, subgroupSize } = route;
  const { SG_ROWS, SG_COLS, TM, TN, BK, PAD } = MATMUL_TC_TILE;
  const sizes = {
    SG_ROWS,
    SG_COLS,
    TM,
    TN,
    BK,
    SG_SIZE: subgroupSize,
    MAT_M: config.M,
    MAT_N: config.N,
    MAT_K: config.K,
  };
  const tilesM = Math.ceil(o.M / (SG_ROWS * TM * config.M));
  const tilesN = Math.ceil(o.N / (SG_COLS * TN * config.N));
  const [gx, gy] = grid1d(tilesM * tilesN);
  const code =
    HEADER +
    wgslConstBlock({ ...sizes, A_STRIDE: BK + PAD, B_STRIDE: BK + PAD }) +
    wgslReader('mm_a', 1, o.dtypes.a) +
    wgslReader('mm_b', 2, o.dtypes.b) +
    wgslWriter('mm_c', 3, target.c) +
    putPair(target.c) +
    source;
  return {
    label: 'matmul_tc',
    code,
    entryPoint: 'mm_tc',
    constants: {
      TRANS_A: o.attrs.transA ? 1 : 0,
      TRANS_B: o.attrs.transB ? 1 : 0,
      BIAS: o.hasBias && !target.split ? 1 : 0,
      ACCUMULATE: o.attrs.accumulate && !target.split ? 1 : 0,
      SPLIT: target.split ? 1 : 0,
    },
    buffers: target.buffers,
    params: u32Params(o.M, o.N, o.K, o.kChunk, tilesM, tilesN),
    workgroups: [gx, gy, o.splits],
  };
}
