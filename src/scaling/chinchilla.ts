/**
 * Chinchilla scaling law: L(N, D) = E + A / N^α + B / D^β, with N the model's parameters and D the
 * training tokens, under a compute budget C ≈ 6 N D FLOPs. Both published fits of the parametric
 * form ("Approach 3") are here; they were fitted on MassiveText with a 32k SentencePiece vocabulary,
 * so on other data and tokenizers they give the shape of the trade-off, not the loss itself.
 *
 * N is the TOTAL parameter count, embeddings included: Chinchilla counted total parameters, and
 * Pearce & Song 2024 ("Reconciling Kaplan and Chinchilla Scaling Laws") trace most of the gap to
 * Kaplan's exponents to Kaplan counting non-embedding parameters instead.
 */

export interface ChinchillaFit {
  id: FitId;
  label: string;
  E: number;
  A: number;
  B: number;
  alpha: number;
  beta: number;
  /** The training budgets (FLOPs, C = 6ND) of the runs the fit was made on: outside, it extrapolates. */
  fitted: { minFlops: number; maxFlops: number };
}

/**
 * Hoffmann et al.'s runs: IsoFLOP profiles from 6e18 FLOPs up, and models up to 16B parameters on
 * up to 500B tokens, which put the largest near Chinchilla's own 5.76e23; 3e23 is the edge of the
 * well-covered part. The Epoch refit used the same runs (read off the paper's figures).
 */
const HOFFMANN_RUNS = { minFlops: 6e18, maxFlops: 3e23 };

export type FitId = 'hoffmann' | 'epoch';

/** Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", eq. (10). */
export const HOFFMANN_2022: ChinchillaFit = {
  id: 'hoffmann',
  label: 'Hoffmann et al. 2022',
  E: 1.69,
  A: 406.4,
  B: 410.7,
  alpha: 0.34,
  beta: 0.28,
  fitted: HOFFMANN_RUNS,
};

/** Besiroglu et al. 2024 (Epoch AI), "Chinchilla Scaling: A replication attempt": the same data, refitted. */
export const EPOCH_2024: ChinchillaFit = {
  id: 'epoch',
  label: 'Epoch AI 2024 (Besiroglu et al.)',
  E: 1.8172,
  A: 482.01,
  B: 2085.43,
  alpha: 0.3478,
  beta: 0.3658,
  fitted: HOFFMANN_RUNS,
};

export const FITS: Record<FitId, ChinchillaFit> = { hoffmann: HOFFMANN_2022, epoch: EPOCH_2024 };

/** FLOPs of one training token per parameter: 2 forward + 4 backward (Kaplan et al. 2020, Chinchilla). */
export const FLOPS_PER_PARAM_TOKEN = 6;

/** Predicted loss (nats per token) of N parameters trained on D tokens. */
export function chinchillaLoss(fit: ChinchillaFit, N: number, D: number): number {
  return fit.E + fit.A / N ** fit.alpha + fit.B / D ** fit.beta;
}

/** Where a budget of C FLOPs lies against the budgets the fit was made on. */
export function budgetVsFit(fit: ChinchillaFit, C: number): 'below' | 'inside' | 'above' {
  if (C < fit.fitted.minFlops) return 'below';
  return C > fit.fitted.maxFlops ? 'above' : 'inside';
}

/**
 * ln V: the loss of guessing every next token uniformly among V. A trained model does no worse,
 * so a law's prediction above it (tiny budgets, far below the fitted range) means nothing.
 */
export function uniformLoss(vocabSize: number): number {
  return Math.log(vocabSize);
}

/** The tokens a budget of C FLOPs buys for N parameters: D = C / (6N). */
export function tokensForCompute(C: number, N: number): number {
  return C / (FLOPS_PER_PARAM_TOKEN * N);
}

/**
 * The constants of the closed-form optimum: minimizing L(N, C/6N) over N gives
 * N* = G (C/6)^a and D* = (C/6)^b / G, with G = (αA / (βB))^(1/(α+β)), a = β/(α+β), b = α/(α+β).
 */
export function optimumConstants(fit: ChinchillaFit): { G: number; a: number; b: number } {
  const sum = fit.alpha + fit.beta;
  return {
    G: ((fit.alpha * fit.A) / (fit.beta * fit.B)) ** (1 / sum),
    a: fit.beta / sum,
    b: fit.alpha / sum,
  };
}

export interface ComputeOptimum {
  C: number; // FLOPs
  N: number; // parameters
  D: number; // tokens
  loss: number; // predicted at (N, D)
}

/** The compute-optimal model size and token count for a budget of C FLOPs, and the loss there. */
export function computeOptimal(fit: ChinchillaFit, C: number): ComputeOptimum {
  assertPositive('compute budget', C);
  const { G, a, b } = optimumConstants(fit);
  const perSix = C / FLOPS_PER_PARAM_TOKEN;
  const N = G * perSix ** a;
  const D = perSix ** b / G;
  return { C, N, D, loss: chinchillaLoss(fit, N, D) };
}

export interface IsoFlopPoint {
  N: number;
  D: number;
  loss: number;
}

export interface IsoFlopCurve {
  C: number;
  points: IsoFlopPoint[];
  /** Index into points of the lowest loss on the grid. */
  minIndex: number;
  /** The exact optimum (off the grid in general). */
  optimum: ComputeOptimum;
}

/**
 * Loss along one budget: N on a log grid from N* ÷ range to N* × range (nPoints, N* included when
 * nPoints is odd), each with D = C/(6N). The grid's lowest point is marked with minIndex.
 */
export function isoFlopCurve(C: number, fit: ChinchillaFit, nPoints = 41, range = 10): IsoFlopCurve {
  if (!Number.isInteger(nPoints) || nPoints < 2)
    throw new RangeError(`nPoints must be an integer >= 2 (got ${nPoints})`);
  if (!(range > 1)) throw new RangeError(`range must be > 1 (got ${range})`);
  const optimum = computeOptimal(fit, C);
  const logLo = Math.log(optimum.N / range);
  const step = (2 * Math.log(range)) / (nPoints - 1);
  const points: IsoFlopPoint[] = [];
  let minIndex = 0;
  for (let i = 0; i < nPoints; i++) {
    const N = Math.exp(logLo + i * step);
    const D = tokensForCompute(C, N);
    points.push({ N, D, loss: chinchillaLoss(fit, N, D) });
    if (points[i]!.loss < points[minIndex]!.loss) minIndex = i;
  }
  return { C, points, minIndex, optimum };
}

export function assertPositive(what: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0)
    throw new RangeError(`${what} must be a positive finite number (got ${value})`);
}
