/** Seeded random numbers (mulberry32 + Box-Muller): reproducible init, sampling and tests. */
export type Random = () => number;

export function rng(seed: number): Random {
  const random = new SeededRandom(seed);
  return () => random.next();
}

export function randn(n: number, random: Random, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(random(), 1e-12);
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  }
  return out;
}

export function randint(n: number, high: number, random: Random): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(random() * high));
}

/**
 * mulberry32 whose state can be saved and restored, so a resumed run draws the same numbers it
 * would have drawn had it never stopped (batch sampling state goes into checkpoints).
 */
export class SeededRandom {
  constructor(public state: number) {
    this.state = state >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, high). */
  int(high: number): number {
    return Math.floor(this.next() * high);
  }
}
