import { describe, it } from 'vitest';
import { addOp, copyOp, geluOp } from '../src/autograd/ops/elementwise';
import { checkOp } from './helpers/checkOp';
import { randn, rng } from './helpers/random';

describe('elementwise ops against float64 references', () => {
  it('add, odd size', () => checkOp(addOp, [{ shape: [3, 37] }, { shape: [3, 37] }], {}));
  it('copy', () => checkOp(copyOp, [{ shape: [101] }], {}));
  it('gelu (tanh form), odd size and large magnitudes', async () => {
    const x = randn(7 * 48, rng(7), 4);
    x[0] = 30;
    x[1] = -30;
    await checkOp(geluOp, [{ shape: [7, 48], data: x }], {});
  });
});
