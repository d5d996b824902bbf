import { describe, expect, it } from 'vitest';
import { Graph } from '../src/autograd/graph';
import { crossEntropy, crossEntropyBackwardOp, crossEntropyOp } from '../src/autograd/ops/cross-entropy';
import { checkOp } from './helpers/checkOp';
import { randint, randn, rng } from './helpers/random';

const targets = (shape: number[], V: number, seed: number, data?: Int32Array) => ({
  shape,
  dtype: 'i32' as const,
  data:
    data ??
    randint(
      shape.reduce((a, b) => a * b, 1),
      V,
      rng(seed),
    ),
  grad: false,
});

describe('cross-entropy against float64 references', () => {
  it('N = 37, V = 67', () => checkOp(crossEntropyOp, [{ shape: [37, 67] }, targets([37], 67, 1)], {}));

  it('[B, T, V] = [2, 37, 101] logits with [B, T] targets', () =>
    checkOp(crossEntropyOp, [{ shape: [2, 37, 101] }, targets([2, 37], 101, 2)], {}));

  it('ignore index: rows with target < 0 leave the mean and get zero gradient, V = 300', () => {
    const t = randint(23, 300, rng(3));
    for (const n of [0, 5, 6, 22]) t[n] = -1;
    t[9] = -100;
    return checkOp(crossEntropyOp, [{ shape: [23, 300] }, targets([23], 300, 0, t)], {});
  });

  it('every row ignored: loss 0 and zero gradient', () =>
    checkOp(crossEntropyOp, [{ shape: [3, 67] }, targets([3], 67, 0, Int32Array.of(-1, -1, -1))], {}, { fdProbes: 0 }));

  it('large logits (max subtraction), V = 101', async () => {
    const x = randn(9 * 101, rng(4), 30);
    x[5] = 200;
    await checkOp(crossEntropyOp, [{ shape: [9, 101], data: x }, targets([9], 101, 5)], {});
  });

  it('GPT-2 vocabulary V = 50304, N = 4: loss within 1e-6', () =>
    checkOp(crossEntropyOp, [{ shape: [4, 50304] }, targets([4], 50304, 6)], {}, { forwardTol: 1e-6, fdProbes: 2 }));

  it('rejects mismatched targets', () => {
    const g = new Graph();
    expect(() => crossEntropy(g.input('logits', [4, 10]), g.input('t', [5], 'i32'))).toThrow(/targets/);
    expect(() => crossEntropy(g.input('logits', [4, 10]), g.input('t', [4]))).toThrow(/i32/);
  });
});

describe('cross-entropy over f16 logits (mixed precision: the arithmetic stays f32)', () => {
  // f16 logits are exact halves, so the loss matches the float64 reference as f32 does; dlogits are
  // stored as halves: within half an f16 step of their largest value.
  it('odd N × V = 37 × 67 (word pairs span rows), with an ignored row; dlogits f16', () => {
    const t = randint(37, 67, rng(6));
    t[4] = -1;
    return checkOp(
      crossEntropyOp,
      [{ shape: [37, 67], dtype: 'f16' }, targets([37], 67, 0, t)],
      {},
      {
        backwardTol: 1e-3,
      },
    );
  });

  it('[B, T, V] = [2, 5, 101]: dlogits keep the logits’ dtype', async () => {
    const spec = (dtype: 'f32' | 'f16') => [
      { shape: [2, 5, 101], dtype },
      { shape: [2, 5], dtype: 'i32' as const },
      { shape: [10], dtype: 'f32' as const },
      { shape: [1], dtype: 'f32' as const },
    ];
    expect(crossEntropyBackwardOp.outputs(spec('f16'), {})[0]!.dtype).toBe('f16');
    expect(crossEntropyBackwardOp.outputs(spec('f32'), {})[0]!.dtype).toBe('f32');
    await checkOp(
      crossEntropyOp,
      [{ shape: [2, 5, 101], dtype: 'f16' }, targets([2, 5], 101, 7)],
      {},
      {
        backwardTol: 1e-3,
      },
    );
  });
});
