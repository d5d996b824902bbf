/**
 * The data sources against a local HTTP server: parquet read by Range requests, text and JSON lines
 * from URLs and Blobs. The Hub resolver and createSource are in data-sources-hub.test.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { openAsBlob } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rangeBuffer } from '../src/data/sources/http';
import { parquetSource, type ParquetFile } from '../src/data/sources/parquet';
import { blobText, textSource, urlText, type TextInput } from '../src/data/sources/text';
import { DataError } from '../src/data/types';
import { startDataServer, type DataServer } from './helpers/data-server';
import { makeParquet } from './helpers/parquet';
import { collect, failure, NON_NULL, QUICK, TEXTS } from './helpers/source-rows';

let server: DataServer;
let dir: string;
// Text that does not compress, so bytes on the wire follow rows read.
const NOISE = Array.from(
  { length: 20_000 },
  (_, i) =>
    `${i}:${Math.sin(i * 12.9898)
      .toString(36)
      .slice(2)}${Math.cos(i * 78.233)
      .toString(36)
      .slice(2)}`,
);
const sizes: Record<string, number> = {};

beforeAll(async () => {
  server = await startDataServer();
  const add = (name: string, bytes: Uint8Array) => {
    sizes[name] = bytes.length;
    server.add(name, bytes);
  };
  add('snappy.parquet', await makeParquet(TEXTS, { rowGroupSize: 500, codec: 'SNAPPY' }));
  add('zstd.parquet', await makeParquet(TEXTS, { rowGroupSize: 700, codec: 'ZSTD' }));
  add('noise.parquet', await makeParquet(NOISE, { rowGroupSize: 4000, codec: 'UNCOMPRESSED' }));
  // One big row group, read in slices: with page indexes and small pages, and without indexes.
  add('paged.parquet', await makeParquet(TEXTS, { rowGroupSize: 5000, pageSize: 4096 }));
  add('unindexed.parquet', await makeParquet(TEXTS, { rowGroupSize: 5000, offsetIndex: false }));
  add(
    'columns.parquet',
    await makeParquet(['a', 'b'], { extraColumns: { id: [1, 2], title: ['t1', 't2'] }, textColumn: 'body' }),
  );
  const good = await makeParquet(TEXTS, { rowGroupSize: 500 });
  add('truncated.parquet', good.slice(0, Math.floor(good.length / 2)));
  const corrupt = good.slice();
  for (let i = corrupt.length - 60; i < corrupt.length - 8; i++) corrupt[i]! ^= 0x5a;
  add('corrupt.parquet', corrupt);
  const blanked = good.slice();
  blanked.fill(0xff, blanked.length - 40, blanked.length - 8);
  add('blanked.parquet', blanked);
  add('noext', good);
  server.add('crlf.txt', 'first line\r\nsecond ünï\r\n\r\nlast without newline');
  server.add('docs.jsonl', '{"text":"doc one","id":1}\n\n{"text":"doc ✓ two"}\n{"text":null}\n{"text":"three"}\n');
  server.add('bad.jsonl', '{"text":"ok"}\n{"text":"ok too"}\n{"text": nope}\n');
  server.add('nofield.jsonl', '{"body":"x"}\n');
  dir = await mkdtemp(join(tmpdir(), 'garden-sources-'));
});

afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  server.requests.length = 0;
});

function remote(name: string, path = `/files/${name}`): ParquetFile {
  return { name, open: (signal) => rangeBuffer(`${server.url}${path}`, { signal, ...QUICK }) };
}

describe('parquet over HTTP Range', () => {
  for (const name of ['snappy.parquet', 'zstd.parquet']) {
    it(`reads every non-null row of ${name} in order`, async () => {
      const { rows, batches } = await collect(parquetSource([remote(name)]));
      expect(rows).toEqual(NON_NULL);
      expect(batches.at(-1)).toMatchObject({ endOfFile: true, cursor: { file: 1, row: 0 } });
      expect(batches.slice(0, -1).every((b) => !b.endOfFile)).toBe(true);
      expect(server.requests.filter((r) => r.method === 'GET').every((r) => r.range)).toBe(true);
    });
  }

  it('resumes from a cursor in the middle of a file and skips files before it', async () => {
    const source = parquetSource([remote('snappy.parquet'), remote('zstd.parquet')]);
    const tail = (from: number) => TEXTS.slice(from).filter((t) => t !== null);
    expect((await collect(source, { file: 0, row: 1234 })).rows).toEqual([...tail(1234), ...NON_NULL]);
    server.requests.length = 0;
    expect((await collect(source, { file: 1, row: 2000 })).rows).toEqual(tail(2000));
    expect(server.requests.some((r) => r.path.includes('snappy'))).toBe(false);
  });

  it('fetches only what a read needs: one row group costs far less than the file', async () => {
    const { rows, bytes } = await collect(parquetSource([remote('noise.parquet')]), { file: 0, row: 16_000 });
    expect(rows).toEqual(NOISE.slice(16_000));
    const transferred = server.requests.length;
    expect(transferred).toBeGreaterThan(1);
    expect(server.requests.filter((r) => r.method === 'GET').every((r) => /^bytes=\d+-\d+$/.test(r.range ?? ''))).toBe(
      true,
    );
    expect(bytes).toBeLessThan(sizes['noise.parquet']! * 0.35);
    expect(bytes).toBeGreaterThan(sizes['noise.parquet']! * 0.15);
  });

  for (const name of ['paged.parquet', 'unindexed.parquet']) {
    it(`splits a big row group of ${name} into batches whose cursors resume exactly`, async () => {
      const source = parquetSource([remote(name)], { chunkRows: 300 });
      const { batches, rows, bytes } = await collect(source);
      expect(rows).toEqual(NON_NULL);
      expect(batches.length).toBe(Math.ceil(TEXTS.length / 300));
      // The footer read takes this small file whole; then each of the 9 slices fetches its own pages,
      // or the group is fetched once: never the whole column chunk per slice (that would be ~10x).
      expect(bytes).toBeLessThan(sizes[name]! * 3);
      const middle = batches[3]!.cursor;
      expect(middle).toEqual({ file: 0, row: 1200 });
      expect((await collect(source, middle)).rows).toEqual(TEXTS.slice(1200).filter((t) => t !== null));
    });
  }

  it('picks `text`, else the first string column, and names the columns when one is missing', async () => {
    expect((await collect(parquetSource([remote('columns.parquet')]))).rows).toEqual(['t1', 't2']);
    expect((await collect(parquetSource([remote('columns.parquet')], { column: 'body' }))).rows).toEqual(['a', 'b']);
    const missing = await failure(collect(parquetSource([remote('columns.parquet')], { column: 'content' })));
    expect(missing.kind).toBe('format');
    expect(missing.message).toMatch(/no column "content".*id, title, body/);
    const numeric = await failure(collect(parquetSource([remote('columns.parquet')], { column: 'id' })));
    expect(numeric.message).toMatch(/"id".*does not hold text/);
  });

  const cases: [string, string, DataError['kind'], RegExp][] = [
    [
      'a 404',
      '/status/404/files/snappy.parquet',
      'http',
      /status\/404\/files\/snappy\.parquet answered 404.*check the dataset id or URL/,
    ],
    ['a 500', '/status/500/files/snappy.parquet', 'http', /answered 500.*try again later/],
    ['a server that ignores Range', '/norange/files/noise.parquet', 'range', /whole file.*needs HTTP Range support/],
    ['a dropped connection', '/drop/files/snappy.parquet', 'network', /connection to .*drop.* failed/],
    [
      'a truncated file',
      '/files/truncated.parquet',
      'format',
      /truncated\.parquet is not a readable parquet file \(.+\)/,
    ],
    ['a corrupt footer', '/files/corrupt.parquet', 'format', /corrupt\.parquet is not a readable parquet file \(.+\)/],
    [
      'a footer overwritten with 0xff',
      '/files/blanked.parquet',
      'format',
      /blanked\.parquet is not a readable parquet file \(.+\)/,
    ],
  ];
  for (const [what, path, kind, message] of cases) {
    it(`reports ${what} as a ${kind} error with a clear message`, async () => {
      const name = path.split('/').pop() ?? path;
      const error = await failure(collect(parquetSource([remote(name, path)])));
      expect(error.kind).toBe(kind);
      expect(error.message).toMatch(message);
    });
  }

  it('retries a dropped connection before giving up', async () => {
    await failure(
      rangeBuffer(`${server.url}/drop/files/snappy.parquet`, {
        ...QUICK,
        retries: 2,
        byteLength: sizes['snappy.parquet'],
      }).then((b) => b.slice(0, 1000)),
    );
    expect(server.requests.filter((r) => r.path.startsWith('/drop/')).length).toBe(3);
  });

  it('finds the size without HEAD from a one-byte Range reply, and counts bytes', async () => {
    const headless: typeof fetch = (input, init) =>
      init?.method === 'HEAD' ? Promise.resolve(new Response(null, { status: 405 })) : fetch(input, init);
    const buffer = await rangeBuffer(`${server.url}/files/snappy.parquet`, { fetch: headless });
    expect(buffer.byteLength).toBe(sizes['snappy.parquet']);
    expect((await buffer.slice(10, 110)).byteLength).toBe(100);
    expect(buffer.bytesRead).toBe(101);
  });

  it('stops with a cancelled error when the signal aborts', async () => {
    const controller = new AbortController();
    const source = parquetSource([remote('snappy.parquet')]);
    const error = await failure(
      (async () => {
        for await (const _batch of source.read({ file: 0, row: 0 }, controller.signal)) controller.abort();
      })(),
    );
    expect(error.kind).toBe('cancelled');
  });
});

describe('text and JSON lines', () => {
  it('reads lines from a URL: CRLF, empty lines, a last line without newline', async () => {
    const source = textSource(urlText(`${server.url}/files/crlf.txt`), { format: 'lines' });
    const { rows, batches } = await collect(source);
    expect(source.rowKind).toBe('line');
    expect(rows).toEqual(['first line', 'second ünï', '', 'last without newline']);
    expect(batches.at(-1)).toMatchObject({ endOfFile: true, cursor: { file: 1, row: 0 } });
    expect(batches.reduce((n, b) => n + b.bytesRead, 0)).toBe(
      new TextEncoder().encode('first line\r\nsecond ünï\r\n\r\nlast without newline').length,
    );
  });

  it('batches by line count with cursors that resume', async () => {
    const source = textSource(urlText(`${server.url}/files/crlf.txt`), { format: 'lines', batchLines: 2 });
    const { batches } = await collect(source);
    expect(batches.map((b) => b.rows.length)).toEqual([2, 2]);
    expect(batches.map((b) => b.endOfFile)).toEqual([false, true]);
    expect(batches[0]!.cursor).toEqual({ file: 0, row: 2 });
    expect((await collect(source, batches[0]!.cursor)).rows).toEqual(['', 'last without newline']);
  });

  it('keeps multi-byte characters split across chunks whole', async () => {
    const bytes = new TextEncoder().encode('añb\n日本\n😀 end');
    const chunks = [bytes.slice(0, 2), bytes.slice(2, 7), bytes.slice(7, 13), bytes.slice(13)];
    const input: TextInput = {
      name: 'split.txt',
      open: async () => new ReadableStream({ start: (c) => (chunks.forEach((chunk) => c.enqueue(chunk)), c.close()) }),
    };
    expect((await collect(textSource(input, { format: 'lines' }))).rows).toEqual(['añb', '日本', '😀 end']);
  });

  it('reads a file from disk as a Blob, past the stream chunk size', async () => {
    const lines = Array.from({ length: 30_000 }, (_, i) => `${i} € ✓ ${'日'.repeat(i % 5)}`);
    const path = join(dir, 'big.txt');
    await writeFile(path, lines.join('\n') + '\n');
    const source = textSource(blobText('big.txt', await openAsBlob(path)), { format: 'lines' });
    const { rows, batches } = await collect(source);
    expect(rows).toEqual(lines);
    expect(batches.length).toBeGreaterThanOrEqual(30);
    expect(source.totalBytes).toBe(Buffer.byteLength(lines.join('\n') + '\n'));
  });

  it('reads JSON lines as documents, skipping blank lines and nulls but counting them', async () => {
    const source = textSource(urlText(`${server.url}/files/docs.jsonl`), { format: 'jsonl', batchLines: 2 });
    const { rows, batches } = await collect(source);
    expect(source.rowKind).toBe('document');
    expect(rows).toEqual(['doc one', 'doc ✓ two', 'three']);
    expect(batches[1]!.cursor).toEqual({ file: 0, row: 4 });
    expect((await collect(source, { file: 0, row: 3 })).rows).toEqual(['three']);
  });

  it('names the line that is not JSON, and the fields when the text field is missing', async () => {
    const bad = await failure(collect(textSource(urlText(`${server.url}/files/bad.jsonl`), { format: 'jsonl' })));
    expect(bad.kind).toBe('format');
    expect(bad.message).toMatch(/^Line 3 of .*bad\.jsonl is not JSON/);
    const nofield = await failure(
      collect(textSource(blobText('n.jsonl', new Blob(['{"body":"x"}\n'])), { format: 'jsonl' })),
    );
    expect(nofield.message).toMatch(/no "text" field \(it has: body\)/);
  });

  it('reports 404 and a dropped stream', async () => {
    const missing = await failure(
      collect(textSource(urlText(`${server.url}/files/nothing.txt`, QUICK), { format: 'lines' })),
    );
    expect(missing).toMatchObject({ kind: 'http', message: expect.stringMatching(/answered 404/) });
    const dropped = await failure(
      collect(textSource(urlText(`${server.url}/drop/files/crlf.txt`, QUICK), { format: 'lines', ...QUICK })),
    );
    expect(dropped.kind).toBe('network');
  });
});
