/**
 * The lab's "Profile one step": a fresh model of the form's shape on random token ids, a warm-up
 * step, one timed normal step (the wall time), then one discarded and one kept profiled step (each
 * dispatch in its own timestamped pass; the first such replay pays one-off costs).
 */
import type { GpuContext } from '../gpu/context';
import { BufferPool } from '../gpu/pool';
import { type ProfileResult, ProfilerUnavailable } from '../gpu/profiler';
import type { GPTConfig } from '../model/config';
import { GPTModel } from '../model/gpt';
import { speedProbeProblems } from './speed-probe';
import type { MicroBatch } from '../data/types';
import type { Precision } from './protocol';
import { TrainStep } from './step';

function batch(batchSize: number, seqLen: number, vocabSize: number): MicroBatch {
  const n = batchSize * seqLen;
  // Any ids do: the time does not depend on their values.
  const idx = Int32Array.from({ length: n }, (_, i) => (i * 7919) % vocabSize);
  const targets = Int32Array.from({ length: n }, (_, i) => (i * 104729 + 1) % vocabSize);
  return { idx, targets };
}

export async function profileTrainingStep(
  ctx: GpuContext,
  model: GPTConfig,
  batchSize: number,
  precision: Precision = 'f32',
): Promise<ProfileResult> {
  if (!ctx.features.has('timestamp-query')) throw new ProfilerUnavailable();
  const problems = speedProbeProblems(model, batchSize, 1, ctx.limits);
  if (problems.length) throw new RangeError(problems.join(' '));
  const gpt = new GPTModel(ctx, model);
  const pool = new BufferPool(ctx.device);
  let step: TrainStep | null = null;
  try {
    gpt.initialize(1);
    step = new TrainStep(gpt, { batchSize, seqLen: model.blockSize, accumSteps: 1 }, { lr: 1e-4 }, { pool, precision });
    const batches = [batch(batchSize, model.blockSize, model.vocabSize)];
    await step.step(batches, 1e-4); // compiles the pipelines
    const start = performance.now();
    await step.step(batches, 1e-4);
    const wallMs = performance.now() - start;
    await step.profile(batches, 1e-4);
    const { rows, totalMs, dispatches } = await step.profile(batches, 1e-4);
    return { rows, totalMs, dispatches, wallMs };
  } finally {
    if (step) {
      step.destroy();
      step.optimizer.destroy();
    }
    gpt.destroy();
    pool.destroy();
  }
}
