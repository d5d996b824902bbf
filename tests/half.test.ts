import { describe, expect, it } from 'vitest';
import { HALF_MAX, halfBits, halfValue, packHalves, roundHalf, unpackHalves } from '../src/util/half';

describe('binary16 on the host', () => {
  it('every half bit pattern survives value → bits (NaNs stay NaN)', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = halfValue(h);
      if (Number.isNaN(v)) expect(Number.isNaN(halfValue(halfBits(v)))).toBe(true);
      else expect(halfBits(v), `0x${h.toString(16)}`).toBe(h);
    }
  });

  it('rounds to nearest, ties to even, in the normal and subnormal ranges and at overflow', () => {
    expect(roundHalf(1 + 2 ** -11)).toBe(1); // tie → even mantissa 0
    expect(roundHalf(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9); // tie → even mantissa 2
    expect(roundHalf(1 + 2 ** -11 + 2 ** -20)).toBe(1 + 2 ** -10); // just above the tie
    expect(roundHalf(2 ** -25)).toBe(0); // half the smallest subnormal: tie → 0
    expect(roundHalf(3 * 2 ** -25)).toBe(2 ** -23); // tie between 1 and 2 units → 2
    expect(roundHalf(2 ** -25 + 2 ** -40)).toBe(2 ** -24);
    expect(roundHalf(2 ** -14 - 2 ** -26)).toBe(2 ** -14); // rounds up into the smallest normal
    expect(roundHalf(65519)).toBe(HALF_MAX);
    expect(roundHalf(65520)).toBe(Infinity); // tie between 65504 (odd) and 2^16 → Inf
    expect(roundHalf(-1e6)).toBe(-Infinity);
    expect(Object.is(roundHalf(-0), -0)).toBe(true);
    expect(Number.isNaN(roundHalf(NaN))).toBe(true);
  });

  it('packs two to a word, the first in the low half, and unpacks them', () => {
    const words = packHalves([1, -2, 0.5]);
    expect(Array.from(words)).toEqual([0xc000_3c00, 0x3800]);
    expect(Array.from(unpackHalves(words, 3))).toEqual([1, -2, 0.5]);
  });
});
