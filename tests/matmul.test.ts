import { describe, expect, it } from 'vitest';
import { Graph } from '../src/autograd/graph';
import { Plan } from '../src/autograd/plan';
import { biasGrad, biasGradOp, linear, matmul, matmulDims, matmulOp, matmulSplits } from '../src/autograd/ops/matmul';
import { maxRelError } from '../src/util/compare';
import { checkOp } from './helpers/checkOp';
import { gpu } from './helpers/gpu';
import { randn, rng } from './helpers/random';

/** Stored shapes of A and B for op(A) [M,K] and op(B) [K,N]. */
function operands(M: number, K: number, N: number, transA: boolean, transB: boolean) {
  return [{ shape: transA ? [K, M] : [M, K] }, { shape: transB ? [N, K] : [K, N] }];
}

const flags = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
] as const;

describe('matmul against float64 references', () => {
  for (const [transA, transB] of flags) {
    const tag = `${transA ? 'Aᵀ' : 'A'} @ ${transB ? 'Bᵀ' : 'B'}`;
    it(`${tag}, odd sizes 37x48x67, with bias`, () =>
      checkOp(matmulOp, [...operands(37, 48, 67, transA, transB), { shape: [67] }], { transA, transB }));
    it(`${tag}, 1x5x3`, () => checkOp(matmulOp, operands(1, 5, 3, transA, transB), { transA, transB }));
    it(`${tag}, several tiles 130x70x129`, () =>
      checkOp(matmulOp, operands(130, 70, 129, transA, transB), { transA, transB }));
    // K = 700 splits into 2 partial products reduced in a second pass (small output, long K).
    it(`${tag}, split-K 9x700x13 with bias`, async () => {
      expect(matmulSplits({ M: 9, N: 13, K: 700 })).toBe(2);
      await checkOp(matmulOp, [...operands(9, 700, 13, transA, transB), { shape: [13] }], { transA, transB });
    });
  }

  it('3-D operands: [2,37,48] @ [48,67] + bias keeps leading dims; Aᵀ and Bᵀ forms', async () => {
    await checkOp(matmulOp, [{ shape: [2, 37, 48] }, { shape: [48, 67] }, { shape: [67] }], {});
    await checkOp(matmulOp, [{ shape: [2, 37, 48] }, { shape: [67, 48] }], { transB: true });
    // Aᵀ with leading dims: [2,5,37] is [K=10, M=37]; its gradient comes back in A's 3-D shape.
    await checkOp(matmulOp, [{ shape: [2, 5, 37] }, { shape: [10, 67] }], { transA: true });
  });

  it('shape rules', () => {
    expect(matmulDims({ shape: [2, 37, 48], dtype: 'f32' }, { shape: [48, 67], dtype: 'f32' }, {})).toEqual({
      M: 74,
      N: 67,
      K: 48,
    });
    expect(
      matmulOp.outputs(
        [
          { shape: [2, 37, 48], dtype: 'f32' },
          { shape: [48, 67], dtype: 'f32' },
        ],
        {},
      )[0]!.shape,
    ).toEqual([2, 37, 67]);
    expect(() =>
      matmulOp.outputs(
        [
          { shape: [4, 5], dtype: 'f32' },
          { shape: [6, 7], dtype: 'f32' },
        ],
        {},
      ),
    ).toThrow(/inner dims/);
    expect(() =>
      matmulOp.outputs(
        [
          { shape: [4, 5], dtype: 'f32' },
          { shape: [5, 7], dtype: 'f32' },
          { shape: [6], dtype: 'f32' },
        ],
        {},
      ),
    ).toThrow(/bias/);
    // The model's weight gradients (small output, K = B*T) split; the big products do not.
    expect(matmulSplits({ M: 512, N: 512, K: 16384 })).toBeGreaterThan(8);
    expect(matmulSplits({ M: 16384, N: 1536, K: 512 })).toBe(1);
  });
});

describe('matmul in a graph', () => {
  it('linear and the LM-head form give the right shapes and values', async () => {
    const ctx = await gpu();
    const random = rng(3);
    const g = new Graph();
    const x = g.input('x', [2, 5, 6]);
    const w = g.input('w', [6, 7]);
    const b = g.input('b', [7]);
    const wte = g.input('wte', [9, 7]);
    const h = linear(x, w, b);
    const logits = matmul(h, wte, { transB: true });
    expect(h.shape).toEqual([2, 5, 7]);
    expect(logits.shape).toEqual([2, 5, 9]);
    const plan = new Plan(ctx, g, { retain: [logits] });
    const data = { x: randn(60, random), w: randn(42, random), b: randn(7, random), wte: randn(63, random) };
    plan.write(x, data.x);
    plan.write(w, data.w);
    plan.write(b, data.b);
    plan.write(wte, data.wte);
    plan.run();
    const expected = new Float64Array(90);
    for (let r = 0; r < 10; r++) {
      const hr = Array.from(
        { length: 7 },
        (_, n) =>
          data.b[n]! +
          Array.from({ length: 6 }, (_, k) => data.x[r * 6 + k]! * data.w[k * 7 + n]!).reduce((s, v) => s + v, 0),
      );
      for (let v = 0; v < 9; v++) expected[r * 9 + v] = hr.reduce((s, hv, c) => s + hv * data.wte[v * 7 + c]!, 0);
    }
    expect(maxRelError(await plan.read(logits), expected)).toBeLessThan(1e-5);
    plan.destroy();
  });

  // accumulate: out = out_init + A@B, twice in a row -> out_init + 2 A@B; direct and split-K paths.
  for (const [M, K, N, transA] of [
    [37, 48, 67, false],
    [9, 700, 13, true],
  ] as const) {
    it(`accumulate mode ${M}x${K}x${N}${transA ? ' (Aᵀ)' : ''} adds into the output`, async () => {
      const ctx = await gpu();
      const random = rng(5);
      const g = new Graph();
      const a = g.input('a', transA ? [K, M] : [M, K]);
      const b = g.input('b', [K, N]);
      const c = g.apply1(matmulOp, [a, b], { transA, accumulate: true });
      const plan = new Plan(ctx, g, { retain: [c] });
      const A = randn(M * K, random);
      const B = randn(K * N, random);
      const init = randn(M * N, random);
      plan.write(a, A);
      plan.write(b, B);
      const slice = plan.slice(c);
      ctx.device.queue.writeBuffer(slice.buffer, slice.offset, init.buffer, init.byteOffset, init.byteLength);
      const [prod] = matmulOp.reference!.forward([Float64Array.from(A), Float64Array.from(B)], [a.spec, b.spec], {
        transA,
      });
      plan.run();
      expect(
        maxRelError(
          await plan.read(c),
          Float64Array.from(init, (v, i) => v + prod![i]!),
        ),
      ).toBeLessThan(1e-5);
      plan.run();
      expect(
        maxRelError(
          await plan.read(c),
          Float64Array.from(init, (v, i) => v + 2 * prod![i]!),
        ),
      ).toBeLessThan(1e-5);
      plan.destroy();
    });
  }

  it('bias gradient over many rows (several chunks) and accumulate', async () => {
    const ctx = await gpu();
    const random = rng(9);
    const [R, N] = [700, 67]; // 3 row chunks of 234
    const g = new Graph();
    const dy = g.input('dy', [R, N]);
    const db = biasGrad(dy);
    const plan = new Plan(ctx, g, { retain: [db] });
    const data = randn(R * N, random);
    plan.write(dy, data);
    plan.run();
    const expected = new Float64Array(N);
    for (let r = 0; r < R; r++) for (let n = 0; n < N; n++) expected[n]! += data[r * N + n]!;
    expect(maxRelError(await plan.read(db), expected)).toBeLessThan(1e-5);
    plan.destroy();

    const g2 = new Graph();
    const dy2 = g2.input('dy', [R, N]);
    const db2 = g2.apply1(biasGradOp, [dy2], { accumulate: true });
    const plan2 = new Plan(ctx, g2, { retain: [db2] });
    plan2.write(dy2, data);
    plan2.run();
    plan2.run();
    expect(
      maxRelError(
        await plan2.read(db2),
        Float64Array.from(expected, (v) => 2 * v),
      ),
    ).toBeLessThan(1e-5);
    plan2.destroy();
  });
});
