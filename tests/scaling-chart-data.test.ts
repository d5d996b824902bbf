/** The IsoFLOP chart's data: curves per budget, the highlighted user budget, optima, sweep points, axes. */
import { describe, expect, it } from 'vitest';
import { EPOCH_2024, HOFFMANN_2022, computeOptimal } from '../src/scaling/chinchilla';
import { DEFAULT_BUDGETS, isoFlopChartData } from '../src/ui/plan/chart-data';

describe('IsoFLOP chart data', () => {
  it('draws one curve per decade budget, each with its exact optimum', () => {
    const data = isoFlopChartData({ fit: HOFFMANN_2022, nPoints: 21 });
    expect(data.curves.map((c) => c.budget)).toEqual([...DEFAULT_BUDGETS]);
    expect(data.curves.every((c) => !c.highlighted && c.points.length === 21)).toBe(true);
    for (const curve of data.curves) {
      const opt = computeOptimal(HOFFMANN_2022, curve.budget);
      expect(curve.minimum).toEqual({ N: opt.N, loss: opt.loss });
      expect(Math.min(...curve.points.map((p) => p.loss))).toBeGreaterThanOrEqual(opt.loss - 1e-12);
    }
    expect(data.curves[0]!.label).toBe('1e15 FLOPs');
    expect(data.minima).toHaveLength(5);
    // Bigger budgets reach lower loss at larger N.
    const minima = data.minima.map((m) => m.N);
    expect(minima).toEqual([...minima].sort((a, b) => a - b));
  });

  it("adds the user's budget as a highlighted curve drawn last, or highlights the decade it equals", () => {
    const added = isoFlopChartData({ fit: EPOCH_2024, userBudget: 3.2e17 });
    expect(added.curves).toHaveLength(6);
    expect(added.curves.at(-1)).toMatchObject({ budget: 3.2e17, highlighted: true, label: '3.2e17 FLOPs' });
    expect(added.curves.filter((c) => c.highlighted)).toHaveLength(1);
    expect(added.minima.find((m) => m.highlighted)?.budget).toBe(3.2e17);

    const same = isoFlopChartData({ fit: EPOCH_2024, userBudget: 1e17 * (1 + 1e-12) });
    expect(same.curves).toHaveLength(5);
    expect(same.curves.at(-1)).toMatchObject({ budget: 1e17, highlighted: true });

    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(isoFlopChartData({ fit: EPOCH_2024, userBudget: bad }).curves.some((c) => c.highlighted)).toBe(false);
    }
  });

  it('keeps valid sweep points, labels them, and widens the axes to hold them', () => {
    const sweep = [
      { N: 2e5, loss: 7.5, budget: 1e15 },
      { N: 3e6, loss: 4.9, budget: 1e15 },
      { N: Number.NaN, loss: 4, budget: 1e15 },
      { N: -5, loss: 4, budget: 1e15 },
    ];
    const data = isoFlopChartData({ fit: HOFFMANN_2022, sweep });
    expect(data.sweep).toEqual([
      { N: 2e5, loss: 7.5, budget: 1e15, label: '1e15 FLOPs' },
      { N: 3e6, loss: 4.9, budget: 1e15, label: '1e15 FLOPs' },
    ]);
    expect(data.xDomain[0]).toBeLessThanOrEqual(2e5);
    expect(data.yDomain[1]).toBeGreaterThanOrEqual(7.5);
  });

  it('draws the parabola fitted to each budget of three or more sizes through its runs', () => {
    // loss = 3 + 0.5 (ln N - ln 1e6)^2 at 1e15 FLOPs: the vertex is N = 1e6; 1e16 has two sizes only.
    const at = (N: number) => 3 + 0.5 * (Math.log(N) - Math.log(1e6)) ** 2;
    const sweep = [
      ...[2e5, 8e5, 4e6].map((N) => ({ N, loss: at(N), budget: 1e15 })),
      { N: 1e6, loss: 3.5, budget: 1e16 },
      { N: 3e6, loss: 3.4, budget: 1e16 },
    ];
    const { sweepFits } = isoFlopChartData({ fit: HOFFMANN_2022, sweep });
    expect(sweepFits.map((f) => [f.budget, f.label])).toEqual([[1e15, 'fit at 1e15 FLOPs']]);
    const [fit] = sweepFits;
    expect(fit!.nOpt).toBeCloseTo(1e6, -2);
    expect(fit!.points[0]!.N).toBeCloseTo(2e5 / 1.5, 6);
    expect(fit!.points.at(-1)!.N).toBeCloseTo(4e6 * 1.5, 0);
    for (const p of fit!.points) expect(p.loss).toBeCloseTo(at(p.N), 9);
  });

  it('spans whole decades on x with a tick at each, and pads the loss range', () => {
    const data = isoFlopChartData({ fit: HOFFMANN_2022, budgets: [1e17], range: 10 });
    const opt = computeOptimal(HOFFMANN_2022, 1e17).N; // 28.5M: curve from 2.85M to 285M
    expect(data.xDomain).toEqual([1e6, 1e9]);
    expect(data.xTicks).toEqual([1e6, 1e7, 1e8, 1e9]);
    expect(data.xDomain[0]).toBeLessThan(opt / 10);
    const losses = data.curves[0]!.points.map((p) => p.loss);
    expect(data.yDomain[0]).toBeLessThan(Math.min(...losses));
    expect(data.yDomain[1]).toBeGreaterThan(Math.max(...losses));
    // Round ticks, evenly spaced, from one end of the domain to the other.
    expect(data.yTicks[0]).toBeCloseTo(data.yDomain[0], 9);
    expect(data.yTicks.at(-1)).toBeCloseTo(data.yDomain[1], 9);
    const steps = data.yTicks.slice(1).map((t, i) => t - data.yTicks[i]!);
    expect([0.25, 0.5, 1]).toContain(Math.round(steps[0]! * 100) / 100);
    for (const s of steps) expect(s).toBeCloseTo(steps[0]!, 9);
  });

  it('gives sane axes with no budgets at all', () => {
    const data = isoFlopChartData({ fit: HOFFMANN_2022, budgets: [] });
    expect(data.curves).toEqual([]);
    expect(data.xDomain).toEqual([1, 10]);
    expect(data.yDomain).toEqual([0, 1]);
  });
});
