import { describe, expect, it } from 'vitest';
import { pickToken } from '../src/model/sample';
import { rng } from '../src/util/random';

describe('token choice', () => {
  const logits = Float32Array.of(1, 3, 3, 0.5, -2);

  it('greedy takes the first maximum, like torch.argmax', () => {
    expect(pickToken(logits, { temperature: 0 }, rng(1))).toBe(1);
  });

  it('top-k only ever returns the k most likely tokens', () => {
    const random = rng(2);
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) seen.add(pickToken(logits, { temperature: 1, topK: 2 }, random));
    expect([...seen].sort()).toEqual([1, 2]);
  });

  it('top-p keeps the smallest set whose probability reaches p', () => {
    // softmax of [1,3,3,.5,-2]: tokens 1 and 2 hold ~0.87 together, token 0 ~0.06.
    const random = rng(3);
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) seen.add(pickToken(logits, { temperature: 1, topP: 0.8 }, random));
    expect([...seen].sort()).toEqual([1, 2]);
  });

  it('temperature sampling follows the softmax frequencies', () => {
    const random = rng(4);
    const counts = new Array(5).fill(0);
    const n = 20000;
    for (let i = 0; i < n; i++) counts[pickToken(logits, { temperature: 1 }, random)]++;
    const z = [...logits].reduce((s, v) => s + Math.exp(v), 0);
    [...logits].forEach((v, i) => expect(counts[i] / n).toBeCloseTo(Math.exp(v) / z, 1));
  });
});
