import { describe, expect, it } from 'vitest';
import { Graph } from '../src/autograd/graph';
import { geluOp, gelu } from '../src/autograd/ops/elementwise';
import { layerNorm, layerNormOp } from '../src/autograd/ops/layernorm';
import { Plan } from '../src/autograd/plan';
import type { Tensor } from '../src/autograd/tensor';
import { roundHalf } from '../src/util/half';
import { checkOp } from './helpers/checkOp';
import { gpu } from './helpers/gpu';
import { randn, rng } from './helpers/random';

/** Runs a graph once and reads `outs` back (f16 tensors come back as f32 values). */
async function runOnce(graph: Graph, inputs: [Tensor, Float32Array][], outs: Tensor[]): Promise<Float32Array[]> {
  const plan = await Plan.create(await gpu(), graph, { retain: outs });
  for (const [t, v] of inputs) plan.write(t, v);
  plan.run();
  const got = await Promise.all(outs.map((t) => plan.read(t)));
  plan.destroy();
  return got;
}

/**
 * Indices where `half` is not `full` rounded to f16. Below 2^-14 (subnormal halves) SwiftShader's
 * rounding can be off by 2^-24 (see tests/cast.test.ts), so there the bar is 2^-23.
 */
function notRounded(half: Float32Array, full: Float32Array): number[] {
  const bad: number[] = [];
  full.forEach((v, i) => {
    const ok = Math.abs(v) < 2 ** -14 ? Math.abs(half[i]! - roundHalf(v)) <= 2 ** -23 : half[i] === roundHalf(v);
    if (!ok) bad.push(i);
  });
  return bad;
}

// An f16 output holds the f32 result rounded: within half an f16 ulp (2^-11 relative) of the reference.
const HALF_TOL = 1e-3;

describe('layernorm with f16 output', () => {
  it('checkOp: odd rows, N = 37, C = 50; backward (which never reads y) unchanged', () =>
    checkOp(
      layerNormOp,
      [{ shape: [37, 50] }, { shape: [50] }, { shape: [50] }],
      { out: 'f16' },
      { forwardTol: HALF_TOL },
    ));

  it('checkOp: a row wider than the workgroup, C = 258 (a thread writes two words per row)', () =>
    checkOp(
      layerNormOp,
      [{ shape: [3, 258] }, { shape: [258] }, { shape: [258] }],
      { out: 'f16' },
      { forwardTol: HALF_TOL, fdProbes: 2 },
    ));

  it('y is exactly the f32 kernel result rounded (the statistics are computed alike)', async () => {
    for (const [N, C] of [
      [5, 2048],
      [11, 258],
    ] as const) {
      const g = new Graph();
      const x = g.input('x', [N, C]);
      const w = g.input('w', [C]);
      const b = g.input('b', [C]);
      const y32 = layerNorm(x, w, b);
      const y16 = layerNorm(x, w, b, { out: 'f16' });
      expect(y16.dtype).toBe('f16');
      const random = rng(N);
      const [full, half] = await runOnce(
        g,
        [
          [x, randn(N * C, random, 3).map((v) => v + 2)],
          [w, randn(C, random)],
          [b, randn(C, random)],
        ],
        [y32, y16],
      );
      expect(notRounded(half!, full!).slice(0, 5), `N = ${N}, C = ${C}`).toEqual([]);
    }
  });

  it('refuses an odd C with f16 output, and non-f32 inputs, in one line', () => {
    const g = new Graph();
    const w = g.input('w', [7]);
    const b = g.input('b', [7]);
    expect(() => layerNorm(g.input('x', [4, 7]), w, b, { out: 'f16' })).toThrow(
      /^layernorm: f16 output needs an even last axis .*C = 7$/,
    );
    expect(() => layerNorm(g.input('x16', [4, 7], 'f16'), w, b)).toThrow(/^layernorm: x, weight and bias must be f32/);
  });
});

describe('gelu with f16 input and/or output', () => {
  // 7 × 49: an odd count, so the last f16 word holds one element.
  const x = randn(7 * 49, rng(7), 3);
  x[0] = 12;
  x[1] = -12;

  it('checkOp: f32 → f16', () =>
    checkOp(geluOp, [{ shape: [7, 49], data: x }], { out: 'f16' }, { forwardTol: HALF_TOL }));
  it('checkOp: f16 → f16', () =>
    checkOp(geluOp, [{ shape: [7, 49], data: x, dtype: 'f16' }], { out: 'f16' }, { forwardTol: HALF_TOL }));
  // An f16 input holds exact halves: the f32 result and the gradient match as tightly as f32's.
  it('checkOp: f16 → f32', () => checkOp(geluOp, [{ shape: [7, 49], data: x, dtype: 'f16' }], {}));

  it('an f16 y is exactly the f32 kernel result rounded (odd count; f16 x read as its halves)', async () => {
    const g = new Graph();
    const x32 = g.input('x', [x.length]);
    const x16 = g.input('x16', [x.length], 'f16');
    const outs = [gelu(x32), gelu(x32, { out: 'f16' }), gelu(x16), gelu(x16, { out: 'f16' })];
    expect(outs.map((t) => t.dtype)).toEqual(['f32', 'f16', 'f32', 'f16']);
    const [full, half, fromHalf, halfFromHalf] = await runOnce(
      g,
      [
        [x32, x],
        [x16, x],
      ],
      outs,
    );
    expect(notRounded(half!, full!).slice(0, 5)).toEqual([]);
    expect(notRounded(halfFromHalf!, fromHalf!).slice(0, 5)).toEqual([]);
  });

  it('refuses an i32 input in one line', () => {
    const g = new Graph();
    expect(() => gelu(g.input('ids', [4], 'i32'))).toThrow(/^gelu: x must be f32 or f16, got i32$/);
  });
});
