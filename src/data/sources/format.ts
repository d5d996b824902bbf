/** Small shared helpers for the sources: sizes for humans, file kinds by name. */

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

export type FileKind = 'parquet' | 'jsonl' | 'text';

/** The kind a file name or URL path suggests; `undefined` when its extension says nothing. */
export function kindFromName(nameOrUrl: string): FileKind | undefined {
  let path = nameOrUrl;
  try {
    path = new URL(nameOrUrl).pathname;
  } catch {
    // Not a URL: a plain file name.
  }
  const lower = safeDecode(path).toLowerCase();
  if (lower.endsWith('.parquet')) return 'parquet';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  if (/\.(txt|text|md|csv|tsv)$/.test(lower)) return 'text';
  return undefined;
}

/** The last path segment of a URL or path, for messages and descriptions. */
export function baseName(nameOrUrl: string): string {
  let path = nameOrUrl;
  try {
    path = new URL(nameOrUrl).pathname;
  } catch {
    // Not a URL.
  }
  const parts = path.split('/').filter(Boolean);
  return parts.length ? safeDecode(parts[parts.length - 1]!) : nameOrUrl;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
