/**
 * Settings a first run starts from, and the checks the page runs before it starts one. Pure
 * functions with no GPU code, so the page can import them.
 */
import { splitRange } from '../data/sampler';
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
      // 80 fixed batches (20,480 tokens: the bundled corpus's ~22.4k-token validation tail less 7
      // batches) every 100 steps. Measured (scripts/measure-val-noise.ts, SwiftShader): SE 0.005-0.011
      // nats (this model after 30 steps; 1 layer × 32 after 100), the whole tail 0.004-0.009, the
      // cap; two runs' difference on the same windows 0.004. A batch costs 0.38 of a training step,
      // so validation is ~23% of the run (~16% longer than with 16 batches every 50 steps).
      evalEvery: 100,
      evalBatches: 80,
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
      // 32 batches of 16 × 256 tokens (131k tokens): SE about 0.005 nats where the data holds that
      // much validation text (not measured on a GPU here: the bundled corpus's per-window spread,
      // scaled to 256-token windows); the bundled corpus's tail caps it at a few batches. A forward
      // pass is about a third of a training micro-batch on a GPU: ~10% of the run.
      evalEvery: 100,
      evalBatches: 32,
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
    // 32 batches of 16 × 512 tokens (262k tokens): SE about 0.004 nats (estimated as above), ~2%
    // of the run (a third of a micro-batch each, 500 micro-batches between validations).
    evalEvery: 250,
    evalBatches: 32,
    checkpointEvery: 250,
  };
}

/**
 * Batches one validation reads: `evalBatches`, but never more micro-batches than the run trains
 * between two validations (evalEvery steps, or the whole run when that is shorter), so validating
 * costs at most about the training it follows (a validation batch measured 0.38 of a training
 * micro-batch on SwiftShader; about a third on a GPU) whatever the interval. The sampler caps it by the dataset's
 * validation set too (BatchSampler.evalBatchCap).
 */
export function validationBatches(
  settings: Pick<RunSettings, 'evalBatches' | 'evalEvery' | 'maxSteps' | 'accumSteps'>,
): number {
  const { evalBatches, evalEvery, maxSteps, accumSteps } = settings;
  if (!(evalBatches > 0)) return 0;
  return Math.min(evalBatches, Math.max(1, Math.min(evalEvery, maxSteps) * accumSteps));
}

/** The estimate's terms, in bytes: what each part of a run holds on the GPU. */
export interface GpuBytesTerms {
  /** Weights, gradients and Adam's two moments: four f32 arenas (plus the f16 weight copies in mixed precision). */
  state: number;
  /**
   * One micro-batch's activations: per layer and token, the values kept for backward and backward's
   * temporaries as the pool holds them (ACTIVATION_VALUES), attention's per-head statistics, and the
   * embeddings' 4C (f32).
   */
  activations: number;
  /** The logits and their gradient, B × T × V each: f32, or halves in mixed precision (cross-entropy computes in f32). */
  logits: number;
  total: number;
}

const F32_BYTES = 4;
const F16_BYTES = 2;

/**
 * Activation values per layer and token, in units of the width C, by storage type, as the pool
 * holds them at its peak. f32: 20C (measured 74-77 bytes per C on 64- and 128-wide models). Mixed:
 * the layernorm, qkv, attention, fc and GELU outputs are halves while the residual stream and the
 * gradients stay f32: 8C f32 + 10C f16 (measured 49-56 bytes per C on the same models, against 52).
 * Checked against the engine's allocation in tests/gpu-estimate.test.ts.
 */
const ACTIVATION_VALUES = {
  f32: { f32: 20, f16: 0 },
  mixed: { f32: 8, f16: 10 },
} as const;

/**
 * GPU bytes a run needs, by term; the activations follow the precision. Checked against the
 * engine's real allocation on a tiny model (tests/gpu-estimate.test.ts), so the formula follows
 * what the engine allocates.
 */
export function gpuBytesTerms(settings: Pick<RunSettings, 'model' | 'batchSize' | 'precision'>): GpuBytesTerms {
  const { vocabSize: V, blockSize: T, nLayer: L, nHead: NH, nEmbd: C } = settings.model;
  const tokens = settings.batchSize * T;
  const params = paramCount(settings.model);
  const mixed = settings.precision === 'mixed';
  const state = 4 * F32_BYTES * params + (mixed ? F16_BYTES * params : 0);
  const values = ACTIVATION_VALUES[mixed ? 'mixed' : 'f32'];
  const perLayer = (values.f32 * F32_BYTES + values.f16 * F16_BYTES) * C + 1.5 * NH * F32_BYTES;
  const activations = tokens * (L * perLayer + 4 * C * F32_BYTES);
  const logits = (mixed ? F16_BYTES : F32_BYTES) * tokens * 2 * V;
  return { state, activations, logits, total: state + activations + logits };
}

/** gpuBytesTerms' total: what the Train form shows and the memory check compares. */
export function estimateGpuBytes(settings: Pick<RunSettings, 'model' | 'batchSize' | 'precision'>): number {
  return gpuBytesTerms(settings).total;
}

function bytesText(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  return `${Math.max(1, Math.round(bytes / 2 ** 20))} MiB`;
}

/** The Train form field a problem belongs to; null when it is about the settings as a whole. */
export type SettingsField =
  | 'nLayer'
  | 'nHead'
  | 'nEmbd'
  | 'blockSize'
  | 'vocabSize'
  | 'batchSize'
  | 'accumSteps'
  | 'maxSteps'
  | 'maxLr'
  | 'minLr'
  | 'warmupSteps'
  | 'evalEvery'
  | 'evalBatches'
  | 'checkpointEvery'
  | 'weightDecay'
  | 'gradClip'
  | 'seed'
  | 'datasetId';

/** One thing wrong with the settings, in a user's words, and the field to fix (shown beside it). */
export interface SettingsProblem {
  field: SettingsField | null;
  message: string;
}

/** The model's numbers as the form names them (never the config's internal keys). */
const MODEL_WORDS: [SettingsField & keyof SuggestedSettings['model'], string][] = [
  ['nLayer', 'number of layers'],
  ['nHead', 'number of heads'],
  ['nEmbd', 'width'],
  ['blockSize', 'block size'],
  ['vocabSize', 'vocabulary'],
];

function wholeNumber(
  problems: SettingsProblem[],
  field: SettingsField,
  what: string,
  value: number,
  min: number,
): void {
  if (!Number.isInteger(value) || value < min)
    problems.push({ field, message: `The ${what} must be a whole number of at least ${min} (it is ${value}).` });
}

/** The head size the attention kernels support (width ÷ heads). */
const MAX_HEAD_SIZE = 128;

/**
 * What is wrong with these settings on a device with `limits` (limits unknown: only the settings'
 * own consistency is checked), each with the field to change. Empty when they are fine. These are
 * the checks every run must pass (the CLI and the worker run them too).
 */
export function settingsFieldProblems(settings: SuggestedSettings, limits?: BufferLimits): SettingsProblem[] {
  const problems: SettingsProblem[] = [];
  for (const [field, what] of MODEL_WORDS) wholeNumber(problems, field, what, settings.model[field], 1);
  const { vocabSize: V, blockSize: T, nHead: NH, nEmbd: C } = settings.model;
  if (problems.length === 0 && C % NH !== 0) {
    problems.push({
      field: 'nEmbd',
      message: `The width ${C} is not divisible by ${NH} heads: each head takes an equal share of the width, so use a multiple of ${NH}.`,
    });
  } else if (problems.length === 0 && C / NH > MAX_HEAD_SIZE) {
    problems.push({
      field: 'nHead',
      message: `Each head would be ${C / NH} wide (width ÷ heads), above the supported ${MAX_HEAD_SIZE}: use at least ${Math.ceil(C / MAX_HEAD_SIZE)} heads, or a narrower width.`,
    });
  }
  wholeNumber(problems, 'batchSize', 'batch size', settings.batchSize, 1);
  wholeNumber(problems, 'accumSteps', 'number of accumulation steps', settings.accumSteps, 1);
  wholeNumber(problems, 'maxSteps', 'number of steps', settings.maxSteps, 1);
  wholeNumber(problems, 'evalEvery', 'evaluation interval', settings.evalEvery, 1);
  wholeNumber(problems, 'evalBatches', 'number of evaluation batches', settings.evalBatches, 0);
  wholeNumber(problems, 'checkpointEvery', 'checkpoint interval', settings.checkpointEvery, 1);
  wholeNumber(problems, 'warmupSteps', 'number of warmup steps', settings.lr.warmupSteps, 0);
  if (!Number.isInteger(settings.seed))
    problems.push({ field: 'seed', message: `The seed must be a whole number (it is ${settings.seed}).` });
  const { maxLr, minLr } = settings.lr;
  if (!(maxLr > 0 && Number.isFinite(maxLr)))
    problems.push({
      field: 'maxLr',
      message: `The learning rate must be above 0 (it is ${maxLr}); 1e-3 is a good start for small models.`,
    });
  else if (!(minLr >= 0 && minLr <= maxLr))
    problems.push({
      field: 'minLr',
      message: `The final learning rate must be between 0 and the peak learning rate ${maxLr} (it is ${minLr}).`,
    });
  if (!(settings.weightDecay >= 0))
    problems.push({
      field: 'weightDecay',
      message: `The weight decay must be 0 or more (it is ${settings.weightDecay}).`,
    });
  if (!(settings.gradClip >= 0))
    problems.push({
      field: 'gradClip',
      message: `The gradient clip must be 0 (off) or more (it is ${settings.gradClip}).`,
    });
  if (problems.length > 0) return problems;

  const B = settings.batchSize;
  if (B * NH > MAX_GRID)
    problems.push({
      field: 'batchSize',
      message: `Batch size ${B} × ${NH} heads is over the GPU's limit of ${MAX_GRID}: lower the batch size and raise the accumulation steps.`,
    });
  if (!limits) return problems;
  const binding = limits.maxStorageBufferBindingSize;
  const logitBytes = settings.precision === 'mixed' ? F16_BYTES : F32_BYTES;
  const logits = B * T * V * logitBytes;
  if (logits > binding) {
    problems.push({
      field: 'batchSize',
      message: `One micro-batch's logits (${B} × ${T} tokens × ${V} vocabulary × ${logitBytes} bytes = ${bytesText(logits)}) are more than this GPU can bind at once (${bytesText(binding)}): lower the batch size (raise the accumulation steps to keep the tokens per step), the block size, or the vocabulary.`,
    });
  }
  const mlp = B * T * 4 * C * 4;
  if (mlp > binding)
    problems.push({
      field: 'batchSize',
      message: `The MLP activations of one micro-batch (${bytesText(mlp)}) are more than this GPU can bind at once (${bytesText(binding)}): lower the batch size or the block size.`,
    });
  const arena = paramCount(settings.model) * 4;
  if (arena > binding || arena > limits.maxBufferSize) {
    problems.push({
      field: 'nEmbd',
      message: `The model's ${paramCount(settings.model).toLocaleString('en-US')} parameters (${bytesText(arena)}) do not fit in one GPU buffer here (${bytesText(Math.min(binding, limits.maxBufferSize))}): make it narrower or shallower.`,
    });
  }
  const estimate = estimateGpuBytes(settings);
  const budget = MEMORY_BUFFERS * limits.maxBufferSize;
  if (estimate > budget) {
    problems.push({
      field: 'batchSize',
      message: `Training would need about ${bytesText(estimate)} of GPU memory, likely more than this GPU has (its largest buffer is ${bytesText(limits.maxBufferSize)}): use a smaller model or batch size.`,
    });
  }
  return problems;
}

/** settingsFieldProblems as sentences (for the CLI, the worker and error messages). */
export function settingsProblems(settings: SuggestedSettings, limits?: BufferLimits): string[] {
  return settingsFieldProblems(settings, limits).map((p) => p.message);
}

/** What the form knows of the dataset a run would read, before Train: its shards and validation share. */
export interface WindowSource {
  name: string;
  valFraction: number;
  shards: readonly { tokens: number }[];
}

/** The longest piece of `split` in one shard: a training window (block + 1 tokens) never crosses a shard or the split. */
export function longestPiece(data: WindowSource, split: 'train' | 'val'): number {
  let longest = 0;
  for (const shard of data.shards) {
    const [start, end] = splitRange(shard.tokens, data.valFraction, split);
    longest = Math.max(longest, end - start);
  }
  return longest;
}

/**
 * The Train form's checks: every run's (settingsFieldProblems) plus the ones that would waste a
 * run rather than fail it, said before Train: a warmup as long as the run (the learning rate never
 * reaches its peak nor decays), and a block size longer than the chosen dataset's windows (the
 * sampler would refuse it only after the model is built). `data` is null when the dataset is not
 * known yet (the bundled corpus before its first tokenization).
 */
export function formProblems(
  settings: SuggestedSettings,
  limits?: BufferLimits,
  data?: WindowSource | null,
): SettingsProblem[] {
  const problems = settingsFieldProblems(settings, limits);
  const { warmupSteps } = settings.lr;
  const steps = settings.maxSteps;
  if (Number.isInteger(steps) && steps >= 1 && Number.isInteger(warmupSteps) && warmupSteps >= steps) {
    problems.push({
      field: 'warmupSteps',
      message: `Warmup (${warmupSteps} steps) must be shorter than the run (${steps} steps), or the learning rate never reaches its peak nor decays: about a tenth of the steps (${Math.max(1, Math.round(steps / 10))}) is usual.`,
    });
  }
  const T = settings.model.blockSize;
  if (data && data.shards.length > 0 && Number.isInteger(T) && T >= 1) {
    const train = longestPiece(data, 'train');
    const val = longestPiece(data, 'val');
    // A window is block size + 1 tokens (inputs and the next token of each), within one piece.
    if (train <= T) {
      problems.push({
        field: 'blockSize',
        message: `The block size ${T} is longer than the training text of ${data.name} allows: its longest piece holds ${train} tokens and a window needs ${T + 1}. Use a block size of at most ${Math.max(1, train - 1)}, or more data.`,
      });
    } else if (settings.evalBatches > 0 && val <= T) {
      problems.push({
        field: 'blockSize',
        message: `The block size ${T} is longer than the validation part of ${data.name} allows: its longest piece holds ${val} tokens and a window needs ${T + 1}. Use a block size of at most ${Math.max(1, val - 1)}, or tokenize it again with a larger validation share.`,
      });
    }
  }
  return problems;
}
