/**
 * `train`'s flags turned into RunSettings: numbers checked by the shared parser (each bad one is a
 * line that names the flag), a plan printed by `plan` as the model and token budget, device defaults for the
 * rest. No GPU and no files written here.
 */
import { readFile } from 'node:fs/promises';
import { DataError } from '../data/types';
import type { GpuContext } from '../gpu/context';
import type { GPTConfig } from '../model/config';
import { type BufferLimits, suggestSettings } from '../train/defaults';
import { chooseMicroBatch, type MicroBatchSetting, microBatchNote, withMicroBatch } from '../train/micro-batch';
import { defaultPrecision, PRECISIONS } from '../train/loss-scale';
import type { Precision, RunSettings } from '../train/protocol';
import { parseFlags } from './args';

export const TRAIN_USAGE = `usage: train --data <dir from prepare> --out <run dir> [--layers N --heads N --width N --block N
             --batch N [--micro-batch auto|N | --accum N] --steps N | --tokens N --lr X --min-lr X --warmup N --weight-decay X
             --grad-clip X --eval-every N --eval-batches N --checkpoint-every N --seed N --precision f32|mixed]
             [--plan <JSON printed by plan, or a file holding it>] [--init <Hugging Face folder>] [--print-every N]
       train --resume <run dir> [--data <dir>] [--steps N]`;

const WHOLE = { type: 'int', min: 1 } as const;
const WHOLE0 = { type: 'int', min: 0 } as const;
const NONNEG = { type: 'number', min: 0 } as const;

/** Flags that set a run's settings (fixed once it started: --resume takes only --steps). */
const SETTING_FLAGS = {
  layers: WHOLE,
  heads: WHOLE,
  width: WHOLE,
  block: WHOLE,
  batch: WHOLE,
  accum: WHOLE,
  steps: WHOLE,
  tokens: { type: 'number', min: 1, want: 'a number of at least 1 (e.g. 1.1e9)' },
  lr: { type: 'number', above: 0, want: 'a number above 0 (e.g. 6e-4)' },
  'min-lr': NONNEG,
  warmup: WHOLE0,
  'weight-decay': NONNEG,
  'grad-clip': NONNEG,
  'eval-every': WHOLE,
  'eval-batches': WHOLE0,
  'checkpoint-every': WHOLE,
  seed: { type: 'int', min: 0, max: 2 ** 32 - 1, want: 'a whole number from 0 to 2^32-1' },
} as const;
type SettingFlag = keyof typeof SETTING_FLAGS;

export const TRAIN_FLAGS = {
  ...SETTING_FLAGS,
  data: { type: 'string' },
  out: { type: 'string' },
  resume: { type: 'string' },
  plan: { type: 'string' },
  init: { type: 'string' },
  'micro-batch': { type: 'string' },
  'print-every': WHOLE,
  precision: { type: 'enum', values: PRECISIONS },
} as const;

export interface TrainArgs {
  data?: string;
  out?: string;
  resume?: string;
  plan?: string;
  init?: string;
  printEvery?: number;
  /**
   * --micro-batch: --batch is then the sequences per optimizer step, split into micro-batches of
   * this size ('auto': the largest that fits the device). Absent with --accum, where --batch is the
   * micro-batch itself (the older spelling, kept).
   */
  microBatch?: MicroBatchSetting;
  /** --precision: the adapter's default unless asked (see loss-scale.ts). */
  precision?: Precision;
  numbers: Partial<Record<SettingFlag, number>>;
}

/** --micro-batch's value: auto or a whole number of at least 1. */
function parseMicroBatch(text: string | undefined): MicroBatchSetting {
  if (text === undefined || text.trim() === 'auto') return 'auto';
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value < 1)
    throw usage(`--micro-batch must be auto or a whole number of at least 1, got "${text}"`);
  return value;
}

function usage(message: string): DataError {
  return new DataError('config', message);
}

export function parseTrainArgs(args: string[]): TrainArgs {
  const { values } = parseFlags(args, TRAIN_FLAGS, { command: 'train' });
  const numbers: TrainArgs['numbers'] = {};
  for (const flag of Object.keys(SETTING_FLAGS) as SettingFlag[])
    if (values[flag] !== undefined) numbers[flag] = values[flag];
  const printEvery = values['print-every'];
  if (values.resume !== undefined) {
    const fixed = [
      ...Object.keys(numbers).filter((k) => k !== 'steps'),
      ...(values['micro-batch'] !== undefined ? ['micro-batch'] : []),
      ...(values.precision !== undefined ? ['precision'] : []),
    ];
    if (values.out || values.plan || values.init || fixed.length > 0) {
      const given = [
        ...(values.out ? ['out'] : []),
        ...(values.plan ? ['plan'] : []),
        ...(values.init ? ['init'] : []),
        ...fixed,
      ];
      throw usage(
        `--resume continues a run with its own settings: drop --${given.join(', --')} (only --steps N extends it, --data names where its tokens are)`,
      );
    }
    return { resume: values.resume, data: values.data, printEvery, numbers };
  }
  if (!values.data || !values.out) throw usage(`train needs --data and --out (or --resume)\n${TRAIN_USAGE}`);
  if (numbers.steps !== undefined && numbers.tokens !== undefined) throw usage('give --steps or --tokens, not both');
  const shape = (['layers', 'heads', 'width', 'block'] as const).filter((k) => numbers[k] !== undefined);
  if (values.init && shape.length > 0)
    throw usage(`--init takes the model's shape from its config.json: drop --${shape.join(', --')}`);
  if (numbers.accum !== undefined && values['micro-batch'] !== undefined) {
    throw usage(
      'give --micro-batch (with --batch as the sequences per step) or --accum (with --batch as the micro-batch), not both',
    );
  }
  const microBatch = numbers.accum !== undefined ? undefined : parseMicroBatch(values['micro-batch']);
  return {
    data: values.data,
    out: values.out,
    plan: values.plan,
    init: values.init,
    printEvery,
    numbers,
    ...(microBatch !== undefined ? { microBatch } : {}),
    ...(values.precision !== undefined ? { precision: values.precision } : {}),
  };
}

export interface PlanInput {
  model: Omit<GPTConfig, 'vocabSize'> & { vocabSize?: number };
  tokens?: number;
}

/** The JSON `plan` prints (its last line), given inline or as a file. */
export async function readPlan(text: string): Promise<PlanInput> {
  let source = text.trim();
  if (!source.startsWith('{')) {
    const file = await readFile(text, 'utf8').catch(() => undefined);
    if (file === undefined) throw usage(`--plan ${text} is neither plan's JSON nor a file holding it`);
    // A saved `plan` output: its JSON is the last non-empty line.
    source = file.trim().split('\n').at(-1)!.trim();
  }
  let json: unknown;
  try {
    json = JSON.parse(source);
  } catch {
    throw usage('--plan is not valid JSON: pass the last line `plan --flops C` prints (or a file holding it)');
  }
  const model = (json as { model?: Record<string, unknown> }).model;
  const dims = ['blockSize', 'nLayer', 'nHead', 'nEmbd'] as const;
  if (
    typeof model !== 'object' ||
    model === null ||
    !dims.every((k) => Number.isSafeInteger(model[k]) && (model[k] as number) > 0)
  ) {
    throw usage('--plan has no model {nLayer, nHead, nEmbd, blockSize}: pass the JSON `plan --flops C` prints');
  }
  const tokens = (json as { tokens?: unknown }).tokens;
  if (tokens !== undefined && !(typeof tokens === 'number' && tokens >= 1))
    throw usage('--plan tokens must be a number of at least 1');
  return {
    model: {
      blockSize: model.blockSize as number,
      nLayer: model.nLayer as number,
      nHead: model.nHead as number,
      nEmbd: model.nEmbd as number,
      ...(typeof model.vocabSize === 'number' ? { vocabSize: model.vocabSize } : {}),
    },
    ...(tokens !== undefined ? { tokens } : {}),
  };
}

/**
 * The run's settings: explicit flags over the plan over this device's defaults. The vocabulary is
 * always the tokenizer's; steps come from --tokens (or the plan's tokens) when --steps is not given.
 */
export function buildSettings(
  args: TrainArgs,
  options: {
    isSoftware: boolean;
    vocabSize: number;
    datasetId: string;
    plan?: PlanInput;
    initModel?: GPTConfig;
    limits?: BufferLimits;
    /** The adapter, whose features set the default precision. */
    adapter?: Pick<GpuContext, 'features'>;
  },
): RunSettings {
  // Asked for, or the adapter's default when that is not f32 (absent reads as f32).
  const precision = args.precision ?? (options.adapter ? defaultPrecision(options.adapter.features) : 'f32');
  const n = args.numbers;
  const base = suggestSettings({ isSoftware: options.isSoftware, probeGflops: options.isSoftware ? 0 : Infinity });
  const fromPlan = options.plan?.model;
  const model: GPTConfig = options.initModel ?? {
    vocabSize: options.vocabSize,
    blockSize: n.block ?? fromPlan?.blockSize ?? base.model.blockSize,
    nLayer: n.layers ?? fromPlan?.nLayer ?? base.model.nLayer,
    nHead: n.heads ?? fromPlan?.nHead ?? base.model.nHead,
    nEmbd: n.width ?? fromPlan?.nEmbd ?? base.model.nEmbd,
  };
  // --accum: --batch is the micro-batch; else --batch is the whole step's, split below.
  const batchSize =
    args.microBatch === undefined ? (n.batch ?? base.batchSize) : (n.batch ?? base.batchSize * base.accumSteps);
  const accumSteps = args.microBatch === undefined ? (n.accum ?? base.accumSteps) : 1;
  const tokens = n.tokens ?? options.plan?.tokens;
  const maxSteps =
    n.steps ??
    (tokens !== undefined
      ? Math.max(1, Math.ceil(tokens / (batchSize * accumSteps * model.blockSize)))
      : base.maxSteps);
  const maxLr = n.lr ?? base.lr.maxLr;
  const settings: RunSettings = {
    model,
    batchSize,
    accumSteps,
    maxSteps,
    lr: {
      maxLr,
      minLr: n['min-lr'] ?? (n.lr !== undefined ? maxLr / 10 : base.lr.minLr),
      warmupSteps: n.warmup ?? Math.min(base.lr.warmupSteps, Math.floor(maxSteps / 10)),
    },
    weightDecay: n['weight-decay'] ?? base.weightDecay,
    gradClip: n['grad-clip'] ?? base.gradClip,
    evalEvery: n['eval-every'] ?? Math.min(base.evalEvery, maxSteps),
    evalBatches: n['eval-batches'] ?? base.evalBatches,
    checkpointEvery: n['checkpoint-every'] ?? Math.min(base.checkpointEvery, maxSteps),
    seed: n.seed ?? base.seed,
    datasetId: options.datasetId,
    ...(args.precision !== undefined || precision !== 'f32' ? { precision } : {}),
  };
  if (args.microBatch === undefined) return settings;
  const choice = chooseMicroBatch(settings, batchSize, args.microBatch, options.limits);
  if (!choice.ok) throw usage(choice.problem.message);
  return withMicroBatch(settings, choice);
}

/** The line `train` prints about its micro-batch ("micro-batch 4 × 4 accumulation steps: ..."). */
export function microBatchLine(settings: Pick<RunSettings, 'batchSize' | 'accumSteps' | 'autoMicroBatch'>): string {
  const { batchSize: microBatch, accumSteps } = settings;
  return microBatchNote({
    ok: true,
    batch: microBatch * accumSteps,
    microBatch,
    accumSteps,
    auto: settings.autoMicroBatch === true,
  });
}
