/**
 * The Hub resolver (the datasets-server's listing, else the Hub API's) and createSource's dispatch
 * from a source spec (Hub dataset, URL by extension or PAR1 magic, picked files), against a local
 * HTTP server mimicking the Hub.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveHubDataset } from '../src/data/sources/hub';
import { createSource } from '../src/data/sources/index';
import { startDataServer, type DataServer } from './helpers/data-server';
import { makeParquet } from './helpers/parquet';
import { collect, failure, NON_NULL, QUICK, TEXTS } from './helpers/source-rows';

let server: DataServer;

beforeAll(async () => {
  server = await startDataServer();
  const good = await makeParquet(TEXTS, { rowGroupSize: 500 });
  server.add('snappy.parquet', await makeParquet(TEXTS, { rowGroupSize: 500, codec: 'SNAPPY' }));
  server.add('noext', good);
  server.add('crlf.txt', 'first line\r\nsecond ünï\r\n\r\nlast without newline');
  server.add('docs.jsonl', '{"text":"doc one","id":1}\n\n{"text":"doc ✓ two"}\n{"text":null}\n{"text":"three"}\n');
  server.add('plain', 'just text\nno extension\n');
  server.addDataset('garden/books', [
    { config: 'other', split: 'train', name: '0000.parquet', bytes: await makeParquet(['other config'], {}) },
    { config: 'plain_text', split: 'test', name: '0000.parquet', bytes: await makeParquet(['test split'], {}) },
    {
      config: 'plain_text',
      split: 'train',
      name: '0000.parquet',
      bytes: await makeParquet(TEXTS.slice(0, 1000), { rowGroupSize: 300 }),
    },
    {
      config: 'plain_text',
      split: 'train',
      name: '0001.parquet',
      bytes: await makeParquet(TEXTS.slice(1000), { rowGroupSize: 300, codec: 'ZSTD' }),
    },
  ]);
  server.addDataset('bookcorpus/bookcorpus', [
    { config: 'plain_text', split: 'train', name: '0.parquet', bytes: await makeParquet(['a sentence .'], {}) },
  ]);
  server.addDataset(
    'hidden/viewer',
    [{ config: 'default', split: 'train', name: 'x.parquet', bytes: await makeParquet(['from the hub api'], {}) }],
    { viewer: false },
  );
});

afterAll(async () => {
  await server?.close();
});

beforeEach(() => {
  server.requests.length = 0;
});

describe('Hub resolver', () => {
  const endpoints = () => ({
    hubEndpoint: `${server.url}/hub`,
    datasetsServer: `${server.url}/datasets-server`,
    ...QUICK,
  });

  it('lists plain_text/train from the datasets-server, with sizes', async () => {
    const files = await resolveHubDataset('garden/books', endpoints());
    expect(files.map((f) => f.name)).toEqual(['plain_text/train/0000.parquet', 'plain_text/train/0001.parquet']);
    expect(files.every((f) => typeof f.size === 'number' && f.size > 0)).toBe(true);
    expect(server.requests.map((r) => r.path)).toEqual(['/datasets-server/parquet?dataset=garden%2Fbooks']);
    const other = await resolveHubDataset('garden/books', { ...endpoints(), config: 'plain_text', split: 'test' });
    expect(other.map((f) => f.name)).toEqual(['plain_text/test/0000.parquet']);
  });

  it('falls back to the Hub API listing when the datasets-server has nothing', async () => {
    const files = await resolveHubDataset('hidden/viewer', endpoints());
    expect(files).toEqual([
      { url: `${server.url}/files/hub/hidden/viewer/default/train/x.parquet`, name: 'default/train/x.parquet' },
    ]);
    expect(server.requests.map((r) => r.path)).toContain('/hub/api/datasets/hidden/viewer/parquet');
  });

  it('says when a dataset, config or split does not exist', async () => {
    const unknown = await failure(resolveHubDataset('nobody/nothing', endpoints()));
    expect(unknown.kind).toBe('http');
    expect(unknown.message).toMatch(/Dataset nobody\/nothing was not found on the Hub/);
    const config = await failure(resolveHubDataset('garden/books', { ...endpoints(), config: 'nope' }));
    expect(config).toMatchObject({
      kind: 'config',
      message: expect.stringMatching(/no config "nope" \(it has: other, plain_text\)/),
    });
    const split = await failure(resolveHubDataset('garden/books', { ...endpoints(), split: 'validation' }));
    expect(split.message).toMatch(/no split "validation" \(it has: test, train\)/);
  });
});

describe('createSource', () => {
  const env = () => ({ hubEndpoint: `${server.url}/hub`, datasetsServer: `${server.url}/datasets-server`, ...QUICK });

  it('reads a Hub dataset through its parquet files', async () => {
    const source = await createSource({ kind: 'hub', dataset: 'garden/books' }, env());
    expect(source.description).toMatch(/^garden\/books \(2 parquet files, .+B\)$/);
    expect(source.rowKind).toBe('document');
    const { rows, batches } = await collect(source);
    expect(rows).toEqual(NON_NULL);
    expect(batches.filter((b) => b.endOfFile).map((b) => b.cursor)).toEqual([
      { file: 1, row: 0 },
      { file: 2, row: 0 },
    ]);
    // Sizes came with the listing: no HEAD request needed.
    expect(server.requests.some((r) => r.method === 'HEAD')).toBe(false);
    expect((await createSource({ kind: 'hub', dataset: 'garden/books' }, { ...env(), rowKind: 'line' })).rowKind).toBe(
      'line',
    );
    // BookCorpus rows are sentences of running text.
    expect((await createSource({ kind: 'hub', dataset: 'bookcorpus/bookcorpus' }, env())).rowKind).toBe('line');
  });

  it('dispatches URLs by extension, or by the PAR1 magic when there is none', async () => {
    const read = async (url: string) =>
      (await collect(await createSource({ kind: 'url', url: `${server.url}${url}` }, env()))).rows;
    expect(await read('/files/snappy.parquet')).toEqual(NON_NULL);
    expect(await read('/files/noext')).toEqual(NON_NULL);
    expect(await read('/files/docs.jsonl')).toEqual(['doc one', 'doc ✓ two', 'three']);
    expect(await read('/files/plain')).toEqual(['just text', 'no extension']);
    const bundled = await createSource({ kind: 'bundled', url: `${server.url}/files/crlf.txt` }, env());
    expect(bundled.rowKind).toBe('line');
    expect((await collect(bundled)).rows).toHaveLength(4);
  });

  it('concatenates picked files of mixed kinds, with cursor.file indexing the list', async () => {
    const parquet = new Blob([await makeParquet(['p1', null, 'p2'], { rowGroupSize: 2 })]);
    const blobs = [
      { name: 'a.txt', blob: new Blob(['t1\nt2\n']) },
      { name: 'b.jsonl', blob: new Blob(['{"text":"j1"}\n']) },
      { name: 'c.parquet', blob: parquet },
    ];
    const spec = { kind: 'files' as const, files: blobs.map((b) => ({ name: b.name, size: b.blob.size })) };
    const source = await createSource(spec, { files: blobs });
    const { rows, batches } = await collect(source);
    expect(rows).toEqual(['t1', 't2', 'j1', 'p1', 'p2']);
    expect(batches.filter((b) => b.endOfFile).map((b) => b.cursor.file)).toEqual([1, 2, 3]);
    expect((await collect(source, { file: 2, row: 1 })).rows).toEqual(['p2']);
    expect(source.totalBytes).toBe(blobs.reduce((n, b) => n + b.blob.size, 0));
    const lost = await failure(createSource(spec, { files: blobs.slice(1) }));
    expect(lost).toMatchObject({ kind: 'config', message: expect.stringMatching(/a\.txt is no longer available/) });
  });
});
