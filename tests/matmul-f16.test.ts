/**
 * matmul with f16 operands (halves two to a word), `half` rounding of f32 operands on load, and an
 * f16 output, against the float64 reference; and the f32 path's results pinned bit for bit.
 * Few kernel variants on purpose: on SwiftShader compiling each one is most of the time.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backward } from '../src/autograd/backward';
import { Graph } from '../src/autograd/graph';
import { Plan } from '../src/autograd/plan';
import { matmul, matmulOp } from '../src/autograd/ops/matmul';
import { maxRelError } from '../src/util/compare';
import { checkOp } from './helpers/checkOp';
import { gpu } from './helpers/gpu';
import { randn, rng } from './helpers/random';

type DT = 'f32' | 'f16';

/** Stored shapes of A and B for op(A) [M,K] and op(B) [K,N], with their dtypes. */
function operands(M: number, K: number, N: number, t: { transA?: boolean; transB?: boolean }, a: DT, b: DT) {
  return [
    { shape: t.transA ? [K, M] : [M, K], dtype: a },
    { shape: t.transB ? [N, K] : [K, N], dtype: b },
  ];
}

describe('matmul with f16 operands against float64 references', () => {
  // f16 inputs hold exact halves (checkOp rounds them for the reference too), so these match like f32.
  // Each backward runs other transpose forms on the same operands: dA = dC·bᵀ, dB = aᵀ·dC. A 128-wide
  // tile fully in bounds takes the vec4 fast path (two words when the operand's rows start on a word).
  it('f16 A (aligned fast path), f32 B, 130x48x67 with bias', () =>
    checkOp(matmulOp, [...operands(130, 48, 67, {}, 'f16', 'f32'), { shape: [67] }], {}));
  it('f32 A, f16 Bᵀ (aligned), split-K 9x700x130 with bias', () =>
    checkOp(matmulOp, [...operands(9, 700, 130, { transB: true }, 'f32', 'f16'), { shape: [130] }], {
      transB: true,
    }));
  it('f16 Aᵀ (aligned) and f16 B with odd rows (element-wise), 130x69x129', () =>
    checkOp(matmulOp, operands(130, 69, 129, { transA: true }, 'f16', 'f16'), { transA: true }));
});

describe('matmul half and f16 output', () => {
  // The reference rounds f32 operands to halves as the kernel does, so only the summation order
  // differs; without the rounding the result is ~1e-3 away.
  it('half rounds: the result is the rounded operands’ product, not the f32 one', async () => {
    const [M, K, N] = [37, 48, 67];
    const random = rng(4);
    const A = randn(M * K, random);
    const B = randn(K * N, random);
    const ctx = await gpu();
    const g = new Graph();
    const a = g.input('a', [M, K]);
    const b = g.input('b', [K, N]);
    const c = matmul(a, b, { half: true });
    const plan = await Plan.create(ctx, g, { retain: [c] });
    plan.write(a, A);
    plan.write(b, B);
    plan.run();
    const got = await plan.read(c);
    plan.destroy();
    const ref = (round: boolean) =>
      matmulOp.reference!.forward([Float64Array.from(A), Float64Array.from(B)], [a.spec, b.spec], { half: round })[0]!;
    expect(maxRelError(got, ref(true))).toBeLessThan(1e-5);
    expect(maxRelError(got, ref(false))).toBeGreaterThan(1e-4);
  });

  // An f16 C holds each value to half an ulp (~2.4e-4 relative); the gradient passes straight through.
  it('out f16, even N (the tile kernel writes whole words), with bias', () =>
    checkOp(
      matmulOp,
      [...operands(37, 48, 66, {}, 'f32', 'f32'), { shape: [66] }],
      { out: 'f16' },
      { forwardTol: 1e-3 },
    ));
  it('out f16, odd N (words straddle rows: through the reduce kernel), with bias', () =>
    checkOp(
      matmulOp,
      [...operands(37, 48, 67, {}, 'f32', 'f32'), { shape: [67] }],
      { out: 'f16' },
      { forwardTol: 1e-3 },
    ));
  it('out f16 after split-K, 9x700x13', () =>
    checkOp(matmulOp, operands(9, 700, 13, {}, 'f32', 'f32'), { out: 'f16' }, { forwardTol: 1e-3 }));

  // What mixed precision runs: f16 activations and weight copies, half, f16 out; gradients f32.
  // Its backward takes dC at f16 precision too (the reference rounds it): half on f32 operands.
  it('the mixed model’s form: f16 A and B (aligned), half, out f16, bias', () =>
    checkOp(
      matmulOp,
      [...operands(130, 48, 130, {}, 'f16', 'f16'), { shape: [130] }],
      { half: true, out: 'f16' },
      { forwardTol: 1e-3, backwardTol: 2e-5, fdProbes: 0 },
    ));

  it('refuses to accumulate into an f16 output, i32 operands and an f16 bias', () => {
    const f32 = (...shape: number[]) => ({ shape, dtype: 'f32' as const });
    expect(() => matmulOp.outputs([f32(4, 5), f32(5, 6)], { out: 'f16', accumulate: true })).toThrow(
      'matmul: cannot accumulate into an f16 output',
    );
    expect(() => matmulOp.outputs([{ shape: [4, 5], dtype: 'i32' }, f32(5, 6)], {})).toThrow(
      'matmul: operands must be f32 or f16, got i32 and f32',
    );
    expect(() => matmulOp.outputs([f32(4, 5), f32(5, 6), { shape: [6], dtype: 'f16' }], {})).toThrow(
      'matmul: the bias must be f32, got f16',
    );
    expect(matmulOp.outputs([{ shape: [4, 5], dtype: 'f16' }, f32(5, 6)], { out: 'f16' })[0]).toEqual({
      shape: [4, 6],
      dtype: 'f16',
    });
  });
});

describe('the f32 path is unchanged', () => {
  // SHA-256 prefixes of C, dA and dB read back from the f32 kernels before f16 support went in
  // (SwiftShader, the test device; another adapter may round differently, so it skips there).
  const pinned = [
    [37, 48, 67, false, false, true, '15eb15752ee96ed6'],
    [9, 700, 13, true, true, false, '6b15f6011e12605d'],
  ] as const;
  for (const [M, K, N, transA, transB, hasBias, hash] of pinned)
    it(`bit-identical results ${M}x${K}x${N}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''}`, async (t) => {
      const ctx = await gpu();
      const info = ctx.adapterInfo;
      if (!/swiftshader/i.test(`${info.description} ${info.vendor} ${info.architecture}`)) t.skip();
      const random = rng(11);
      const g = new Graph();
      const a = g.input('a', transA ? [K, M] : [M, K], 'f32', true);
      const b = g.input('b', transB ? [N, K] : [K, N], 'f32', true);
      const bias = hasBias ? g.input('bias', [N], 'f32', true) : undefined;
      const c = matmul(a, b, { transA, transB, bias });
      const dc = g.input('dc', [M, N]);
      const grads = backward(g, [{ tensor: c, grad: dc }]);
      const plan = await Plan.create(ctx, g, { retain: [c, grads.get(a)!, grads.get(b)!] });
      plan.write(a, randn(M * K, random));
      plan.write(b, randn(K * N, random));
      if (bias) plan.write(bias, randn(N, random));
      plan.write(dc, randn(M * N, random));
      plan.run();
      const h = createHash('sha256');
      for (const x of [c, grads.get(a)!, grads.get(b)!]) h.update(new Uint8Array((await plan.read(x)).buffer));
      plan.destroy();
      expect(h.digest('hex').slice(0, 16)).toBe(hash);
    });
});
