/**
 * How much a validation reads (never more micro-batches than the training it follows), the
 * software default's validation set, and the IsoFLOP sweep: every point validates on the same
 * batches (so on the same windows of the dataset), and the fit reads those validation losses.
 */
import { describe, expect, it } from 'vitest';
import { HOFFMANN_2022 } from '../src/scaling/chinchilla';
import { suggestSettings, validationBatches } from '../src/train/defaults';
import { type SweepState, pointSettings, sweepPoints } from '../src/ui/plan/sweep-plan';
import { sweepReport, sweepResults } from '../src/ui/plan/sweep-results';
import { sweepDefinition } from './helpers/sweep-definition';

describe('the batches one validation reads', () => {
  const run = { evalBatches: 80, evalEvery: 100, maxSteps: 200, accumSteps: 1 };

  it('are the setting, at most the micro-batches trained between two validations or in the whole run', () => {
    expect(validationBatches(run)).toBe(80);
    expect(validationBatches({ ...run, evalEvery: 6 })).toBe(6);
    expect(validationBatches({ ...run, evalEvery: 6, accumSteps: 4 })).toBe(24);
    expect(validationBatches({ ...run, evalEvery: 1000, maxSteps: 10 })).toBe(10);
    expect(validationBatches({ ...run, evalBatches: 0 })).toBe(0);
  });

  it("by default on a software adapter cover most of the bundled corpus's 22.5k-token validation tail, twice a run", () => {
    const s = suggestSettings({ isSoftware: true });
    const tokens = validationBatches(s) * s.batchSize * s.model.blockSize;
    expect(tokens).toBeGreaterThanOrEqual(20_000);
    expect(s.maxSteps / s.evalEvery).toBe(2);
  });
});

const DEFINITION = sweepDefinition({ accumSteps: 2, datasetId: 'd' });
const BASE = DEFINITION.base;

describe('an IsoFLOP sweep', () => {
  it('validates every point on the same batches, none more than the point trains', () => {
    const points = sweepPoints(DEFINITION);
    const shortest = Math.min(...points.map((p) => p.steps));
    const settings = points.map((p) => pointSettings(DEFINITION, p));
    const counts = settings.map(validationBatches);
    expect(new Set(counts).size).toBe(1);
    expect(counts[0]).toBe(Math.min(64, shortest * BASE.accumSteps));
    // What the trainer reads is the point's setting itself (the per-run limit does not cut it).
    settings.forEach((s, i) => expect(counts[i]).toBe(s.evalBatches));
  });

  it('fits the final validation losses: the parabola of each budget has its vertex where they say', () => {
    const points = sweepPoints(DEFINITION);
    // Losses on a parabola in ln N with its minimum at N0 (a different one per budget).
    const N0 = [150_000, 200_000];
    const loss = (budgetIndex: number, N: number) => 5 + 0.3 * Math.log(N / N0[budgetIndex]!) ** 2;
    const state: SweepState = {
      definition: DEFINITION,
      status: 'done',
      points: points.map((p) => ({
        ...p,
        status: 'done',
        valLoss: loss(DEFINITION.budgets.indexOf(p.budget), p.params),
      })),
    };
    expect(sweepResults(state).map((r) => r.loss)).toEqual(state.points.map((p) => p.valLoss));
    const report = sweepReport(state, HOFFMANN_2022);
    report.budgets.forEach((b, i) => {
      expect(Math.abs(b.fittedN / N0[i]! - 1)).toBeLessThan(1e-6);
      expect(b.fittedLoss).toBeCloseTo(5, 9);
    });
    // Another validation loss at one point moves that budget's fit; a point without one is left out.
    const moved: SweepState = {
      ...state,
      points: state.points.map((p, i) => (i === 0 ? { ...p, valLoss: p.valLoss! + 0.2 } : p)),
    };
    expect(Math.abs(sweepReport(moved, HOFFMANN_2022).budgets[0]!.fittedN / N0[0]! - 1)).toBeGreaterThan(0.01);
    const missing: SweepState = {
      ...state,
      points: state.points.map((p, i) => (i === 0 ? { ...p, valLoss: undefined } : p)),
    };
    expect(sweepResults(missing)).toHaveLength(points.length - 1);
  });
});
