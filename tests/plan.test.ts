import { describe, expect, it } from 'vitest';
import { backward } from '../src/autograd/backward';
import { Graph } from '../src/autograd/graph';
import { add, copyOp, gelu } from '../src/autograd/ops/elementwise';
import { ParameterStore } from '../src/autograd/params';
import { Plan } from '../src/autograd/plan';
import { BufferPool } from '../src/gpu/pool';
import { gpu } from './helpers/gpu';

describe('graph compilation and replay', () => {
  it('reuses temporary buffers once their last reader has run', async () => {
    const ctx = await gpu();
    const graph = new Graph();
    const x = graph.input('x', [1000]);
    let h = x;
    for (let i = 0; i < 10; i++) h = gelu(h); // a chain: only two temporaries are ever alive
    const pool = new BufferPool(ctx.device);
    const plan = new Plan(ctx, graph, { retain: [h], pool });
    expect(plan.dispatchCount).toBe(10);
    expect(pool.allocatedBytes).toBe(2 * 4096); // two 4000-byte buffers, rounded to 256
    plan.write(x, new Float32Array(1000).fill(1));
    plan.run();
    const out = await plan.read(h);
    let ref = 1;
    for (let i = 0; i < 10; i++)
      ref = 0.5 * ref * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (ref + 0.044715 * ref ** 3)));
    expect(out[999]).toBeCloseTo(ref, 6);
    plan.destroy();
    pool.destroy();
  });

  it('sums the gradients of a tensor used twice and accumulates parameter gradients into the store', async () => {
    const ctx = await gpu();
    const store = new ParameterStore(ctx.device, [{ name: 'w', shape: [5] }]);
    store.write('w', Float32Array.of(1, 2, 3, 4, 5));
    const graph = new Graph();
    const w = graph.param('w', [5]);
    const y = add(add(w, w), w); // y = 3w, so dy/dw = 3 per element
    backward(graph, [{ tensor: y, grad: graph.constant('dy', Float32Array.of(1, 1, 1, 1, 2), [5]) }]);
    const plan = new Plan(ctx, graph, { store });
    // Running twice without zeroing accumulates: gradient slots always add.
    plan.run();
    plan.run();
    const grads = await store.readAll('grad');
    expect([...grads.get('w')!]).toEqual([6, 6, 6, 6, 12]);
    plan.destroy();
    store.destroy();
  });

  it('writes a parameter gradient straight into its slot when the producer can accumulate', async () => {
    const ctx = await gpu();
    const store = new ParameterStore(ctx.device, [{ name: 'w', shape: [3] }]);
    const graph = new Graph();
    const w = graph.param('w', [3]);
    const y = graph.apply1(copyOp, [w], {});
    backward(graph, [{ tensor: y, grad: graph.constant('dy', Float32Array.of(1, 2, 3), [3]) }]);
    // copy's backward passes the constant through, so one accumulate-mode copy node sinks it.
    const sinks = graph.nodes.filter((n) => n.outputs.some((t) => t.kind === 'paramGrad'));
    expect(sinks.length).toBe(1);
    expect(sinks[0]!.attrs.accumulate).toBe(true);
    store.destroy();
  });

  it('uses caller-supplied buffers for shared state', async () => {
    const ctx = await gpu();
    const shared = ctx.device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    ctx.device.queue.writeBuffer(shared, 0, Float32Array.of(1, 2, 3, 4));
    const graph = new Graph();
    const x = graph.input('x', [4]);
    const y = add(x, x);
    const plan = new Plan(ctx, graph, {
      retain: [y],
      external: new Map([[x, { buffer: shared, offset: 0, size: 16 }]]),
    });
    plan.run();
    expect([...(await plan.read(y))]).toEqual([2, 4, 6, 8]);
    plan.destroy();
    shared.destroy();
  });

  it('names the problem when shapes do not match', () => {
    const graph = new Graph();
    expect(() => add(graph.input('a', [2, 3]), graph.input('b', [3, 2]))).toThrow(
      /add: shapes differ: \[2, 3\] vs \[3, 2\]/,
    );
  });
});

describe('parameter store', () => {
  it('puts decayed (2-D+) tensors first, each 256-byte aligned', async () => {
    const ctx = await gpu();
    const store = new ParameterStore(ctx.device, [
      { name: 'bias', shape: [3] },
      { name: 'weight', shape: [5, 7] },
    ]);
    expect(store.entry('weight').offset).toBe(0);
    expect(store.entry('bias').offset).toBe(64);
    expect(store.decayEnd).toBe(64);
    expect(store.count).toBe(38);
    expect(() => store.write('bias', new Float32Array(4))).toThrow(/bias: expected 3 values, got 4/);
    store.destroy();
  });
});
