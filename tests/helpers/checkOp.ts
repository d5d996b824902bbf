/**
 * The op workbench for tests: runs an op's forward and backward on the GPU through the graph,
 * compares them with the op's float64 reference (src/autograd/op-check.ts, shared with the
 * `check-ops` command), and checks the reference backward itself by central finite differences of
 * the reference forward.
 */
import { expect } from 'vitest';
import type { Attrs, OpDef, RefArray } from '../../src/autograd/op';
import { compareOp, type OpInput } from '../../src/autograd/op-check';
import { gpu } from './gpu';
import { rng } from './random';

export type { OpInput } from '../../src/autograd/op-check';

export interface CheckOptions {
  seed?: number;
  /** Max error relative to the largest reference value of each tensor. */
  forwardTol?: number;
  backwardTol?: number;
  /** Finite-difference probes per input (float64 reference only). */
  fdProbes?: number;
  fdTol?: number;
}

export async function checkOp<A extends Attrs>(
  op: OpDef<A>,
  inputs: OpInput[],
  attrs: A,
  options: CheckOptions = {},
): Promise<void> {
  const { seed = 1, forwardTol = 1e-5, backwardTol = 1e-4, fdProbes = 6, fdTol = 1e-5 } = options;
  // One stream draws the inputs, the output gradients, then the finite-difference probes.
  const random = rng(seed);
  const result = await compareOp(await gpu(), op, inputs, attrs, random);
  result.forward.forEach((error, k) => expect(error, `${op.name} forward output ${k}`).toBeLessThan(forwardTol));
  if (!op.backward) return;
  result.backward.forEach((error, i) => {
    if (error !== null) expect(error, `${op.name} backward, input ${i}`).toBeLessThan(backwardTol);
  });

  // The reference backward against central differences of the reference forward (float64).
  const { inputs: refIn, specs, gradOutputs, grads, wantsGrad } = result.reference;
  const objective = (ins: RefArray[]) => {
    const outs = op.reference!.forward(ins, specs, attrs);
    let s = 0;
    outs.forEach((o, k) => {
      const g = gradOutputs[k];
      if (g) for (let j = 0; j < o.length; j++) s += o[j]! * g[j]!;
    });
    return s;
  };
  for (let i = 0; i < inputs.length; i++) {
    if (!wantsGrad[i]) continue;
    const base = refIn[i] as Float64Array;
    const analytic = grads[i]!;
    let scale = 1e-30;
    for (const v of analytic) scale = Math.max(scale, Math.abs(v));
    for (let probe = 0; probe < fdProbes; probe++) {
      const j = Math.floor(random() * base.length);
      const h = 1e-6 * Math.max(1, Math.abs(base[j]!));
      const plus = refIn.slice();
      const minus = refIn.slice();
      const bp = base.slice();
      const bm = base.slice();
      bp[j] = base[j]! + h;
      bm[j] = base[j]! - h;
      plus[i] = bp;
      minus[i] = bm;
      const numeric = (objective(plus) - objective(minus)) / (2 * h);
      expect(
        Math.abs(numeric - analytic[j]!) / scale,
        `${op.name} reference backward vs finite differences, input ${i}[${j}]`,
      ).toBeLessThan(fdTol);
    }
  }
}
