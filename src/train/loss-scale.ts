/**
 * Dynamic loss scaling (as torch.cuda.amp.GradScaler) and the run's precision. The backward starts
 * from dLoss = scale; AdamW's norm pass divides the gradients by the scale on the fly (no extra pass),
 * and its last norm stage updates the scale on the GPU: halved when the gradients overflowed (the step
 * is then skipped there, as any non-finite step is), doubled after `growthInterval` clean steps.
 * The state lives in a small GPU buffer (AdamW's `scaleBuffer`); the CPU only mirrors it from the
 * statistics every step already reads back. Scales are powers of two, so scaling is exact in f32:
 * with no overflow, a scaled f32 run is bit-identical to an unscaled one.
 */
// Type-only imports: the page may use the precision helpers without pulling in the engine.
import type { LossScaleState } from '../optim/adamw';
import type { Precision } from './protocol';

export type { LossScaleState };

/** Halving stops at f16's smallest subnormal (a smaller scale cannot help); doubling at 2^64 (1/scale stays normal). */
export const MIN_LOSS_SCALE = 2 ** -24;
export const MAX_LOSS_SCALE = 2 ** 64;

export type { Precision };
export const PRECISIONS: readonly Precision[] = ['f32', 'mixed'];

/** GradScaler's defaults: start at 2^16, double after 2000 clean steps. */
export const DEFAULT_INIT_SCALE = 2 ** 16;
export const DEFAULT_GROWTH_INTERVAL = 2000;

export interface LossScaleOptions {
  /** The first step's scale, a power of two (default 2^16). */
  initScale?: number;
  /** Clean steps after which the scale doubles (default 2000). */
  growthInterval?: number;
}

/** The scaler off: scale 1 forever (f32 runs; nothing about them changes). */
export const UNSCALED: LossScaleState = { scale: 1, cleanSteps: 0, skippedSteps: 0 };

export function isPowerOfTwo(x: number): boolean {
  if (!(x > 0) || !Number.isFinite(x)) return false;
  const e = Math.round(Math.log2(x));
  return 2 ** e === x;
}

/** Why this state cannot be used (undefined when it can). */
export function lossScaleProblem(state: LossScaleState): string | undefined {
  const { scale, cleanSteps, skippedSteps } = state;
  // Up to 2^64: 1/scale must stay a normal f32 (GPUs flush subnormals to zero).
  if (!isPowerOfTwo(scale) || scale < MIN_LOSS_SCALE || scale > MAX_LOSS_SCALE)
    return `loss scale ${scale} is not a power of two from 2^-24 to 2^64`;
  for (const [k, v] of [
    ['clean steps', cleanSteps],
    ['skipped steps', skippedSteps],
  ] as const)
    if (!Number.isSafeInteger(v) || v < 0 || v >= 2 ** 32) return `loss scale ${k} ${v} is not a whole number >= 0`;
  return undefined;
}

/** The scaler's state as training_state.safetensors' __metadata__ keeps it (none: nothing). */
export function lossScaleMetadata(state: LossScaleState | undefined): Record<string, string> {
  if (!state) return {};
  return {
    loss_scale: String(state.scale),
    loss_scale_clean_steps: String(state.cleanSteps),
    loss_scale_skipped_steps: String(state.skippedSteps),
  };
}

/** The options a run's precision implies: mixed scales dynamically, f32 does not. */
export function lossScaleFor(precision: Precision | undefined): Required<LossScaleOptions> | undefined {
  return precision === 'mixed' ? { initScale: DEFAULT_INIT_SCALE, growthInterval: DEFAULT_GROWTH_INTERVAL } : undefined;
}

/** A run's scaler state before its first step. */
export function initialLossScale(options: LossScaleOptions | undefined): LossScaleState {
  return options ? { scale: options.initScale ?? DEFAULT_INIT_SCALE, cleanSteps: 0, skippedSteps: 0 } : UNSCALED;
}

/**
 * The update rule the GPU applies after each step (its float64 reference): an overflow halves the
 * scale (not below MIN_LOSS_SCALE) and counts a skipped step; `growthInterval` clean steps in a row
 * double it (not above MAX_LOSS_SCALE).
 */
export function nextLossScale(state: LossScaleState, overflow: boolean, growthInterval: number): LossScaleState {
  if (overflow)
    return {
      scale: state.scale / 2 >= MIN_LOSS_SCALE ? state.scale / 2 : state.scale,
      cleanSteps: 0,
      skippedSteps: state.skippedSteps + 1,
    };
  const clean = state.cleanSteps + 1;
  if (clean < growthInterval) return { ...state, cleanSteps: clean };
  return { ...state, scale: state.scale * 2 <= MAX_LOSS_SCALE ? state.scale * 2 : state.scale, cleanSteps: 0 };
}

/**
 * The precision a new run gets where the adapter has `shader-f16` (elsewhere always f32). Mixed runs
 * on every adapter (f16 tensors are stored as packed halves, read with core WGSL), but its kernels
 * still compute in f32: it saves memory, not time, until the shader-f16 / subgroup-matrix kernels
 * land. A GPU session makes this 'mixed' once they are measured faster.
 */
export const F16_DEFAULT_PRECISION: Precision = 'f32';

/** The precision of a new run on this adapter when none is asked for. */
export function defaultPrecision(features: ReadonlySet<string>): Precision {
  return features.has('shader-f16') ? F16_DEFAULT_PRECISION : 'f32';
}
