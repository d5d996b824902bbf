/**
 * `bench`'s flags on the shared strict parser: sizes are whole numbers of at least 1, the
 * vocabulary 257..2^31, the model one of the presets. Returned as the strings runBench reads
 * (normalised: "1e3" becomes "1000"), so a refusal comes before any GPU work.
 */
import { PRECISIONS } from '../train/loss-scale';
import { parseFlags, VOCAB_FLAG } from './args';

const SIZE = { type: 'int', min: 1, max: 2 ** 31 } as const;

export const BENCH_FLAGS = {
  model: { type: 'enum', values: ['seed', 'small', 'tiny'] },
  layers: SIZE,
  heads: SIZE,
  width: SIZE,
  vocab: VOCAB_FLAG,
  block: SIZE,
  batch: SIZE,
  accum: SIZE,
  matmul: SIZE,
  steps: { type: 'int', min: 1, max: 1_000_000 },
  out: { type: 'string' },
  profile: { type: 'boolean' },
  precision: { type: 'enum', values: PRECISIONS },
} as const;

export function parseBenchArgs(args: string[]): Record<string, string | boolean | undefined> {
  const { values } = parseFlags(args, BENCH_FLAGS, { command: 'bench' });
  return Object.fromEntries(Object.entries(values).map(([flag, v]) => [flag, typeof v === 'number' ? String(v) : v]));
}
