/**
 * Ingestion in a real browser: headless Chromium runs the ingestion Web Worker, which streams
 * parquet from a local Hub-like server (cross-origin, Range requests) into the real IndexedDB.
 * A run cancelled halfway, then the page reloaded, resumes without duplicates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { IngestJob } from '../src/data/ingest-worker';
import type { DatasetManifest } from '../src/data/types';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import type { IngestRun } from './browser/data-entry';
import { startBrowserEnv, type BrowserEnv } from './helpers/browser';
import { startDataServer, type DataServer } from './helpers/data-server';
import { makeParquet } from './helpers/parquet';
import { bookRows } from './helpers/text';

const ROWS = bookRows(2400, 5);
const FILE_ROWS = [ROWS.slice(0, 800), ROWS.slice(800, 1600), ROWS.slice(1600)];
const model = await trainBpe(ROWS, { vocabSize: 500, minFrequency: 2, specialTokens: [END_OF_TEXT] });
const tokenizer = new Tokenizer(model);
const eot = tokenizer.idOf(END_OF_TEXT)!;
const EXPECTED = FILE_ROWS.flatMap((rows) => [...rows.flatMap((r) => tokenizer.encode(r + '\n')), eot]);

let env: BrowserEnv;
let server: DataServer;
let request: IngestJob;

beforeAll(async () => {
  server = await startDataServer();
  const files = await Promise.all(
    FILE_ROWS.map((rows, i) => makeParquet(rows, { rowGroupSize: 100, codec: i === 1 ? 'ZSTD' : 'SNAPPY' })),
  );
  server.addDataset(
    'garden/books',
    files.map((bytes, i) => ({ config: 'default', split: 'train', name: `${i}.parquet`, bytes })),
  );
  request = {
    type: 'ingest',
    id: 'books',
    spec: { kind: 'hub', dataset: 'garden/books', rowKind: 'line' },
    tokenizerJson: toTokenizerJson(model),
    shardTokens: 3000,
    hubEndpoint: `${server.url}/hub`,
    datasetsServer: `${server.url}/datasets-server`,
  };
  env = await startBrowserEnv();
});

afterAll(async () => {
  await env?.close();
  await server?.close();
});

async function openPage(page: Page): Promise<void> {
  await page.goto(`${env.base}/tests/browser/data.html`);
  await page.locator('#result[data-status="ready"]').waitFor({ timeout: 60_000 });
}

describe('ingestion in headless Chromium (Web Worker, real IndexedDB)', () => {
  it('ingests, survives a cancel and a page reload, and resumes without duplicates', async () => {
    const context = await env.browser.newContext();
    const page = await context.newPage();
    await openPage(page);
    const first: IngestRun = await page.evaluate(([r]) => window.gardenData.ingest(r, 2), [request] as const);
    expect(first.last).toMatchObject({ type: 'error', kind: 'cancelled' });
    const partial = (await page.evaluate(() => window.gardenData.manifest('books'))) as DatasetManifest;
    expect(partial.complete).toBe(false);
    expect(partial.shards.length).toBeGreaterThanOrEqual(2);
    expect(partial.tokens).toBeLessThan(EXPECTED.length);

    await page.reload();
    await page.locator('#result[data-status="ready"]').waitFor({ timeout: 60_000 });
    const saved = (await page.evaluate(() => window.gardenData.tokens('books'))) as number[];
    expect(saved).toEqual(EXPECTED.slice(0, partial.tokens));

    const second: IngestRun = await page.evaluate(([r]) => window.gardenData.ingest(r), [request] as const);
    expect(second.last).toMatchObject({ type: 'done' });
    expect(second.progress).toBeGreaterThan(0);
    expect((await page.evaluate(() => window.gardenData.tokens('books'))) as number[]).toEqual(EXPECTED);
    // Reads really were Range requests from the page's origin.
    expect(server.requests.filter((r) => r.range).length).toBeGreaterThan(3);
    await context.close();
  });

  it('reports a 404 and a dropped connection as clear errors in the page', async () => {
    const context = await env.browser.newContext();
    const page = await context.newPage();
    await openPage(page);
    const missing: IngestRun = await page.evaluate(
      ([r, url]) => window.gardenData.ingest({ ...r, id: 'missing', spec: { kind: 'url', url } }),
      [request, `${server.url}/status/404/files/hub/garden/books/default/train/0.parquet`] as const,
    );
    expect(missing.last).toMatchObject({ type: 'error', kind: 'http' });
    expect(missing.last.type === 'error' && missing.last.message).toMatch(/404/);
    const dropped: IngestRun = await page.evaluate(
      ([r, url]) => window.gardenData.ingest({ ...r, id: 'dropped', spec: { kind: 'url', url }, retries: 0 }),
      [request, `${server.url}/drop/files/hub/garden/books/default/train/0.parquet`] as const,
    );
    expect(dropped.last).toMatchObject({ type: 'error', kind: 'network' });
    await context.close();
  });
});
