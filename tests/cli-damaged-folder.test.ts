/**
 * A `prepare` folder damaged on disk: manifest.json not an object, with `shards: null`, a wrong
 * dtype, a shard file cut short, grown or deleted. `train` (the CLI bundle, in a child process) and
 * a `prepare` rerun refuse each in one line naming the file, exit 2, before a GPU is touched.
 */
import { cp, mkdtemp, readFile, rm, truncate, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareCommand } from '../src/cli/prepare';
import { FolderShardStore } from '../src/data/folder-store';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import { inProcess, removeCli, runCli } from './helpers/cli';
import { bookRows } from './helpers/text';

const ROWS = bookRows(3000, 5);
let dir: string;
let healthy: string;
let manifest: { shards: { key: string; tokens: number }[] } & Record<string, unknown>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'garden-damaged-folder-'));
  const model = await trainBpe(ROWS, { vocabSize: 300, minFrequency: 2, specialTokens: [END_OF_TEXT] });
  await writeFile(join(dir, 'tokenizer.json'), toTokenizerJson(model));
  await writeFile(join(dir, 'book.txt'), ROWS.join('\n'));
  healthy = join(dir, 'healthy');
  const made = await inProcess(prepareCommand, [
    '--source',
    join(dir, 'book.txt'),
    '--tokenizer',
    join(dir, 'tokenizer.json'),
    '--out',
    healthy,
    '--shard-tokens',
    '1000',
  ]);
  expect(made.code, made.stderr).toBe(0);
  manifest = JSON.parse(await readFile(join(healthy, 'manifest.json'), 'utf8')) as typeof manifest;
  expect(manifest.shards.length, JSON.stringify(manifest).slice(0, 600)).toBeGreaterThan(2);
});

afterAll(async () => {
  await removeCli();
  await rm(dir, { recursive: true, force: true });
});

/** A copy of the healthy folder, damaged by `damage`. */
async function damaged(name: string, damage: (folder: string) => Promise<void>): Promise<string> {
  const folder = join(dir, name);
  await cp(healthy, folder, { recursive: true });
  await damage(folder);
  return folder;
}

async function expectRefusal(folder: string, message: RegExp): Promise<void> {
  const result = await runCli([
    'train',
    '--data',
    folder,
    '--out',
    join(dir, `run-${Math.random().toString(36).slice(2)}`),
    '--steps',
    '2',
  ]);
  expect(result.code, result.stderr).toBe(2);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(lines[0]).not.toMatch(/TypeError|Cannot read properties|undefined/);
}

describe('a damaged prepare folder', () => {
  it('manifest.json damaged: a string, shards null, an unknown dtype: named with the field', async () => {
    const asString = await damaged('as-string', (f) => writeFile(join(f, 'manifest.json'), '"hello"'));
    await expectRefusal(
      asString,
      /^train: \S+as-string\/manifest\.json is damaged \(the record is a string, expected an object\): delete the folder and prepare the data again$/,
    );
    const noShards = await damaged('no-shards', (f) =>
      writeFile(join(f, 'manifest.json'), JSON.stringify({ ...manifest, shards: null })),
    );
    await expectRefusal(noShards, /no-shards\/manifest\.json is damaged \(shards is null, expected an array\)/);
    const dtype = await damaged('dtype', (f) =>
      writeFile(join(f, 'manifest.json'), JSON.stringify({ ...manifest, dtype: 'float8' })),
    );
    await expectRefusal(
      dtype,
      /dtype\/manifest\.json is damaged \(dtype is a string, expected one of uint16, uint32\)/,
    );
  });

  it('a shard file cut short, grown or deleted: the file named with both sizes', async () => {
    const second = manifest.shards[1]!;
    const file = `${second.key.slice(second.key.lastIndexOf('/') + 1)}.bin`;
    const cut = await damaged('cut', (f) => truncate(join(f, file), second.tokens * 2 - 6));
    await expectRefusal(
      cut,
      new RegExp(
        `cut/${file} is cut short: it holds ${second.tokens * 2 - 6} bytes, but manifest.json lists ${second.tokens} uint16 tokens \\(${second.tokens * 2} bytes\\)`,
      ),
    );
    const grown = await damaged('grown', (f) => appendFile(join(f, file), new Uint8Array(4)));
    await expectRefusal(grown, new RegExp(`grown/${file} is damaged: it holds ${second.tokens * 2 + 4} bytes`));
    const gone = await damaged('gone', (f) => rm(join(f, file)));
    await expectRefusal(
      gone,
      new RegExp(`gone/${file} is missing, but manifest.json lists it with ${second.tokens} tokens`),
    );
  });

  it('a prepare rerun over a damaged folder says so instead of building on it', async () => {
    const cut = await damaged('cut-again', (f) => truncate(join(f, 'shard-00001.bin'), 10));
    const rerun = await inProcess(prepareCommand, [
      '--source',
      join(dir, 'book.txt'),
      '--tokenizer',
      join(dir, 'tokenizer.json'),
      '--out',
      cut,
      '--shard-tokens',
      '1000',
    ]);
    expect(rerun.code).toBe(2);
    expect(rerun.stderr.trim().split('\n').at(-1)).toMatch(
      /^prepare: \S+\/cut-again\/shard-00001\.bin is cut short: it holds 10 bytes/,
    );
  });

  it('getShard checks a shard changed after the manifest was read', async () => {
    const folder = await damaged('later', async () => undefined);
    const store = new FolderShardStore(folder);
    const read = (await store.listManifests())[0]!;
    const first = read.shards[0]!;
    expect((await store.getShard(first.key, 'uint16')).length).toBe(first.tokens);
    await truncate(join(folder, 'shard-00000.bin'), 10);
    await expect(store.getShard(first.key, 'uint16')).rejects.toThrow(
      `${join(folder, 'shard-00000.bin')} holds 5 tokens, but manifest.json lists ${first.tokens}`,
    );
  });
});
