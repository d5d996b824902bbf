/**
 * What a run costs before it starts: its wall-clock time on this device (steps × tokens per step ×
 * FLOPs per token ÷ the device's training FLOP/s, as the Plan tab does), how many passes over its
 * dataset it makes, and the sentences the lab says about a plan that does not fit the tokenizer.
 */
import type { GPTConfig } from '../../model/config';
import { trainingFlopsPerToken } from '../../model/hf';
import { formatCount, formatDuration } from '../../scaling/format';
import type { DatasetManifest } from '../../data/types';
import type { BufferLimits, SuggestedSettings } from '../../train/defaults';
import { chooseMicroBatch, type MicroBatchSetting, microBatchNote } from '../../train/micro-batch';
import type { DeviceReport, RunSettings } from '../../train/protocol';
import { isBundledDataset } from '../data/source-form';

/** A measured training speed (the Plan tab's probe): tokens/s of `model` at `batchSize`. */
export interface MeasuredSpeed {
  model: GPTConfig;
  batchSize: number;
  tokensPerSecond: number;
  flopsPerSecond: number;
}

/**
 * Training reaches roughly this fraction of the device check's matmul GFLOP/s. Measured: on
 * SwiftShader the default 2-layer, 64-wide model trains at 1.1× it and a 32-wide one at 0.3× (fixed
 * costs per step dominate tiny models); on an H200 the seed model at ~0.7× its matmul speed.
 */
export const PROBE_EFFICIENCY = 0.5;

/** Past this, Train asks before starting. */
export const CONFIRM_SECONDS = 3 * 3600;

export interface RunEstimate {
  seconds: number;
  /** Where the speed comes from, in words ("measured on this model in the Plan tab", ...). */
  basis: string;
  /** "software adapter" or the adapter's name. */
  device: string;
}

type CostSettings = Pick<RunSettings, 'model' | 'batchSize' | 'accumSteps' | 'maxSteps'>;

export function runTokens(settings: CostSettings): number {
  return settings.batchSize * settings.accumSteps * settings.model.blockSize * settings.maxSteps;
}

function sameModel(a: GPTConfig, b: GPTConfig): boolean {
  return (
    a.nLayer === b.nLayer &&
    a.nHead === b.nHead &&
    a.nEmbd === b.nEmbd &&
    a.blockSize === b.blockSize &&
    a.vocabSize === b.vocabSize
  );
}

export function deviceName(report: DeviceReport | null | undefined): string {
  if (!report?.ok) return 'this device';
  return report.isSoftware ? 'software adapter' : (report.adapter ?? 'GPU');
}

/**
 * The run's time on this device: from the Plan tab's measurement when there is one (exact when it
 * was of this very model and batch), else from the device check's matmul speed; null without either.
 */
export function runEstimate(
  settings: CostSettings,
  device: DeviceReport | null | undefined,
  measured: MeasuredSpeed | null | undefined,
): RunEstimate | null {
  const tokens = runTokens(settings);
  if (!(tokens > 0) || !Number.isFinite(tokens)) return null;
  const name = deviceName(device);
  if (
    measured &&
    sameModel(measured.model, settings.model) &&
    measured.batchSize === settings.batchSize &&
    measured.tokensPerSecond > 0
  ) {
    return {
      seconds: tokens / measured.tokensPerSecond,
      basis: 'measured on this model in the Plan tab',
      device: name,
    };
  }
  const flopsPerToken = trainingFlopsPerToken(settings.model, settings.model.blockSize);
  if (measured && measured.flopsPerSecond > 0) {
    const m = measured.model;
    return {
      seconds: (tokens * flopsPerToken) / measured.flopsPerSecond,
      basis: `from the Plan tab's measured speed (${m.nLayer}-layer, ${m.nEmbd}-wide model)`,
      device: name,
    };
  }
  if (device?.probeGflops && device.probeGflops > 0) {
    return {
      seconds: (tokens * flopsPerToken) / (device.probeGflops * 1e9 * PROBE_EFFICIENCY),
      basis: "rough: from the device check's matmul speed; the Plan tab measures a better one",
      device: name,
    };
  }
  return null;
}

/** formatDuration, and whole days or years past a few weeks ("4,200 days" reads worse than "11 years"). */
export function formatRunTime(seconds: number): string {
  const days = seconds / 86400;
  if (!(days >= 30)) return formatDuration(seconds);
  if (days < 730) return `${Math.round(days)} days`;
  const years = days / 365.25;
  return years < 1000 ? `${Math.round(years)} years` : `${formatCount(years)} years`;
}

/** "This run would take about 2.1 days on this device (software adapter). Train anyway?" */
export function confirmMessage(estimate: RunEstimate): string {
  return `This run would take about ${formatRunTime(estimate.seconds)} on this device (${estimate.device}). Train anyway?`;
}

/** 130_000 ms -> "2 min 10 s"; 45_000 -> "45 s"; 3_900_000 -> "1 h 5 min". */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Passes over a dataset, said when a run (or a token limit) asks for more tokens than it holds. */
export function passesNote(tokens: number, dataset: { name: string; tokens: number } | null): string | null {
  if (!dataset || !(dataset.tokens > 0) || tokens <= dataset.tokens) return null;
  const passes = tokens / dataset.tokens;
  const rounded =
    passes >= 100 ? Math.round(passes / 100) * 100 : passes >= 10 ? Math.round(passes) : Math.round(passes * 10) / 10;
  return `${formatCount(tokens)} tokens asked; ${dataset.name} has ${formatCount(dataset.tokens)}: ~${rounded.toLocaleString('en-US')} passes`;
}

/** The plan's vocabulary against the tokenizer's: the model keeps the tokenizer's, and says so. */
export function vocabNote(planVocab: number, tokenizerVocab: number | null): string | null {
  if (tokenizerVocab === planVocab) return null;
  const wanted = planVocab.toLocaleString('en-US');
  if (tokenizerVocab === null)
    return `The plan assumes ${wanted} tokens; there is no tokenizer yet: train a ${wanted}-token tokenizer in Data (Train would otherwise make a small one from the bundled corpus).`;
  return `The plan assumes ${wanted} tokens; your tokenizer has ${tokenizerVocab.toLocaleString('en-US')}: train a ${wanted}-token tokenizer in Data.`;
}

/** The bundled corpus's size before it is tokenized (326,808 tokens with a 16,384-token BPE). */
const BUNDLED_TOKENS_ABOUT = 330_000;

/** The dataset a run of the form would train on, as far as the page knows before Train (null: unknown yet). */
export function chosenDataset(
  datasetId: string,
  usable: DatasetManifest[],
  all: DatasetManifest[],
): { name: string; tokens: number } | null {
  if (datasetId) return all.find((d) => d.id === datasetId) ?? null;
  return usable.find((d) => isBundledDataset(d.id)) ?? { name: 'the bundled corpus', tokens: BUNDLED_TOKENS_ABOUT };
}

/** The stored dataset a run of the form would read, when it exists yet (its shards decide which block sizes fit). */
export function chosenManifest(
  datasetId: string,
  usable: DatasetManifest[],
  all: DatasetManifest[],
): DatasetManifest | null {
  if (datasetId) return all.find((d) => d.id === datasetId) ?? null;
  return usable.find((d) => isBundledDataset(d.id)) ?? null;
}

type BatchFields = Pick<RunSettings, 'batchSize' | 'accumSteps' | 'autoMicroBatch'>;

/** The form's batch (sequences per optimizer step) and micro-batch setting, read from its concrete numbers (no flag: auto). */
export function formBatch(form: BatchFields): { batch: number; micro: MicroBatchSetting } {
  return { batch: form.batchSize * form.accumSteps, micro: form.autoMicroBatch === false ? form.batchSize : 'auto' };
}

/**
 * What the Train form stores for `batch` sequences per step split by `micro` on a device with
 * `limits`: the chosen micro-batch and accumulation steps, and the sentence said under the field.
 * When nothing fits (or the numbers are not valid) the batch is kept whole, so the form's checks
 * say what is wrong beside the field.
 */
export function batchPatch(
  settings: SuggestedSettings,
  batch: number,
  micro: MicroBatchSetting,
  limits?: BufferLimits,
): { patch: BatchFields; note: string; ok: boolean } {
  const choice = chooseMicroBatch(settings, batch, micro, limits);
  const note = microBatchNote(choice);
  if (!choice.ok)
    return { patch: { batchSize: batch, accumSteps: 1, autoMicroBatch: micro === 'auto' }, note, ok: false };
  return {
    patch: { batchSize: choice.microBatch, accumSteps: choice.accumSteps, autoMicroBatch: choice.auto },
    note,
    ok: true,
  };
}

/** The micro-batches the form offers for a batch: its divisors, largest first (none while the batch is not valid). */
export function microBatchOptions(batch: number): number[] {
  if (!Number.isSafeInteger(batch) || batch < 1 || batch > 4096) return [];
  const out: number[] = [];
  for (let d = batch; d >= 1; d--) if (batch % d === 0) out.push(d);
  return out;
}
