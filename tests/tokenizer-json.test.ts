import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tokenizeCommand } from '../src/cli/tokenize';
import { BYTE_TO_CHAR, SORTED_ALPHABET } from '../src/tokenizer/bytes';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { parseTokenizerJson, toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { type BpeModel, TokenizerError } from '../src/tokenizer/types';

const FIXTURE = readFileSync(new URL('./fixtures/bpe-1000.tokenizer.json', import.meta.url), 'utf8');
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests edit arbitrary tokenizer.json fields
type Doc = any;
const fixtureDoc = (): Doc => JSON.parse(FIXTURE);

/** A model in comparable form: vocab and specials in id order. */
function normalized(m: BpeModel) {
  return {
    vocab: [...m.vocab].sort((a, b) => a[1] - b[1]),
    merges: m.merges,
    specialTokens: [...m.specialTokens].sort((a, b) => a.id - b.id),
    addPrefixSpace: m.addPrefixSpace === true,
  };
}

function expectTokenizerError(json: unknown, message: RegExp): void {
  let err: unknown;
  try {
    parseTokenizerJson(json);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TokenizerError);
  expect((err as Error).message).toMatch(message);
}

describe('tokenizer.json import and export', () => {
  it('reads the fixture and writes it back byte for byte', () => {
    const model = parseTokenizerJson(FIXTURE);
    expect(model.vocab.size).toBe(1000);
    expect(model.merges.length).toBe(1000 - 257);
    expect(model.merges[0]).toEqual(['Ġ', 't']);
    expect(model.specialTokens).toEqual([{ content: '<|endoftext|>', id: 0 }]);
    expect(model.addPrefixSpace).toBeUndefined();
    expect(toTokenizerJson(model)).toBe(FIXTURE);
    expect(normalized(parseTokenizerJson(toTokenizerJson(model)))).toEqual(normalized(model));
    expect(normalized(parseTokenizerJson(fixtureDoc()))).toEqual(normalized(model)); // already-parsed JSON
  });

  it('round-trips a hand-made model: specials after the bytes, digit tokens, add_prefix_space', () => {
    const vocab = new Map<string, number>(SORTED_ALPHABET.map((c, i) => [c, i]));
    const merges: [string, string][] = [
      ['1', '2'],
      ['12', '3'],
      ['Ġ', 'é'],
      ['Ã', '©'],
      ['Ġ', 'Ã©'],
    ];
    for (const [a, b] of merges) vocab.set(a + b, vocab.size);
    const model: BpeModel = {
      vocab,
      merges,
      specialTokens: [
        { content: '<|endoftext|>', id: 300 },
        { content: '<pad>', id: 262 },
      ],
      addPrefixSpace: true,
    };
    vocab.set('<pad>', 262);
    vocab.set('<|endoftext|>', 300);
    const text = toTokenizerJson(model);
    expect(text.indexOf('"0": ')).toBeLessThan(text.indexOf('"123": ')); // ids in order, not JS key order
    const back = parseTokenizerJson(text);
    expect(normalized(back)).toEqual(normalized(model));
    expect(toTokenizerJson(back)).toBe(text);
    const tok = new Tokenizer(back);
    expect(tok.vocabSize).toBe(301);
    expect(tok.endOfText).toBe(300);
    expect(tok.encode('123<pad>é')).toEqual([vocab.get('Ġ')!, vocab.get('123')!, 262, vocab.get('ĠÃ©')!]);
  });

  it('reads merges written as "a b" strings identically', () => {
    const doc = fixtureDoc();
    doc.model.merges = doc.model.merges.map(([a, b]: [string, string]) => `${a} ${b}`);
    expect(normalized(parseTokenizerJson(JSON.stringify(doc)))).toEqual(normalized(parseTokenizerJson(FIXTURE)));
  });

  it('reads a GPT-2-style file: "a b" merges, empty subword prefixes, no type-specific extras', () => {
    const doc = fixtureDoc();
    doc.model = {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      vocab: doc.model.vocab,
      merges: doc.model.merges.map(([a, b]: [string, string]) => `${a} ${b}`),
    };
    doc.added_tokens = [
      {
        id: 0,
        special: true,
        content: '<|endoftext|>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: true,
      },
    ];
    delete doc.pre_tokenizer.use_regex; // older files leave it out; true is the default
    const tok = new Tokenizer(parseTokenizerJson(JSON.stringify(doc)));
    expect(tok.encode('Hello world')).toEqual([341, 290, 79, 483, 301]);
  });

  it('accepts a file without added_tokens (the special token is then ordinary text)', () => {
    const doc = fixtureDoc();
    delete doc.added_tokens;
    const model = parseTokenizerJson(doc);
    expect(model.specialTokens).toEqual([]);
    const tok = new Tokenizer(model);
    expect(tok.decode([0])).toBe('<|endoftext|>');
    expect(tok.encode('<|endoftext|>')).not.toEqual([0]);
  });

  it('treats added tokens that are not special like Hugging Face: cut out of the text; joins missing ones to the vocab', () => {
    const doc = fixtureDoc();
    doc.added_tokens.push({
      id: 1000,
      content: '[NEW]',
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: true,
      special: false,
    });
    const model = parseTokenizerJson(doc);
    expect(model.vocab.get('[NEW]')).toBe(1000);
    expect(new Tokenizer(model).encode('a[NEW]b')).toEqual([65, 1000, 66]);
  });

  it('stores add_prefix_space only when true', () => {
    const doc = fixtureDoc();
    doc.pre_tokenizer.add_prefix_space = true;
    expect(parseTokenizerJson(doc).addPrefixSpace).toBe(true);
    expect(JSON.parse(toTokenizerJson(parseTokenizerJson(doc))).pre_tokenizer.add_prefix_space).toBe(true);
  });

  it("accepts the ByteLevel pre-tokenizer inside a Sequence, alone or after a Split with GPT-2's regex", () => {
    const plain = normalized(parseTokenizerJson(FIXTURE));
    const doc = fixtureDoc();
    doc.pre_tokenizer = { type: 'Sequence', pretokenizers: [doc.pre_tokenizer] };
    expect(normalized(parseTokenizerJson(doc))).toEqual(plain);
    const split = {
      type: 'Split',
      pattern: { Regex: "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+" },
      behavior: 'Isolated',
      invert: false,
    };
    doc.pre_tokenizer.pretokenizers = [
      split,
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ];
    expect(normalized(parseTokenizerJson(doc))).toEqual(plain);
    doc.pre_tokenizer.pretokenizers[0].pattern.Regex = "(?i:'s|'t)|\\p{N}{1,3}";
    expectTokenizerError(doc, /pre_tokenizer Sequence \["Split", "ByteLevel"\] is not supported/);
  });

  it('handles JSON-escaped surrogates in the vocab: pairs are text, a lone one is refused by name', () => {
    const withPair = FIXTURE.replace('"<|endoftext|>": 0,', '"<|endoftext|>": 0,\n      "\\ud83d\\ude00": 1000,');
    const tok = new Tokenizer(parseTokenizerJson(withPair));
    expect(tok.tokenOf(1000)).toBe('😀');
    expect(tok.decode([1000])).toBe('😀'); // outside the byte alphabet: decoded as its own text, as Hugging Face does
    const lone = FIXTURE.replace('"<|endoftext|>": 0,', '"<|endoftext|>": 0,\n      "ab\\ud800": 1000,');
    expectTokenizerError(lone, /vocab entry "ab\\ud800" \(id 1000\) has a lone surrogate/);
  });
});

describe('tokenizer.json errors', () => {
  it('refuses invalid JSON with the parser message', () => {
    expectTokenizerError('{"model": ', /not valid JSON: .+/);
    expectTokenizerError('[1, 2]', /must hold a JSON object/);
    expectTokenizerError('{}', /no "model" object/);
  });

  it('refuses other model types by name', () => {
    for (const type of ['WordPiece', 'Unigram', 'WordLevel']) {
      const doc = fixtureDoc();
      doc.model = { type, vocab: type === 'Unigram' ? [['a', -1]] : { a: 0 } };
      expectTokenizerError(doc, new RegExp(`^${type} tokenizers are not supported; GPT Garden needs a byte-level BPE`));
    }
  });

  it('refuses settings that would change the encoding', () => {
    const cases: [(doc: Doc) => void, RegExp][] = [
      [(d) => (d.model.continuing_subword_prefix = '##'), /continuing_subword_prefix "##" is not supported/],
      [(d) => (d.model.end_of_word_suffix = '</w>'), /end_of_word_suffix "<\/w>" is not supported/],
      [(d) => (d.model.ignore_merges = true), /ignore_merges/],
      [(d) => (d.normalizer = { type: 'NFC' }), /normalizer "NFC" is not supported/],
      [
        (d) => (d.pre_tokenizer = { type: 'Metaspace', replacement: '▁' }),
        /pre_tokenizer "Metaspace" is not supported/,
      ],
      [(d) => (d.pre_tokenizer = null), /pre_tokenizer null is not supported/],
      [(d) => (d.pre_tokenizer.use_regex = false), /use_regex false/],
    ];
    for (const [edit, message] of cases) {
      const doc = fixtureDoc();
      edit(doc);
      expectTokenizerError(doc, message);
    }
  });

  it('refuses a merge with a missing vocab entry, naming the merge and the token', () => {
    const doc = fixtureDoc();
    delete doc.model.vocab['Ġt'];
    expectTokenizerError(doc, /merge 0 \("Ġ" "t"\): "Ġt" is not in the vocab/);
    const other = fixtureDoc();
    other.model.merges.push(['Ġ', 'zzz']);
    expectTokenizerError(other, /merge 743 \("Ġ" "zzz"\): "zzz" is not in the vocab/);
  });

  it('refuses malformed merges, vocab ids and added tokens', () => {
    const cases: [(doc: Doc) => void, RegExp][] = [
      [(d) => (d.model.merges[3] = 'a b c'), /merge 3 "a b c" is not two tokens/],
      [(d) => (d.model.merges[3] = ['a']), /merge 3 \["a"\] must be a pair/],
      [(d) => (d.model.merges = 'nope'), /model.merges must be an array/],
      [(d) => (d.model.vocab['Ġt'] = 5), /ids must be unique: id 5 is given to both/],
      [(d) => (d.model.vocab['Ġt'] = 1.5), /vocab entry "Ġt" has id 1.5: ids must be non-negative integers/],
      [(d) => (d.model.vocab['Ġt'] = '257'), /vocab entry "Ġt" has id "257"/],
      [(d) => (d.model.vocab['Ġt'] = -3), /has id -3/],
      [(d) => (d.model.vocab = []), /model.vocab must be an object/],
      [(d) => (d.added_tokens[0].id = 5), /added token "<\|endoftext\|>" has id 5 but model.vocab gives it id 0/],
      [(d) => (d.added_tokens = [{ content: 'x' }]), /added_tokens\[0\] needs a string "content"/],
    ];
    for (const [edit, message] of cases) {
      const doc = fixtureDoc();
      edit(doc);
      expectTokenizerError(doc, message);
    }
  });

  it('refuses to export a model that would not load', () => {
    const model: BpeModel = {
      vocab: new Map(BYTE_TO_CHAR.map((c, i) => [c, i])),
      merges: [['a', 'b']],
      specialTokens: [],
    };
    expect(() => toTokenizerJson(model)).toThrow(TokenizerError);
  });
});

describe('tokenize CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gg-tok-'));
  const file = join(dir, 'tokenizer.json');
  writeFileSync(file, FIXTURE);
  const tok = new Tokenizer(parseTokenizerJson(FIXTURE));

  async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
    const code = await tokenizeCommand(args);
    vi.restoreAllMocks();
    return { code, out, err };
  }
  afterEach(() => vi.restoreAllMocks());

  it('prints the ids as one JSON array on the last line, and decodes them back', async () => {
    const text = 'Hello world <|endoftext|> 🦛\nnext line';
    const encoded = await run(['--tokenizer', file, '--text', text]);
    expect(encoded.code).toBe(0);
    const lines = encoded.out.trimEnd().split('\n');
    const ids = JSON.parse(lines[lines.length - 1]!);
    expect(ids).toEqual(tok.encode(text));
    const decoded = await run(['--tokenizer', file, '--decode', JSON.stringify(ids)]);
    expect(decoded.code).toBe(0);
    expect(decoded.out).toBe(`${text}\n`);
  });

  it('exits 2 with a clear message on bad input', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"model": [');
    const cases: [string[], RegExp][] = [
      [['--tokenizer', join(dir, 'missing.json'), '--text', 'x'], /cannot read .*missing\.json/],
      [['--tokenizer', bad, '--text', 'x'], /not valid JSON/],
      [['--tokenizer', file, '--decode', '[1, x]'], /--decode needs a JSON array of token ids/],
      [['--tokenizer', file, '--decode', '[1, 2.5]'], /non-negative integer token ids/],
      [['--tokenizer', file, '--decode', '[1, 5000]'], /unknown token id 5000/],
      [['--tokenizer', file], /exactly one of --text and --decode/],
      [['--text', 'x'], /--tokenizer is required/],
      [['--tokenizer', file, '--text', 'x', '--bogus'], /bogus/],
    ];
    for (const [args, message] of cases) {
      const result = await run(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.err).toMatch(message);
      expect(result.out).toBe('');
    }
  });
});
