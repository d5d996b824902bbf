/**
 * Float64 CPU references of the optimizer, mirroring torch: clip_grad_norm_ (global L2 norm,
 * coef = maxNorm / (norm + 1e-6) clamped to 1) and torch.optim.AdamW's single-tensor step.
 * Tests compare the GPU optimizer against these; they update their arguments in place like torch.
 */

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface AdamState {
  m: Map<string, Float64Array>;
  v: Map<string, Float64Array>;
}

/** Global L2 norm over all gradients. */
export function globalNorm(grads: ReadonlyMap<string, ArrayLike<number>>): number {
  let sum = 0;
  for (const g of grads.values()) for (let i = 0; i < g.length; i++) sum += g[i]! * g[i]!;
  return Math.sqrt(sum);
}

/**
 * torch.nn.utils.clip_grad_norm_(max_norm): scales every gradient by min(maxNorm / (norm + 1e-6), 1)
 * in place and returns the norm before clipping. maxNorm 0 or Infinity only measures.
 */
export function clipReference(grads: Map<string, Float64Array>, maxNorm: number): number {
  const norm = globalNorm(grads);
  if (maxNorm > 0 && Number.isFinite(maxNorm)) {
    const coef = Math.min(maxNorm / (norm + 1e-6), 1);
    for (const g of grads.values()) for (let i = 0; i < g.length; i++) g[i]! *= coef;
  }
  return norm;
}

/** Zero moments shaped like the parameters (torch's lazily created state). */
export function zeroAdamState(params: ReadonlyMap<string, ArrayLike<number>>): AdamState {
  const m = new Map<string, Float64Array>();
  const v = new Map<string, Float64Array>();
  for (const [name, p] of params) {
    m.set(name, new Float64Array(p.length));
    v.set(name, new Float64Array(p.length));
  }
  return { m, v };
}

/**
 * One torch.optim.AdamW step (step counts from 1) on every parameter, in place. Weight decay applies
 * only to `decayNames` (nanoGPT puts the rest in a group with weight_decay = 0).
 */
export function adamwReference(
  params: Map<string, Float64Array>,
  grads: ReadonlyMap<string, Float64Array>,
  state: AdamState,
  hp: AdamWHyper,
  step: number,
  decayNames: ReadonlySet<string>,
): void {
  const { lr, beta1, beta2, eps, weightDecay } = hp;
  const bc1 = 1 - beta1 ** step;
  const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
  const stepSize = lr / bc1;
  for (const [name, p] of params) {
    const g = grads.get(name);
    const m = state.m.get(name);
    const v = state.v.get(name);
    if (!g || !m || !v) throw new Error(`adamwReference: missing gradient or state for ${name}`);
    const decay = decayNames.has(name) ? 1 - lr * weightDecay : 1;
    for (let i = 0; i < p.length; i++) {
      p[i]! *= decay;
      m[i]! += (1 - beta1) * (g[i]! - m[i]!);
      v[i] = beta2 * v[i]! + (1 - beta2) * g[i]! * g[i]!;
      const denom = Math.sqrt(v[i]!) / bc2Sqrt + eps;
      p[i]! -= (stepSize * m[i]!) / denom;
    }
  }
}
