/**
 * The one strict argument parser and the explicit --source forms: every refusal is one line that
 * names the flag (or the source) and what it takes, with exit 2, and nothing is read or written.
 * The cases run as a user runs them: the bundle in a child process, from another folder.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFlags } from '../src/cli/args';
import { parseBenchArgs } from '../src/cli/bench-args';
import { prepareCommand } from '../src/cli/prepare';
import { bundledCandidates, sourceFromArg } from '../src/cli/source-arg';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import { buildCli, inProcess, removeCli } from './helpers/cli';
import { bookRows } from './helpers/text';

let dir: string;
let tokenizerPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'garden-args-'));
  tokenizerPath = join(dir, 'tokenizer.json');
  const model = await trainBpe(bookRows(300, 4), { vocabSize: 300, minFrequency: 2, specialTokens: [END_OF_TEXT] });
  await writeFile(tokenizerPath, toTokenizerJson(model));
  await writeFile(join(dir, 'book.txt'), bookRows(50, 5).join('\n'));
});

afterAll(async () => {
  await removeCli();
});

const SPEC = {
  out: { type: 'string' },
  steps: { type: 'int', min: 1 },
  frac: { type: 'number', above: 0, max: 0.5 },
  vocab: { type: 'int', min: 257, max: 2 ** 31 },
  fit: { type: 'enum', values: ['hoffmann', 'epoch'] },
  quiet: { type: 'boolean' },
  in: { type: 'string', multiple: true },
} as const;

function refusal(args: string[]): string {
  try {
    parseFlags(args, SPEC, { command: 'demo' });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`accepted: ${args.join(' ')}`);
}

describe('parseFlags', () => {
  it('reads values in both forms, numbers with exponents and separators, enums, booleans and repeats', () => {
    const { values } = parseFlags(
      [
        '--out',
        'x',
        '--steps=1_000',
        '--frac',
        '.5',
        '--vocab',
        '5e4',
        '--fit',
        'epoch',
        '--quiet',
        '--in',
        'a',
        '--in=b',
      ],
      SPEC,
    );
    expect(values).toEqual({
      out: 'x',
      steps: 1000,
      frac: 0.5,
      vocab: 50000,
      fit: 'epoch',
      quiet: true,
      in: ['a', 'b'],
    });
    expect(parseFlags([], SPEC).values).toEqual({});
  });

  it('refuses each bad input with one line naming the flag and what it takes', () => {
    const cases: [string[], string][] = [
      [['--steps=-1'], '--steps must be a whole number of at least 1, got "-1"'],
      [['--steps', '-1'], '--steps must be a whole number of at least 1, got "-1"'],
      [['--steps', '2.5'], '--steps must be a whole number of at least 1, got "2.5"'],
      [['--steps', '0x10'], '--steps must be a whole number of at least 1, got "0x10"'],
      [['--steps', ''], '--steps must be a whole number of at least 1, got ""'],
      [['--vocab', '1e12'], '--vocab must be a whole number from 257 to 2147483648, got "1e12"'],
      [['--vocab', 'Infinity'], '--vocab must be a whole number from 257 to 2147483648, got "Infinity"'],
      [['--frac', '2'], '--frac must be a number above 0 and at most 0.5, got "2"'],
      [['--frac', '0'], '--frac must be a number above 0 and at most 0.5, got "0"'],
      [['--frac', 'NaN'], '--frac must be a number above 0 and at most 0.5, got "NaN"'],
      [['--fit', 'kaplan'], '--fit must be hoffmann or epoch, got "kaplan"'],
      [['--out'], '--out needs a value'],
      [['--out', '--quiet'], '--out needs a value'],
      [['--quiet=yes'], '--quiet takes no value, got "yes"'],
      [['--steps', '2', '--steps', '3'], '--steps is given twice: give it once'],
      [
        ['--bogus', '1'],
        'unknown flag --bogus for demo: the flags are --out --steps --frac --vocab --fit --quiet --in',
      ],
      [['-x'], 'unknown flag -x for demo: the flags are --out --steps --frac --vocab --fit --quiet --in'],
      [
        ['--__proto__=1'],
        'unknown flag --__proto__ for demo: the flags are --out --steps --frac --vocab --fit --quiet --in',
      ],
      [['stray'], 'unexpected argument "stray": every value follows its flag (--name value)'],
    ];
    for (const [args, message] of cases) {
      const got = refusal(args);
      expect(got, args.join(' ')).toBe(message);
      expect(got).not.toContain('\n');
    }
  });

  it("bench: sizes normalised for runBench, the issue's inputs refused before any GPU work", () => {
    expect(parseBenchArgs(['--width', '1e3', '--model', 'tiny', '--profile'])).toEqual({
      width: '1000',
      model: 'tiny',
      profile: true,
    });
    expect(() => parseBenchArgs(['--steps=-1'])).toThrow(
      /^--steps must be a whole number from 1 to 1000000, got "-1"$/,
    );
    expect(() => parseBenchArgs(['--vocab', '1e12'])).toThrow(
      /^--vocab must be a whole number from 257 to 2147483648, got "1e12"$/,
    );
    expect(() => parseBenchArgs(['--width', 'abc'])).toThrow(
      /^--width must be a whole number from 1 to 2147483648, got "abc"$/,
    );
    expect(() => parseBenchArgs(['--model', 'huge'])).toThrow(/^--model must be seed, small or tiny, got "huge"$/);
  });
});

describe('--source', () => {
  it('a file, a folder, a missing file, bundled, a Hub id and what is none of them', async () => {
    const file = await sourceFromArg(join(dir, 'book.txt'), undefined);
    expect(file.spec).toEqual({
      kind: 'files',
      files: [{ name: 'book.txt', size: (await readFile(join(dir, 'book.txt'))).length }],
      column: undefined,
    });
    expect(await file.env.files![0]!.blob.text()).toBe(await readFile(join(dir, 'book.txt'), 'utf8'));
    const bundled = await sourceFromArg('bundled', undefined);
    expect(bundled.spec).toMatchObject({ kind: 'files', files: [{ name: 'brown-fiction.txt' }] });
    expect(await bundled.env.files![0]!.blob.text()).toBe(await readFile('public/corpus/brown-fiction.txt', 'utf8'));
    // From the bundle in dist/ the corpus is one folder up.
    expect(bundledCandidates('file:///pkg/dist/cli.mjs')[0]).toBe('/pkg/public/corpus/brown-fiction.txt');
    expect((await sourceFromArg('garden/books', 'text')).spec).toEqual({
      kind: 'hub',
      dataset: 'garden/books',
      column: 'text',
    });
    expect((await sourceFromArg('hf:bookcorpus', undefined)).spec).toEqual({
      kind: 'hub',
      dataset: 'bookcorpus',
      column: undefined,
    });
    expect((await sourceFromArg('https://x.org/a.parquet', undefined)).spec).toEqual({
      kind: 'url',
      url: 'https://x.org/a.parquet',
      column: undefined,
    });

    const refused: [string, string][] = [
      ['src', '--source src is a folder; give a .txt, .jsonl or .parquet file'],
      ['nope.txt', '--source nope.txt: no such file'],
      ['data/nope.parquet', '--source data/nope.parquet: no such file'],
      ['./books', '--source ./books: no such file'],
      ['a/b/c', '--source a/b/c: no such file'],
      [
        'bookcorpus',
        '--source bookcorpus is neither a file, a URL, nor a Hugging Face dataset id: a file must exist, a URL starts with http(s)://, a dataset id is owner/name (or hf:name)',
      ],
      ['hf:', '--source hf: is neither a file, a URL, nor a Hugging Face dataset id'],
      ['no such thing', '--source no such thing is neither a file, a URL, nor a Hugging Face dataset id'],
    ];
    for (const [arg, message] of refused) {
      const error = await sourceFromArg(arg, undefined).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message, arg).toContain(message);
    }
  });
});

describe("the issue's CLI inputs: one line, exit 2, nothing written", () => {
  it('prepare in-process', async () => {
    const out = join(dir, 'never');
    const cases: [string[], string][] = [
      [['--source', 'nope.txt'], 'prepare: --source nope.txt: no such file'],
      [['--source', 'src'], 'prepare: --source src is a folder; give a .txt, .jsonl or .parquet file'],
      [
        ['--source', join(dir, 'book.txt'), '--val-fraction', '2'],
        'prepare: --val-fraction must be a number above 0 and at most 0.5, got "2"',
      ],
      [
        ['--source', join(dir, 'book.txt'), '--stall-timeout', '0'],
        'prepare: --stall-timeout must be a number of seconds above 0 and at most 3600, got "0"',
      ],
      [
        ['--source', join(dir, 'book.txt'), '--shard-tokens', '1e12.5'],
        'prepare: --shard-tokens must be a whole number of at least 1, got "1e12.5"',
      ],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await inProcess(prepareCommand, [...args, '--tokenizer', tokenizerPath, '--out', out]);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr.trim()).toBe(message);
    }
    expect(await readdir(dir)).not.toContain('never');
  });

  it("the bundle, run from another folder: bundled is the package's corpus; bench and plan refuse bad numbers", async () => {
    const script = resolve(await buildCli());
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(elsewhere);
    const cli = (...args: string[]) => {
      const r = spawnSync(process.execPath, [script, ...args], { cwd: elsewhere, encoding: 'utf8', timeout: 60_000 });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr.trim() };
    };
    const prepared = cli(
      'prepare',
      '--source',
      'bundled',
      '--tokenizer',
      tokenizerPath,
      '--out',
      'data',
      '--max-tokens',
      '2000',
    );
    expect(prepared.code, prepared.stderr).toBe(0);
    expect(JSON.parse(prepared.stdout.trim().split('\n').at(-1)!)).toMatchObject({ dir: join(elsewhere, 'data') });
    expect(JSON.parse(await readFile(join(elsewhere, 'data', 'manifest.json'), 'utf8'))).toMatchObject({
      source: { kind: 'files', files: [{ name: 'brown-fiction.txt' }] },
    });

    const cases: [string[], string][] = [
      [['bench', '--steps=-1'], 'gpt-garden: --steps must be a whole number from 1 to 1000000, got "-1"'],
      [['bench', '--vocab', '1e12'], 'gpt-garden: --vocab must be a whole number from 257 to 2147483648, got "1e12"'],
      [['bench', '--width', 'abc'], 'gpt-garden: --width must be a whole number from 1 to 2147483648, got "abc"'],
      [
        ['plan', '--flops', '1e17', '--vocab', '1e12'],
        'plan: --vocab must be a whole number from 257 to 2147483648, got "1e12"',
      ],
      [
        ['prepare', '--source', 'nope.txt', '--tokenizer', tokenizerPath, '--out', 'x'],
        'prepare: --source nope.txt: no such file',
      ],
      [
        ['prepare', '--source', '.', '--tokenizer', tokenizerPath, '--out', 'x'],
        'prepare: --source . is a folder; give a .txt, .jsonl or .parquet file',
      ],
      [
        ['check-fixture', '--bogus', 'f.safetensors'],
        'gpt-garden: unknown flag --bogus for check-fixture: it takes none',
      ],
      [
        ['check-fixture', 'a.safetensors', 'b.safetensors'],
        'gpt-garden: unexpected argument "b.safetensors": only 1 expected',
      ],
    ];
    for (const [args, message] of cases) {
      const result = cli(...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toBe(message);
    }
    expect((await readdir(elsewhere)).sort()).toEqual(['data']);
  }, 120_000);
});
