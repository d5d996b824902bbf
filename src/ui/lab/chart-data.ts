/**
 * The loss chart's rows and the numbers beside it, from the run's step and eval points. Pure
 * functions (no React, no DOM) so they are tested in Node.
 */
import type { EvalPoint, StepPoint } from '../../train/protocol';

export interface LossRow {
  step: number;
  /** Train loss of this step (absent on a row that only carries a validation point). */
  loss?: number;
  /** Exponential moving average of the train loss, debiased so the first steps are not pulled to 0. */
  smooth?: number;
  val?: number;
}

/** TensorBoard-style smoothing weight: each point keeps this much of the running average. */
export const SMOOTHING = 0.9;

/** The EMA of `values` with bias correction: smooth[0] === values[0]. Non-finite values are skipped. */
export function smoothed(values: number[], weight = SMOOTHING): number[] {
  const out: number[] = [];
  let average = 0;
  let count = 0;
  for (const value of values) {
    if (Number.isFinite(value)) {
      average = weight * average + (1 - weight) * value;
      count++;
    }
    out.push(count === 0 ? NaN : average / (1 - weight ** count));
  }
  return out;
}

/**
 * Rows for recharts: every step while there are few, else every k-th step (and always the last),
 * so a long run draws quickly; every validation point keeps a row of its own step.
 */
export function lossChartRows(steps: StepPoint[], evals: EvalPoint[], maxRows = 800): LossRow[] {
  const smooth = smoothed(steps.map((p) => (p.skipped ? NaN : p.loss)));
  const stride = Math.max(1, Math.ceil(steps.length / maxRows));
  const rows = new Map<number, LossRow>();
  steps.forEach((p, i) => {
    if (i % stride !== 0 && i !== steps.length - 1) return;
    rows.set(p.step, { step: p.step, ...(p.skipped ? {} : { loss: p.loss }), smooth: smooth[i] });
  });
  for (const e of evals) rows.set(e.step, { ...(rows.get(e.step) ?? { step: e.step }), val: e.valLoss });
  return [...rows.values()].sort((a, b) => a.step - b.step);
}

export interface RunNumbers {
  step: number;
  maxSteps: number;
  loss?: number;
  valLoss?: number;
  /** Mean over the recent steps (one step's rate jumps around). */
  tokensPerSecond?: number;
  tflops?: number;
  elapsedSeconds: number;
  /** Seconds left at the recent rate. */
  etaSeconds?: number;
}

const RECENT = 10;

export function runNumbers(steps: StepPoint[], evals: EvalPoint[], maxSteps: number): RunNumbers {
  const last = steps.at(-1);
  const recent = steps.slice(-RECENT);
  const recentTime = recent.reduce((sum, p, i) => {
    const before = i > 0 ? recent[i - 1]! : steps[steps.length - recent.length - 1];
    return sum + (before ? p.elapsedSeconds - before.elapsedSeconds : p.elapsedSeconds);
  }, 0);
  const stepSeconds = recent.length > 0 ? recentTime / recent.length : undefined;
  const tokensPerSecond = recent.length > 0 ? recent.reduce((s, p) => s + p.tokensPerSecond, 0) / recent.length : undefined;
  const tflops = recent.length > 0 ? recent.reduce((s, p) => s + p.tflops, 0) / recent.length : undefined;
  const step = last?.step ?? 0;
  return {
    step,
    maxSteps,
    loss: last?.loss,
    valLoss: evals.at(-1)?.valLoss,
    tokensPerSecond,
    tflops,
    elapsedSeconds: last?.elapsedSeconds ?? 0,
    etaSeconds: stepSeconds !== undefined ? Math.max(0, maxSteps - step) * stepSeconds : undefined,
  };
}

/** 75 s -> "1m 15s"; 7384 s -> "2h 3m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** 1234567 -> "1.23M"; 5400 -> "5.4K". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (Math.abs(n) >= 1e9) return `${(n / 1e9).toPrecision(3)}B`;
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (Math.abs(n) >= 1e3) return `${(n / 1e3).toPrecision(3)}K`;
  return `${Math.round(n)}`;
}
