/**
 * `prepare`: the same shards and manifest as the browser, written to a folder. A file, a parquet
 * URL and a Hub dataset id as sources; a token limit, then a rerun that continues; clear errors.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareCommand } from '../src/cli/prepare';
import { FolderShardStore } from '../src/data/folder-store';
import { readAllTokens } from '../src/data/ingest';
import type { DatasetManifest } from '../src/data/types';
import type { DataServer } from './helpers/data-server';
import { prepareFolder, rowsTokenizer } from './helpers/prepare-env';
import { makeParquet } from './helpers/parquet';
import { inProcess } from './helpers/cli';
import { bookRows } from './helpers/text';

const ROWS = bookRows(1500, 3);
const { tokenizer, eot, json } = await rowsTokenizer(ROWS, 450);

let dir: string;
let tokenizerPath: string;
let server: DataServer;

beforeAll(async () => {
  ({ dir, tokenizerPath, server } = await prepareFolder('garden-prepare-', json));
  await writeFile(join(dir, 'book.txt'), ROWS.join('\n') + '\n');
  server.add('books.parquet', await makeParquet(ROWS, { rowGroupSize: 200, codec: 'ZSTD' }));
  server.addDataset('garden/books', [
    { config: 'default', split: 'train', name: '0.parquet', bytes: await makeParquet(ROWS, { rowGroupSize: 300 }) },
  ]);
});

afterAll(async () => {
  await server?.close();
});

const prepare = (...args: string[]) => inProcess(prepareCommand, args);

async function folderTokens(folder: string): Promise<{ manifest: DatasetManifest; tokens: number[] }> {
  const manifest = JSON.parse(await readFile(join(folder, 'manifest.json'), 'utf8')) as DatasetManifest;
  return { manifest, tokens: Array.from(await readAllTokens(new FolderShardStore(folder), manifest)) };
}

describe('prepare CLI', () => {
  it('tokenizes a text file into shards + manifest.json, and prints a JSON summary', async () => {
    const out = join(dir, 'from-file');
    const { code, stdout } = await prepare(
      '--source',
      join(dir, 'book.txt'),
      '--tokenizer',
      tokenizerPath,
      '--out',
      out,
      '--shard-tokens',
      '2000',
    );
    expect(code).toBe(0);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      tokens: number;
      complete: boolean;
      dtype: string;
    };
    const { manifest, tokens } = await folderTokens(out);
    expect(tokens).toEqual([...ROWS.flatMap((r) => tokenizer.encode(r + '\n')), eot]);
    expect(summary).toMatchObject({ tokens: tokens.length, complete: true, dtype: 'uint16' });
    expect((await readdir(out)).filter((f) => f.endsWith('.bin')).length).toBe(manifest.shards.length);
  });

  it('stops at --max-tokens from a parquet URL, and a rerun with a higher limit continues', async () => {
    const out = join(dir, 'from-url');
    const url = `${server.url}/files/books.parquet`;
    const expected = ROWS.flatMap((r) => [...tokenizer.encode(r), eot]); // parquet rows are documents by default
    const first = await prepare(
      '--source',
      url,
      '--tokenizer',
      tokenizerPath,
      '--out',
      out,
      '--max-tokens',
      '3000',
      '--shard-tokens',
      '1000',
    );
    expect(first.code).toBe(0);
    const partial = await folderTokens(out);
    expect(partial.manifest.tokens).toBeGreaterThanOrEqual(3000);
    expect(partial.manifest.sourceExhausted).toBe(false);
    expect(partial.tokens).toEqual(expected.slice(0, partial.tokens.length));
    const second = await prepare('--source', url, '--tokenizer', tokenizerPath, '--out', out, '--shard-tokens', '1000');
    expect(second.code).toBe(0);
    expect((await folderTokens(out)).tokens).toEqual(expected);
  });

  it('resolves a Hub dataset id through the (local) Hub endpoints', async () => {
    const out = join(dir, 'from-hub');
    const { code } = await prepare(
      '--source',
      'garden/books',
      '--tokenizer',
      tokenizerPath,
      '--out',
      out,
      '--hub-endpoint',
      `${server.url}/hub`,
      '--datasets-server',
      `${server.url}/datasets-server`,
    );
    expect(code).toBe(0);
    expect((await folderTokens(out)).manifest.rows).toBe(ROWS.length);
  });

  it('fails with a clear message and exit code 2', async () => {
    const missing = await prepare(
      '--source',
      `${server.url}/status/404/files/books.parquet`,
      '--tokenizer',
      tokenizerPath,
      '--out',
      join(dir, 'x'),
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/404/);
    const usage = await prepare('--source', 'garden/books');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/usage: prepare/);
    const badLimit = await prepare(
      '--source',
      join(dir, 'book.txt'),
      '--tokenizer',
      tokenizerPath,
      '--out',
      join(dir, 'y'),
      '--max-tokens',
      'lots',
    );
    expect(badLimit.stderr).toMatch(/--max-tokens must be a whole number of at least 1 \(e\.g\. 1\.1e9\), got "lots"/);
  });
});
