/**
 * The Plan tab's honesty about its law: a budget outside the range the Chinchilla fits were made
 * on is said to be, and a predicted loss above ln(vocabulary) (worse than uniform guessing) is
 * never shown as a number; huge counts read as scientific numbers, not "8.08e+5T".
 */
import { describe, expect, it } from 'vitest';
import { budgetVsFit, EPOCH_2024, HOFFMANN_2022, uniformLoss } from '../src/scaling/chinchilla';
import { formatCount } from '../src/scaling/format';
import { planCaveats, planForBudget } from '../src/scaling/model-picker';
import { isoFlopChartData } from '../src/ui/plan/chart-data';

const plan = (flops: number, fit = HOFFMANN_2022) => planForBudget({ flops, fit, vocabSize: 2048, blockSize: 64 });

describe('the Plan tab range and loss cap', () => {
  it('keeps the fitted range with each fit and places budgets against it', () => {
    for (const fit of [HOFFMANN_2022, EPOCH_2024]) {
      expect(fit.fitted).toEqual({ minFlops: 6e18, maxFlops: 3e23 });
      expect(budgetVsFit(fit, 1e12)).toBe('below');
      expect(budgetVsFit(fit, 6e18)).toBe('inside');
      expect(budgetVsFit(fit, 1e21)).toBe('inside');
      expect(budgetVsFit(fit, 3.1e23)).toBe('above');
    }
    expect(uniformLoss(2048)).toBeCloseTo(7.6246, 4);
  });

  it('at 1e12 FLOPs says the budget is below the fit and shows no loss above ln V', () => {
    const tiny = plan(1e12);
    expect(tiny.predictedLoss).toBeGreaterThan(uniformLoss(2048)); // what the panel used to show: ~17 nats
    const caveats = planCaveats(tiny, HOFFMANN_2022);
    expect(caveats).toMatchObject({ range: 'below', shownLoss: null });
    expect(caveats.rangeNote).toBe(
      '1e12 FLOPs is below the budgets Hoffmann et al. 2022 was fitted on (6e18 to 3e23 FLOPs): the law is extrapolated here, so take the sizes as a rough guide and the predicted loss as no more than a guess.',
    );
  });

  it('inside the range shows the prediction and says nothing; above it says so', () => {
    const inside = planCaveats(plan(1e20), HOFFMANN_2022);
    expect(inside.range).toBe('inside');
    expect(inside.rangeNote).toBeNull();
    expect(inside.shownLoss).toBeCloseTo(plan(1e20).predictedLoss, 12);
    expect(inside.shownLoss!).toBeLessThan(inside.uniform);

    const huge = plan(1e30);
    const above = planCaveats(huge, EPOCH_2024);
    expect(above.range).toBe('above');
    expect(above.rangeNote).toMatch(
      /^1e30 FLOPs is above the budgets Epoch AI 2024 \(Besiroglu et al\.\) was fitted on \(6e18 to 3e23 FLOPs\)/,
    );
    expect(formatCount(huge.tokens)).toMatch(/^\d\.?\d*e\d+$/);
    expect(formatCount(8.08e17)).toBe('8.08e17');
    expect(formatCount(-2e15)).toBe('-2e15');
    expect(formatCount(999e12)).toBe('999T');
  });

  it('draws no predicted loss above ln V on the IsoFLOP chart', () => {
    const maxLoss = uniformLoss(2048);
    const capped = isoFlopChartData({ fit: HOFFMANN_2022, userBudget: 1e12, maxLoss });
    const uncapped = isoFlopChartData({ fit: HOFFMANN_2022, userBudget: 1e12 });
    expect(Math.max(...uncapped.curves.flatMap((c) => c.points.map((p) => p.loss)))).toBeGreaterThan(maxLoss);
    // The 1e12 curve lies wholly above ln 2048: not drawn (nor its optimum); the default decades stay.
    expect(capped.curves.map((c) => c.budget)).toEqual([1e15, 1e16, 1e17, 1e18, 1e19]);
    for (const c of capped.curves) for (const p of c.points) expect(p.loss).toBeLessThanOrEqual(maxLoss);
    expect(capped.minima.every((m) => m.loss <= maxLoss)).toBe(true);
    expect(capped.yDomain[1]).toBeLessThanOrEqual(Math.ceil(maxLoss));
  });
});
