import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BYTE_TO_CHAR, toByteLevel } from '../src/tokenizer/bytes';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { parseTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { type BpeModel, TokenizerError } from '../src/tokenizer/types';
import { rng, type Random } from '../src/util/random';

const FIXTURE = readFileSync(new URL('./fixtures/bpe-1000.tokenizer.json', import.meta.url), 'utf8');
const CASES: { text: string; ids: number[] }[] = JSON.parse(
  readFileSync(new URL('./fixtures/bpe-1000.cases.json', import.meta.url), 'utf8'),
).cases;
const model = parseTokenizerJson(FIXTURE);
const tok = new Tokenizer(model);
const utf8 = new TextEncoder();

/** Ids Hugging Face tokenizers 0.23 gives with the fixture's tokenizer.json (add_prefix_space as written there). */
const HF_EXTRA: { text: string; ids: number[] }[] = [
  {
    text: "The hippocampus's garden, under the sea...",
    ids: [329, 266, 73, 378, 767, 352, 80, 404, 347, 298, 397, 280, 12, 741, 263, 369, 65, 14, 14, 14],
  },
  {
    text: 'Ünïcödé   spacing\r\n\u00a0nbsp',
    ids: [
      128, 251, 78, 128, 108, 67, 128, 115, 68, 128, 103, 221, 221, 465, 314, 273, 202, 199, 127, 255, 78, 66, 83, 80,
    ],
  },
  {
    text: '12:30pm -- $50.00 (approx.)',
    ids: [17, 18, 26, 19, 16, 80, 77, 399, 221, 4, 21, 16, 14, 16, 16, 221, 8, 65, 378, 358, 88, 14, 9],
  },
  { text: 'he said: "no!"\'s', ids: [258, 386, 26, 342, 78, 79, 1, 2, 7, 83] },
  { text: '\t\t\t', ids: [198, 198, 198] },
  { text: '🛠️ DIY', ids: [173, 254, 250, 255, 172, 117, 238, 542, 41, 57] },
  {
    text: '👩‍👩‍👧 e\u0301 \u0000 x\u2028y\u0085z \ufeff',
    ids: [
      173, 254, 240, 103, 159, 223, 236, 173, 254, 240, 103, 159, 223, 236, 173, 254, 240, 101, 313, 137, 224, 221, 189,
      221, 88, 159, 223, 102, 89, 127, 228, 90, 221, 172, 120, 124,
    ],
  },
  // A 93-byte word: merged by the heap path for long words.
  { text: ' ' + 'the'.repeat(31), ids: [263, ...Array.from({ length: 30 }, () => [84, 258]).flat()] },
];

/** Same file with add_prefix_space: true, ids from Hugging Face tokenizers 0.23. */
const HF_PREFIX_SPACE: { text: string; ids: number[] }[] = [
  { text: 'hello world', ids: [285, 290, 79, 483, 301] },
  { text: ' already', ids: [440, 265, 774] },
  { text: 'a<|endoftext|>b', ids: [259, 0, 270] },
  { text: '<|endoftext|>', ids: [0] },
  { text: 'x<|endoftext|> y', ids: [221, 88, 0, 321] },
  { text: '', ids: [] },
];

/** Obviously-correct BPE of one word: merge the lowest-rank adjacent pair (leftmost on ties) until none is left. */
function referenceBpe(word: string, m: BpeModel): number[] {
  const rank = new Map(m.merges.map(([a, b], i) => [`${a} ${b}`, i]));
  const parts = [...toByteLevel(word)];
  for (;;) {
    let best = -1;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = rank.get(`${parts[i]} ${parts[i + 1]}`);
      if (r !== undefined && (best < 0 || r < rank.get(`${parts[best]} ${parts[best + 1]}`)!)) best = i;
    }
    if (best < 0) return parts.map((p) => m.vocab.get(p)!);
    parts.splice(best, 2, parts[best]! + parts[best + 1]!);
  }
}

/** Random text from a mix of scripts, emoji, marks, controls, whitespace and (optionally) lone surrogates. */
const RANGES: [number, number][] = [
  [0x20, 0x7e],
  [0x20, 0x7e],
  [0x20, 0x7e],
  [0x61, 0x7a],
  [0x00, 0x1f],
  [0x80, 0xff],
  [0x100, 0x24f],
  [0x300, 0x36f],
  [0x4e00, 0x4fff],
  [0x3040, 0x30ff],
  [0xac00, 0xac80],
  [0x600, 0x6ff],
  [0x1f300, 0x1faff],
  [0xfe00, 0xfe0f],
  [0x200b, 0x200d],
  [0x2000, 0x206f],
  [0xa0, 0xa0],
  [0x85, 0x85],
  [0xfeff, 0xfeff],
  [0x10000, 0x10ffff],
  [0x2028, 0x2029],
];
function randomText(random: Random, length: number, loneSurrogates: boolean): string {
  let s = '';
  for (let i = 0; i < length; i++) {
    const [lo, hi] = RANGES[Math.floor(random() * RANGES.length)]!;
    let cp = lo + Math.floor(random() * (hi - lo + 1));
    if (cp >= 0xd800 && cp <= 0xdfff && !loneSurrogates) cp = 0x41;
    s += String.fromCodePoint(cp);
    const r = random();
    if (r < 0.1) s += ' '.repeat(1 + Math.floor(random() * 3));
    else if (r < 0.12) s += '\r\n';
    else if (r < 0.13) s += '<|endoftext|>';
    else if (r < 0.14 && loneSurrogates) s += String.fromCharCode(0xd800 + Math.floor(random() * 0x800));
  }
  return s;
}

function expectTokenizerError(fn: () => unknown, message: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TokenizerError);
  expect((err as Error).message).toMatch(message);
}

describe('Tokenizer against Hugging Face', () => {
  it('encodes every fixture case to exactly its ids and decodes it back', () => {
    expect(CASES.length).toBeGreaterThan(10);
    for (const { text, ids } of CASES) {
      expect(tok.encode(text), JSON.stringify(text)).toEqual(ids);
      expect(tok.decode(ids)).toBe(text);
    }
  });

  it('matches Hugging Face on the hidden-style probes, a long word and odd whitespace', () => {
    for (const { text, ids } of HF_EXTRA) {
      expect(tok.encode(text), JSON.stringify(text)).toEqual(ids);
      expect(tok.decode(ids)).toBe(text);
    }
  });

  it('puts the prefix space before each piece between special tokens when add_prefix_space is set', () => {
    const spaced = new Tokenizer({ ...model, addPrefixSpace: true });
    for (const { text, ids } of HF_PREFIX_SPACE) expect(spaced.encode(text), JSON.stringify(text)).toEqual(ids);
  });

  it('merges like a slow reference BPE on random words, short and long', () => {
    const random = rng(11);
    const letters = 'etaoinshrdlucmwfgypbvkjxqzETAOIN';
    for (let trial = 0; trial < 300; trial++) {
      const length = 1 + Math.floor(random() * (trial < 150 ? 20 : 300));
      let word = random() < 0.5 ? ' ' : '';
      for (let i = 0; i < length; i++) word += letters[Math.floor(random() * (random() < 0.8 ? 10 : letters.length))];
      expect(tok.encode(word), word).toEqual(referenceBpe(word, model));
    }
    // Runs of one pair ("the the the" inside a word) and of one symbol, at the long-word threshold and past it.
    for (const word of [
      'the'.repeat(21),
      'the'.repeat(22),
      'x'.repeat(64),
      'x'.repeat(65),
      'in'.repeat(100),
      '...'.repeat(40),
    ]) {
      expect(tok.encode(word), word).toEqual(referenceBpe(word, model));
    }
  });
});

describe('round trips', () => {
  const samples = [
    '👨‍👩‍👧‍👦 family, 🏳️‍🌈 flag, ❤️ vs ❤︎, 👍🏽 tone',
    '中文字符和日本語のテキスト、한국어',
    'e\u0301 a\u0308\u0304 combining; Z\u0351\u0362\u0328a\u035algo',
    'nul\u0000in\u0000the middle\u0000',
    '\ufeffstarts with a byte order mark',
    'runs     of    spaces\t\ttabs\r\nCRLF\r\n\r\n\n\n  \u00a0\u00a0nbsp\u2028\u2029\u0085\u3000',
    '   ',
    '\n',
    '<|endoftext|><|endoftext|>a<|endoftext|> <|endoftext|',
    "don't 'S 'sss ''' ' s",
    'x'.repeat(5000),
    ' '.repeat(3000) + 'y',
  ];

  it('decodes encode(text) back to text, byte for byte', () => {
    for (const text of samples) {
      const ids = tok.encode(text);
      expect(tok.decode(ids)).toBe(text);
      expect(tok.decodeBytes(ids)).toEqual(utf8.encode(text));
    }
  });

  it('encodes a lone surrogate as the bytes TextEncoder gives it (U+FFFD)', () => {
    expect(tok.encode('a\ud800b')).toEqual(tok.encode('a\ufffdb'));
    expect(tok.encode('\udc00\ud83d')).toEqual(tok.encode('\ufffd\ufffd'));
    expect(tok.decode(tok.encode('x\ud83dy'))).toBe('x\ufffdy');
  });

  it('round-trips seeded random Unicode (fuzz)', () => {
    const random = rng(2024);
    for (let trial = 0; trial < 400; trial++) {
      const text = randomText(random, Math.floor(random() * 80), trial % 4 === 3);
      const ids = tok.encode(text);
      expect(tok.decodeBytes(ids)).toEqual(utf8.encode(text));
      if (trial % 4 !== 3) expect(tok.decode(ids)).toBe(text);
    }
  });

  it('keeps special tokens whole and never merges across them', () => {
    expect(tok.endOfText).toBe(0);
    const ids = tok.encode('the<|endoftext|>the');
    expect(ids).toEqual([...tok.encode('the'), 0, ...tok.encode('the')]);
    expect(tok.encode(' <|endoftext|> ')).toEqual([221, 0, 221]);
    expect(tok.decode([0])).toBe('<|endoftext|>');
  });

  it('gives the same ids with a warm cache and after the cache is dropped', () => {
    const words = Array.from({ length: 120_000 }, (_, i) => ` ${i.toString(36)}x`);
    const fresh = new Tokenizer(model);
    const once = fresh.encode(words.join('')); // more distinct words than the cache holds
    expect(fresh.encode(words.join(''))).toEqual(once);
    const other = new Tokenizer(model);
    expect(once).toEqual(words.flatMap((w) => other.encode(w)));
  });
});

describe('vocabulary access and errors', () => {
  it('reports vocab size and maps tokens and ids both ways', () => {
    expect(tok.vocabSize).toBe(1000);
    expect(tok.idOf('<|endoftext|>')).toBe(0);
    expect(tok.idOf('Ġt')).toBe(257);
    expect(tok.tokenOf(257)).toBe('Ġt');
    expect(tok.tokenOf(1000)).toBeUndefined();
    expect(tok.tokenOf(-1)).toBeUndefined();
    expect(tok.idOf('not a token')).toBeUndefined();
  });

  it('rejects unknown ids when decoding', () => {
    for (const id of [1000, -1, 1.5, Number.NaN]) {
      expectTokenizerError(() => tok.decode([1, id]), /unknown token id/);
      expectTokenizerError(() => tok.decodeBytes([id]), /unknown token id/);
      expectTokenizerError(() => tok.streamDecoder().push(id), /unknown token id/);
    }
  });

  it('rejects bad models when built', () => {
    const base = (): BpeModel => ({
      vocab: new Map(BYTE_TO_CHAR.map((c, i) => [c, i])),
      merges: [],
      specialTokens: [],
    });
    const dup = base();
    dup.vocab.set('ab', 5);
    expectTokenizerError(() => new Tokenizer(dup), /unique: id 5/);
    const missing = base();
    missing.merges.push(['a', 'b']);
    expectTokenizerError(() => new Tokenizer(missing), /merge 0 \("a" "b"\): "ab" is not in the vocab/);
    const lone = base();
    lone.vocab.set('x\ud800', 300);
    expectTokenizerError(() => new Tokenizer(lone), /lone surrogate/);
    const badId = base();
    badId.vocab.set('zz', 2.5);
    expectTokenizerError(() => new Tokenizer(badId), /"zz" has id 2.5/);
    const clash = base();
    clash.specialTokens.push({ content: 'a', id: 400 });
    expectTokenizerError(() => new Tokenizer(clash), /special token "a" has id 400 but the vocab gives it id 97/);
    // A vocab without some byte still loads, but text needing that byte is refused by name.
    const noByte = base();
    noByte.vocab.delete(BYTE_TO_CHAR[0xe4]!);
    const t = new Tokenizer(noByte);
    expect(t.encode('abc')).toEqual([97, 98, 99]);
    expectTokenizerError(() => t.encode('中'), /byte 0xe4 has no token/);
  });
});

describe('stream decoder', () => {
  it('yields the same text as decode and never a partial character', () => {
    const random = rng(5);
    const emoji = '👨‍👩‍👧‍👦🏳️‍🌈👍🏽🦛🌊中文字符 é ü \u0000 ❤️';
    for (let trial = 0; trial < 50; trial++) {
      let text = '';
      for (let i = 0; i < 40; i++)
        text += [...emoji][Math.floor(random() * [...emoji].length)] + (random() < 0.2 ? ' ' : '');
      const ids = tok.encode(text);
      const stream = tok.streamDecoder();
      let out = '';
      for (const id of ids) {
        const piece = stream.push(id);
        expect(piece).not.toMatch(/[\ufffd]|\p{Surrogate}/u); // whole characters only
        out += piece;
        expect(text.startsWith(out)).toBe(true);
      }
      out += stream.flush();
      expect(out).toBe(tok.decode(ids));
      expect(out).toBe(text);
    }
  });

  it('agrees with decode on arbitrary id sequences, invalid UTF-8 included', () => {
    const random = rng(6);
    for (let trial = 0; trial < 100; trial++) {
      const ids = Array.from({ length: Math.floor(random() * 30) }, () => Math.floor(random() * tok.vocabSize));
      const stream = tok.streamDecoder();
      let out = '';
      for (const id of ids) out += stream.push(id);
      expect(out + stream.flush()).toBe(tok.decode(ids));
    }
  });

  it('holds back an unfinished character, and flush gives U+FFFD for it', () => {
    const ids = tok.encode('🦛'); // four bytes, more than one token
    expect(ids.length).toBeGreaterThan(1);
    const stream = tok.streamDecoder();
    for (const id of ids.slice(0, -1)) expect(stream.push(id)).toBe('');
    expect(stream.flush()).toBe('\ufffd');
    // After a flush the decoder starts afresh.
    let out = '';
    for (const id of ids) out += stream.push(id);
    expect(out).toBe('🦛');
    expect(stream.flush()).toBe('');
  });
});
