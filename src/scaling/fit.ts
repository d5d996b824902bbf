/**
 * Fitting one's own IsoFLOP sweep (Chinchilla's "Approach 2"): per budget, a parabola in log N
 * through (log N, loss) whose vertex is that budget's optimal N; across budgets, a power law
 * N_opt = k · C^a fitted as a straight line in log-log. Natural logs throughout.
 */

export class FitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FitError';
  }
}

export interface SweepPoint {
  N: number; // parameters
  loss: number;
}

export interface ParabolaFit {
  /** loss ≈ c0 + c1·x + c2·x², x = ln N. */
  c0: number;
  c1: number;
  c2: number;
  /** The vertex: the optimal N and the loss there. */
  nOpt: number;
  minLoss: number;
  /** True when the vertex lies outside the sampled N range (an extrapolation, to be trusted less). */
  extrapolated: boolean;
  /** Root-mean-square residual of the loss. */
  rmse: number;
}

/**
 * Least-squares parabola in ln N. Needs three distinct N and a curve that opens upward (a minimum);
 * otherwise throws FitError, since a sweep without a minimum says nothing about N_opt.
 */
export function fitParabola(points: readonly SweepPoint[]): ParabolaFit {
  for (const p of points) {
    if (!(p.N > 0) || !Number.isFinite(p.N) || !Number.isFinite(p.loss)) {
      throw new FitError(`sweep point (N=${p.N}, loss=${p.loss}) needs a positive N and a finite loss`);
    }
  }
  const xs = points.map((p) => Math.log(p.N));
  if (new Set(xs).size < 3)
    throw new FitError(`a parabola needs at least three distinct model sizes (got ${new Set(xs).size})`);
  // Centering x keeps the normal equations well conditioned (ln N is ~15-20, x² ~400).
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const us = xs.map((x) => x - mean);
  const ys = points.map((p) => p.loss);
  const moment = (k: number) => us.reduce((s, u) => s + u ** k, 0);
  const cross = (k: number) => us.reduce((s, u, i) => s + u ** k * ys[i]!, 0);
  const [b0, b1, b2] = solve3(
    [
      [points.length, moment(1), moment(2)],
      [moment(1), moment(2), moment(3)],
      [moment(2), moment(3), moment(4)],
    ],
    [cross(0), cross(1), cross(2)],
  );
  if (!(b2 > 0)) throw new FitError('the sweep has no minimum: loss does not curve upward on both sides');
  const uOpt = -b1 / (2 * b2);
  const xOpt = uOpt + mean;
  // Back to uncentered x: b0 + b1(x - m) + b2(x - m)².
  const c2 = b2;
  const c1 = b1 - 2 * b2 * mean;
  const c0 = b0 - b1 * mean + b2 * mean * mean;
  const residual = us.reduce((s, u, i) => s + (b0 + b1 * u + b2 * u * u - ys[i]!) ** 2, 0);
  return {
    c0,
    c1,
    c2,
    nOpt: Math.exp(xOpt),
    minLoss: b0 - (b1 * b1) / (4 * b2),
    extrapolated: xOpt < Math.min(...xs) || xOpt > Math.max(...xs),
    rmse: Math.sqrt(residual / points.length),
  };
}

export interface PowerLawFit {
  /** y ≈ k · x^exponent. */
  k: number;
  exponent: number;
  /** Coefficient of determination of the line in log-log space. */
  r2: number;
}

/** Least-squares line through (ln x, ln y): y = k · x^exponent. Needs two distinct positive x. */
export function fitPowerLaw(points: readonly { x: number; y: number }[]): PowerLawFit {
  for (const p of points) {
    if (!(p.x > 0) || !(p.y > 0) || !Number.isFinite(p.x) || !Number.isFinite(p.y)) {
      throw new FitError(`power-law point (${p.x}, ${p.y}) needs positive finite coordinates`);
    }
  }
  const lx = points.map((p) => Math.log(p.x));
  const ly = points.map((p) => Math.log(p.y));
  if (new Set(lx).size < 2) throw new FitError('a power law needs at least two distinct budgets');
  const mx = lx.reduce((s, v) => s + v, 0) / lx.length;
  const my = ly.reduce((s, v) => s + v, 0) / ly.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < lx.length; i++) {
    sxy += (lx[i]! - mx) * (ly[i]! - my);
    sxx += (lx[i]! - mx) ** 2;
    syy += (ly[i]! - my) ** 2;
  }
  const exponent = sxy / sxx;
  return { k: Math.exp(my - exponent * mx), exponent, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

export interface BudgetedSweepPoint extends SweepPoint {
  /** The run's compute budget C, FLOPs. Points with the same budget form one IsoFLOP curve. */
  budget: number;
}

export interface SweepFit {
  /** One parabola per budget with enough points, ascending budget. */
  perBudget: { budget: number; fit: ParabolaFit }[];
  /** N_opt = k · C^a across budgets, when two or more budgets have a parabola. */
  frontier: PowerLawFit | null;
  /** Budgets that could not be fitted, with the reason. */
  skipped: { budget: number; reason: string }[];
}

/** Groups runs by budget, fits each group's parabola, then the power law through the vertices. */
export function fitIsoFlopSweep(runs: readonly BudgetedSweepPoint[]): SweepFit {
  const groups = new Map<number, SweepPoint[]>();
  for (const r of runs) {
    const group = groups.get(r.budget) ?? [];
    group.push({ N: r.N, loss: r.loss });
    groups.set(r.budget, group);
  }
  const perBudget: SweepFit['perBudget'] = [];
  const skipped: SweepFit['skipped'] = [];
  for (const budget of [...groups.keys()].sort((a, b) => a - b)) {
    try {
      perBudget.push({ budget, fit: fitParabola(groups.get(budget)!) });
    } catch (e) {
      if (!(e instanceof FitError)) throw e;
      skipped.push({ budget, reason: e.message });
    }
  }
  const frontier = perBudget.length >= 2 ? fitPowerLaw(perBudget.map((b) => ({ x: b.budget, y: b.fit.nOpt }))) : null;
  return { perBudget, frontier, skipped };
}

/** Gaussian elimination with partial pivoting on a 3x3 system. */
function solve3(m: number[][], v: number[]): [number, number, number] {
  const a = m.map((row, i) => [...row, v[i]!]);
  for (let col = 0; col < 3; col++) {
    let pivot = col;
    for (let r = col + 1; r < 3; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const p = a[col]![col]!;
    if (Math.abs(p) < 1e-300) throw new FitError('the sweep points are degenerate (singular system)');
    for (let r = col + 1; r < 3; r++) {
      const row = a[r]!;
      const f = row[col]! / p;
      for (let c = col; c < 4; c++) row[c] = row[c]! - f * a[col]![c]!;
    }
  }
  const x = [0, 0, 0];
  for (let r = 2; r >= 0; r--) {
    let s = a[r]![3]!;
    for (let c = r + 1; c < 3; c++) s -= a[r]![c]! * x[c]!;
    x[r] = s / a[r]![r]!;
  }
  return [x[0]!, x[1]!, x[2]!];
}
