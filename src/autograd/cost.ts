/**
 * The FLOP and byte model of every op, in one table, for the profiler's achieved TFLOP/s and GB/s.
 * Bytes are the minimum traffic: each input read once and each output written once (4 bytes an
 * f32 element, 2 an f16 one). FLOPs are counted only for the ops that are compute bound (matmul and attention); the
 * others are judged by bandwidth.
 */
import type { Node } from './graph';
import { attentionDims } from './ops/attention';
import { matmulDims } from './ops/matmul';
import { tensorBytes } from './op';

export interface OpCost {
  flops?: number;
  bytes: number;
}

const elementBytes = (node: Node): number => [...node.inputs, ...node.outputs].reduce((s, t) => s + tensorBytes(t), 0);

/** Ops whose FLOPs are counted; everything else is charged its bytes only. */
const FLOPS: Record<string, (node: Node) => number> = {
  matmul: (node) => {
    const { M, N, K } = matmulDims(node.inputs[0]!.spec, node.inputs[1]!.spec, node.attrs);
    return 2 * M * N * K;
  },
  // Causal: QKᵀ and PV each over the lower triangle, 2·T²/2·HS per head and matmul.
  attention: (node) => {
    const { B, T, NH, HS } = attentionDims('attention', node.inputs[0]!.spec, node.attrs.nHead as number);
    return 2 * B * NH * T * T * HS;
  },
  // FlashAttention-2 backward: S recomputed, then dV, dP, dQ, dK — five causal products.
  attention_backward: (node) => {
    const { B, T, NH, HS } = attentionDims('attention_backward', node.inputs[0]!.spec, node.attrs.nHead as number);
    return 5 * B * NH * T * T * HS;
  },
};

export function nodeCost(node: Node): OpCost {
  const flops = FLOPS[node.op.name];
  return flops ? { flops: flops(node), bytes: elementBytes(node) } : { bytes: elementBytes(node) };
}

/** AdamW over n parameters: the norm pass reads the gradients, the update reads g, p, m, v and writes p, m, v. */
export function adamwCost(n: number): OpCost {
  return { bytes: 4 * n * 8 };
}
