/**
 * Float64 references of causal self-attention (naive softmax over the whole row, no tiles): what
 * attention.ts's kernels are checked against, forward and backward.
 */
import type { RefArray } from '../op';
import type { AttentionDims } from './attention';

/** Softmax probabilities of row i of head (b, h) over keys 0..i, and the row's logsumexp. */
function referenceRow(
  qkv: RefArray,
  d: AttentionDims,
  b: number,
  h: number,
  i: number,
): { probs: Float64Array; lse: number } {
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
          for (let e = 0; e < HS; e++) y[yo + e]! += row.probs[j]! * qkv[vo + e]!;
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
          for (let e = 0; e < HS; e++) dp[j]! += dy[yo + e]! * qkv[at(j, 2) + e]!;
          mean += probs[j]! * dp[j]!;
        }
        for (let j = 0; j <= i; j++) {
          const ds = probs[j]! * (dp[j]! - mean) * scale;
          for (let e = 0; e < HS; e++) {
            dqkv[at(i, 0) + e]! += ds * qkv[at(j, 1) + e]!;
            dqkv[at(j, 1) + e]! += ds * qkv[at(i, 0) + e]!;
            dqkv[at(j, 2) + e]! += probs[j]! * dy[yo + e]!;
          }
        }
      }
  return dqkv;
}
