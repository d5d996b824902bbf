/** Short human spellings of counts, FLOPs and durations, shared by the CLI and the UI. */

const SUFFIXES: [number, string][] = [
  [1e12, 'T'],
  [1e9, 'B'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/** 48_372_736 -> "48.4M", 1.1e9 -> "1.1B", 950 -> "950", 8.08e17 -> "8.08e17". Three significant digits. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  // Past a thousand trillion a suffix stops helping ("8.08e+5T"): scientific, as budgets are.
  if (abs >= 999.5e12) return `${n < 0 ? '-' : ''}${formatFlops(abs)}`;
  for (const [scale, suffix] of SUFFIXES) {
    // 0.9995 of a scale already rounds up to "1" of it (999,600 -> "1M", not "1.00e+3k").
    if (abs >= scale * 0.9995) return `${(n / scale).toPrecision(3).replace(/\.0+$|(\.\d*?)0+$/, '$1')}${suffix}`;
  }
  return String(Math.round(n));
}

/** 3.2e17 -> "3.2e17". Budgets span many decades, so they read best in scientific notation. */
export function formatFlops(flops: number): string {
  if (!Number.isFinite(flops) || flops <= 0) return String(flops);
  const [mantissa, exponent] = flops.toExponential(2).split('e') as [string, string];
  return `${mantissa.replace(/\.?0+$/, '')}e${Number(exponent)}`;
}

/** Seconds -> "42 s", "12 min", "3.5 h", "2.1 days". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return String(seconds);
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${(seconds / 3600).toPrecision(2)} h`;
  return `${(seconds / 86400).toPrecision(2)} days`;
}

/** A plain decimal or scientific number; Number() alone would also take "", "0x10" and "Infinity". */
const PLAIN_NUMBER = /^\+?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** The positive finite number a person typed ("3.2e17", "0.5"), or undefined. */
export function parsePositiveNumber(text: string): number | undefined {
  const trimmed = text.trim();
  if (!PLAIN_NUMBER.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}
