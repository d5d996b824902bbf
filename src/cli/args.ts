/**
 * The one strict argument parser every command uses: `--flag value` or `--flag=value`, numbers
 * checked against a range (never "1e12" read as 1 or "-1" read as a flag), enums, and unknown
 * flags, missing values and repeated flags refused. Every refusal is one line naming the flag and
 * what it takes, thrown as DataError('config') so each command prints it and exits 2.
 */
import { DataError } from '../data/types';

export type FlagSpec =
  | { type: 'string'; multiple?: boolean }
  | { type: 'boolean' }
  /** A whole number from min to max (both included). */
  | { type: 'int'; min: number; max?: number; want?: string }
  /** A number of at least `min`, or above `above`, and at most `max`. */
  | { type: 'number'; min?: number; above?: number; max?: number; want?: string }
  | { type: 'enum'; values: readonly string[] };

type ValueOf<F> = F extends { type: 'string'; multiple: true }
  ? string[]
  : F extends { type: 'string' }
    ? string
    : F extends { type: 'boolean' }
      ? boolean
      : F extends { type: 'enum'; values: readonly (infer V)[] }
        ? V
        : number;

export type Flags<S extends Record<string, FlagSpec>> = { [K in keyof S]?: ValueOf<S[K]> };

export interface ParseOptions {
  /** How many positional arguments the command takes (default 0). */
  positionals?: number;
  /** The command's name, said when a flag is unknown. */
  command?: string;
}

function refuse(message: string): DataError {
  return new DataError('config', message);
}

/** A plain decimal: digits with optional `_` separators, a fraction and an exponent (1.1e9, 6e-4, 1_000). */
const DECIMAL = /^[+-]?(\d[\d_]*(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/** What a number flag takes, in words, for its refusal. */
export function wanted(spec: Extract<FlagSpec, { type: 'int' | 'number' }>): string {
  if (spec.want) return spec.want;
  if (spec.type === 'int') {
    return spec.max === undefined
      ? `a whole number of at least ${spec.min}`
      : `a whole number from ${spec.min} to ${spec.max}`;
  }
  const low =
    spec.above !== undefined ? `above ${spec.above}` : spec.min !== undefined ? `of at least ${spec.min}` : '';
  const high = spec.max !== undefined ? `at most ${spec.max}` : '';
  return `a number ${[low, high].filter(Boolean).join(' and ')}`.trim();
}

/** A flag's number, checked against its spec. */
export function parseNumberFlag(
  flag: string,
  spec: Extract<FlagSpec, { type: 'int' | 'number' }>,
  text: string,
): number {
  const trimmed = text.trim();
  const value = DECIMAL.test(trimmed) ? Number(trimmed.replace(/_/g, '')) : NaN;
  const ok =
    Number.isFinite(value) &&
    (spec.type === 'int'
      ? Number.isSafeInteger(value) && value >= spec.min && (spec.max === undefined || value <= spec.max)
      : (spec.min === undefined || value >= spec.min) &&
        (spec.above === undefined || value > spec.above) &&
        (spec.max === undefined || value <= spec.max));
  if (!ok) throw refuse(`--${flag} must be ${wanted(spec)}, got "${text}"`);
  return value;
}

/** A value that reads as a number: "-5" after a flag is its value, not another flag. */
const NUMBERISH = /^-[\d.]/;

export function parseFlags<const S extends Record<string, FlagSpec>>(
  args: readonly string[],
  spec: S,
  options: ParseOptions = {},
): { values: Flags<S>; positionals: string[] } {
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  const known = () =>
    Object.keys(spec).length === 0
      ? 'it takes none'
      : `the flags are ${Object.keys(spec)
          .map((k) => `--${k}`)
          .join(' ')}`;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || NUMBERISH.test(arg)) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') ? arg.slice(2, eq < 0 ? undefined : eq) : '';
    const flag = Object.hasOwn(spec, name) ? spec[name]! : undefined;
    if (!flag) {
      const shown = eq < 0 ? arg : arg.slice(0, eq);
      throw refuse(`unknown flag ${shown}${options.command ? ` for ${options.command}` : ''}: ${known()}`);
    }
    if (flag.type === 'boolean') {
      if (eq >= 0) throw refuse(`--${name} takes no value, got "${arg.slice(eq + 1)}"`);
      values[name] = true;
      continue;
    }
    let text: string | undefined;
    if (eq >= 0) text = arg.slice(eq + 1);
    else {
      const next = args[i + 1];
      if (next === undefined || (next.startsWith('-') && next !== '-' && !NUMBERISH.test(next)))
        throw refuse(`--${name} needs a value`);
      text = next;
      i++;
    }
    if (flag.type === 'string' && flag.multiple) {
      ((values[name] ??= []) as string[]).push(text);
      continue;
    }
    if (name in values) throw refuse(`--${name} is given twice: give it once`);
    if (flag.type === 'string') values[name] = text;
    else if (flag.type === 'enum') {
      if (!flag.values.includes(text))
        throw refuse(`--${name} must be ${flag.values.join(', ').replace(/, ([^,]*)$/, ' or $1')}, got "${text}"`);
      values[name] = text;
    } else values[name] = parseNumberFlag(name, flag, text);
  }
  const allowed = options.positionals ?? 0;
  if (positionals.length > allowed) {
    const extra = positionals[allowed]!;
    throw refuse(
      allowed === 0
        ? `unexpected argument "${extra}": every value follows its flag (--name value)`
        : `unexpected argument "${extra}": only ${allowed} expected`,
    );
  }
  return { values: values as Flags<S>, positionals };
}

/** The largest vocabulary any command takes: token ids must fit the shards' and kernels' 32 bits. */
export const MAX_VOCAB = 2 ** 31;
/** A vocabulary: the 256 byte symbols plus at least one special token. */
export const VOCAB_FLAG = { type: 'int', min: 257, max: MAX_VOCAB } as const;
