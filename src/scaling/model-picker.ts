/**
 * From a parameter target to a concrete nanoGPT-shaped model, and from a FLOP budget to a plan.
 *
 * Parameter counts here are TOTAL counts (paramCount: tied wte, wpe, biases, LayerNorms), because
 * Chinchilla's N counted embeddings too (see chinchilla.ts). The post's 8-layer, 512-wide model
 * with GPT-2's 50,304-token vocabulary is 51.5M by this count: ~25M in the blocks, ~26M in the
 * embedding tables.
 */
import type { GPTConfig } from '../model/config';
import { paramCount, trainingFlopsPerToken } from '../model/hf';
import {
  type ChinchillaFit,
  type FitId,
  FLOPS_PER_PARAM_TOKEN,
  assertPositive,
  budgetVsFit,
  chinchillaLoss,
  computeOptimal,
  tokensForCompute,
  uniformLoss,
} from './chinchilla';
import { formatFlops } from './format';

export interface ModelShapeOptions {
  /** Channels per attention head; 64 as in GPT-2 and nanoGPT. Width is always a multiple of it. */
  headSize?: number;
  /** Allowed width / layers. GPT-2's family spans ~33 (1.5B) to 64 (124M); the post's model is 64. */
  minAspect?: number;
  maxAspect?: number;
  /** Among shapes whose count is this close to the target (relative), the best-proportioned wins. */
  tolerance?: number;
  /** The width / layers that counts as best-proportioned. */
  preferredAspect?: number;
  /** Widest model considered (a multiple of headSize). */
  maxWidth?: number;
}

const SHAPE_DEFAULTS: Required<ModelShapeOptions> = {
  headSize: 64,
  minAspect: 32,
  maxAspect: 128,
  // Near the optimum the IsoFLOP curve is flat: 2% off in N costs well under 0.1% in loss, so a
  // better-shaped model is worth that much.
  tolerance: 0.02,
  preferredAspect: 64,
  maxWidth: 8192,
};

export interface PickedModel {
  config: GPTConfig;
  /** Exact total parameters, paramCount(config). */
  params: number;
  /** params / target - 1. */
  relativeError: number;
  /** nEmbd / nLayer. */
  aspect: number;
}

/**
 * The model shape (layers, heads of headSize, width) whose exact total parameter count is nearest
 * targetParams, among widths that are multiples of headSize and depths that keep width / layers in
 * [minAspect, maxAspect]. Within `tolerance` of the nearest count, the shape closest to
 * preferredAspect is taken instead, so near-ties do not produce a 3-layer giant.
 */
export function pickModel(
  targetParams: number,
  vocabSize: number,
  blockSize: number,
  options: ModelShapeOptions = {},
): PickedModel {
  assertPositive('target parameter count', targetParams);
  assertPositiveInteger('vocabSize', vocabSize);
  assertPositiveInteger('blockSize', blockSize);
  const opts = { ...SHAPE_DEFAULTS, ...options };
  assertPositiveInteger('headSize', opts.headSize);

  const candidates: PickedModel[] = [];
  for (let nHead = 1; nHead * opts.headSize <= opts.maxWidth; nHead++) {
    const nEmbd = nHead * opts.headSize;
    const fewestLayers = Math.max(1, Math.ceil(nEmbd / opts.maxAspect));
    // The narrowest widths cannot reach minAspect with one layer; one layer is still allowed.
    const mostLayers = Math.max(fewestLayers, Math.floor(nEmbd / opts.minAspect));
    for (let nLayer = fewestLayers; nLayer <= mostLayers; nLayer++) {
      const config: GPTConfig = { vocabSize, blockSize, nLayer, nHead, nEmbd };
      const params = paramCount(config);
      candidates.push({ config, params, relativeError: params / targetParams - 1, aspect: nEmbd / nLayer });
    }
  }

  const logError = (m: PickedModel) => Math.abs(Math.log(m.params / targetParams));
  const aspectError = (m: PickedModel) => Math.abs(Math.log(m.aspect / opts.preferredAspect));
  let nearest = candidates[0]!;
  for (const m of candidates) if (logError(m) < logError(nearest)) nearest = m;

  const slack = Math.max(logError(nearest), Math.log1p(opts.tolerance));
  let best = nearest;
  for (const m of candidates) {
    if (logError(m) > slack) continue;
    const better =
      aspectError(m) < aspectError(best) || (aspectError(m) === aspectError(best) && logError(m) < logError(best));
    if (better) best = m;
  }
  return best;
}

export interface PlanRequest {
  /** Compute budget C in FLOPs (the 6ND of the scaling law). */
  flops: number;
  fit: ChinchillaFit;
  vocabSize: number;
  blockSize: number;
  shape?: ModelShapeOptions;
}

export interface TrainingPlan {
  fit: FitId;
  /** The budget C, FLOPs. */
  flops: number;
  /** The law's compute-optimal parameters, tokens and loss (continuous, before rounding to a shape). */
  N: number;
  D: number;
  loss: number;
  /** The concrete model nearest N, and its exact total parameter count. */
  config: GPTConfig;
  params: number;
  /** Tokens to train the concrete model on so that 6 · params · tokens = flops. */
  tokens: number;
  /** The law's loss for the concrete model at those tokens (a hair above `loss`). */
  predictedLoss: number;
  /** What the engine actually spends per token on this model: 6N + 12·L·T·C (attention included). */
  trainingFlopsPerToken: number;
  /** tokens × trainingFlopsPerToken: the run's real FLOPs, above `flops` by the attention term. */
  trainingFlops: number;
}

/** The compute-optimal plan for a FLOP budget: the law's N and D, then a real model and its token count. */
export function planForBudget(request: PlanRequest): TrainingPlan {
  const { flops, fit, vocabSize, blockSize } = request;
  const picked = pickModel(computeOptimal(fit, flops).N, vocabSize, blockSize, request.shape);
  return planWithModel(fit, flops, picked.config);
}

/**
 * The plan whose real run (attention included) executes `executedFlops`, for budgets measured on a
 * device: hours × FLOP/s counts every FLOP the engine runs, while the law's C counts only 6ND. The
 * law's share is 6·params / trainingFlopsPerToken of the chosen model, which depends on the model,
 * so the choice is repeated until it settles (two or three rounds; near a boundary between two
 * shapes it may flip between them, and either is fine). Tokens then fill the budget exactly.
 */
export function planForExecutedFlops(request: Omit<PlanRequest, 'flops'> & { executedFlops: number }): TrainingPlan {
  const { executedFlops, ...rest } = request;
  assertPositive('executed FLOPs', executedFlops);
  const lawShare = (config: GPTConfig) => (FLOPS_PER_PARAM_TOKEN * paramCount(config)) / trainingFlopsPerToken(config);
  let config = planForBudget({ ...rest, flops: executedFlops }).config;
  for (let round = 0; round < 8; round++) {
    const next = planForBudget({ ...rest, flops: executedFlops * lawShare(config) }).config;
    const settled = paramCount(next) === paramCount(config);
    config = next;
    if (settled) break;
  }
  return planWithModel(rest.fit, executedFlops * lawShare(config), config);
}

/** A plan for a given model: the law's optimum for C, and the tokens that make 6 · params · tokens = C. */
function planWithModel(fit: ChinchillaFit, flops: number, config: GPTConfig): TrainingPlan {
  const optimum = computeOptimal(fit, flops);
  const params = paramCount(config);
  const tokens = Math.round(tokensForCompute(flops, params));
  const perToken = trainingFlopsPerToken(config);
  return {
    fit: fit.id,
    flops,
    N: optimum.N,
    D: optimum.D,
    loss: optimum.loss,
    config,
    params,
    tokens,
    predictedLoss: chinchillaLoss(fit, params, tokens),
    trainingFlopsPerToken: perToken,
    trainingFlops: tokens * perToken,
  };
}

/** What a plan's numbers are worth: whether its budget is inside the fit's, and the loss fit to show. */
export interface PlanCaveats {
  range: 'below' | 'inside' | 'above';
  /** A sentence when the budget is outside the fitted range; null inside it. */
  rangeNote: string | null;
  /** ln V of the plan's vocabulary: uniform guessing. */
  uniform: number;
  /** The predicted loss, or null when it is above ln V (the law says nothing useful there). */
  shownLoss: number | null;
}

export function planCaveats(plan: TrainingPlan, fit: ChinchillaFit): PlanCaveats {
  const range = budgetVsFit(fit, plan.flops);
  const { minFlops, maxFlops } = fit.fitted;
  const where = range === 'below' ? 'below' : 'above';
  const rangeNote =
    range === 'inside'
      ? null
      : `${formatFlops(plan.flops)} FLOPs is ${where} the budgets ${fit.label} was fitted on (${formatFlops(minFlops)} to ${formatFlops(maxFlops)} FLOPs): ` +
        'the law is extrapolated here, so take the sizes as a rough guide and the predicted loss as no more than a guess.';
  const uniform = uniformLoss(plan.config.vocabSize);
  return { range, rangeNote, uniform, shownLoss: plan.predictedLoss <= uniform ? plan.predictedLoss : null };
}

function assertPositiveInteger(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new RangeError(`${what} must be a positive integer (got ${value})`);
}
