/**
 * `prepare` against a server that stalls: headers and half the body then silence, or no headers
 * at all. With --stall-timeout 0.3 it gives up in seconds (retrying first), says the URL and the
 * wait in one line, keeps the shards it saved, and a rerun once the server answers resumes to the
 * same tokens as an uninterrupted run.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareCommand } from '../src/cli/prepare';
import { trainTokenizerCommand } from '../src/cli/train-tokenizer';
import { FolderShardStore } from '../src/data/folder-store';
import { readAllTokens } from '../src/data/ingest';
import type { DatasetManifest } from '../src/data/types';
import { inProcess } from './helpers/cli';
import type { DataServer } from './helpers/data-server';
import { prepareFolder, rowsTokenizer } from './helpers/prepare-env';
import { bookRows } from './helpers/text';

// Lines come in batches of 1000: half of 4000 lines gives the reader whole batches to save.
const ROWS = bookRows(4000, 8);
const { tokenizer, eot, json } = await rowsTokenizer(ROWS.slice(0, 1000), 400);

let dir: string;
let tokenizerPath: string;
let server: DataServer;

beforeAll(async () => {
  ({ dir, tokenizerPath, server } = await prepareFolder('garden-stall-', json));
  server.add('book.txt', ROWS.join('\n') + '\n');
});

afterAll(async () => {
  await server?.close();
});

const prepare = (url: string, out: string) =>
  inProcess(prepareCommand, [
    '--source',
    url,
    '--tokenizer',
    tokenizerPath,
    '--out',
    out,
    '--shard-tokens',
    '500',
    '--stall-timeout',
    '0.3',
  ]);

async function folderTokens(folder: string): Promise<{ manifest: DatasetManifest; tokens: number[] }> {
  const manifest = JSON.parse(await readFile(join(folder, 'manifest.json'), 'utf8')) as DatasetManifest;
  return { manifest, tokens: Array.from(await readAllTokens(new FolderShardStore(folder), manifest)) };
}

describe('prepare on a stalled server', () => {
  it('headers and half the body, then silence: a clear error in seconds, the saved shards kept, a rerun resumes', async () => {
    const url = `${server.url}/files/book.txt`;
    const out = join(dir, 'body');
    server.setStall('body');
    const started = performance.now();
    const stalled = await prepare(url, out);
    const seconds = (performance.now() - started) / 1000;
    expect(stalled.code).toBe(2);
    expect(stalled.stderr.trim().split('\n').at(-1)).toBe(
      `prepare: ${url} sent nothing for 0.3 s (retried): the server stalled; try again later (the shards saved so far are kept: the same command resumes)`,
    );
    expect(seconds).toBeLessThan(15);
    const expected = [...ROWS.flatMap((r) => tokenizer.encode(r + '\n')), eot];
    const saved = await folderTokens(out);
    expect(saved.manifest.complete).toBe(false);
    expect(saved.tokens.length).toBeGreaterThan(0);
    expect(saved.tokens.length).toBeLessThan(expected.length);
    expect(saved.tokens).toEqual(expected.slice(0, saved.tokens.length));

    server.setStall(undefined);
    const resumed = await prepare(url, out);
    expect(resumed.code, resumed.stderr).toBe(0);
    const whole = await folderTokens(out);
    expect(whole.manifest.complete).toBe(true);
    expect(whole.tokens).toEqual(expected);
  }, 60_000);

  it('no headers at all: the same clear error, nothing written', async () => {
    const url = `${server.url}/stall-headers/files/book.txt`;
    const out = join(dir, 'headers');
    const started = performance.now();
    const result = await prepare(url, out);
    expect(result.code).toBe(2);
    // Three tries of 0.3 s and two back-offs (0.5 s, 1 s): retried, but not retries × retries times.
    expect((performance.now() - started) / 1000).toBeLessThan(6);
    expect(server.requests.filter((r) => r.path === '/stall-headers/files/book.txt')).toHaveLength(3);
    expect(result.stderr.trim().split('\n').at(-1)).toMatch(
      new RegExp(`^prepare: ${url.replace(/[.?/]/g, '\\$&')} sent nothing for 0\\.3 s \\(retried\\)`),
    );
    await expect(readFile(join(out, 'manifest.json'))).rejects.toThrow();
  }, 60_000);

  it('train-tokenizer takes the same --stall-timeout and writes nothing', async () => {
    const url = `${server.url}/stall/files/book.txt`;
    const out = join(dir, 'tokenizer-from-stall.json');
    const result = await inProcess(trainTokenizerCommand, [
      '--source',
      url,
      '--vocab',
      '300',
      '--out',
      out,
      '--stall-timeout',
      '0.3',
      '--quiet',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      `train-tokenizer: ${url} sent nothing for 0.3 s (retried): the server stalled; try again later`,
    );
    await expect(readFile(out)).rejects.toThrow();
  }, 60_000);
});
