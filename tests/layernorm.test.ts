import { describe, expect, it } from 'vitest';
import { backward } from '../src/autograd/backward';
import { Graph } from '../src/autograd/graph';
import { ParameterStore } from '../src/autograd/params';
import { Plan } from '../src/autograd/plan';
import { layerNorm, layerNormOp } from '../src/autograd/ops/layernorm';
import { checkOp, relError } from './helpers/checkOp';
import { gpu } from './helpers/gpu';
import { randn, rng } from './helpers/random';

describe('layernorm against float64 references', () => {
  it('odd sizes, N = 37, C = 48', () => checkOp(layerNormOp, [{ shape: [37, 48] }, { shape: [48] }, { shape: [48] }], { eps: 1e-5 }));

  it('3-D input [2, 5, 24]', () =>
    checkOp(layerNormOp, [{ shape: [2, 5, 24] }, { shape: [24] }, { shape: [24] }], {}));

  it('many rows spread over several partial-sum chunks, N = 300, C = 20', () =>
    checkOp(layerNormOp, [{ shape: [300, 20] }, { shape: [20] }, { shape: [20] }], {}, { fdProbes: 3 }));

  it('accuracy with mean 3 and std 0.1, N = 7, C = 512', async () => {
    const x = randn(7 * 512, rng(3), 0.1).map((v) => v + 3);
    await checkOp(layerNormOp, [{ shape: [7, 512], data: x }, { shape: [512] }, { shape: [512] }], {});
  });

  it('wide rows use every column slot, C = 2048', () => checkOp(layerNormOp, [{ shape: [3, 2048] }, { shape: [2048] }, { shape: [2048] }], {}, { fdProbes: 2 }));

  it('rejects mismatched weights', () => {
    const g = new Graph();
    expect(() => layerNorm(g.input('x', [4, 8]), g.input('w', [7]), g.input('b', [8]))).toThrow(/weight/);
  });

  it('adds dw and db into parameter gradient slots', async () => {
    const ctx = await gpu();
    const [N, C] = [19, 40];
    const random = rng(11);
    const x = randn(N * C, random);
    const w = randn(C, random);
    const b = randn(C, random);
    const dy = randn(N * C, random);
    const prior = randn(C, random);
    const store = new ParameterStore(ctx.device, [
      { name: 'w', shape: [C] },
      { name: 'b', shape: [C] },
    ]);
    store.write('w', w);
    store.write('b', b);
    store.write('w', prior, 'grad');
    store.write('b', prior, 'grad');
    const graph = new Graph();
    const xt = graph.input('x', [N, C]);
    const y = layerNorm(xt, graph.param('w', [C]), graph.param('b', [C]));
    const dyt = graph.input('dy', [N, C]);
    backward(graph, [{ tensor: y, grad: dyt }]);
    const plan = new Plan(ctx, graph, { store, retain: [y] });
    // The reductions write the slots directly: no extra copy node.
    expect(plan.dispatchLabels.filter((l) => l.includes('copy'))).toEqual([]);
    plan.write(xt, x);
    plan.write(dyt, dy);
    plan.run();
    const grads = await store.readAll('grad');
    const ref = layerNormOp.reference!.backward([x, w, b].map((a) => Float64Array.from(a)), [{ shape: [N, C], dtype: 'f32' }], [Float64Array.from(dy), null, null], {});
    expect(relError(grads.get('w')!, ref[1]!.map((v, i) => v + prior[i]!))).toBeLessThan(1e-5);
    expect(relError(grads.get('b')!, ref[2]!.map((v, i) => v + prior[i]!))).toBeLessThan(1e-5);
    plan.destroy();
    store.destroy();
  });
});
