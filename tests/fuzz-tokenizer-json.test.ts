/**
 * Seeded fuzz of the tokenizer.json reader: the bundled 1000-token fixture with its model type,
 * vocab, merges, added_tokens, pre_tokenizer and normalizer mutated (wrong types, huge and
 * fractional ids, unknown tokens, duplicate ids, lone surrogates, deep nesting, a cyclic object as a
 * damaged stored record could hold). Each case gives a TokenizerError in one short line, or a
 * model no larger than the file that encodes and decodes text: never a TypeError/RangeError.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { parseTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { type BpeModel, TokenizerError } from '../src/tokenizer/types';
import { rng, type Random } from '../src/util/random';

const FIXTURE = readFileSync(new URL('./fixtures/bpe-1000.tokenizer.json', import.meta.url), 'utf8');
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the fuzz edits arbitrary fields
type Doc = any;
/** The fixture cut to its first 400 ids (and the merges making them): the same shapes, fuzzed faster. */
const fixture: Doc = JSON.parse(FIXTURE);
const kept = Object.entries(fixture.model.vocab as Record<string, number>).filter(([, id]) => id < 400);
fixture.model.vocab = Object.fromEntries(kept);
fixture.model.merges = (fixture.model.merges as [string, string][]).filter(
  ([a, b]) => (fixture.model.vocab[a + b] ?? Infinity) < 400,
);
const fixtureText = JSON.stringify(fixture);
const vocabKeys = Object.keys(fixture.model.vocab as object);
const SAMPLE = 'life is about the 12 tables, "quoted" — and café <|endoftext|> done.\n';

const pick = <T>(r: Random, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
const nestedDeep = `${'['.repeat(20000)}${']'.repeat(20000)}`;

/** Raw JSON text for a value, so 1e400 (Infinity) and deep nesting reach the parser. */
function nasty(r: Random): string {
  return pick(r, [
    () =>
      pick(r, ['-1', '1.5', '1e400', '16777215', '16777216', '4294967296', '0', '999', '1000', '"5"', 'null', 'true']),
    () =>
      pick(r, [
        '{}',
        '[]',
        '[1,2]',
        '{"type":"BPE"}',
        '"BPE"',
        '"WordPiece"',
        '"Ġ t"',
        '"a  b"',
        '["Ġ"]',
        '[["a","b"]]',
      ]),
    () => JSON.stringify(pick(r, ['\ud800', '', 'x'.repeat(50_000), 'Ġthe', '<|endoftext|>', 'zzz'])),
    () => nestedDeep,
  ])();
}

/** Puts `marker` (later replaced by a raw value) or a structural edit somewhere in the document. */
function mutate(doc: Doc, r: Random, marker: string): void {
  const model: Doc = doc.model;
  if (typeof model !== 'object' || model === null) return; // an earlier edit replaced it
  switch (Math.floor(r() * 9)) {
    case 0: // a vocab id
      model.vocab[pick(r, vocabKeys)] = marker;
      break;
    case 1: // a vocab entry added, removed, or an id given twice
      if (r() < 0.3) delete model.vocab[pick(r, vocabKeys)];
      else if (r() < 0.5) model.vocab[pick(r, vocabKeys)] = model.vocab[pick(r, vocabKeys)];
      else
        model.vocab[pick(r, ['\ud800', 'new', '__proto__', '', 'Ġ t'])] =
          r() < 0.5 ? 1000 + Math.floor(r() * 10) : marker;
      break;
    case 2: {
      // a merge: replaced, removed, cyclic (a token merged into itself), or its text edited
      const i = Math.floor(r() * model.merges.length);
      const edit = r();
      if (edit < 0.3) model.merges[i] = marker;
      else if (edit < 0.45) model.merges.splice(i, 1);
      else if (edit < 0.6) model.merges[i] = [model.merges[i][0] + model.merges[i][1], model.merges[i][1]];
      else if (edit < 0.75)
        model.merges[i] = `${model.merges[i][0]} ${model.merges[i][1]}`; // the string form, still fine
      else model.merges[i][Math.floor(r() * 3)] = marker;
      break;
    }
    case 3:
      model[pick(r, ['merges', 'vocab', 'type', 'continuing_subword_prefix', 'ignore_merges', 'end_of_word_suffix'])] =
        marker;
      break;
    case 4: {
      // added_tokens: a field, the list, or a new token
      const added = doc.added_tokens as Doc[];
      const edit = r();
      if (edit < 0.3) added[0][pick(r, ['id', 'content', 'special'])] = marker;
      else if (edit < 0.5) doc.added_tokens = marker;
      else
        added.push({
          id: r() < 0.5 ? marker : 1000 + Math.floor(r() * 5),
          content: r() < 0.5 ? 'Ġthe' : '<pad>',
          special: true,
        });
      break;
    }
    case 5:
      doc[pick(r, ['pre_tokenizer', 'normalizer'])] =
        r() < 0.5 ? marker : { type: 'Sequence', [pick(r, ['pretokenizers', 'normalizers'])]: [marker] };
      break;
    case 6:
      if (r() < 0.5) delete doc[pick(r, ['model', 'pre_tokenizer', 'added_tokens', 'normalizer'])];
      else delete model[pick(r, ['vocab', 'merges', 'type'])];
      break;
    case 7: // whole-document damage
      doc.model = marker;
      break;
    default: // holes in the ids: the largest id moves far up
      model.vocab[pick(r, vocabKeys)] = pick(r, [5000, 65536, 16777215]);
  }
}

// Raw JSON text or an edited document (a string is a Doc too: Doc is any).
function crafted(r: Random): Doc {
  const doc: Doc = structuredClone(fixture);
  const raws = new Map<string, string>();
  const edits = 1 + Math.floor(r() * 3);
  for (let e = 0; e < edits; e++) {
    const marker = `@@${e}@@`;
    raws.set(marker, nasty(r));
    try {
      mutate(doc, r, marker);
    } catch {
      // an earlier edit removed the part this one edits: the document stays as it is
    }
  }
  if (r() < 0.05 && typeof doc.model === 'object' && doc.model !== null) {
    // An already-parsed document with a cycle, as a structured-clone record can hold.
    doc.model.vocab = { ...doc.model.vocab, loop: doc.model };
    doc.pre_tokenizer = { type: doc.pre_tokenizer, self: doc };
    return doc;
  }
  let text = JSON.stringify(doc);
  for (const [marker, raw] of raws) text = text.replaceAll(`"${marker}"`, () => raw);
  if (r() < 0.1) text = text.slice(0, Math.floor(r() * text.length)); // truncated
  return text;
}

describe('tokenizer.json fuzz', () => {
  it('400 crafted files: a TokenizerError in one short line, or a model within the file that round-trips text', () => {
    const r = rng(77);
    expect(new Tokenizer(parseTokenizerJson(fixtureText)).vocabSize).toBe(400); // the cut fixture is itself valid
    const outcomes = { valid: 0, refused: 0 };
    const messages = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const input = crafted(r);

      const size = typeof input === 'string' ? input.length : fixtureText.length * 2;
      let model: BpeModel;
      try {
        model = parseTokenizerJson(input);
      } catch (error) {
        if (!(error instanceof TokenizerError)) throw new Error(`case ${i}: ${String(error)}`, { cause: error });
        expect(error.message).not.toMatch(/\n/);
        expect(error.message.length).toBeLessThan(400);
        messages.add(error.message.replace(/\d+/g, 'N').slice(0, 30));
        outcomes.refused++;
        continue;
      }
      outcomes.valid++;
      expect(model.vocab.size + model.merges.length + model.specialTokens.length).toBeLessThan(size);
      const tokenizer = new Tokenizer(model);
      let ids: number[];
      try {
        ids = tokenizer.encode(SAMPLE);
      } catch (error) {
        expect(error, `case ${i}`).toBeInstanceOf(TokenizerError); // a byte with no token
        continue;
      }
      expect(ids.every((id) => id < tokenizer.vocabSize)).toBe(true);
      if (!model.addPrefixSpace) expect(tokenizer.decode(ids), `case ${i}`).toBe(SAMPLE);
    }
    expect(outcomes.valid).toBeGreaterThan(25);
    expect(outcomes.refused, JSON.stringify(outcomes)).toBeGreaterThan(150);
    expect(messages.size).toBeGreaterThan(15);
  });

  it('names a deeply nested, huge or cyclic value briefly instead of crashing on it', () => {
    const deep = FIXTURE.replace('"type": "BPE"', () => `"type": ${nestedDeep}`);
    expect(() => parseTokenizerJson(deep)).toThrow(/^model type \[\[\[.*tokenizers are not supported/);
    const huge: Doc = JSON.parse(FIXTURE);
    huge.pre_tokenizer = { type: 'x'.repeat(100_000) };
    expect(() => parseTokenizerJson(huge)).toThrow(/^pre_tokenizer "x{20,80}… is not supported/);
    const cyclic: Doc = JSON.parse(FIXTURE);
    cyclic.normalizer = { type: 'Lowercase' };
    cyclic.normalizer.type = cyclic.normalizer;
    expect(() => parseTokenizerJson(cyclic)).toThrow(/^normalizer \{"type":\(cycle\)\} is not supported/);
  });

  it('refuses an id that would size an embedding of millions of unused rows, and keeps modest holes', () => {
    const far: Doc = JSON.parse(FIXTURE);
    far.model.vocab['<|endoftext|>'] = 16_777_215;
    far.added_tokens[0].id = 16_777_215;
    expect(() => parseTokenizerJson(far)).toThrow(
      /^token "<\|endoftext\|>" has id 16777215 but only 1000 tokens are listed: ids past 67535/,
    );
    const near: Doc = JSON.parse(FIXTURE);
    near.model.vocab['<|endoftext|>'] = 67_535;
    near.added_tokens[0].id = 67_535;
    expect(new Tokenizer(parseTokenizerJson(near)).vocabSize).toBe(67_536);
  });
});
