/**
 * Fused causal self-attention (HF GPT-2 layout): qkv [B, T, 3C] from c_attn -> y [B, T, C] with merged
 * heads, ready for c_proj. Flash-attention forward (online softmax over key blocks, no T x T matrix)
 * saving the per-row logsumexp; FlashAttention-2 backward without atomics (D, then dK/dV per key
 * block, then dQ per query block). Scale 1/sqrt(HS), causal mask, no dropout.
 */
import source from '../../../shaders/attention.wgsl?raw';
import { grid1d, packUniforms } from '../../gpu/uniforms';
import type { KernelCall, OpDef, RefArray, TensorSpec } from '../op';
import { assertShape, shapeString } from '../op';
import type { Tensor } from '../tensor';

export interface AttentionAttrs extends Record<string, unknown> {
  nHead: number;
}

/** Threads per workgroup, as in attention.wgsl; forward and dQ blocks hold 64 query rows, dK/dV blocks 32 keys. */
const WG = 64;
const KEYS_PER_DKV_BLOCK = 32;
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
  const [B, T, C3] = qkv.shape as [number, number, number];
  assertShape(C3 % 3 === 0, name, `last dim of qkv (${C3}) is not 3C`);
  const C = C3 / 3;
  assertShape(Number.isInteger(nHead) && nHead > 0 && C % nHead === 0, name, `C = ${C} is not divisible by nHead = ${nHead}`);
  const HS = C / nHead;
  assertShape(HS <= MAX_HEAD_SIZE, name, `head size ${HS} exceeds ${MAX_HEAD_SIZE}`);
  assertShape(B * nHead <= 65535, name, `B * nHead = ${B * nHead} exceeds the grid limit 65535`);
  return { B, T, C, NH: nHead, HS };
}

const HS4_LINE = 'const HS4: u32 = 16u;';
const UNROLL = /^(\s*)for \(var (\w+) = 0u; \2 < (\w+); \2\+\+\) \{ (.*) \} \/\/ unroll$/;
const specialized = new Map<number, string>();

/**
 * attention.wgsl specialised for a head size: HS4 = ceil(HS / 4) is set, and every one-line loop
 * marked `// unroll` (bounded by HS4 or KV_H4) is expanded into its iterations, each in its own
 * block with the loop variable replaced by a constant. Per-thread arrays are then only indexed by
 * constants, which keeps them in registers. One shader module per head size.
 */
export function attentionShader(HS: number): string {
  const HS4 = Math.ceil(HS / 4);
  let code = specialized.get(HS4);
  if (code) return code;
  if (!source.includes(HS4_LINE)) throw new Error(`attention.wgsl lacks the line '${HS4_LINE}'`);
  const bounds: Record<string, number> = { HS4, KV_H4: Math.ceil(HS4 / 2) };
  code = source
    .replace(HS4_LINE, `const HS4: u32 = ${HS4}u;`)
    .split('\n')
    .map((line) => {
      if (!line.endsWith('// unroll')) return line;
      const m = UNROLL.exec(line);
      const count = m ? bounds[m[3]!] : undefined;
      if (!m || count === undefined) throw new Error(`attention.wgsl: cannot unroll '${line.trim()}'`);
      const loopVar = new RegExp(`\\b${m[2]}\\b`, 'g');
      return Array.from({ length: count }, (_, k) => `${m[1]}{ ${m[4]!.replace(loopVar, `${k}u`)} }`).join('\n');
    })
    .join('\n');
  specialized.set(HS4, code);
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

/** outputs: y [B, T, C], lse [B, NH, T] (saved for backward, not differentiable). */
export const attentionOp: OpDef<AttentionAttrs> = {
  name: 'attention',
  differentiableOutputs: [true, false],
  outputs: ([qkv], { nHead }) => {
    const { B, T, C, NH } = attentionDims('attention', qkv!, nHead);
    return [
      { shape: [B, T, C], dtype: 'f32' },
      { shape: [B, NH, T], dtype: 'f32' },
    ];
  },
  encode: ([qkv], { nHead }) => {
    const d = attentionDims('attention', qkv!, nHead);
    return [
      {
        label: 'attention',
        code: attentionShader(d.HS),
        entryPoint: 'attention_forward',
        buffers: [{ in: 0 }, { out: 0 }, { out: 1 }],
        params: params(d),
        workgroups: [Math.ceil(d.T / WG), d.B * d.NH, 1],
      },
    ];
  },
  backward: ([qkv], [y, lse], [dy], attrs) => [dy ? qkv!.graph.apply1(attentionBackwardOp, [qkv!, y!, lse!, dy], attrs) : null],
  reference: {
    forward: ([qkv], [spec], { nHead }) => {
      const { y, lse } = referenceForward(qkv as Float64Array, attentionDims('attention', spec!, nHead));
      return [y, lse];
    },
    backward: ([qkv], [spec], [dy], { nHead }) => [referenceBackward(qkv as Float64Array, dy!, attentionDims('attention', spec!, nHead))],
  },
};

/**
 * Kernel-only: dqkv [B, T, 3C] from inputs [qkv, y, lse, dy]. Scratch 0 holds D = rowsum(dy * y)
 * [B, NH, T]. Checked through attentionOp's backward.
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
  encode: ([qkv], { nHead }): KernelCall[] => {
    const d = attentionDims('attention_backward', qkv!, nHead);
    const call = (entryPoint: string, buffers: KernelCall['buffers'], workgroups: readonly [number, number, number]): KernelCall => ({
      label: 'attention',
      code: attentionShader(d.HS),
      entryPoint,
      buffers,
      params: params(d),
      workgroups,
    });
    // Inputs: 0 qkv, 1 y, 2 lse, 3 dy; scratch 0 = D.
    const grads: KernelCall['buffers'] = [{ in: 0 }, { in: 3 }, { in: 2 }, { scratch: 0 }, { out: 0 }];
    return [
      call('attention_backward_d', [{ in: 1 }, { in: 3 }, { scratch: 0 }], grid1d(Math.ceil((d.B * d.NH * d.T) / WG))),
      call('attention_backward_dkv', grads, [Math.ceil(d.T / KEYS_PER_DKV_BLOCK), d.B * d.NH, 1]),
      call('attention_backward_dq', grads, [Math.ceil(d.T / WG), d.B * d.NH, 1]),
    ];
  },
};

/** Causal self-attention of qkv [B, T, 3C] with nHead heads; returns y [B, T, C]. */
export function attention(qkv: Tensor, nHead: number): Tensor {
  return qkv.graph.apply(attentionOp, [qkv], { nHead }, ['attention', 'attention.lse'])[0]!;
}

// ---------------- float64 references (naive softmax attention) ----------------

/** Softmax probabilities of row i of head (b, h) over keys 0..i, and the row's logsumexp. */
function referenceRow(qkv: RefArray, d: AttentionDims, b: number, h: number, i: number): { probs: Float64Array; lse: number } {
  const { T, C, HS } = d;
  const scale = 1 / Math.sqrt(HS);
  const at = (t: number, part: number) => (b * T + t) * 3 * C + part * C + h * HS;
  const scores = new Float64Array(i + 1);
  let max = -Infinity;
  for (let j = 0; j <= i; j++) {
    let s = 0;
    for (let e = 0; e < HS; e++) s += qkv[at(i, 0) + e]! * qkv[at(j, 1) + e]!;
    scores[j] = s * scale;
    max = Math.max(max, scores[j]!);
  }
  let sum = 0;
  for (let j = 0; j <= i; j++) sum += Math.exp(scores[j]! - max);
  const probs = scores.map((s) => Math.exp(s - max) / sum);
  return { probs, lse: max + Math.log(sum) };
}

export function referenceForward(qkv: RefArray, d: AttentionDims): { y: Float64Array; lse: Float64Array } {
  const { B, T, C, NH, HS } = d;
  const y = new Float64Array(B * T * C);
  const lse = new Float64Array(B * NH * T);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < NH; h++)
      for (let i = 0; i < T; i++) {
        const row = referenceRow(qkv, d, b, h, i);
        lse[(b * NH + h) * T + i] = row.lse;
        const yo = (b * T + i) * C + h * HS;
        for (let j = 0; j <= i; j++) {
          const vo = (b * T + j) * 3 * C + 2 * C + h * HS;
          for (let e = 0; e < HS; e++) y[yo + e] += row.probs[j]! * qkv[vo + e]!;
        }
      }
  return { y, lse };
}

/** dqkv from dy, by the softmax chain rule: dS_ij = P_ij (dP_ij - sum_k P_ik dP_ik), dP_ij = dy_i . v_j. */
export function referenceBackward(qkv: Float64Array, dy: Float64Array, d: AttentionDims): Float64Array {
  const { B, T, C, NH, HS } = d;
  const scale = 1 / Math.sqrt(HS);
  const dqkv = new Float64Array(qkv.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < NH; h++)
      for (let i = 0; i < T; i++) {
        const { probs } = referenceRow(qkv, d, b, h, i);
        const at = (t: number, part: number) => (b * T + t) * 3 * C + part * C + h * HS;
        const yo = (b * T + i) * C + h * HS;
        const dp = new Float64Array(i + 1);
        let mean = 0;
        for (let j = 0; j <= i; j++) {
          for (let e = 0; e < HS; e++) dp[j] += dy[yo + e]! * qkv[at(j, 2) + e]!;
          mean += probs[j]! * dp[j]!;
        }
        for (let j = 0; j <= i; j++) {
          const ds = probs[j]! * (dp[j]! - mean) * scale;
          for (let e = 0; e < HS; e++) {
            dqkv[at(i, 0) + e] += ds * qkv[at(j, 1) + e]!;
            dqkv[at(j, 1) + e] += ds * qkv[at(i, 0) + e]!;
            dqkv[at(j, 2) + e] += probs[j]! * dy[yo + e]!;
          }
        }
      }
  return dqkv;
}
