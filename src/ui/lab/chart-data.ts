/**
 * The numbers beside the loss chart (rate, ETA, counts) and its smoothing, from the run's step and
 * eval points (the chart's own series are compare-data.ts's). Pure functions (no React, no DOM) so
 * they are tested in Node.
 */
import type { EvalPoint, StepPoint } from '../../train/protocol';

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
  const tokensPerSecond =
    recent.length > 0 ? recent.reduce((s, p) => s + p.tokensPerSecond, 0) / recent.length : undefined;
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
