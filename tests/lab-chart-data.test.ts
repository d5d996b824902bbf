/** The loss chart's smoothing and the numbers beside it (pure functions behind the Train section). */
import { describe, expect, it } from 'vitest';
import type { StepPoint } from '../src/train/protocol';
import { formatCount, formatDuration, runNumbers, smoothed } from '../src/ui/lab/chart-data';

function point(step: number, loss: number, extra: Partial<StepPoint> = {}): StepPoint {
  return {
    step,
    loss,
    lr: 1e-3,
    gradNorm: 1,
    tokens: step * 100,
    elapsedSeconds: step * 2,
    tokensPerSecond: 50,
    tflops: 0.5,
    ...extra,
  };
}

describe('loss chart data', () => {
  it('smooths with a debiased moving average (hand-computed values)', () => {
    // Weight 0.5 on 2, 4, 4: running averages 1, 2.5, 3.25, divided by 1 - 0.5^n = 0.5, 0.75, 0.875.
    const out = smoothed([2, 4, 4], 0.5);
    expect(out[0]).toBeCloseTo(2, 12);
    expect(out[1]).toBeCloseTo(2.5 / 0.75, 12);
    expect(out[2]).toBeCloseTo(3.25 / 0.875, 12);
    expect(smoothed([NaN, 3], 0.9)).toEqual([NaN, 3]);
  });

  it('reports the recent rate and an ETA from it', () => {
    const steps = Array.from({ length: 20 }, (_, i) =>
      point(i + 1, 4, { elapsedSeconds: (i + 1) * 0.5, tokensPerSecond: 200 + i }),
    );
    const n = runNumbers(steps, [{ step: 20, valLoss: 4.1 }], 100);
    expect(n).toMatchObject({ step: 20, maxSteps: 100, loss: 4, valLoss: 4.1, elapsedSeconds: 10 });
    expect(n.etaSeconds).toBeCloseTo(80 * 0.5, 9);
    expect(n.tokensPerSecond).toBeCloseTo(200 + 14.5, 9); // the mean of the last 10 steps
    expect(runNumbers([], [], 10)).toMatchObject({ step: 0, etaSeconds: undefined, tokensPerSecond: undefined });
  });

  it('formats durations and counts', () => {
    expect(formatDuration(59.4)).toBe('59s');
    expect(formatDuration(75)).toBe('1m 15s');
    expect(formatDuration(7384)).toBe('2h 3m');
    expect(formatCount(1_234_567)).toBe('1.23M');
    expect(formatCount(5400)).toBe('5.40K');
    expect(formatCount(51_500_000_000)).toBe('51.5B');
    expect(formatCount(12)).toBe('12');
  });
});
