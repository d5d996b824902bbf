import { describe, expect, it } from 'vitest';
import { learningRate } from '../src/optim/schedule';

// nanoGPT get_lr with learning_rate 6e-4, min_lr 6e-5, warmup_iters 10, lr_decay_iters 110.
const s = { maxLr: 6e-4, minLr: 6e-5, warmupSteps: 10, totalSteps: 110 };

describe('learning-rate schedule (nanoGPT get_lr)', () => {
  it('linear warmup (it + 1) / (warmup + 1)', () => {
    expect(learningRate(0, s)).toBeCloseTo(6e-4 / 11, 15);
    expect(learningRate(4, s)).toBeCloseTo((6e-4 * 5) / 11, 15);
    expect(learningRate(9, s)).toBeCloseTo((6e-4 * 10) / 11, 15);
  });
  it('cosine decay to the floor', () => {
    expect(learningRate(10, s)).toBeCloseTo(6e-4, 15); // ratio 0
    // ratio 0.25: 6e-5 + 0.5 (1 + cos(pi/4)) 5.4e-4 = 6e-5 + 0.8535533906 * 5.4e-4
    expect(learningRate(35, s)).toBeCloseTo(5.209188309203678e-4, 15);
    expect(learningRate(60, s)).toBeCloseTo(3.3e-4, 15); // ratio 0.5
    // ratio 0.75: coeff 0.5 (1 - cos(pi/4)) = 0.1464466094
    expect(learningRate(85, s)).toBeCloseTo(1.3908116907963218e-4, 15);
    expect(learningRate(110, s)).toBeCloseTo(6e-5, 15); // ratio 1
    expect(learningRate(111, s)).toBe(6e-5);
    expect(learningRate(10_000, s)).toBe(6e-5);
  });
  it('monotone after the warmup, continuous at its end', () => {
    for (let i = 10; i < 120; i++) expect(learningRate(i + 1, s)).toBeLessThanOrEqual(learningRate(i, s));
    expect(learningRate(10, s) - learningRate(9, s)).toBeCloseTo(6e-4 / 11, 15);
  });
  it('no warmup, and no cosine segment', () => {
    expect(learningRate(0, { ...s, warmupSteps: 0 })).toBe(6e-4);
    expect(learningRate(5, { ...s, warmupSteps: 10, totalSteps: 10 })).toBeCloseTo((6e-4 * 6) / 11, 15);
    expect(learningRate(10, { ...s, warmupSteps: 10, totalSteps: 10 })).toBe(6e-5);
  });
});
