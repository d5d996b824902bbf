/**
 * Seeding IndexedDB in a browser test's page: values written straight into the app's idb-keyval
 * stores (healthy or deliberately damaged), found by the app after a reload.
 */
import type { Page } from 'playwright-core';
import type { DatasetManifest } from '../../src/data/types';
import { testManifest } from './manifest';

/** Runs in the page: writes raw values into an idb-keyval store (database `db`, object store 'kv'). */
async function putRaw(db: string, entries: [string, unknown][]): Promise<void> {
  const open = indexedDB.open(db);
  open.onupgradeneeded = () => open.result.createObjectStore('kv');
  const database = await new Promise<IDBDatabase>((resolve, reject) => {
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error ?? new Error('opening the database failed'));
  });
  const tx = database.transaction('kv', 'readwrite');
  for (const [key, value] of entries) tx.objectStore('kv').put(value, key);
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('the write failed'));
  });
  database.close();
}

/** Writes `entries` ([key, value], as JSON) into the page's database `db` ('gpt-garden-runs', 'gpt-garden-data'). */
export async function putRawInPage(page: Page, db: string, entries: [string, unknown][]): Promise<void> {
  // The function goes as source text: the page cannot import this module.
  await page.evaluate(`(${putRaw.toString()})(${JSON.stringify(db)}, ${JSON.stringify(entries)})`);
}

/** A stored dataset with no tokens yet (for the bundled corpus, a 300-token tokenizer 'f'). */
export function emptyManifest(id: string, name: string, at = '2026-12-01T00:00:00Z'): DatasetManifest {
  return testManifest(id, {
    name,
    source: { kind: 'bundled', url: '/corpus/brown-fiction.txt' },
    tokenizer: { vocabSize: 300, fingerprint: 'f' },
    shards: [],
    tokens: 0,
    rows: 0,
    textBytes: 0,
    cursor: { file: 0, row: 0 },
    complete: false,
    valFraction: 0.1,
    createdAt: at,
    updatedAt: at,
  });
}
