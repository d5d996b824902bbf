/**
 * How fast this device trains: a model of the given shape on random token ids, one warm-up step
 * (it compiles the pipelines and touches every buffer) and then a few timed optimizer steps. The
 * planner turns tokens/s into FLOP/s with the model's FLOPs per token (6N + 12·L·T·C), so the
 * model should be small enough that the probe takes seconds, yet shaped like what will be trained.
 */
import type { GpuContext } from '../gpu/context';
import { BufferPool } from '../gpu/pool';
import type { GPTConfig } from '../model/config';
import { GPTModel } from '../model/gpt';
import { trainingFlopsPerToken } from '../model/hf';
import { type BufferLimits, settingsProblems, suggestSettings } from './defaults';
import type { MicroBatch } from '../data/types';
import { TrainStep } from './step';

export interface SpeedResult {
  tokensPerSecond: number;
  flopsPerSecond: number;
  /** Timed steps (the warm-up step not included) and their total seconds. */
  steps: number;
  seconds: number;
}

export const DEFAULT_SPEED_STEPS = 3;
const MAX_SPEED_STEPS = 50;

/** Deterministic ids (a linear congruential stream): the speed does not depend on the values. */
function randomBatch(batchSize: number, seqLen: number, vocabSize: number, seed: number): MicroBatch {
  let state = seed >>> 0 || 1;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % vocabSize;
  };
  const n = batchSize * seqLen;
  const idx = new Int32Array(n);
  const targets = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    idx[i] = next();
    targets[i] = next();
  }
  return { idx, targets };
}

/** Problems with a probe request on a device with `limits`, as sentences (empty when it can run). */
export function speedProbeProblems(
  model: GPTConfig,
  batchSize: number,
  steps: number,
  limits?: BufferLimits,
): string[] {
  // The same checks as a run's: the probe trains exactly like one, at accumulation 1.
  const settings = { ...suggestSettings({ isSoftware: true }), model, batchSize, accumSteps: 1 };
  const problems = settingsProblems(settings, limits);
  if (!Number.isInteger(steps) || steps < 1 || steps > MAX_SPEED_STEPS)
    problems.push(`The probe's steps must be a whole number from 1 to ${MAX_SPEED_STEPS} (it is ${steps}).`);
  return problems;
}

export async function measureTrainingSpeed(
  ctx: GpuContext,
  model: GPTConfig,
  batchSize: number,
  steps = DEFAULT_SPEED_STEPS,
): Promise<SpeedResult> {
  const problems = speedProbeProblems(model, batchSize, steps, ctx.limits);
  if (problems.length) throw new RangeError(problems.join(' '));
  const gpt = new GPTModel(ctx, model);
  // An own pool, destroyed at the end: a plan without one keeps its temporaries alive.
  const pool = new BufferPool(ctx.device);
  let trainStep: TrainStep | null = null;
  try {
    gpt.initialize(1);
    trainStep = new TrainStep(gpt, { batchSize, seqLen: model.blockSize, accumSteps: 1 }, { lr: 1e-4 }, { pool });
    const batches = [0, 1].map((k) => [randomBatch(batchSize, model.blockSize, model.vocabSize, 7 + k)]);
    await trainStep.step(batches[0]!, 1e-4); // warm-up: pipeline compilation is not training speed
    const started = performance.now();
    for (let s = 0; s < steps; s++) await trainStep.step(batches[s % 2]!, 1e-4);
    const seconds = Math.max((performance.now() - started) / 1000, 1e-9);
    const tokensPerSecond = (steps * batchSize * model.blockSize) / seconds;
    return { tokensPerSecond, flopsPerSecond: tokensPerSecond * trainingFlopsPerToken(model), steps, seconds };
  } finally {
    if (trainStep) {
      trainStep.destroy();
      trainStep.optimizer.destroy();
    }
    gpt.destroy();
    pool.destroy();
  }
}
