/**
 * Several runs on one loss chart: each run's points on a shared x-axis (steps, tokens or training
 * FLOPs, the last making runs of different sizes comparable as on the IsoFLOP chart), its smoothed
 * loss, learning rate, the Chinchilla prediction for its N and D, and the same numbers as CSV, JSON
 * and a summary sentence. Pure functions (no React, no DOM) so they are tested in Node.
 */
import { paramCount, trainingFlopsPerToken } from '../../model/hf';
import { learningRate } from '../../optim/schedule';
import { chinchillaLoss, HOFFMANN_2022, type ChinchillaFit } from '../../scaling/chinchilla';
import type { EvalPoint, RunSettings, StepPoint } from '../../train/protocol';
import { smoothed } from './chart-data';
import { toCsv } from './csv';

export type XAxisKind = 'step' | 'tokens' | 'flops';

export const X_LABELS: Record<XAxisKind, string> = { step: 'step', tokens: 'tokens', flops: 'training FLOPs' };

/** A run as the chart needs it: its settings (model size, schedule) and its curve. */
export interface CompareRun {
  id: string;
  name: string;
  settings: RunSettings;
  steps: StepPoint[];
  evals: EvalPoint[];
}

/** One step of a run on the chart (a step with a train loss, a validation, or both). */
export interface CurvePoint {
  step: number;
  tokens: number;
  flops: number;
  /** The value on the chosen x-axis. */
  x: number;
  loss?: number;
  smoothed?: number;
  valLoss?: number;
  /** The learning rate the schedule gives this step's update. */
  lr: number;
}

/** The dashed level: the fit's loss for the run's N and D, or why none is drawn. */
export type Prediction = { loss: number } | { loss: null; why: string };

export interface CurveSeries {
  id: string;
  name: string;
  color: string;
  /** N: all parameters, as Chinchilla counts them. */
  params: number;
  flopsPerToken: number;
  points: CurvePoint[];
  prediction: Prediction;
}

/** Distinct on white and for the common colour-vision deficiencies; the first is the current run's. */
export const PALETTE = ['#2d7a4f', '#c0562b', '#3465a4', '#8e44ad', '#b8860b', '#16a085', '#c2185b', '#555555'];

/** Tokens one optimizer step trains on: B × accumulation × T. */
export function tokensPerStep(settings: RunSettings): number {
  return settings.batchSize * settings.accumSteps * settings.model.blockSize;
}

/** The lr of step `step` (1-based, as the curve counts): the update after iteration step - 1, as the trainer computes it. */
export function scheduleLr(settings: RunSettings, step: number): number {
  const { maxLr, minLr, warmupSteps } = settings.lr;
  return learningRate(step - 1, { maxLr, minLr, warmupSteps, totalSteps: settings.maxSteps });
}

/**
 * The fit's loss for the run's N (all parameters) and D (the tokens of all its steps). A loss at or
 * above ln(vocabulary) is worse than guessing uniformly: the fit says nothing there, so none is drawn.
 */
export function chinchillaPrediction(settings: RunSettings, fit: ChinchillaFit = HOFFMANN_2022): Prediction {
  const N = paramCount(settings.model);
  const D = settings.maxSteps * tokensPerStep(settings);
  const loss = chinchillaLoss(fit, N, D);
  const uniform = Math.log(settings.model.vocabSize);
  if (!Number.isFinite(loss)) return { loss: null, why: 'no prediction for this size' };
  if (loss >= uniform)
    return {
      loss: null,
      why: `the fit predicts ${loss.toFixed(2)}, above uniform guessing (ln ${settings.model.vocabSize} = ${uniform.toFixed(2)}): too small for it`,
    };
  return { loss };
}

/** Every step and validation of a run, in step order, with its x for `axis` and the loss smoothed by `smoothing` (0: none). */
export function curvePoints(run: CompareRun, axis: XAxisKind, smoothing: number): CurvePoint[] {
  const perToken = trainingFlopsPerToken(run.settings.model);
  const smooth = smoothed(
    run.steps.map((p) => (p.skipped ? NaN : p.loss)),
    smoothing,
  );
  const byStep = new Map<number, CurvePoint>();
  const at = (step: number, tokens: number): CurvePoint => {
    const old = byStep.get(step);
    if (old) return old;
    const flops = perToken * tokens;
    const point: CurvePoint = {
      step,
      tokens,
      flops,
      x: axis === 'step' ? step : axis === 'tokens' ? tokens : flops,
      lr: scheduleLr(run.settings, step),
    };
    byStep.set(step, point);
    return point;
  };
  run.steps.forEach((p, i) => {
    const point = at(p.step, p.tokens);
    if (!p.skipped) point.loss = p.loss;
    if (Number.isFinite(smooth[i])) point.smoothed = smooth[i];
  });
  // A validation normally lands on a step of the curve; one without (a curve cut short) gets the schedule's token count.
  for (const e of run.evals) at(e.step, e.step * tokensPerStep(run.settings)).valLoss = e.valLoss;
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/** The runs as chart series, coloured in order. */
export function compareSeries(
  runs: CompareRun[],
  axis: XAxisKind,
  smoothing: number,
  fit: ChinchillaFit = HOFFMANN_2022,
): CurveSeries[] {
  return runs.map((run, i) => ({
    id: run.id,
    name: run.name,
    color: PALETTE[i % PALETTE.length]!,
    params: paramCount(run.settings.model),
    flopsPerToken: trainingFlopsPerToken(run.settings.model),
    points: curvePoints(run, axis, smoothing),
    prediction: chinchillaPrediction(run.settings, fit),
  }));
}

/** At most about `max` points of a series to draw (every k-th, always the last, every validation). */
export function thinned(points: CurvePoint[], max = 600): CurvePoint[] {
  const stride = Math.max(1, Math.ceil(points.length / max));
  return points.filter((p, i) => i % stride === 0 || i === points.length - 1 || p.valLoss !== undefined);
}

export const CSV_COLUMNS = ['run', 'step', 'tokens', 'flops', 'loss', 'smoothed', 'val_loss', 'lr'] as const;

/** One row per run × point; empty cells where a step has no such value. */
export function curvesCsv(series: CurveSeries[]): string {
  const rows = series.flatMap((s) =>
    s.points.map((p) => [s.name, p.step, p.tokens, p.flops, p.loss, p.smoothed, p.valLoss, p.lr]),
  );
  return toCsv([[...CSV_COLUMNS], ...rows]);
}

/** The same numbers as JSON, with each run's size and prediction. */
export function curvesJson(
  series: CurveSeries[],
  axis: XAxisKind,
  smoothing: number,
  fit: ChinchillaFit = HOFFMANN_2022,
): string {
  const runs = series.map((s) => ({
    id: s.id,
    name: s.name,
    params: s.params,
    flops_per_token: s.flopsPerToken,
    chinchilla_loss: s.prediction.loss,
    points: s.points.map((p) => ({
      step: p.step,
      tokens: p.tokens,
      flops: p.flops,
      loss: p.loss ?? null,
      smoothed: p.smoothed ?? null,
      val_loss: p.valLoss ?? null,
      lr: p.lr,
    })),
  }));
  return JSON.stringify({ x_axis: axis, smoothing, chinchilla_fit: fit.label, runs }, null, 1) + '\n';
}

/** The latest train and validation loss of a series (what a reader of the chart looks for first). */
export function latest(series: CurveSeries): { step: number; loss?: number; valLoss?: number } | null {
  const backwards = [...series.points].reverse();
  const lastLoss = backwards.find((p) => p.loss !== undefined);
  const lastVal = backwards.find((p) => p.valLoss !== undefined);
  const step = series.points.at(-1)?.step;
  if (step === undefined) return null;
  return { step, loss: lastLoss?.loss, valLoss: lastVal?.valLoss };
}

/** The chart in one sentence per run, for screen readers (and anyone who wants the numbers). */
export function chartSummary(series: CurveSeries[], axis: XAxisKind): string {
  if (series.length === 0) return 'No runs shown.';
  const parts = series.map((s) => {
    const last = latest(s);
    if (!last) return `${s.name}: no steps yet.`;
    const loss = last.loss !== undefined ? `loss ${last.loss.toFixed(4)}` : 'no train loss';
    const val = last.valLoss !== undefined ? `validation loss ${last.valLoss.toFixed(4)}` : 'no validation yet';
    const predicted = s.prediction.loss !== null ? `, Chinchilla prediction ${s.prediction.loss.toFixed(3)}` : '';
    return `${s.name}: step ${last.step}, ${loss}, ${val}${predicted}.`;
  });
  return `Loss by ${X_LABELS[axis]} for ${series.length} run${series.length === 1 ? '' : 's'}. ${parts.join(' ')}`;
}

/**
 * Ticks for a log axis from `min` to `max` (both > 0): the powers of ten between them when the range
 * spans a decade or more (with 2× and 5× steps when that gives under three), else `count` evenly
 * spaced in log, to two significant digits.
 */
export function logTicks(min: number, max: number, count = 5): number[] {
  if (!(min > 0) || !(max >= min)) return [];
  if (max / min < 10) {
    const ratio = (max / min) ** (1 / Math.max(1, count - 1));
    return [...new Set(Array.from({ length: count }, (_, i) => Number((min * ratio ** i).toPrecision(2))))];
  }
  const decades = (mantissas: number[]) => {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
      for (const m of mantissas) {
        const tick = Number((m * 10 ** e).toPrecision(2));
        if (tick >= min && tick <= max) out.push(tick);
      }
    }
    return out;
  };
  const powers = decades([1]);
  return powers.length >= 3 ? powers : decades([1, 2, 5]);
}

/** One row of the chart's shared data: x, and for run i its loss `l{i}`, smoothed `s{i}`, validation `v{i}` and lr `r{i}` where it has a point at x. */
export type ChartRow = { x: number } & Record<string, number>;

/**
 * The series merged into one table by x (each thinned to about `max` points), so the chart's hover
 * finds every run's values at a point: runs share rows where their x coincide (same step), and
 * leave gaps elsewhere that the lines bridge.
 */
export function chartRows(series: CurveSeries[], max = 600): ChartRow[] {
  const rows = new Map<number, ChartRow>();
  series.forEach((s, i) => {
    for (const p of thinned(s.points, max)) {
      const row = rows.get(p.x) ?? { x: p.x };
      if (p.loss !== undefined) row[`l${i}`] = p.loss;
      if (p.smoothed !== undefined) row[`s${i}`] = p.smoothed;
      if (p.valLoss !== undefined) row[`v${i}`] = p.valLoss;
      row[`r${i}`] = p.lr;
      rows.set(p.x, row);
    }
  });
  return [...rows.values()].sort((a, b) => a.x - b.x);
}
