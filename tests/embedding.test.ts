import { describe, expect, it } from 'vitest';
import { Graph } from '../src/autograd/graph';
import { embedding, embeddingOp } from '../src/autograd/ops/embedding';
import { checkOp } from './helpers/checkOp';
import { checkParamSlotsAccumulate } from './helpers/param-slots';
import { randint, rng } from './helpers/random';

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

  it('V = 67, rows spanning two 1024-row scan chunks', () =>
    checkOp(embeddingOp, inputs(3, 400, 20, 67, 400, tokens(1200, 67, 2)), {}, { fdProbes: 3 }));

  it('C = 300 spans two column tiles, V = 101', () =>
    checkOp(embeddingOp, inputs(2, 5, 300, 101, 8, tokens(10, 101, 3)), {}));

  it('position offset (KV-cache decoding): token t uses wpe[pos + t]', () =>
    checkOp(
      embeddingOp,
      [
        ...inputs(2, 37, 48, 101, 50, tokens(74, 101, 4)),
        { shape: [1], dtype: 'i32', data: Int32Array.of(5), grad: false },
      ],
      {},
    ));

  it('positions past maxT and token ids outside [0, V) give zero rows and no gradient', () => {
    const idx = tokens(2 * 37, 67, 5);
    idx[3] = -1;
    idx[40] = 67;
    idx[41] = 1 << 30;
    return checkOp(
      embeddingOp,
      [...inputs(2, 37, 16, 67, 45, idx), { shape: [1], dtype: 'i32', data: Int32Array.of(20), grad: false }],
      {},
    );
  });

  it('rejects T beyond the position table and non-i32 ids', () => {
    const g = new Graph();
    expect(() => embedding(g.input('idx', [1, 9], 'i32'), g.input('wte', [10, 4]), g.input('wpe', [8, 4]))).toThrow(
      /exceeds/,
    );
    expect(() => embedding(g.input('idx', [1, 4]), g.input('wte', [10, 4]), g.input('wpe', [8, 4]))).toThrow(/i32/);
  });

  it('adds dwte and dwpe into parameter gradient slots', () =>
    checkParamSlotsAccumulate(
      embeddingOp,
      [
        { shape: [2, 9], ids: tokens(18, 30, 6) },
        { shape: [30, 24], param: 'wte' },
        { shape: [12, 24], param: 'wpe' },
      ],
      {},
      9,
    ));
});
