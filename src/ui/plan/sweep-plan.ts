/**
 * An IsoFLOP sweep's grid, without React or a GPU: for each small budget C and each model size,
 * the steps that spend C = 6·N·D (N the model's exact total parameters, D = steps × tokens per
 * step), and the run settings that train that point. Every budget uses the same model sizes, so
 * each budget's runs form one IsoFLOP curve whose minimum the fit looks for.
 */
import type { GPTConfig } from '../../model/config';
import { paramCount } from '../../model/hf';
import { FLOPS_PER_PARAM_TOKEN } from '../../scaling/chinchilla';
import { formatFlops } from '../../scaling/format';
import type { RunSettings } from '../../train/protocol';

export interface SweepDefinition {
  id: string;
  createdAt: string;
  /** Compute budgets C = 6ND, FLOPs, ascending. */
  budgets: number[];
  /** Model widths (the grid of sizes); heads follow from the width. */
  widths: number[];
  nLayer: number;
  /** The Train form when the sweep was defined: vocabulary, block, batch, learning rate, dataset. */
  base: RunSettings;
}

export type SweepPointStatus = 'pending' | 'running' | 'done' | 'error';

export interface SweepPoint {
  budget: number;
  model: GPTConfig;
  /** Exact total parameters (what Chinchilla's N counts). */
  params: number;
  steps: number;
  status: SweepPointStatus;
  /** The lab's run for this point, once it started (resumed after a reload). */
  runId?: string;
  /** Final validation loss (RunSummary.lastValLoss). */
  valLoss?: number;
  message?: string;
}

export type SweepStatus = 'running' | 'paused' | 'cancelled' | 'done';

export interface SweepState {
  definition: SweepDefinition;
  points: SweepPoint[];
  status: SweepStatus;
}

export const MAX_BUDGETS = 3;
export const MIN_SIZES = 2;
export const MAX_SIZES = 5;
/** Channels per head in sweep models: small widths keep several heads. */
const SWEEP_HEAD_SIZE = 16;

/** The most heads of at least SWEEP_HEAD_SIZE channels that divide the width (1 for narrow ones). */
export function headsFor(width: number): number {
  for (let h = Math.max(1, Math.floor(width / SWEEP_HEAD_SIZE)); h > 1; h--)
    if (width % h === 0 && width / h <= 128) return h;
  return 1;
}

export function tokensPerStep(base: Pick<RunSettings, 'batchSize' | 'accumSteps' | 'model'>): number {
  return base.batchSize * base.accumSteps * base.model.blockSize;
}

/** Optimizer steps that spend `budget` = 6 · params · tokens (at least one). */
export function stepsForBudget(budget: number, params: number, perStep: number): number {
  return Math.max(1, Math.round(budget / (FLOPS_PER_PARAM_TOKEN * params * perStep)));
}

export function sweepModel(base: RunSettings, width: number, nLayer: number): GPTConfig {
  return {
    vocabSize: base.model.vocabSize,
    blockSize: base.model.blockSize,
    nLayer,
    nHead: headsFor(width),
    nEmbd: width,
  };
}

/** Every (budget, size) point, budget-major: the smallest budget's curve is finished first. */
export function sweepPoints(definition: Omit<SweepDefinition, 'id' | 'createdAt'>): SweepPoint[] {
  const perStep = tokensPerStep(definition.base);
  return definition.budgets.flatMap((budget) =>
    definition.widths.map((width) => {
      const model = sweepModel(definition.base, width, definition.nLayer);
      const params = paramCount(model);
      return { budget, model, params, steps: stepsForBudget(budget, params, perStep), status: 'pending' as const };
    }),
  );
}

/** What is wrong with a sweep definition, as sentences (empty when it can start). */
export function sweepProblems(definition: Pick<SweepDefinition, 'budgets' | 'widths' | 'nLayer'>): string[] {
  const problems: string[] = [];
  const { budgets, widths, nLayer } = definition;
  if (budgets.length < 1 || budgets.length > MAX_BUDGETS)
    problems.push(`Give 1 to ${MAX_BUDGETS} budgets (2 or more for the power law across budgets).`);
  if (budgets.some((b) => !(b > 0) || !Number.isFinite(b)))
    problems.push('Every budget must be a positive number of FLOPs (such as 2e9).');
  if (new Set(budgets).size !== budgets.length) problems.push('The budgets must differ.');
  if (widths.length < MIN_SIZES || widths.length > MAX_SIZES)
    problems.push(`Give ${MIN_SIZES} to ${MAX_SIZES} model widths (3 or more for a parabola per budget).`);
  if (widths.some((w) => !Number.isInteger(w) || w < 4))
    problems.push('Every width must be a whole number of at least 4.');
  if (new Set(widths).size !== widths.length) problems.push('The widths must differ.');
  if (!Number.isInteger(nLayer) || nLayer < 1)
    problems.push('The number of layers must be a whole number of at least 1.');
  return problems;
}

/** The run settings of one point: the base form with the point's model and steps. */
export function pointSettings(definition: SweepDefinition, point: SweepPoint): RunSettings {
  const { base } = definition;
  const steps = point.steps;
  const shortest = Math.min(...sweepPoints(definition).map((p) => p.steps));
  return {
    ...base,
    model: point.model,
    maxSteps: steps,
    // Warmup scaled to the run: a 10-step point cannot warm up for the form's 100 steps.
    lr: { ...base.lr, warmupSteps: Math.min(base.lr.warmupSteps, Math.floor(steps / 10)) },
    // Only the final validation loss counts; checkpoints let a point resume after a reload.
    evalEvery: steps,
    evalBatches: sweepEvalBatches(shortest * base.accumSteps),
    checkpointEvery: Math.max(1, Math.ceil(steps / 4)),
  };
}

/** The most batches a sweep point validates on (the sampler caps it by the validation split too). */
export const SWEEP_MAX_EVAL_BATCHES = 64;

/**
 * Batches every point of a sweep validates on: as many as its shortest point trains micro-batches
 * (a validation never costs more than the training it follows, validationBatches' rule), at most
 * 64. The same number for every point, so all read the same windows of the dataset and the fit
 * compares the models on the same tokens: their differences are paired, far less noisy than each
 * loss's standard error (scripts/measure-val-noise.ts).
 */
export function sweepEvalBatches(shortestMicroBatches: number): number {
  return Math.max(1, Math.min(SWEEP_MAX_EVAL_BATCHES, shortestMicroBatches));
}

/** The lab run's name for a point (unique within and across sweeps). */
export function pointName(definition: SweepDefinition, point: SweepPoint): string {
  return `sweep ${definition.id.slice(0, 6)} · ${formatFlops(point.budget)} FLOPs · ${point.model.nLayer}L ${point.model.nEmbd}w`;
}

/** Budgets and widths a device can sweep in minutes: tiny on software adapters, small on GPUs. */
export function defaultSweep(
  base: RunSettings,
  isSoftware: boolean,
): { budgets: number[]; widths: number[]; nLayer: number } {
  const widths = isSoftware ? [32, 48, 64] : [64, 128, 192, 256];
  const nLayer = isSoftware ? 2 : 4;
  const mid = paramCount(sweepModel(base, widths[1]!, nLayer));
  // The middle model trains for these many steps at each budget.
  const stepsAtMid = isSoftware ? [10, 20] : [200, 400, 800];
  const budgets = stepsAtMid.map((s) => roundTo2(FLOPS_PER_PARAM_TOKEN * mid * s * tokensPerStep(base)));
  return { budgets, widths, nLayer };
}

function roundTo2(x: number): number {
  return Number(x.toPrecision(2));
}

/** "2e9, 4e9" -> [2e9, 4e9]; undefined when an entry is not a positive number. */
export function parseNumberList(text: string): number[] | undefined {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  const values = parts.map(Number);
  return values.every((v) => Number.isFinite(v) && v > 0) ? values : undefined;
}
