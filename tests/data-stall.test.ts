/**
 * Network deadlines: a server that sends headers and some bytes and then nothing, or nothing at
 * all, is given up on after the stall timeout (retried first), with one message naming the URL
 * and the wait. Deadlines here are 0.3 s so the tests stay quick.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSource } from '../src/data/sources/index';
import { startDataServer, type DataServer } from './helpers/data-server';
import { makeParquet } from './helpers/parquet';
import { bookRows } from './helpers/text';
import { failure } from './helpers/source-rows';

const ROWS = bookRows(400, 5);
let server: DataServer;

beforeAll(async () => {
  server = await startDataServer();
  server.add('book.txt', ROWS.join('\n') + '\n');
  server.add('book.parquet', await makeParquet(ROWS, { rowGroupSize: 100 }));
});

afterAll(async () => {
  await server?.close();
});

async function readAll(url: string, stallTimeoutMs: number): Promise<string[]> {
  const source = await createSource({ kind: 'url', url }, { stallTimeoutMs, retries: 1, retryDelayMs: 10 });
  const rows: string[] = [];
  for await (const batch of source.read({ file: 0, row: 0 })) rows.push(...batch.rows);
  return rows;
}

describe('stall deadline', () => {
  it('gives up on a text body that stops halfway, after retrying, naming the URL and the wait', async () => {
    const url = `${server.url}/stall/files/book.txt`;
    const before = server.requests.filter((r) => r.path === '/stall/files/book.txt').length;
    const started = performance.now();
    const error = await failure(readAll(url, 300));
    expect(error.kind).toBe('network');
    expect(error.message).toBe(`${url} sent nothing for 0.3 s (retried): the server stalled; try again later`);
    // Retried once (retries: 1), not given up on at the first silence nor retried twice over.
    expect(server.requests.filter((r) => r.path === '/stall/files/book.txt').length - before).toBe(2);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('gives up on a server that never sends headers', async () => {
    const url = `${server.url}/stall-headers/files/book.txt`;
    const before = server.requests.filter((r) => r.path === '/stall-headers/files/book.txt').length;
    const error = await failure(readAll(url, 300));
    expect(server.requests.filter((r) => r.path === '/stall-headers/files/book.txt').length - before).toBe(2);
    expect(error.kind).toBe('network');
    expect(error.message).toMatch(new RegExp(`^${url.replace(/[.?/]/g, '\\$&')} sent nothing for 0\\.3 s`));
  });

  it('gives up on a parquet Range read that stalls', async () => {
    const url = `${server.url}/stall/files/book.parquet`;
    const error = await failure(readAll(url, 300));
    expect(error.message).toContain(`${url} sent nothing for 0.3 s`);
  });

  it('the same URL reads whole once the server stops stalling', async () => {
    const url = `${server.url}/files/book.txt`;
    server.setStall('body');
    await failure(readAll(url, 300));
    server.setStall(undefined);
    expect(await readAll(url, 300)).toEqual(ROWS);
  });
});
