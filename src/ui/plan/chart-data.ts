/**
 * The IsoFLOP chart's data, shaped without React so it can be tested in Node: one loss-vs-N curve
 * per budget from a Chinchilla fit, each curve's optimum, the user's own sweep points, and the axes.
 */
import { type ChinchillaFit, isoFlopCurve } from '../../scaling/chinchilla';
import { fitIsoFlopSweep } from '../../scaling/fit';
import { formatFlops } from '../../scaling/format';

/** Decades from 1e15 (a few minutes on a laptop GPU) to 1e19 (days on a datacenter one). */
export const DEFAULT_BUDGETS: readonly number[] = [1e15, 1e16, 1e17, 1e18, 1e19];

export interface ChartPoint {
  N: number;
  loss: number;
}

export interface ChartCurve {
  budget: number;
  label: string;
  /** The user's budget: drawn on top and emphasized. */
  highlighted: boolean;
  points: ChartPoint[];
  /** The fit's exact optimum for this budget. */
  minimum: ChartPoint;
}

export interface SweepResult extends ChartPoint {
  /** The run's budget in FLOPs. */
  budget: number;
}

export interface IsoFlopChartData {
  /** Ascending budget, the highlighted curve last so it is drawn over the others. */
  curves: ChartCurve[];
  minima: (ChartPoint & { budget: number; label: string; highlighted: boolean })[];
  sweep: (SweepResult & { label: string })[];
  /** The parabola in ln N fitted to each budget's sweep runs (budgets with three sizes or more). */
  sweepFits: { budget: number; label: string; points: ChartPoint[]; nOpt: number }[];
  xDomain: [number, number];
  /** Powers of ten spanning xDomain (a log axis reads best with decade ticks). */
  xTicks: number[];
  yDomain: [number, number];
  /** Evenly spaced at 0.25, 0.5 or 1 nats, so the labels are round numbers. */
  yTicks: number[];
}

export interface ChartDataOptions {
  fit: ChinchillaFit;
  budgets?: readonly number[];
  /** Highlighted; added as its own curve unless it equals one of `budgets`. */
  userBudget?: number;
  sweep?: readonly SweepResult[];
  /** Points per curve. */
  nPoints?: number;
  /** Each curve spans N* ÷ range to N* × range around its optimum. */
  range?: number;
  /** ln(vocabulary): predictions above it (worse than uniform guessing) are not drawn. */
  maxLoss?: number;
}

export function isoFlopChartData(options: ChartDataOptions): IsoFlopChartData {
  const {
    fit,
    budgets = DEFAULT_BUDGETS,
    userBudget,
    sweep = [],
    nPoints = 41,
    range = 10,
    maxLoss = Infinity,
  } = options;
  const all = budgets.filter(isUsableBudget);
  const user = userBudget !== undefined && isUsableBudget(userBudget) ? userBudget : undefined;
  if (user !== undefined && !all.some((b) => sameBudget(b, user))) all.push(user);
  all.sort((a, b) => a - b);

  const curves: ChartCurve[] = all
    .map((budget) => {
      const curve = isoFlopCurve(budget, fit, nPoints, range);
      return {
        budget,
        label: `${formatFlops(budget)} FLOPs`,
        highlighted: user !== undefined && sameBudget(budget, user),
        points: curve.points.filter((p) => p.loss <= maxLoss).map(({ N, loss }) => ({ N, loss })),
        minimum: { N: curve.optimum.N, loss: curve.optimum.loss },
      };
    })
    // A budget whose whole curve is worse than guessing has nothing to draw (the plan says why).
    .filter((c) => c.points.length > 0 && c.minimum.loss <= maxLoss);
  curves.sort((a, b) => Number(a.highlighted) - Number(b.highlighted));

  const shownSweep = sweep
    .filter((p) => p.N > 0 && Number.isFinite(p.N) && Number.isFinite(p.loss))
    .map((p) => ({ ...p, label: `${formatFlops(p.budget)} FLOPs` }));
  const ns = [...curves.flatMap((c) => c.points.map((p) => p.N)), ...shownSweep.map((p) => p.N)];
  const losses = [...curves.flatMap((c) => c.points.map((p) => p.loss)), ...shownSweep.map((p) => p.loss)];
  const sweepFits = fittedParabolas(shownSweep);
  const xDomain = decadeDomain(ns);
  const { domain: yDomain, ticks: yTicks } = lossAxis(losses);
  return {
    curves,
    minima: curves.map((c) => ({ ...c.minimum, budget: c.budget, label: c.label, highlighted: c.highlighted })),
    sweep: shownSweep,
    sweepFits,
    xDomain,
    xTicks: decadeTicks(xDomain),
    yDomain,
    yTicks,
  };
}

/** Each fittable budget's parabola, drawn a little past its smallest and largest run. */
function fittedParabolas(sweep: readonly SweepResult[], nPoints = 25): IsoFlopChartData['sweepFits'] {
  return fitIsoFlopSweep(sweep).perBudget.map(({ budget, fit }) => {
    const ns = sweep.filter((p) => sameBudget(p.budget, budget)).map((p) => p.N);
    const lo = Math.log(Math.min(...ns) / 1.5);
    const hi = Math.log(Math.max(...ns) * 1.5);
    const points = Array.from({ length: nPoints }, (_, i) => {
      const x = lo + ((hi - lo) * i) / (nPoints - 1);
      return { N: Math.exp(x), loss: fit.c0 + fit.c1 * x + fit.c2 * x * x };
    });
    return { budget, label: `fit at ${formatFlops(budget)} FLOPs`, points, nOpt: fit.nOpt };
  });
}

function isUsableBudget(b: number): boolean {
  return Number.isFinite(b) && b > 0;
}

/** Budgets typed as 1e17 and computed as 3600 * x may differ in the last bits. */
function sameBudget(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(a, b);
}

/** The smallest span of whole decades holding every value ([1, 10] when there are none). */
function decadeDomain(values: number[]): [number, number] {
  if (values.length === 0) return [1, 10];
  const lo = Math.floor(Math.log10(Math.min(...values)));
  const hi = Math.ceil(Math.log10(Math.max(...values)));
  return [10 ** lo, 10 ** Math.max(hi, lo + 1)];
}

function decadeTicks([lo, hi]: [number, number]): number[] {
  const ticks: number[] = [];
  for (let e = Math.round(Math.log10(lo)); e <= Math.round(Math.log10(hi)); e++) ticks.push(10 ** e);
  return ticks;
}

/** min..max with a little padding, out to whole steps of a round size so every label is short. */
function lossAxis(values: number[]): { domain: [number, number]; ticks: number[] } {
  if (values.length === 0) return { domain: [0, 1], ticks: [0, 0.5, 1] };
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min;
  const step = span <= 1.5 ? 0.25 : span <= 3 ? 0.5 : 1;
  const pad = Math.max(0.03 * span, 0.02);
  const lo = Math.floor((min - pad) / step) * step;
  const hi = Math.ceil((max + pad) / step) * step;
  const ticks: number[] = [];
  for (let i = 0; lo + i * step <= hi + 1e-9; i++) ticks.push(Math.round((lo + i * step) * 100) / 100);
  return { domain: [lo, hi], ticks };
}
