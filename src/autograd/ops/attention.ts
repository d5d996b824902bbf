/**
 * Fused causal self-attention (HF GPT-2 layout): qkv [B, T, 3C] from c_attn -> y [B, T, C] with merged
 * heads, ready for c_proj. Flash-attention forward (online softmax over key blocks, no T x T matrix)
 * saving the per-row logsumexp; FlashAttention-2 backward without atomics (D, then dK/dV per key
 * block, then dQ per query block). Scale 1/sqrt(HS), causal mask, no dropout.
 *
 * Speed comes from register blocking (several query rows per thread in the forward and dQ, two keys
 * per thread in dK/dV), K/V and Q tiles as large as the device's workgroup memory allows, and
 * subgroup shuffles (where `subgroups` is offered) for the partial dot products of the threads that
 * share a key. Every size is chosen once, in attentionTiles, and reaches the WGSL as overrides (tile
 * and workgroup sizes) or generated consts (register extents, which WGSL cannot take as overrides).
 *
 * Mixed precision: qkv may be f16 and y may be stored as f16 (`out`); both are halves two to a word,
 * read and written through generated bindings (src/gpu/wgsl-storage.ts), so one shader serves each
 * dtype and the arithmetic stays f32. lse, D, dy and dqkv are always f32.
 */
import source from '../../../shaders/attention.wgsl?raw';
import subgroupSum from '../../../shaders/attention_sg.wgsl?raw';
import workgroupSum from '../../../shaders/attention_wg.wgsl?raw';
import { grid1d, packUniforms } from '../../gpu/uniforms';
import { type StorageDType, storageOf, wgslReader, wgslWriter } from '../../gpu/wgsl-storage';
import type { EncodeDevice, KernelCall, OpDef, TensorSpec } from '../op';
import { assertShape, shapeString } from '../op';
import type { Tensor } from '../tensor';
import { referenceBackward, referenceForward } from './attention-reference';
import { castOp } from './cast';

export { referenceForward } from './attention-reference';

/**
 * How the threads that share a key in the dK/dV kernel add up their partial dot products:
 * subgroup shuffles (needs the `subgroups` feature) or workgroup memory (works everywhere).
 */
export type AttentionKernel = 'subgroups' | 'workgroup';

export interface AttentionAttrs extends Record<string, unknown> {
  nHead: number;
  /** Forces a kernel variant (tests, benches); by default the best the device offers. */
  kernel?: AttentionKernel;
  /** y's storage (default f32). */
  out?: StorageDType;
}

export const MAX_HEAD_SIZE = 128;

export interface AttentionDims {
  B: number;
  T: number;
  C: number;
  NH: number;
  HS: number;
}

/** Checks qkv [B, T, 3C] against nHead and returns the dimensions. */
export function attentionDims(name: string, qkv: TensorSpec, nHead: number): AttentionDims {
  assertShape(qkv.shape.length === 3, name, `qkv must be [B, T, 3C], got ${shapeString(qkv.shape)}`);
  assertShape(qkv.dtype !== 'i32', name, 'qkv must be f32 or f16, got i32');
  const [B, T, C3] = qkv.shape as [number, number, number];
  assertShape(C3 % 3 === 0, name, `last dim of qkv (${C3}) is not 3C`);
  const C = C3 / 3;
  assertShape(
    Number.isInteger(nHead) && nHead > 0 && C % nHead === 0,
    name,
    `C = ${C} is not divisible by nHead = ${nHead}`,
  );
  const HS = C / nHead;
  assertShape(HS <= MAX_HEAD_SIZE, name, `head size ${HS} exceeds ${MAX_HEAD_SIZE}`);
  assertShape(B * nHead <= 65535, name, `B * nHead = ${B * nHead} exceeds the grid limit 65535`);
  return { B, T, C, NH: nHead, HS };
}

// ---------------- tile sizes: defined here only, reaching the WGSL as overrides and consts ----------------

/** Threads per workgroup, every attention kernel. */
const THREADS = 64;
/** Per-thread budget of vec4 registers for head rows (32 vec4 = 128 floats, which leaves room to run several workgroups per core). */
const ROW_VEC4_BUDGET = 32;
const MAX_ROWS_PER_THREAD = 4;
/** Keys per staged K/V tile (forward, dQ) and query rows per staged tile (dK/dV), at most. */
const MAX_KEY_TILE = 64;
const MAX_QUERY_TILE = 64;
/** Workgroup memory used at most even where more is offered (more would cost occupancy). */
const MAX_TILE_BYTES = 32768;
/** The WebGPU default, for encodes outside a plan (no device). */
const DEFAULT_TILE_BYTES = 16384;
/** Keys per thread in dK/dV: group_sum4 packs (q.k, dy.v) of at most 2 keys in a vec4. */
const KEYS_PER_THREAD = 2;

export interface AttentionTiles {
  kernel: AttentionKernel;
  /** Register extents (WGSL consts): vec4 chunks per head row, rows per thread (forward, dQ), threads per key and keys per thread (dK/dV), chunks per thread of a key. */
  consts: {
    HS4: number;
    FW_RQ: number;
    DQ_RQ: number;
    FS_RQ: number;
    DS_RQ: number;
    KV_TPK: number;
    KV_RK: number;
    KV_H4: number;
  };
  /** Workgroup and tile sizes (WGSL overrides). */
  overrides: { WG: number; FW_BK: number; KV_BQ: number };
}

/** Every size the kernels use for head size HS on this device (or the WebGPU defaults without one). */
export function attentionTiles(HS: number, kernel: AttentionKernel, device?: EncodeDevice): AttentionTiles {
  const HS4 = Math.ceil(HS / 4);
  const rows = (vectors: number) => Math.max(1, Math.min(MAX_ROWS_PER_THREAD, Math.floor(ROW_VEC4_BUDGET / vectors)));
  const KV_TPK = HS4 >= 4 ? 4 : HS4 >= 2 ? 2 : 1;
  const KV_H4 = Math.ceil(HS4 / KV_TPK);
  const WG = Math.min(THREADS, device?.limits.maxComputeInvocationsPerWorkgroup ?? THREADS);
  const bytes = Math.min(MAX_TILE_BYTES, device?.limits.maxComputeWorkgroupStorageSize ?? DEFAULT_TILE_BYTES);
  const exchange = kernel === 'workgroup' ? 2 * WG * 16 : 0; // attention_wg.wgsl's kvX
  return {
    kernel,
    // The forward holds 2 row vectors per query row (q, acc), dQ 3 (q, dy, dq); the split forward and
    // dQ (subgroups) hold as many vectors of KV_H4 chunks per row, at most 4 rows (one vec4 of scores).
    consts: {
      HS4,
      FW_RQ: rows(2 * HS4),
      DQ_RQ: rows(3 * HS4),
      FS_RQ: rows(2 * KV_H4),
      DS_RQ: rows(3 * KV_H4),
      KV_TPK,
      KV_RK: KEYS_PER_THREAD,
      KV_H4,
    },
    overrides: {
      WG,
      FW_BK: Math.min(MAX_KEY_TILE, Math.floor(bytes / (2 * HS4 * 16))), // tileK + tileV
      KV_BQ: Math.min(MAX_QUERY_TILE, Math.floor((bytes - exchange) / (2 * HS4 * 16 + 8))), // kvQ + kvO + kvLse + kvD
    },
  };
}

/** The kernel variant for this op: the forced one (checked against the device), else subgroups where offered. */
function pickKernel(name: string, attrs: AttentionAttrs, device?: EncodeDevice): AttentionKernel {
  const offered = device?.features.has('subgroups') ?? false;
  if (attrs.kernel === 'subgroups' && device && !offered)
    throw new Error(`${name}: kernel 'subgroups' forced, but this device has no 'subgroups' feature`);
  return attrs.kernel ?? (offered ? 'subgroups' : 'workgroup');
}

const LOOP = /for \(var (\w+) = 0u; \1 < (\w+); \1\+\+\) \{/;

/** Expands every `for (var i = 0u; i < BOUND; i++) { ... }` in `text` (nested ones too) into its iterations. */
function unrollLoops(text: string, bounds: Readonly<Record<string, number>>): string {
  const m = LOOP.exec(text);
  if (!m) return text;
  const count = bounds[m[2]!];
  if (count === undefined) throw new Error(`attention.wgsl: cannot unroll a loop bounded by ${m[2]}`);
  const open = m.index + m[0].length - 1;
  let depth = 0;
  let close = -1;
  for (let i = open; i < text.length && close < 0; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) close = i;
  }
  if (close < 0) throw new Error(`attention.wgsl: unbalanced braces in '${text.trim()}'`);
  const body = text.slice(open + 1, close);
  const loopVar = new RegExp(`\\b${m[1]}\\b`, 'g');
  const iterations = Array.from({ length: count }, (_, k) => `{${body.replace(loopVar, `${k}u`)}}`).join(' ');
  return unrollLoops(text.slice(0, m.index) + iterations + text.slice(close + 1), bounds);
}

const specialized = new Map<string, string>();

/** Element types of the tensors whose storage varies: qkv, and y (written by the forward, read for D). */
export interface AttentionDTypes {
  qkv: StorageDType;
  y: StorageDType;
}

const F32: AttentionDTypes = { qkv: 'f32', y: 'f32' };

/**
 * The attention kernels for these tiles and dtypes: the consts, the qkv / y bindings, attention.wgsl
 * with its `// unroll` lines expanded (per-thread arrays then indexed by constants only, so they stay
 * in registers), and the variant's group_sum4. One shader module per (head size, variant, dtypes);
 * overrides pick the rest.
 */
export function attentionShader(tiles: AttentionTiles, dtypes: AttentionDTypes = F32): string {
  const key = `${tiles.kernel}:${dtypes.qkv}:${dtypes.y}:${JSON.stringify(tiles.consts)}`;
  let code = specialized.get(key);
  if (code) return code;
  const consts = Object.entries(tiles.consts).map(([name, value]) => `const ${name}: u32 = ${value}u;`);
  // Bindings as attention.wgsl's comments place them: qkv at 1 (every kernel), y at 2 (forward, written)
  // and at 1 (D, read); no entry point uses two declarations of one binding.
  const bindings = [
    wgslReader('qkv', 1, dtypes.qkv),
    wgslWriter('fw_y', 2, dtypes.y),
    wgslReader('bd_y', 1, dtypes.y),
  ].map((text) => text.trimEnd());
  const body = `${source}\n${tiles.kernel === 'subgroups' ? subgroupSum : workgroupSum}`
    .split('\n')
    .map((line) =>
      line.endsWith('// unroll') ? unrollLoops(line.slice(0, -'// unroll'.length).trimEnd(), tiles.consts) : line,
    )
    .join('\n');
  code = [...(tiles.kernel === 'subgroups' ? ['enable subgroups;'] : []), ...consts, ...bindings, body].join('\n');
  specialized.set(key, code);
  return code;
}

function params(d: AttentionDims): ArrayBuffer {
  return packUniforms([
    ['u32', d.B],
    ['u32', d.T],
    ['u32', d.C],
    ['u32', d.NH],
    ['u32', d.HS],
    ['f32', 1 / Math.sqrt(d.HS)],
  ]);
}

/** One dispatch of an attention entry point with this op's tiles. */
function kernelCall(
  d: AttentionDims,
  tiles: AttentionTiles,
  dtypes: AttentionDTypes,
  entryPoint: string,
  buffers: KernelCall['buffers'],
  workgroups: readonly [number, number, number],
): KernelCall {
  return {
    label: 'attention',
    code: attentionShader(tiles, dtypes),
    entryPoint,
    constants: tiles.overrides,
    buffers,
    params: params(d),
    workgroups,
  };
}

/**
 * Whether the forward writes y through a packing pass: an f16 y of odd head size has words that hold
 * the halves of two rows (two workgroups' or threads'), so the kernel writes f32 rows to scratch and
 * cast.wgsl packs them a word a thread. Even head sizes (the model's 64) write halves directly.
 */
function packsY(qkv: TensorSpec, attrs: AttentionAttrs): boolean {
  return attrs.out === 'f16' && attentionDims('attention', qkv, attrs.nHead).HS % 2 === 1;
}

/** outputs: y [B, T, C] (f32, or f16 with out: 'f16'), lse [B, NH, T] f32 (saved for backward, not differentiable). */
export const attentionOp: OpDef<AttentionAttrs> = {
  name: 'attention',
  differentiableOutputs: [true, false],
  outputs: ([qkv], attrs) => {
    const { B, T, C, NH } = attentionDims('attention', qkv!, attrs.nHead);
    return [
      { shape: [B, T, C], dtype: attrs.out ?? 'f32' },
      { shape: [B, NH, T], dtype: 'f32' },
    ];
  },
  // Scratch 0 (only when packsY): y as f32 [B, T, C].
  scratch: ([qkv], attrs) => {
    const { B, T, C } = attentionDims('attention', qkv!, attrs.nHead);
    return packsY(qkv!, attrs) ? [B * T * C] : [];
  },
  encode: ([qkv], attrs, device) => {
    const d = attentionDims('attention', qkv!, attrs.nHead);
    const packs = packsY(qkv!, attrs);
    const dtypes = { qkv: storageOf(qkv!), y: packs ? 'f32' : (attrs.out ?? 'f32') };
    const tiles = attentionTiles(d.HS, pickKernel('attention', attrs, device), device);
    const { WG } = tiles.overrides;
    const { FW_RQ, FS_RQ, KV_TPK } = tiles.consts;
    // With subgroups, KV_TPK lanes share each row (attention_sg.wgsl) where that holds more rows per
    // thread than whole rows do (HS > 16); else a thread owns whole rows (the same sums as before the
    // split kernels, which the PyTorch fixtures, HS 16, are judged by).
    const split = tiles.kernel === 'subgroups' && FS_RQ > FW_RQ;
    const [entryPoint, rows] = split
      ? ['attention_forward_split', (WG / KV_TPK) * FS_RQ]
      : ['attention_forward', WG * FW_RQ];
    const forward = kernelCall(
      d,
      tiles,
      dtypes,
      entryPoint,
      [{ in: 0 }, packs ? { scratch: 0 } : { out: 0 }, { out: 1 }],
      [Math.ceil(d.T / rows), d.B * d.NH, 1],
    );
    if (!packs) return [forward];
    const [pack] = castOp.encode([{ shape: [d.B, d.T, d.C], dtype: 'f32' }], { to: 'f16' });
    return [forward, { ...pack!, buffers: [{ scratch: 0 }, { out: 0 }] }];
  },
  backward: ([qkv], [y, lse], [dy], attrs) => [
    dy ? qkv!.graph.apply1(attentionBackwardOp, [qkv!, y!, lse!, dy], attrs) : null,
  ],
  reference: {
    // The exact attention whatever y's storage: an f16 y is within half an ulp of it (rounding it here
    // would break the finite-difference check of the backward).
    forward: ([qkv], [spec], attrs) => {
      const { y, lse } = referenceForward(qkv as Float64Array, attentionDims('attention', spec!, attrs.nHead));
      return [y, lse];
    },
    backward: ([qkv], [spec], [dy], { nHead }) => [
      referenceBackward(qkv as Float64Array, dy!, attentionDims('attention', spec!, nHead)),
    ],
  },
};

/**
 * Kernel-only: dqkv [B, T, 3C] (f32) from inputs [qkv, y, lse, dy], qkv and y in their own dtypes.
 * Scratch 0 holds D = rowsum(dy * y) [B, NH, T]. Checked through attentionOp's backward.
 */
export const attentionBackwardOp: OpDef<AttentionAttrs> = {
  name: 'attention_backward',
  outputs: ([qkv], { nHead }) => {
    attentionDims('attention_backward', qkv!, nHead);
    return [{ shape: qkv!.shape, dtype: 'f32' }];
  },
  scratch: ([qkv], { nHead }) => {
    const { B, NH, T } = attentionDims('attention_backward', qkv!, nHead);
    return [B * NH * T];
  },
  encode: ([qkv, y], attrs, device): KernelCall[] => {
    const d = attentionDims('attention_backward', qkv!, attrs.nHead);
    const dtypes = { qkv: storageOf(qkv!), y: storageOf(y!) };
    const tiles = attentionTiles(d.HS, pickKernel('attention_backward', attrs, device), device);
    const { WG } = tiles.overrides;
    const { DQ_RQ, DS_RQ, KV_TPK, KV_RK } = tiles.consts;
    const [dq, dqRows] =
      tiles.kernel === 'subgroups' && DS_RQ > DQ_RQ
        ? ['attention_backward_dq_split', (WG / KV_TPK) * DS_RQ]
        : ['attention_backward_dq', WG * DQ_RQ];
    // Inputs: 0 qkv, 1 y, 2 lse, 3 dy; scratch 0 = D.
    const grads: KernelCall['buffers'] = [{ in: 0 }, { in: 3 }, { in: 2 }, { scratch: 0 }, { out: 0 }];
    return [
      kernelCall(
        d,
        tiles,
        dtypes,
        'attention_backward_d',
        [{ in: 1 }, { in: 3 }, { scratch: 0 }],
        grid1d(Math.ceil((d.B * d.NH * d.T) / WG)),
      ),
      kernelCall(d, tiles, dtypes, 'attention_backward_dkv', grads, [
        Math.ceil(d.T / ((WG / KV_TPK) * KV_RK)),
        d.B * d.NH,
        1,
      ]),
      kernelCall(d, tiles, dtypes, dq, grads, [Math.ceil(d.T / dqRows), d.B * d.NH, 1]),
    ];
  },
};

/** Causal self-attention of qkv [B, T, 3C] (f32 or f16) with nHead heads; returns y [B, T, C] in `out` (default f32). */
export function attention(
  qkv: Tensor,
  nHead: number,
  options: { kernel?: AttentionKernel; out?: StorageDType } = {},
): Tensor {
  const attrs: AttentionAttrs = { nHead };
  if (options.kernel) attrs.kernel = options.kernel;
  if (options.out === 'f16') attrs.out = 'f16'; // f32 stays the attrs of before (the same node keys and labels)
  return qkv.graph.apply(attentionOp, [qkv], attrs, ['attention', 'attention.lse'])[0]!;
}
