/**
 * A sweep's results as the chart and the report read them: the finished points, the fitted
 * optimum per budget (a parabola in ln N) and across budgets (N_opt = k·C^a), each next to what the
 * Chinchilla fits predict for the same budget.
 */
import { type ChinchillaFit, computeOptimal, optimumConstants } from '../../scaling/chinchilla';
import { type SweepFit, fitIsoFlopSweep } from '../../scaling/fit';
import type { SweepResult } from './chart-data';
import type { SweepState } from './sweep-plan';

export function sweepResults(sweep: SweepState): SweepResult[] {
  return sweep.points
    .filter((p) => p.status === 'done' && p.valLoss !== undefined)
    .map((p) => ({ budget: p.budget, N: p.params, loss: p.valLoss! }));
}

export interface SweepProgress {
  /** Points finished (done or failed) and in all. */
  finished: number;
  total: number;
  /** 1-based number of the point training now, if any. */
  current: number | null;
}

export function sweepProgress(sweep: SweepState, currentIndex: number | null): SweepProgress {
  const finished = sweep.points.filter((p) => p.status === 'done' || p.status === 'error').length;
  return { finished, total: sweep.points.length, current: currentIndex === null ? null : currentIndex + 1 };
}

export interface BudgetComparison {
  budget: number;
  /** The sweep's own optimum (the parabola's vertex), and whether it lies outside the sizes tried. */
  fittedN: number;
  fittedLoss: number;
  extrapolated: boolean;
  /** Chinchilla's N*(C) for the same budget. */
  chinchillaN: number;
}

export interface SweepReport {
  fit: SweepFit;
  budgets: BudgetComparison[];
  /** The fitted exponent a of N_opt ∝ C^a, and Chinchilla's β/(α+β). */
  exponent?: number;
  chinchillaExponent: number;
}

export function sweepReport(sweep: SweepState, chinchilla: ChinchillaFit): SweepReport {
  const fit = fitIsoFlopSweep(sweepResults(sweep));
  return {
    fit,
    budgets: fit.perBudget.map(({ budget, fit: p }) => ({
      budget,
      fittedN: p.nOpt,
      fittedLoss: p.minLoss,
      extrapolated: p.extrapolated,
      chinchillaN: computeOptimal(chinchilla, budget).N,
    })),
    exponent: fit.frontier?.exponent,
    chinchillaExponent: optimumConstants(chinchilla).a,
  };
}
