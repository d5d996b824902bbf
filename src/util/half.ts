/**
 * IEEE binary16 on the host: how f16 tensors are written to and read from the GPU (two halves per
 * 32-bit word, the first in the low bits, as WGSL's pack2x16float lays them out), and the rounding
 * the float64 references use to say what an f16 operand holds. Node 20 has no Float16Array.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The binary16 bits nearest to x (as an f32 first), ties to even; overflow gives ±Inf, NaN stays NaN. */
export function halfBits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e >= 1) {
    // Normal: keep 10 mantissa bits; a carry out of the mantissa correctly bumps the exponent (to Inf at the top).
    let h = sign | (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
    return h;
  }
  // Subnormal (units of 2^-24) or zero: the 24-bit significand shifted into place, rounded.
  const shift = 126 - exp;
  if (shift > 24) return sign;
  const m = mant | 0x800000;
  let h = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && h & 1)) h++;
  return sign | h;
}

/** The value of binary16 bits. */
export function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** x rounded to the nearest binary16 value. */
export const roundHalf = (x: number): number => halfValue(halfBits(x));

/** Largest finite binary16 value. */
export const HALF_MAX = 65504;

/** Values packed two to a 32-bit word (an odd count leaves the last high half zero): the GPU layout of an f16 tensor. */
export function packHalves(values: ArrayLike<number>): Uint32Array {
  const words = new Uint32Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) words[i >> 1]! |= halfBits(values[i]!) << ((i & 1) * 16);
  return words;
}

/** The first `count` halves of packed words, as f32 values (exact: every binary16 value is an f32). */
export function unpackHalves(words: Uint32Array, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = halfValue((words[i >> 1]! >>> ((i & 1) * 16)) & 0xffff);
  return out;
}
