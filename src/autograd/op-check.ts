/**
 * The op workbench's comparison, written once for the tests (tests/helpers/checkOp.ts) and the
 * `check-ops` command (a GPU session runs it where vitest is not installed): an op's forward and
 * backward run on the GPU through the graph on random inputs, and are compared with the op's
 * float64 reference as max relative errors. Judging the errors is the caller's.
 */
import type { GpuContext } from '../gpu/context';
import { maxRelError } from '../util/compare';
import { roundHalf } from '../util/half';
import { randn } from '../util/random';
import { backward } from './backward';
import { Graph } from './graph';
import type { Attrs, OpDef, RefArray, TensorSpec } from './op';
import { numel } from './op';
import { Plan } from './plan';
import type { Tensor } from './tensor';

export interface OpInput {
  shape: number[];
  dtype?: 'f32' | 'f16' | 'i32';
  /** Values; random normal when absent (i32 inputs must give data). f16 inputs hold them rounded to halves. */
  data?: Float32Array | Int32Array;
  /** Whether to differentiate with respect to this input (default: f32 and f16 inputs). */
  grad?: boolean;
}

export interface OpComparison {
  /** Max error of each output relative to its largest reference value. */
  forward: number[];
  /** The same for each input's gradient; null where the input takes none (or the op has no backward). */
  backward: (number | null)[];
  /** What the float64 reference saw, for a caller that checks the reference itself. */
  reference: {
    inputs: RefArray[];
    specs: TensorSpec[];
    /** The random output gradients that seeded the backward (null: output not differentiable). */
    gradOutputs: (Float64Array | null)[];
    /** The reference's input gradients (empty without a backward). */
    grads: (Float64Array | null)[];
    wantsGrad: boolean[];
  };
}

const toRef = (d: Float32Array | Int32Array): RefArray => (d instanceof Int32Array ? d : Float64Array.from(d));

/**
 * Runs `op` on the GPU (forward, then backward seeded with random output gradients) and compares
 * both with its float64 reference. `random` draws the inputs and output gradients, in that order.
 */
export async function compareOp<A extends Attrs>(
  ctx: GpuContext,
  op: OpDef<A>,
  inputs: readonly OpInput[],
  attrs: A,
  random: () => number,
): Promise<OpComparison> {
  const reference = op.reference;
  if (!reference) throw new Error(`${op.name} has no reference`);
  const data = inputs.map((inp) => {
    if (inp.data) return inp.data;
    if (inp.dtype === 'i32') throw new Error(`${op.name}: i32 inputs need data`);
    return randn(numel(inp.shape), random);
  });
  // What an f16 input holds on the GPU, so the float64 reference sees the same values.
  inputs.forEach((inp, i) => {
    if (inp.dtype === 'f16') data[i] = Float32Array.from(data[i]!, roundHalf);
  });
  const specs: TensorSpec[] = inputs.map((inp) => ({ shape: inp.shape, dtype: inp.dtype ?? 'f32' }));
  const wantsGrad = inputs.map((inp) => (inp.grad ?? true) && inp.dtype !== 'i32');

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
  try {
    tensors.forEach((t, i) => plan.write(t, data[i]!));
    seeds.forEach((s) => plan.write(s.grad, gradOutData[outputs.indexOf(s.tensor)]!));
    plan.run();

    const refIn = data.map(toRef);
    const refOut = reference.forward(refIn, specs, attrs);
    if (refOut.length !== outputs.length)
      throw new Error(`${op.name}: the reference gives ${refOut.length} outputs, the op ${outputs.length}`);
    const forward: number[] = [];
    for (let k = 0; k < outputs.length; k++) forward.push(maxRelError(await plan.read(outputs[k]!), refOut[k]!));

    const gradOutputs = gradOutData.map((g) => (g ? Float64Array.from(g) : null));
    const result: OpComparison = {
      forward,
      backward: inputs.map(() => null),
      reference: { inputs: refIn, specs, gradOutputs, grads: [], wantsGrad },
    };
    if (!op.backward) return result;
    const refGrads = reference.backward(refIn, specs, gradOutputs, attrs);
    result.reference.grads = refGrads;
    for (let i = 0; i < inputs.length; i++) {
      if (!wantsGrad[i]) continue;
      const expected = refGrads[i];
      if (!expected) throw new Error(`${op.name}: reference gives no gradient for input ${i}`);
      // An input the graph gives no gradient is compared as zeros: the reference says it has one.
      const g = gradTensors[i];
      const got = g ? await plan.read(g) : new Float32Array(expected.length);
      result.backward[i] = maxRelError(got, expected);
    }
    return result;
  } finally {
    plan.destroy();
  }
}

/** The largest of some errors (NaN counts as Infinity); null when there are none. */
export function worstError(errors: readonly (number | null)[]): number | null {
  let worst: number | null = null;
  for (const e of errors) if (e !== null) worst = Math.max(worst ?? 0, Number.isNaN(e) ? Infinity : e);
  return worst;
}
