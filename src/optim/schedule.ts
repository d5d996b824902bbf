/**
 * The learning-rate schedule of nanoGPT's get_lr(it), exactly:
 *   it < warmupSteps      -> maxLr * (it + 1) / (warmupSteps + 1)   (linear warmup, never 0)
 *   it > totalSteps       -> minLr
 *   otherwise             -> minLr + 0.5 (1 + cos(pi r)) (maxLr - minLr),
 *                            r = (it - warmupSteps) / (totalSteps - warmupSteps)
 * `step` is the 0-based iteration (the lr used for the update that follows iteration `step`);
 * totalSteps is nanoGPT's lr_decay_iters. When totalSteps <= warmupSteps there is no cosine
 * segment: every step past the warmup gets minLr.
 */
export interface LrSchedule {
  maxLr: number;
  minLr: number;
  warmupSteps: number;
  totalSteps: number;
}

export function learningRate(step: number, { maxLr, minLr, warmupSteps, totalSteps }: LrSchedule): number {
  if (step < warmupSteps) return (maxLr * (step + 1)) / (warmupSteps + 1);
  if (step > totalSteps || totalSteps <= warmupSteps) return minLr;
  const ratio = (step - warmupSteps) / (totalSteps - warmupSteps);
  const coeff = 0.5 * (1 + Math.cos(Math.PI * ratio));
  return minLr + coeff * (maxLr - minLr);
}
