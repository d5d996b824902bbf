/**
 * `train-tokenizer`: the first N MB of the bundled corpus, a parquet URL and a Hub dataset on a
 * local server, and --in files, each equal to trainBpe on the same text; an unreachable vocabulary
 * refused (exit 2, --out untouched) unless --allow-smaller; bad flags; Ctrl-C writes nothing.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainTokenizerCommand } from '../src/cli/train-tokenizer';
import { cutUtf8 } from '../src/data/text-sample';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { splitLines, trainBpe } from '../src/tokenizer/trainer';
import { startDataServer, type DataServer } from './helpers/data-server';
import { makeParquet } from './helpers/parquet';
import { inProcess } from './helpers/cli';
import { bookRows, docsUpTo } from './helpers/text';

const BUNDLED = await readFile('public/corpus/brown-fiction.txt', 'utf8');
const ROWS = bookRows(2000, 21);
const TEXT = ROWS.map((r) => `${r}\n`).join('');

let dir: string;
let server: DataServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'garden-train-tokenizer-'));
  server = await startDataServer();
  const parquet = await makeParquet(ROWS, { rowGroupSize: 300 });
  server.add('books.parquet', parquet);
  server.addDataset('bookcorpus/bookcorpus', [
    { config: 'plain_text', split: 'train', name: '0.parquet', bytes: parquet },
  ]);
  // Enough text that a Ctrl-C lands while it is still being read.
  server.add('big.txt', TEXT.repeat(120));
});

afterAll(async () => {
  await server?.close();
});

const run = (...args: string[]) => inProcess(trainTokenizerCommand, args);

const expected = async (text: string, vocabSize: number) =>
  toTokenizerJson(await trainBpe(splitLines(text), { vocabSize }));

describe('train-tokenizer CLI', () => {
  it('--source bundled --sample-mb: the first N MB of the bundled corpus', async () => {
    const out = join(dir, 'bundled.json');
    const { code, stdout } = await run(
      '--source',
      'bundled',
      '--sample-mb',
      '0.3',
      '--vocab',
      '800',
      '--out',
      out,
      '--quiet',
    );
    expect(code).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(await expected(cutUtf8(BUNDLED, 300_000), 800));
    expect(stdout).toMatch(
      /^trained 800 tokens, \d+ merges, on 0.3 MB in [\d.]+ s \([\d.]+ MB\/s\) -> .*bundled\.json\n$/,
    );
  });

  it('--source <parquet URL> and --source <Hub id> on a local Hub-like server', async () => {
    const byUrl = join(dir, 'url.json');
    const first = await run(
      '--source',
      `${server.url}/files/books.parquet`,
      '--sample-mb',
      '0.05',
      '--vocab',
      '500',
      '--out',
      byUrl,
      '--quiet',
    );
    expect(first.code).toBe(0);
    // A parquet file's rows are documents unless it is a known sentence dataset: no newline added.
    const docs = ROWS.join('');
    expect(await readFile(byUrl, 'utf8')).toBe(
      toTokenizerJson(await trainBpe(docsUpTo(ROWS, 50_000), { vocabSize: 500 })),
    );
    expect(docs.length).toBeGreaterThan(50_000);

    const byHub = join(dir, 'hub.json');
    const second = await run(
      '--source',
      'bookcorpus/bookcorpus',
      '--sample-mb',
      '0.05',
      '--vocab',
      '500',
      '--out',
      byHub,
      '--quiet',
      '--hub-endpoint',
      `${server.url}/hub`,
      '--datasets-server',
      `${server.url}/datasets-server`,
    );
    expect(second.code).toBe(0);
    // BookCorpus rows are sentences: lines.
    expect(await readFile(byHub, 'utf8')).toBe(await expected(cutUtf8(TEXT, 50_000), 500));
  });

  it('--in keeps working (whole files, or their first --sample-mb)', async () => {
    const file = join(dir, 'corpus.txt');
    await writeFile(file, TEXT);
    const out = join(dir, 'in.json');
    expect((await run('--in', file, '--vocab', '600', '--out', out, '--quiet')).code).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(await expected(TEXT, 600));
    expect((await run('--in', file, '--sample-mb', '0.02', '--vocab', '400', '--out', out, '--quiet')).code).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(await expected(cutUtf8(TEXT, 20_000), 400));
  });

  it('an unreachable vocabulary: one line with the size reached, exit 2, --out untouched; --allow-smaller writes it', async () => {
    const out = join(dir, 'keep.json');
    await writeFile(out, 'the previous tokenizer');
    // The first 10 KB of the bundled corpus, asked for the post's vocabulary.
    const tooSmall = ['--source', 'bundled', '--sample-mb', '0.01', '--vocab', '50304', '--out', out, '--quiet'];
    const { code, stderr, stdout } = await run(...tooSmall);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    const reached = (await trainBpe(splitLines(cutUtf8(BUNDLED, 10_000)), { vocabSize: 50304 })).vocab.size;
    expect(stderr).toBe(
      `train-tokenizer: the first 0.01 MB reaches a vocabulary of ${reached}, not 50304: use --vocab ${reached} or a larger --sample-mb (or --allow-smaller); nothing was written\n`,
    );
    expect(await readFile(out, 'utf8')).toBe('the previous tokenizer');

    // The whole source is smaller than the sample: said as such.
    const whole = await run('--source', 'bundled', '--vocab', '50304', '--out', out, '--quiet');
    expect(whole.code).toBe(2);
    expect(whole.stderr).toMatch(
      /^train-tokenizer: the whole source \(1\.4\d* MB of text\) reaches a vocabulary of 18447, not 50304: use --vocab 18447 or a larger source \(or --allow-smaller\); nothing was written\n$/,
    );
    expect(await readFile(out, 'utf8')).toBe('the previous tokenizer');

    const allowed = await run(...tooSmall, '--allow-smaller');
    expect(allowed.code).toBe(0);
    expect(JSON.parse(await readFile(out, 'utf8')).model.merges.length).toBe(reached - 257);
    expect((await readdir(dir)).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('refuses bad flags with one clear line and exit 2', async () => {
    const out = join(dir, 'bad.json');
    const cases: [string[], string][] = [
      [
        ['--source', 'bundled', '--sample-mb=-1', '--vocab', '500', '--out', out],
        '--sample-mb must be a number of MB above 0, got "-1"',
      ],
      [['--source', 'bundled', '--in', 'x.txt', '--vocab', '500', '--out', out], 'give --source or --in, not both'],
      [['--vocab', '500', '--out', out], '--source <dataset id | url | file | bundled> or --in FILE is required'],
      [
        ['--source', 'bundled', '--vocab', '12', '--out', out],
        '--vocab must be a whole number from 257 to 2147483648, got "12"',
      ],
      [
        ['--source', 'bundled', '--vocab', '500', '--out', join(dir, 'missing', 'tokenizer.json')],
        `--out ${join(dir, 'missing', 'tokenizer.json')}: the folder ${join(dir, 'missing')} does not exist`,
      ],
      [
        ['--source', 'bundled', '--vocab', '500', '--out', dir],
        `--out ${dir} is a directory: give a file name such as ${dir}/tokenizer.json`,
      ],
      [
        ['--source', 'no such thing', '--vocab', '500', '--out', out],
        '--source no such thing is neither a file, a URL, nor a Hugging Face dataset id',
      ],
      [
        ['--source', `${server.url}/status/404/files/books.parquet`, '--vocab', '500', '--out', out],
        `${server.url}/status/404/files/books.parquet answered 404`,
      ],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await run(...args, '--quiet');
      expect(code).toBe(2);
      expect(stderr.split('\n')[0]).toContain(`train-tokenizer: ${message}`);
    }
    await expect(readFile(out)).rejects.toThrow();
  });

  it('Ctrl-C stops reading and training, writes nothing and exits 130', async () => {
    const out = join(dir, 'interrupted.json');
    await writeFile(out, 'the previous tokenizer');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'tests/helpers/train-tokenizer-main.ts',
        '--source',
        `${server.url}/files/big.txt`,
        '--vocab',
        '20000',
        '--out',
        out,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      // The first progress line: it is reading the sample.
      if (/counting/.test(stderr) && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toContain(`train-tokenizer: cancelled; ${out} was not written`);
    expect(code).toBe(130);
    expect(await readFile(out, 'utf8')).toBe('the previous tokenizer');
  }, 60_000);
});
