/**
 * The op table. Every op the engine has is listed here, so tests can check the table for
 * completeness: a differentiable op must have its backward rule and float64 references; a
 * kernel-only op names the op whose backward uses it (and through which it is tested).
 */
import type { OpDef } from './op';
import { attentionBackwardOp, attentionOp } from './ops/attention';
import { attentionDecodeOp } from './ops/attention-decode';
import { castOp } from './ops/cast';
import { crossEntropyBackwardOp, crossEntropyOp } from './ops/cross-entropy';
import { addOp, copyOp, geluBackwardOp, geluOp } from './ops/elementwise';
import { embeddingOp, embeddingWpeGradOp, embeddingWteGradOp } from './ops/embedding';
import { layerNormBackwardOp, layerNormOp, layerNormParamGradOp } from './ops/layernorm';
import { biasGradOp, matmulOp } from './ops/matmul';

/** Ops with a backward rule and float64 references of forward and backward. */
export const DIFFERENTIABLE_OPS: readonly OpDef[] = [
  addOp,
  copyOp,
  castOp,
  geluOp,
  matmulOp,
  layerNormOp,
  embeddingOp,
  attentionOp,
  crossEntropyOp,
];

/** Forward-only ops (inference); tested against the differentiable op they mirror. */
export const INFERENCE_OPS: readonly { op: OpDef; mirrors: OpDef }[] = [
  { op: attentionDecodeOp, mirrors: attentionOp },
];

/** Kernels used only by backward rules, each with the op whose backward emits it. */
export const BACKWARD_KERNELS: readonly { op: OpDef; usedBy: OpDef }[] = [
  { op: geluBackwardOp, usedBy: geluOp },
  { op: biasGradOp, usedBy: matmulOp },
  { op: layerNormBackwardOp, usedBy: layerNormOp },
  { op: layerNormParamGradOp, usedBy: layerNormOp },
  { op: embeddingWteGradOp, usedBy: embeddingOp },
  { op: embeddingWpeGradOp, usedBy: embeddingOp },
  { op: attentionBackwardOp, usedBy: attentionOp },
  { op: crossEntropyBackwardOp, usedBy: crossEntropyOp },
];

export const ALL_OPS: readonly OpDef[] = [
  ...DIFFERENTIABLE_OPS,
  ...INFERENCE_OPS.map((e) => e.op),
  ...BACKWARD_KERNELS.map((e) => e.op),
];
