/**
 * The op workbench for tests: runs an op's forward and backward on the GPU through the graph,
 * compares them with the op's float64 reference, and checks the reference backward itself by
 * central finite differences of the reference forward.
 */
import { expect } from 'vitest';
import { backward } from '../../src/autograd/backward';
import { Graph } from '../../src/autograd/graph';
import type { Attrs, OpDef, RefArray, TensorSpec } from '../../src/autograd/op';
import { numel } from '../../src/autograd/op';
import { Plan } from '../../src/autograd/plan';
import type { Tensor } from '../../src/autograd/tensor';
import { maxRelError } from '../../src/util/compare';
import { roundHalf } from '../../src/util/half';
import { gpu } from './gpu';
import { randn, rng } from './random';

export interface OpInput {
  shape: number[];
  dtype?: 'f32' | 'f16' | 'i32';
  /** Values; random normal when absent (i32 inputs must give data). f16 inputs hold them rounded to halves. */
  data?: Float32Array | Int32Array;
  /** Whether to differentiate with respect to this input (default: f32 and f16 inputs). */
  grad?: boolean;
}

export interface CheckOptions {
  seed?: number;
  /** Max error relative to the largest reference value of each tensor. */
  forwardTol?: number;
  backwardTol?: number;
  /** Finite-difference probes per input (float64 reference only). */
  fdProbes?: number;
  fdTol?: number;
}

const toRef = (d: Float32Array | Int32Array): RefArray => (d instanceof Int32Array ? d : Float64Array.from(d));

export async function checkOp<A extends Attrs>(
  op: OpDef<A>,
  inputs: OpInput[],
  attrs: A,
  options: CheckOptions = {},
): Promise<void> {
  const { seed = 1, forwardTol = 1e-5, backwardTol = 1e-4, fdProbes = 6, fdTol = 1e-5 } = options;
  if (!op.reference) throw new Error(`${op.name} has no reference`);
  const random = rng(seed);
  const data = inputs.map((inp) => {
    if (inp.data) return inp.data;
    if (inp.dtype === 'i32') throw new Error('i32 inputs need data');
    return randn(numel(inp.shape), random);
  });
  // What an f16 input holds on the GPU, so the float64 reference sees the same values.
  inputs.forEach((inp, i) => {
    if (inp.dtype === 'f16') data[i] = Float32Array.from(data[i]!, roundHalf);
  });
  const specs: TensorSpec[] = inputs.map((inp) => ({ shape: inp.shape, dtype: inp.dtype ?? 'f32' }));
  const wantsGrad = inputs.map((inp) => (inp.grad ?? true) && inp.dtype !== 'i32');

  // GPU: forward, then backward seeded with random output gradients.
  const ctx = await gpu();
  const graph = new Graph();
  const tensors = inputs.map((inp, i) => graph.input(`in${i}`, inp.shape, inp.dtype ?? 'f32', wantsGrad[i]));
  const outputs = graph.apply(op, tensors, attrs);
  const differentiable = outputs.map((o, k) => (op.differentiableOutputs?.[k] ?? true) && o.dtype !== 'i32');
  const gradOutData = outputs.map((o, k) => (differentiable[k] ? randn(o.numel, random) : null));
  const seeds = outputs.flatMap((o, k) =>
    gradOutData[k] ? [{ tensor: o, grad: graph.input(`dout${k}`, o.shape) }] : [],
  );
  const grads = op.backward ? backward(graph, seeds) : new Map<Tensor, Tensor>();
  const gradTensors = tensors.map((t, i) => (wantsGrad[i] ? (grads.get(t) ?? null) : null));
  const retain = [...outputs, ...gradTensors.filter((g): g is Tensor => g !== null)];
  const plan = await Plan.create(ctx, graph, { retain, label: op.name });
  tensors.forEach((t, i) => plan.write(t, data[i]!));
  seeds.forEach((s) => plan.write(s.grad, gradOutData[outputs.indexOf(s.tensor)]!));
  plan.run();

  // Forward against the float64 reference.
  const refIn = data.map(toRef);
  const refOut = op.reference.forward(refIn, specs, attrs);
  expect(refOut.length).toBe(outputs.length);
  for (let k = 0; k < outputs.length; k++) {
    const got = await plan.read(outputs[k]!);
    expect(maxRelError(got, refOut[k]!), `${op.name} forward output ${k}`).toBeLessThan(forwardTol);
  }

  if (!op.backward) return;
  const gradOutRef = gradOutData.map((g) => (g ? Float64Array.from(g) : null));
  const refGrads = op.reference.backward(refIn, specs, gradOutRef, attrs);
  for (let i = 0; i < inputs.length; i++) {
    if (!wantsGrad[i]) continue;
    const expected = refGrads[i];
    if (!expected) throw new Error(`${op.name}: reference gives no gradient for input ${i}`);
    const g = gradTensors[i];
    const got = g ? await plan.read(g) : new Float32Array(expected.length);
    expect(maxRelError(got, expected), `${op.name} backward, input ${i}`).toBeLessThan(backwardTol);
  }
  plan.destroy();

  // The reference backward against central differences of the reference forward (float64).
  const objective = (ins: RefArray[]) => {
    const outs = op.reference!.forward(ins, specs, attrs);
    let s = 0;
    outs.forEach((o, k) => {
      const g = gradOutRef[k];
      if (g) for (let j = 0; j < o.length; j++) s += o[j]! * g[j]!;
    });
    return s;
  };
  for (let i = 0; i < inputs.length; i++) {
    if (!wantsGrad[i]) continue;
    const base = refIn[i] as Float64Array;
    const analytic = refGrads[i]!;
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
