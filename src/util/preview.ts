/**
 * A short, JSON-like rendering of any value for error messages. Values come from crafted or
 * damaged files, so JSON.stringify is not safe there: it throws on cycles and BigInts, overflows the
 * stack on deeply nested arrays and copies a megabyte string whole into the message. This one
 * walks at most a few levels and items and cuts the text at `max` characters.
 */
const DEPTH = 3;
const ITEMS = 6;

function render(v: unknown, depth: number, seen: Set<object>): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);
    case 'number':
    case 'boolean':
      return String(v);
    case 'bigint':
      return `${v}n`;
    case 'undefined':
      return 'undefined';
    case 'function':
    case 'symbol':
      return typeof v;
  }
  if (v === null) return 'null';
  const o = v as object;
  if (seen.has(o)) return '(cycle)';
  if (ArrayBuffer.isView(o)) return `${o.constructor.name}(${o.byteLength} bytes)`;
  if (depth >= DEPTH) return Array.isArray(o) ? '[…]' : '{…}';
  seen.add(o);
  try {
    if (Array.isArray(o)) {
      const items = o.slice(0, ITEMS).map((x) => render(x, depth + 1, seen));
      return `[${items.join(',')}${o.length > ITEMS ? ',…' : ''}]`;
    }
    const keys = Object.keys(o);
    const items = keys
      .slice(0, ITEMS)
      .map(
        (k) =>
          `${JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k)}:${render((o as Record<string, unknown>)[k], depth + 1, seen)}`,
      );
    return `{${items.join(',')}${keys.length > ITEMS ? ',…' : ''}}`;
  } finally {
    seen.delete(o);
  }
}

/** At most `max` characters (plus an ellipsis); never throws. */
export function preview(v: unknown, max = 60): string {
  let text: string;
  try {
    text = render(v, 0, new Set());
  } catch {
    text = '(unreadable value)';
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
