/**
 * tokenizer.json import and export, in the layout Hugging Face tokenizers writes for a byte-level
 * BPE (ByteLevelBPETokenizer, GPT-2). Only files that encode exactly as GPT Garden does are read:
 * anything that would change the encoding (another model type, a normalizer, another
 * pre-tokenizer, subword prefixes) is refused with a TokenizerError naming it.
 */
import { messageOf } from '../util/errors';
import { preview } from '../util/preview';
import { Tokenizer } from './tokenizer';
import { type BpeModel, TokenizerError } from './types';

/** GPT-2's split regex as Hugging Face files spell it in a Split pre-tokenizer. */
const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
// Bounded: a crafted value may be deeply nested, huge, or (from a stored record) cyclic.
const show = (v: unknown): string => preview(v);
const typeName = (v: unknown): string => (isObject(v) ? show(v.type) : show(v));

function checkModel(model: JsonObject): void {
  // Old files may leave out model.type; vocab + merges still say BPE.
  const type = model.type ?? (isObject(model.vocab) && Array.isArray(model.merges) ? 'BPE' : undefined);
  if (type !== 'BPE') {
    const what = typeof type === 'string' ? type : `model type ${show(type)}`;
    throw new TokenizerError(`${what} tokenizers are not supported; GPT Garden needs a byte-level BPE`);
  }
  for (const key of ['continuing_subword_prefix', 'end_of_word_suffix']) {
    const v = model[key];
    if (v !== undefined && v !== null && v !== '') {
      throw new TokenizerError(
        `model.${key} ${show(v)} is not supported; GPT Garden needs a byte-level BPE without one`,
      );
    }
  }
  if (model.ignore_merges === true) {
    throw new TokenizerError('model.ignore_merges = true is not supported: GPT Garden always applies the merges');
  }
  // dropout, unk_token, fuse_unk and byte_fallback are ignored: with all 256 bytes in the vocab
  // nothing is ever unknown, and dropout only randomizes encodings for training.
}

function checkNormalizer(normalizer: unknown): void {
  if (normalizer === undefined || normalizer === null) return;
  if (isObject(normalizer) && normalizer.type === 'Sequence' && Array.isArray(normalizer.normalizers)) {
    if (normalizer.normalizers.length === 0) return;
  }
  throw new TokenizerError(
    `normalizer ${typeName(normalizer)} is not supported: GPT Garden's byte-level BPE encodes the raw text`,
  );
}

/** Checks the pre-tokenizer is GPT-2's (ByteLevel with its regex) and returns add_prefix_space. */
function readPreTokenizer(pre: unknown): boolean {
  const refuse = (what: string) =>
    new TokenizerError(
      `pre_tokenizer ${what} is not supported; GPT Garden needs a byte-level BPE (pre_tokenizer ByteLevel)`,
    );
  if (!isObject(pre)) throw refuse(show(pre ?? null));
  if (pre.type === 'ByteLevel') {
    if (pre.use_regex === false) throw refuse('ByteLevel with use_regex false (no GPT-2 split)');
    return pre.add_prefix_space === true;
  }
  if (pre.type === 'Sequence' && Array.isArray(pre.pretokenizers)) {
    const items: unknown[] = pre.pretokenizers;
    const [first, second] = items;
    if (items.length === 1 && isObject(first) && first.type === 'ByteLevel') return readPreTokenizer(first);
    // The same split spelled out: GPT-2's regex, then ByteLevel without its own regex.
    const gpt2Split =
      isObject(first) &&
      first.type === 'Split' &&
      isObject(first.pattern) &&
      first.pattern.Regex === GPT2_PATTERN &&
      first.behavior === 'Isolated' &&
      first.invert !== true;
    if (
      items.length === 2 &&
      gpt2Split &&
      isObject(second) &&
      second.type === 'ByteLevel' &&
      second.use_regex === false
    ) {
      // ByteLevel would add its prefix space to every split word there, unlike the plain form.
      if (second.add_prefix_space === true) throw refuse('Sequence [Split, ByteLevel] with add_prefix_space true');
      return false;
    }
    throw refuse(`Sequence [${items.map(typeName).join(', ')}]`);
  }
  throw refuse(typeName(pre));
}

function readVocab(vocab: unknown): Map<string, number> {
  if (!isObject(vocab)) throw new TokenizerError('model.vocab must be an object mapping tokens to ids');
  const out = new Map<string, number>();
  for (const [token, id] of Object.entries(vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new TokenizerError(`vocab entry ${show(token)} has id ${show(id)}: ids must be non-negative integers`);
    }
    out.set(token, id);
  }
  return out;
}

function readMerges(merges: unknown): [string, string][] {
  if (!Array.isArray(merges)) throw new TokenizerError('model.merges must be an array');
  return merges.map((merge: unknown, i): [string, string] => {
    if (typeof merge === 'string') {
      // Byte-level tokens never hold a space (it is written Ġ), so one space separates the two.
      const parts = merge.split(' ');
      if (parts.length === 2 && parts[0] && parts[1]) return [parts[0], parts[1]];
      throw new TokenizerError(`merge ${i} ${show(merge)} is not two tokens separated by one space`);
    }
    if (Array.isArray(merge) && merge.length === 2 && typeof merge[0] === 'string' && typeof merge[1] === 'string') {
      return [merge[0], merge[1]];
    }
    throw new TokenizerError(`merge ${i} ${show(merge)} must be a pair of tokens or an "a b" string`);
  });
}

/**
 * Added tokens, special or not: Hugging Face cuts all of them out of the text before
 * pre-tokenization, so all become special tokens here. Ones missing from model.vocab join it.
 */
function readAddedTokens(added: unknown, vocab: Map<string, number>): { content: string; id: number }[] {
  if (added === undefined || added === null) return [];
  if (!Array.isArray(added)) throw new TokenizerError('added_tokens must be an array');
  return added.map((token: unknown, i) => {
    if (
      !isObject(token) ||
      typeof token.content !== 'string' ||
      !Number.isInteger(token.id) ||
      (token.id as number) < 0
    ) {
      throw new TokenizerError(`added_tokens[${i}] needs a string "content" and a non-negative integer "id"`);
    }
    const { content } = token;
    const id = token.id as number;
    const known = vocab.get(content);
    if (known === undefined) vocab.set(content, id);
    else if (known !== id)
      throw new TokenizerError(`added token ${show(content)} has id ${id} but model.vocab gives it id ${known}`);
    return { content, id };
  });
}

/**
 * Ids may leave holes, but the model gets one embedding row per id up to the largest: a crafted
 * file of a few KB claiming id 16,777,215 would size a table of millions of unused rows.
 */
function checkIdRange(vocab: Map<string, number>): void {
  let maxId = -1;
  let maxToken = '';
  for (const [token, id] of vocab) {
    if (id > maxId) {
      maxId = id;
      maxToken = token;
    }
  }
  const limit = 2 * vocab.size + 65536;
  if (maxId >= limit) {
    throw new TokenizerError(
      `token ${show(maxToken)} has id ${maxId} but only ${vocab.size} tokens are listed: ids past ${limit - 1} (twice the tokens + 65536) would leave the embedding table mostly unused rows`,
    );
  }
}

/** A BpeModel from a tokenizer.json's text (or its parsed JSON); every problem is a TokenizerError. */
export function parseTokenizerJson(json: unknown): BpeModel {
  let root = json;
  if (typeof json === 'string') {
    try {
      root = JSON.parse(json);
    } catch (e) {
      throw new TokenizerError(`tokenizer.json is not valid JSON: ${messageOf(e)}`);
    }
  }
  if (!isObject(root)) throw new TokenizerError('tokenizer.json must hold a JSON object');
  const model = root.model;
  if (!isObject(model)) throw new TokenizerError('tokenizer.json has no "model" object');
  checkModel(model);
  checkNormalizer(root.normalizer);
  const addPrefixSpace = readPreTokenizer(root.pre_tokenizer);
  const vocab = readVocab(model.vocab);
  const merges = readMerges(model.merges);
  const specialTokens = readAddedTokens(root.added_tokens, vocab);
  checkIdRange(vocab);
  const result: BpeModel = { vocab, merges, specialTokens };
  if (addPrefixSpace) result.addPrefixSpace = true;
  new Tokenizer(result); // checks ids, merges against the vocab, lone surrogates
  return result;
}

/**
 * tokenizer.json text in Hugging Face's layout (2-space indent, vocab in id order, merges as
 * pairs), so a file Hugging Face wrote is reproduced byte for byte.
 */
export function toTokenizerJson(model: BpeModel): string {
  new Tokenizer(model); // never write a file that would not load
  const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean) => ({
    type: 'ByteLevel',
    add_prefix_space: addPrefixSpace,
    trim_offsets: trimOffsets,
    use_regex: true,
  });
  const doc = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [...model.specialTokens]
      .sort((a, b) => a.id - b.id)
      .map(({ content, id }) => ({
        id,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
    normalizer: null,
    pre_tokenizer: byteLevel(model.addPrefixSpace === true, true),
    post_processor: byteLevel(true, false),
    decoder: byteLevel(true, true),
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: {},
      merges: model.merges.map(([a, b]) => [a, b]),
    },
  };
  // A JS object would put integer-like keys ("0", "12") first, so the vocab is written by hand in
  // id order. Inside JSON strings every quote is escaped, so this text only occurs as the key.
  const entries = [...model.vocab].sort((a, b) => a[1] - b[1]);
  const vocab =
    entries.length === 0
      ? '{}'
      : `{\n${entries.map(([t, id]) => `      ${JSON.stringify(t)}: ${id}`).join(',\n')}\n    }`;
  return JSON.stringify(doc, null, 2).replace('"vocab": {}', () => `"vocab": ${vocab}`);
}
