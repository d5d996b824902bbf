/**
 * Ingestion end to end in Node: a local server mimics the Hub (parquet listing + Range reads of
 * snappy and zstd parquet files), the worker's message handler tokenizes into IndexedDB
 * (fake-indexeddb). Each failure gives a clear error and leaves earlier shards readable.
 */
import 'fake-indexeddb/auto';
import { createStore } from 'idb-keyval';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdbShardStore } from '../src/data/idb-store';
import { readAllTokens } from '../src/data/ingest';
import { createIngestHandler, type IngestRequest, type IngestResponse } from '../src/data/ingest-worker';
import type { DataErrorKind, DatasetManifest } from '../src/data/types';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import { startDataServer, type DataServer } from './helpers/data-server';
import { makeParquet } from './helpers/parquet';
import { bookRows } from './helpers/text';

const ROWS = bookRows(3000, 11);
// Three files, as the Hub splits a dataset; the middle one has a null row (skipped, still counted).
const FILE_ROWS: (string | null)[][] = [
  ROWS.slice(0, 1000),
  [...ROWS.slice(1000, 1500), null, ...ROWS.slice(1500, 2000)],
  ROWS.slice(2000),
];
const model = await trainBpe(ROWS, { vocabSize: 600, minFrequency: 2, specialTokens: [END_OF_TEXT] });
const tokenizer = new Tokenizer(model);
const tokenizerJson = toTokenizerJson(model);

// Rows are sentences (rowKind 'line'): each ends in a newline, each file in <|endoftext|>.
function expectedLines(rows: readonly (string | null)[]): number[] {
  return [...rows.flatMap((row) => (row === null ? [] : tokenizer.encode(row + '\n'))), tokenizer.idOf(END_OF_TEXT)!];
}
const EXPECTED = FILE_ROWS.flatMap((rows) => expectedLines(rows));

let server: DataServer;
let files: Uint8Array[];

beforeAll(async () => {
  server = await startDataServer();
  files = await Promise.all(
    FILE_ROWS.map((rows, i) => makeParquet(rows, { rowGroupSize: 128, codec: i === 1 ? 'ZSTD' : 'SNAPPY' })),
  );
  server.addDataset(
    'garden/books',
    files.map((bytes, i) => ({ config: 'plain_text', split: 'train', name: `000${i}.parquet`, bytes })),
  );
});

afterAll(async () => {
  await server?.close();
});

function corruptFooter(bytes: Uint8Array): Uint8Array {
  const corrupt = bytes.slice();
  for (let i = corrupt.length - 40; i < corrupt.length - 8; i++) corrupt[i] = 0xff;
  return corrupt;
}

let dbCount = 0;
async function run(
  store: IdbShardStore,
  request: Partial<IngestRequest & { type: 'ingest' }>,
  cancelAfterShards?: number,
) {
  const seen: IngestResponse[] = [];
  let handle: (m: IngestRequest) => Promise<void> = async () => undefined;
  handle = createIngestHandler((m) => {
    seen.push(m);
    if (m.type === 'progress' && cancelAfterShards !== undefined && m.progress.shards >= cancelAfterShards)
      void handle({ type: 'cancel' });
  }, store);
  await handle({
    type: 'ingest',
    id: 'books',
    spec: { kind: 'hub', dataset: 'garden/books', rowKind: 'line' },
    tokenizerJson,
    shardTokens: 4000,
    hubEndpoint: `${server.url}/hub`,
    datasetsServer: `${server.url}/datasets-server`,
    ...request,
  });
  return { last: seen.at(-1)!, progress: seen.filter((m) => m.type === 'progress').length };
}

function freshStore(): IdbShardStore {
  return new IdbShardStore(createStore(`e2e-${dbCount++}`, 'kv'));
}

async function savedTokens(store: IdbShardStore): Promise<{ manifest: DatasetManifest; tokens: number[] }> {
  const manifest = (await store.getManifest('books'))!;
  return { manifest, tokens: Array.from(await readAllTokens(store, manifest)) };
}

describe('ingestion from a Hub-like server into IndexedDB', () => {
  it('resolves the dataset, streams snappy and zstd row groups with Range requests, and stores exact tokens', async () => {
    const store = freshStore();
    const { last, progress } = await run(store, {});
    expect(last).toMatchObject({ type: 'done' });
    expect(progress).toBeGreaterThan(0);
    const { manifest, tokens } = await savedTokens(store);
    expect(manifest.complete).toBe(true);
    expect(manifest.rows).toBe(3000);
    expect(tokens).toEqual(EXPECTED);
    expect(server.requests.some((r) => r.path.includes('/datasets-server/parquet'))).toBe(true);
    expect(server.requests.filter((r) => r.range).length).toBeGreaterThan(3);
  });

  it('resumes an ingestion cancelled halfway without duplicating or losing rows', async () => {
    const store = freshStore();
    const first = await run(store, {}, 2);
    expect(first.last).toMatchObject({ type: 'error', kind: 'cancelled' });
    const partial = await savedTokens(store);
    expect(partial.manifest.complete).toBe(false);
    expect(partial.manifest.tokens).toBeGreaterThan(0);
    expect(partial.manifest.tokens).toBeLessThan(EXPECTED.length);
    expect(partial.tokens).toEqual(EXPECTED.slice(0, partial.tokens.length));
    const second = await run(store, {});
    expect(second.last).toMatchObject({ type: 'done' });
    expect((await savedTokens(store)).tokens).toEqual(EXPECTED);
  });

  it('stops at the token limit', async () => {
    const store = freshStore();
    const { last } = await run(store, { maxTokens: 10_000 });
    expect(last).toMatchObject({ type: 'done' });
    const { manifest, tokens } = await savedTokens(store);
    expect(manifest.tokens).toBeGreaterThanOrEqual(10_000);
    expect(manifest.tokens).toBeLessThan(EXPECTED.length);
    expect(tokens).toEqual(EXPECTED.slice(0, tokens.length));
  });

  // The dataset's third file fails; the shards of the first two stay listed and readable.
  const failures: [string, { prefix?: string; bytes?: (good: Uint8Array) => Uint8Array }, DataErrorKind, RegExp][] = [
    ['a 404', { prefix: '/status/404' }, 'http', /404/],
    ['a 500', { prefix: '/status/500' }, 'http', /500/],
    ['a server that ignores Range', { prefix: '/norange' }, 'range', /Range/],
    ['a connection dropped mid-stream', { prefix: '/drop' }, 'network', /connection|network/i],
    ['a truncated parquet file', { bytes: (b) => b.slice(0, Math.floor(b.length / 2)) }, 'format', /parquet/],
    ['a corrupt parquet file', { bytes: corruptFooter }, 'format', /parquet/],
  ];
  failures.forEach(([what, fault, kind, message], n) => {
    it(`reports ${what} clearly and keeps the shards saved before`, async () => {
      const dataset = `garden/broken-${n}`;
      server.addDataset(
        dataset,
        files.map((bytes, i) => ({
          config: 'default',
          split: 'train',
          name: `${i}.parquet`,
          bytes: i === 2 && fault.bytes ? fault.bytes(bytes) : bytes,
          prefix: i === 2 ? fault.prefix : undefined,
        })),
      );
      const store = freshStore();
      const { last } = await run(store, {
        spec: { kind: 'hub', dataset, rowKind: 'line' },
        retries: 1,
        retryDelayMs: 10,
      });
      expect(last).toMatchObject({ type: 'error', kind });
      expect(last.type === 'error' && last.message).toMatch(message);
      const { manifest, tokens } = await savedTokens(store);
      expect(manifest.complete).toBe(false);
      expect(manifest.cursor.file).toBe(2);
      expect(tokens).toEqual([...expectedLines(FILE_ROWS[0]!), ...expectedLines(FILE_ROWS[1]!)]);
    });
  });

  it('says clearly when a dataset id is not on the Hub', async () => {
    const { last } = await run(freshStore(), { spec: { kind: 'hub', dataset: 'nobody/nothing' } });
    expect(last).toMatchObject({ type: 'error', kind: 'http' });
    expect(last.type === 'error' && last.message).toMatch(/nobody\/nothing/);
  });
});
