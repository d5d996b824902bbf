import { describe, expect, it } from 'vitest';
import { Graph } from '../src/autograd/graph';
import { layerNorm, layerNormOp } from '../src/autograd/ops/layernorm';
import { checkOp } from './helpers/checkOp';
import { checkParamSlotsAccumulate } from './helpers/param-slots';
import { randn, rng } from './helpers/random';

describe('layernorm against float64 references', () => {
  it('odd sizes, N = 37, C = 48', () =>
    checkOp(layerNormOp, [{ shape: [37, 48] }, { shape: [48] }, { shape: [48] }], { eps: 1e-5 }));

  it('3-D input [2, 5, 24]', () => checkOp(layerNormOp, [{ shape: [2, 5, 24] }, { shape: [24] }, { shape: [24] }], {}));

  it('many rows spread over several partial-sum chunks, N = 300, C = 20', () =>
    checkOp(layerNormOp, [{ shape: [300, 20] }, { shape: [20] }, { shape: [20] }], {}, { fdProbes: 3 }));

  it('accuracy with mean 3 and std 0.1, N = 7, C = 512', async () => {
    const x = randn(7 * 512, rng(3), 0.1).map((v) => v + 3);
    await checkOp(layerNormOp, [{ shape: [7, 512], data: x }, { shape: [512] }, { shape: [512] }], {});
  });

  it('wide rows use every column slot, C = 2048', () =>
    checkOp(layerNormOp, [{ shape: [3, 2048] }, { shape: [2048] }, { shape: [2048] }], {}, { fdProbes: 2 }));

  it('rejects mismatched weights', () => {
    const g = new Graph();
    expect(() => layerNorm(g.input('x', [4, 8]), g.input('w', [7]), g.input('b', [8]))).toThrow(/weight/);
  });

  it('adds dw and db into parameter gradient slots', () =>
    checkParamSlotsAccumulate(
      layerNormOp,
      [{ shape: [19, 40] }, { shape: [40], param: 'w' }, { shape: [40], param: 'b' }],
      {},
      11,
    ));
});
