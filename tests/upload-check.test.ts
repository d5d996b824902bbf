/**
 * Picked files are judged at once: an empty one is refused with its name, one that is mostly not
 * text is flagged (and blocks Start until kept or removed), and real text, in any script, passes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  buildSource,
  initialForm,
  keepFlaggedFile,
  removePickedFile,
  withPickedFiles,
  type PickedFile,
} from '../src/ui/data/source-form';
import { checkPickedFiles, notTextReason, sampleStats, SAMPLE_BYTES } from '../src/ui/data/upload-check';
import { randomBytes } from './helpers/random-bytes';

const brown = readFileSync('public/corpus/brown-fiction.txt');
const file = (name: string, bytes: Uint8Array | string): PickedFile => ({
  name,
  blob: new Blob([typeof bytes === 'string' ? new TextEncoder().encode(bytes) : new Uint8Array(bytes)]),
});

describe('what reads as text', () => {
  it('passes UTF-8 prose in several scripts, JSON lines, and a character cut at the sample end', () => {
    expect(notTextReason(brown.subarray(0, SAMPLE_BYTES))).toBeNull();
    expect(
      notTextReason(
        new TextEncoder().encode('Привет, мир. 你好，世界。 Γειά σου κόσμε.\tTabs\r\nand\fform feeds.\n'.repeat(200)),
      ),
    ).toBeNull();
    expect(notTextReason(new TextEncoder().encode('{"text": "life is about"}\n'.repeat(500)))).toBeNull();
    // 'é' is 2 bytes: an odd cut leaves half of one at the end, which is not an invalid byte.
    const accents = new TextEncoder().encode('é'.repeat(40_000)).subarray(0, SAMPLE_BYTES - 1);
    expect(sampleStats(accents).replacements).toBe(0);
    expect(notTextReason(accents)).toBeNull();
  });

  it('flags random bytes, UTF-16 and control-character soup, saying what it found', () => {
    const random = randomBytes(50_000);
    const stats = sampleStats(random);
    expect(stats.replacements / stats.chars).toBeGreaterThan(0.3);
    expect(notTextReason(random)).toMatch(/^\d+% bytes that are not UTF-8, 0\.\d% NUL bytes, \d+% control characters$/);
    const utf16 = new Uint8Array(Buffer.from('plain English text in UTF-16\n'.repeat(100), 'utf16le'));
    expect(notTextReason(utf16)).toBe('50% NUL bytes');
    const controls = new TextEncoder().encode('ab\x01\x02\x1b[0m'.repeat(300));
    expect(notTextReason(controls)).toMatch(/^\d+% control characters$/);
    // Windows-1252 accents are not UTF-8: a few per line is enough to say so.
    const latin1 = new Uint8Array(Buffer.from('Le café était fermé, déjà.\n'.repeat(100), 'latin1'));
    expect(notTextReason(latin1)).toMatch(/^\d+% bytes that are not UTF-8$/);
  });
});

describe('checkPickedFiles', () => {
  it('refuses empty files by name, flags binary .txt files, keeps the rest, and never judges parquet bytes', async () => {
    const check = await checkPickedFiles([
      file('empty.txt', ''),
      file('story.txt', brown.subarray(0, 200_000)),
      file('noise.txt', randomBytes(50_000)),
      file('table.parquet', randomBytes(1000)),
      file('empty.parquet', ''),
    ]);
    expect(check.files.map((f) => f.name)).toEqual(['story.txt', 'noise.txt', 'table.parquet']);
    expect(check.refused).toEqual([
      '"empty.txt" is empty (0 bytes): there is no text in it to train on, so it was not added.',
      '"empty.parquet" is empty (0 bytes): there is no text in it to train on, so it was not added.',
    ]);
    expect(check.flagged.map((f) => f.name)).toEqual(['noise.txt']);
    expect(check.flagged[0]!.message).toMatch(
      /^"noise\.txt" does not look like text: it holds \d+% bytes that are not UTF-8, .* would train the model on noise\.$/,
    );
  });

  it('reads only the first 64 KB: text after a long clean start is not looked at', async () => {
    const bytes = new Uint8Array(SAMPLE_BYTES + 50_000);
    bytes.set(brown.subarray(0, SAMPLE_BYTES));
    bytes.set(randomBytes(50_000), SAMPLE_BYTES);
    expect((await checkPickedFiles([file('long.txt', bytes)])).flagged).toEqual([]);
    const noisyStart = new Uint8Array(SAMPLE_BYTES + 10);
    noisyStart.set(randomBytes(SAMPLE_BYTES));
    expect((await checkPickedFiles([file('big.txt', noisyStart)])).flagged[0]!.message).toMatch(/its first 64 KB hold/);
  });

  it('a flagged file blocks the form until it is kept or removed', async () => {
    const check = await checkPickedFiles([
      file('story.txt', 'Once upon a time.\n'),
      file('noise.txt', randomBytes(5000)),
    ]);
    const form = withPickedFiles({ ...initialForm, choice: 'files' }, check);
    expect(buildSource(form, '/corpus.txt')).toEqual({
      error: '"noise.txt" does not look like text: press Use anyway to keep it, or Remove.',
    });
    const kept = keepFlaggedFile(form, 'noise.txt');
    const built = buildSource(kept, '/corpus.txt');
    expect('spec' in built && built.spec.kind === 'files' ? built.spec.files.map((f) => f.name) : built).toEqual([
      'story.txt',
      'noise.txt',
    ]);
    const removed = removePickedFile(form, 'noise.txt');
    const builtRemoved = buildSource(removed, '/corpus.txt');
    expect(
      'spec' in builtRemoved && builtRemoved.spec.kind === 'files'
        ? builtRemoved.spec.files.map((f) => f.name)
        : builtRemoved,
    ).toEqual(['story.txt']);
  });
});
