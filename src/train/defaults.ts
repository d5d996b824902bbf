/**
 * Settings a first run starts from, and the checks the page runs before it starts one. Pure
 * functions with no GPU code, so the page can import them.
 */
import { configProblems } from '../model/config';
import { paramCount } from '../model/hf';
import type { DeviceReport, RunSettings } from './protocol';

export type SuggestedSettings = Omit<RunSettings, 'datasetId'>;

export interface BufferLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

/** Below this matmul speed a device trains only tiny models at a visible pace. */
export const SLOW_GFLOPS = 50;
/** Above this it can afford a wider, deeper model. */
const FAST_GFLOPS = 2000;
/** The attention kernels' grid limit: batch × heads workgroups in one dimension. */
const MAX_GRID = 65535;
/** No estimate of a GPU's memory exists in WebGPU; assume a few of its largest buffers fit. */
const MEMORY_BUFFERS = 4;

const LR = { maxLr: 1e-3, minLr: 1e-4 };
const OPTIMIZER = { weightDecay: 0.1, gradClip: 1.0, seed: 1337 };

/**
 * A first run that trains visibly fast here: tiny on a software adapter (SwiftShader) or a slow
 * GPU, small on a real one. `model.vocabSize` is the tokenizer size to train when there is none yet
 * (a small vocabulary keeps the LM head cheap on slow devices); a run always takes its tokenizer's.
 */
export function suggestSettings(report: Pick<DeviceReport, 'isSoftware' | 'probeGflops'>): SuggestedSettings {
  const gflops = report.probeGflops ?? 0;
  if (report.isSoftware || gflops < SLOW_GFLOPS) {
    return {
      model: { vocabSize: 2048, blockSize: 64, nLayer: 2, nHead: 2, nEmbd: 64 },
      batchSize: 4,
      accumSteps: 1,
      maxSteps: 200,
      lr: { ...LR, warmupSteps: 20 },
      ...OPTIMIZER,
      evalEvery: 25,
      evalBatches: 4,
      checkpointEvery: 25,
    };
  }
  if (gflops < FAST_GFLOPS) {
    return {
      model: { vocabSize: 8192, blockSize: 256, nLayer: 4, nHead: 4, nEmbd: 256 },
      batchSize: 16,
      accumSteps: 1,
      maxSteps: 2000,
      lr: { ...LR, warmupSteps: 100 },
      ...OPTIMIZER,
      evalEvery: 100,
      evalBatches: 8,
      checkpointEvery: 100,
    };
  }
  return {
    model: { vocabSize: 16384, blockSize: 512, nLayer: 6, nHead: 6, nEmbd: 384 },
    batchSize: 16,
    accumSteps: 2,
    maxSteps: 5000,
    lr: { maxLr: 6e-4, minLr: 6e-5, warmupSteps: 200 },
    ...OPTIMIZER,
    evalEvery: 250,
    evalBatches: 16,
    checkpointEvery: 250,
  };
}

/**
 * GPU bytes a run needs, roughly: four arenas (weights, gradients, Adam m and v) plus one
 * micro-batch's activations (about 16C floats per layer and token kept for backward, half again
 * for backward's temporaries, and the logits with their gradient).
 */
export function estimateGpuBytes(settings: Pick<RunSettings, 'model' | 'batchSize'>): number {
  const { vocabSize: V, blockSize: T, nLayer: L, nHead: NH, nEmbd: C } = settings.model;
  const tokens = settings.batchSize * T;
  const perToken = 1.5 * L * (16 * C + NH) + 2 * V + 4 * C;
  return 16 * paramCount(settings.model) + 4 * tokens * perToken;
}

function bytesText(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  return `${Math.max(1, Math.round(bytes / 2 ** 20))} MiB`;
}

function wholeNumber(problems: string[], what: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) problems.push(`The ${what} must be a whole number of at least ${min} (it is ${value}).`);
}

/**
 * What is wrong with these settings on a device with `limits` (limits unknown: only the settings'
 * own consistency is checked), as sentences that say what to change. Empty when they are fine.
 */
export function settingsProblems(settings: SuggestedSettings, limits?: BufferLimits): string[] {
  const problems = configProblems(settings.model).map((p) => `Model: ${p}.`);
  wholeNumber(problems, 'batch size', settings.batchSize, 1);
  wholeNumber(problems, 'number of accumulation steps', settings.accumSteps, 1);
  wholeNumber(problems, 'number of steps', settings.maxSteps, 1);
  wholeNumber(problems, 'evaluation interval', settings.evalEvery, 1);
  wholeNumber(problems, 'number of evaluation batches', settings.evalBatches, 0);
  wholeNumber(problems, 'checkpoint interval', settings.checkpointEvery, 1);
  wholeNumber(problems, 'number of warmup steps', settings.lr.warmupSteps, 0);
  if (!Number.isInteger(settings.seed)) problems.push(`The seed must be a whole number (it is ${settings.seed}).`);
  const { maxLr, minLr } = settings.lr;
  if (!(maxLr > 0 && Number.isFinite(maxLr))) problems.push(`The learning rate must be above 0 (it is ${maxLr}); 1e-3 is a good start for small models.`);
  else if (!(minLr >= 0 && minLr <= maxLr)) problems.push(`The final learning rate must be between 0 and the peak learning rate ${maxLr} (it is ${minLr}).`);
  if (!(settings.weightDecay >= 0)) problems.push(`The weight decay must be 0 or more (it is ${settings.weightDecay}).`);
  if (!(settings.gradClip >= 0)) problems.push(`The gradient clip must be 0 (off) or more (it is ${settings.gradClip}).`);
  if (problems.length > 0) return problems;

  const { vocabSize: V, blockSize: T, nHead: NH, nEmbd: C } = settings.model;
  const B = settings.batchSize;
  if (B * NH > MAX_GRID) problems.push(`Batch size ${B} × ${NH} heads is over the GPU's limit of ${MAX_GRID}: lower the batch size and raise the accumulation steps.`);
  if (!limits) return problems;
  const binding = limits.maxStorageBufferBindingSize;
  const logits = B * T * V * 4;
  if (logits > binding) {
    problems.push(
      `One micro-batch's logits (${B} × ${T} tokens × ${V} vocabulary × 4 bytes = ${bytesText(logits)}) are more than this GPU can bind at once (${bytesText(binding)}): lower the batch size (raise the accumulation steps to keep the tokens per step), the block size, or the vocabulary.`,
    );
  }
  const mlp = B * T * 4 * C * 4;
  if (mlp > binding) problems.push(`The MLP activations of one micro-batch (${bytesText(mlp)}) are more than this GPU can bind at once (${bytesText(binding)}): lower the batch size or the block size.`);
  const arena = paramCount(settings.model) * 4;
  if (arena > binding || arena > limits.maxBufferSize) {
    problems.push(`The model's ${paramCount(settings.model).toLocaleString('en-US')} parameters (${bytesText(arena)}) do not fit in one GPU buffer here (${bytesText(Math.min(binding, limits.maxBufferSize))}): make it narrower or shallower.`);
  }
  const estimate = estimateGpuBytes(settings);
  const budget = MEMORY_BUFFERS * limits.maxBufferSize;
  if (estimate > budget) problems.push(`Training would need about ${bytesText(estimate)} of GPU memory, likely more than this GPU has (its largest buffer is ${bytesText(limits.maxBufferSize)}): use a smaller model or batch size.`);
  return problems;
}
