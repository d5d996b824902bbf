import { describe, expect, it } from 'vitest';
import { backward } from '../src/autograd/backward';
import { Graph } from '../src/autograd/graph';
import { ParameterStore } from '../src/autograd/params';
import { Plan } from '../src/autograd/plan';
import { embedding, embeddingOp } from '../src/autograd/ops/embedding';
import { checkOp, relError } from './helpers/checkOp';
import { gpu } from './helpers/gpu';
import { randint, randn, rng } from './helpers/random';

/** Token ids in [0, V) with many repeats (a few ids drawn from a small set). */
function tokens(n: number, V: number, seed: number): Int32Array {
  const random = rng(seed);
  const ids = randint(n, V, random);
  for (let i = 0; i < n; i += 3) ids[i] = Math.floor(random() * 5);
  ids[1] = V - 1;
  return ids;
}

const inputs = (B: number, T: number, C: number, V: number, maxT: number, idx: Int32Array) => [
  { shape: [B, T], dtype: 'i32' as const, data: idx, grad: false },
  { shape: [V, C] },
  { shape: [maxT, C] },
];

describe('embedding against float64 references', () => {
  it('B = 2, T = 37, C = 48, V = 300 > B*T, repeated ids, unused wpe rows', () =>
    checkOp(embeddingOp, inputs(2, 37, 48, 300, 40, tokens(74, 300, 1)), {}));

  it('V = 67, rows spanning two 1024-row scan chunks', () => checkOp(embeddingOp, inputs(3, 400, 20, 67, 400, tokens(1200, 67, 2)), {}, { fdProbes: 3 }));

  it('C = 300 spans two column tiles, V = 101', () => checkOp(embeddingOp, inputs(2, 5, 300, 101, 8, tokens(10, 101, 3)), {}));

  it('position offset (KV-cache decoding): token t uses wpe[pos + t]', () =>
    checkOp(embeddingOp, [...inputs(2, 37, 48, 101, 50, tokens(74, 101, 4)), { shape: [1], dtype: 'i32', data: Int32Array.of(5), grad: false }], {}));

  it('positions past maxT and token ids outside [0, V) give zero rows and no gradient', () => {
    const idx = tokens(2 * 37, 67, 5);
    idx[3] = -1;
    idx[40] = 67;
    idx[41] = 1 << 30;
    return checkOp(embeddingOp, [...inputs(2, 37, 16, 67, 45, idx), { shape: [1], dtype: 'i32', data: Int32Array.of(20), grad: false }], {});
  });

  it('rejects T beyond the position table and non-i32 ids', () => {
    const g = new Graph();
    expect(() => embedding(g.input('idx', [1, 9], 'i32'), g.input('wte', [10, 4]), g.input('wpe', [8, 4]))).toThrow(/exceeds/);
    expect(() => embedding(g.input('idx', [1, 4]), g.input('wte', [10, 4]), g.input('wpe', [8, 4]))).toThrow(/i32/);
  });

  it('adds dwte and dwpe into parameter gradient slots', async () => {
    const ctx = await gpu();
    const [B, T, C, V, maxT] = [2, 9, 24, 30, 12];
    const random = rng(9);
    const idx = tokens(B * T, V, 6);
    const wte = randn(V * C, random);
    const wpe = randn(maxT * C, random);
    const dx = randn(B * T * C, random);
    const priorWte = randn(V * C, random);
    const priorWpe = randn(maxT * C, random);
    const store = new ParameterStore(ctx.device, [
      { name: 'wte', shape: [V, C] },
      { name: 'wpe', shape: [maxT, C] },
    ]);
    store.write('wte', wte);
    store.write('wpe', wpe);
    store.write('wte', priorWte, 'grad');
    store.write('wpe', priorWpe, 'grad');
    const graph = new Graph();
    const idxT = graph.input('idx', [B, T], 'i32');
    const x = embedding(idxT, graph.param('wte', [V, C]), graph.param('wpe', [maxT, C]));
    const dxT = graph.input('dx', [B, T, C]);
    backward(graph, [{ tensor: x, grad: dxT }]);
    const plan = new Plan(ctx, graph, { store, retain: [x] });
    expect(plan.dispatchLabels.filter((l) => l.includes('copy'))).toEqual([]);
    plan.write(idxT, idx);
    plan.write(dxT, dx);
    plan.run();
    const grads = await store.readAll('grad');
    const specs = [
      { shape: [B, T], dtype: 'i32' as const },
      { shape: [V, C], dtype: 'f32' as const },
      { shape: [maxT, C], dtype: 'f32' as const },
    ];
    const ref = embeddingOp.reference!.backward([idx, Float64Array.from(wte), Float64Array.from(wpe)], specs, [Float64Array.from(dx)], {});
    expect(relError(grads.get('wte')!, ref[1]!.map((v, i) => v + priorWte[i]!))).toBeLessThan(1e-5);
    expect(relError(grads.get('wpe')!, ref[2]!.map((v, i) => v + priorWpe[i]!))).toBeLessThan(1e-5);
    plan.destroy();
    store.destroy();
  });
});
