/**
 * Ops whose backward writes a parameter's gradient straight into its slot of the parameter store
 * must ADD to what the slot holds (micro-batches accumulate there) and need no copy node.
 */
import { expect } from 'vitest';
import { backward } from '../../src/autograd/backward';
import { Graph } from '../../src/autograd/graph';
import type { Attrs, OpDef } from '../../src/autograd/op';
import { numel } from '../../src/autograd/op';
import { ParameterStore } from '../../src/autograd/params';
import { Plan } from '../../src/autograd/plan';
import { maxRelError } from '../../src/util/compare';
import { gpu } from './gpu';
import { randn, rng } from './random';

export interface SlotInput {
  shape: number[];
  /** i32 inputs (token ids) carry their data; f32 ones are random. */
  ids?: Int32Array;
  /** Set for inputs that are parameters: their gradient goes to the store's slot of this name. */
  param?: string;
}

export async function checkParamSlotsAccumulate<A extends Attrs>(
  op: OpDef<A>,
  inputs: SlotInput[],
  attrs: A,
  seed: number,
): Promise<void> {
  const ctx = await gpu();
  const random = rng(seed);
  const data = inputs.map((inp) => inp.ids ?? randn(numel(inp.shape), random));
  const params = inputs.flatMap((inp, i) => (inp.param ? [{ name: inp.param, shape: inp.shape, index: i }] : []));
  const prior = new Map(params.map((p) => [p.name, randn(numel(p.shape), random)]));
  const store = new ParameterStore(
    ctx.device,
    params.map(({ name, shape }) => ({ name, shape })),
  );
  for (const p of params) {
    store.write(p.name, data[p.index] as Float32Array);
    store.write(p.name, prior.get(p.name)!, 'grad');
  }
  const graph = new Graph();
  const tensors = inputs.map((inp, i) =>
    inp.param ? graph.param(inp.param, inp.shape) : graph.input(`in${i}`, inp.shape, inp.ids ? 'i32' : 'f32'),
  );
  const [y] = graph.apply(op, tensors, attrs);
  const dy = randn(y!.numel, random);
  const dyTensor = graph.input('dy', y!.shape);
  backward(graph, [{ tensor: y!, grad: dyTensor }]);
  const plan = new Plan(ctx, graph, { store, retain: [y!] });
  // The reductions write the slots directly: no extra copy node.
  expect(plan.dispatchLabels.filter((l) => l.includes('copy'))).toEqual([]);
  inputs.forEach((inp, i) => {
    if (!inp.param) plan.write(tensors[i]!, data[i]!);
  });
  plan.write(dyTensor, dy);
  plan.run();
  const grads = await store.readAll('grad');
  const specs = inputs.map((inp) => ({ shape: inp.shape, dtype: inp.ids ? ('i32' as const) : ('f32' as const) }));
  const refIn = data.map((d) => (d instanceof Int32Array ? d : Float64Array.from(d)));
  const ref = op.reference!.backward(refIn, specs, [Float64Array.from(dy)], attrs);
  for (const p of params) {
    const expected = ref[p.index]!.map((v, i) => v + prior.get(p.name)![i]!);
    expect(maxRelError(grads.get(p.name)!, expected), `${op.name}: slot ${p.name}`).toBeLessThan(1e-5);
  }
  plan.destroy();
  store.destroy();
}
