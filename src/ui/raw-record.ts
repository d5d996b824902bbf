/**
 * "Download raw" for a damaged record: its stored value as JSON, so a user can see (or report)
 * what the lab could not read before deleting it. Reads IndexedDB on the page (as browser-deps
 * does for the tokenizer); nothing is changed.
 */
import { createStore, get } from 'idb-keyval';

/** The databases the workers keep their records in (RunStore's and IdbShardStore's defaults). */
export type RecordDatabase = 'gpt-garden-runs' | 'gpt-garden-data';

/** JSON of any stored value: typed arrays become their type and length (bytes are not the point). */
export function rawJson(value: unknown): string {
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (ArrayBuffer.isView(v)) return { typedArray: v.constructor.name, byteLength: v.byteLength };
      if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
      return v === undefined ? null : v;
    },
    2,
  );
  return text ?? 'null';
}

export async function downloadRawRecord(database: RecordDatabase, key: string): Promise<void> {
  const value = await get<unknown>(key, createStore(database, 'kv'));
  const url = URL.createObjectURL(new Blob([rawJson(value)], { type: 'application/json' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = `${key.replace(/[^\w.-]+/g, '-')}.json`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
