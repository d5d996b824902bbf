import { describe, expect, it } from 'vitest';
import { Graph } from '../src/autograd/graph';
import { Plan } from '../src/autograd/plan';
import { cast, castOp } from '../src/autograd/ops/cast';
import { halfBits, halfValue, roundHalf } from '../src/util/half';
import { checkOp } from './helpers/checkOp';
import { gpu } from './helpers/gpu';
import { randn, rng } from './helpers/random';

/** Values that probe f32 → f16 rounding: ties, subnormals, overflow, and a spread of magnitudes. */
function probeValues(): Float32Array {
  const random = rng(7);
  const special = [
    0,
    -0,
    1,
    -1,
    1 + 2 ** -11,
    1 + 3 * 2 ** -11,
    2 ** -25,
    3 * 2 ** -25,
    2 ** -14 - 2 ** -26,
    65504,
    65519,
    65520,
    -1e6,
    1e-9,
    6e-8,
    Infinity,
    -Infinity,
  ];
  const spread = Array.from({ length: 20001 }, () => (random() - 0.5) * 2 ** Math.floor(random() * 40 - 26));
  return Float32Array.from([...special, ...spread]);
}

describe('cast between f32 and f16', () => {
  it('the GPU rounds f32 → f16 as the host does (nearest, ties to even), on an odd count', async () => {
    const values = probeValues();
    const ctx = await gpu();
    const graph = new Graph();
    const x = graph.input('x', [values.length]);
    const y = cast(x, 'f16');
    const back = cast(y, 'f32');
    const plan = await Plan.create(ctx, graph, { retain: [y, back] });
    plan.write(x, values);
    plan.run();
    const got = await plan.read(y);
    // Out of f16's range WGSL leaves the value indeterminate: SwiftShader gives NaN, GPUs Inf;
    // either is non-finite, which is what loss scaling looks for. Below 2^-14 (subnormal halves)
    // SwiftShader is off by up to two units of 2^-24 now and then, so there the bar is 2^-23.
    const wrong = Array.from(values).filter((v, i) => {
      if (Math.abs(v) >= 65520) return Number.isFinite(got[i]!);
      if (Math.abs(v) < 2 ** -14) return !(Math.abs(got[i]! - roundHalf(v)) <= 2 ** -23);
      return got[i] !== roundHalf(v);
    });
    expect(wrong.slice(0, 5), `${wrong.length} values rounded differently`).toEqual([]);
    expect(Array.from(await plan.read(back))).toEqual(Array.from(got));
    plan.destroy();
  });

  it('an f16 input written from the host reads back as its halves', async () => {
    const ctx = await gpu();
    const graph = new Graph();
    const x = graph.input('x', [5], 'f16');
    const plan = await Plan.create(ctx, graph);
    plan.write(x, Float32Array.from([1, 1 + 2 ** -11, 70000, -3.25, 1e-8]));
    expect(Array.from(await plan.read(x))).toEqual([1, 1, Infinity, -3.25, halfValue(halfBits(1e-8))]);
    plan.destroy();
  });

  // Rounding has derivative 0 almost everywhere; the gradient passes straight through, so the
  // finite-difference check of the reference is left out for f32 → f16 and kept for f16 → f32 (exact).
  it('checkOp: f32 → f16 on odd sizes, gradient straight through', () =>
    checkOp(castOp, [{ shape: [3, 37] }], { to: 'f16' }, { forwardTol: 1e-7, fdProbes: 0 }));
  it('checkOp: f16 → f32', () =>
    checkOp(castOp, [{ shape: [5, 13], dtype: 'f16' }], { to: 'f32' }, { forwardTol: 1e-12 }));

  it('cast to the same dtype is the tensor itself; i32 is refused', () => {
    const graph = new Graph();
    const x = graph.input('x', [4]);
    expect(cast(x, 'f32')).toBe(x);
    const ids = graph.input('ids', [4], 'i32');
    expect(() => cast(ids, 'f16')).toThrow(/f32 and f16/);
  });

  it('rounding is what the tensor holds: randn through f16 stays within half an f16 ulp', async () => {
    const values = randn(1001, rng(3));
    const ctx = await gpu();
    const graph = new Graph();
    const x = graph.input('x', [values.length]);
    const y = cast(x, 'f16');
    const plan = await Plan.create(ctx, graph, { retain: [y] });
    plan.write(x, values);
    plan.run();
    const got = await plan.read(y);
    for (let i = 0; i < values.length; i++)
      expect(Math.abs(got[i]! - values[i]!)).toBeLessThanOrEqual(Math.abs(values[i]!) * 2 ** -11 + 2 ** -25);
    plan.destroy();
  });
});
