/**
 * Byte-level BPE encoding and decoding, as Hugging Face tokenizers' ByteLevel BPE does it: special
 * tokens are cut out first, the rest is split by GPT-2's regex, each word's UTF-8 bytes become
 * byte tokens, and merges apply lowest rank first (leftmost first among equal ranks).
 */
import { preview } from '../util/preview';
import { BYTE_TO_CHAR, CHAR_TO_BYTE } from './bytes';
import { GPT2_SPLIT, splitSpecial } from './pretokenize';
import { createStreamDecoder, type StreamDecoder } from './stream-decoder';
import { type BpeModel, END_OF_TEXT, TokenizerError } from './types';

/** Ids must fit the lookup tables below and the heap keys of long words. */
export const MAX_TOKEN_ID = 2 ** 24 - 1;
/** Words seen are cached; the cache is dropped whole when it grows past this (cheap and bounded). */
const CACHE_LIMIT = 100_000;
/** Very long words would make the cache hold large strings that rarely repeat. */
const CACHE_MAX_WORD = 256;
/** Words longer than this (in bytes) merge with a heap, O(n log n), instead of rescanning, O(n^2). */
const LONG_WORD = 64;
/** Heap key = rank * 2^29 + position: exact in a double since ranks stay below 2^24. */
const POS_LIMIT = 2 ** 29;

const utf8Encoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is part of the text, not a marker to drop.
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });
/** In `u` mode a surrogate class matches only unpaired halves. */
const LONE_SURROGATE = /\p{Surrogate}/u;

// Bounded: a crafted tokenizer.json may hold a token of megabytes.
const quote = (s: string): string => preview(s, 100);

/**
 * (left id, right id) -> merge rank, by open addressing in typed arrays: faster than a Map keyed by
 * left * 2^k + right, whose keys leave V8's small-integer range.
 */
class PairTable {
  private readonly mask: number;
  private readonly lefts: Int32Array;
  private readonly rights: Int32Array;
  private readonly ranks: Int32Array;

  constructor(count: number) {
    let size = 16;
    while (size < count * 2) size *= 2;
    this.mask = size - 1;
    this.lefts = new Int32Array(size).fill(-1);
    this.rights = new Int32Array(size);
    this.ranks = new Int32Array(size);
  }

  private slot(left: number, right: number): number {
    const h = Math.imul(left, 0x9e3779b1) ^ Math.imul(right + 0x632be5ab, 0x85ebca77);
    return (h ^ (h >>> 15)) & this.mask;
  }

  /** A later merge of the same pair replaces the earlier one, as in Hugging Face's merge map. */
  set(left: number, right: number, rank: number): void {
    let i = this.slot(left, right);
    while (this.lefts[i] !== -1 && (this.lefts[i] !== left || this.rights[i] !== right)) i = (i + 1) & this.mask;
    this.lefts[i] = left;
    this.rights[i] = right;
    this.ranks[i] = rank;
  }

  /** The pair's rank, or -1 when it never merges. */
  get(left: number, right: number): number {
    for (let i = this.slot(left, right); ; i = (i + 1) & this.mask) {
      const l = this.lefts[i];
      if (l === -1) return -1;
      if (l === left && this.rights[i] === right) return this.ranks[i]!;
    }
  }
}

/** Binary min-heap of numeric keys. */
class MinHeap {
  private readonly keys: Float64Array;
  size = 0;

  constructor(capacity: number) {
    this.keys = new Float64Array(capacity);
  }

  push(key: number): void {
    const k = this.keys;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (k[parent]! <= key) break;
      k[i] = k[parent]!;
      i = parent;
    }
    k[i] = key;
  }

  pop(): number {
    const k = this.keys;
    const top = k[0]!;
    const last = k[--this.size]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= this.size) break;
      if (child + 1 < this.size && k[child + 1]! < k[child]!) child++;
      if (k[child]! >= last) break;
      k[i] = k[child]!;
      i = child;
    }
    k[i] = last;
    return top;
  }
}

/** Bytes of a token written in the byte-level alphabet, or undefined if it has other characters. */
function byteLevelBytes(token: string): Uint8Array | undefined {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const b = CHAR_TO_BYTE.get(token[i]!);
    if (b === undefined) return undefined;
    out[i] = b;
  }
  return out;
}

export class Tokenizer {
  /** Id of <|endoftext|>, if the vocabulary has it. */
  readonly endOfText: number | undefined;
  private readonly vocab: Map<string, number>;
  /** id -> token; holes for unused ids */
  private readonly tokens: (string | undefined)[] = [];
  /** id -> the bytes it decodes to */
  private readonly bytes: (Uint8Array | undefined)[] = [];
  /** byte -> id of its single-byte token, -1 if missing */
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly pairs: PairTable;
  /** merge rank -> id of the merged token */
  private readonly mergedIds: Int32Array;
  private readonly specialIds = new Map<string, number>();
  private readonly addPrefixSpace: boolean;
  // Own copy: a shared global regex carries lastIndex state.
  private readonly splitter = new RegExp(GPT2_SPLIT.source, GPT2_SPLIT.flags);
  private readonly cache = new Map<string, readonly number[]>();

  /** Checks the model as it goes: every problem is a TokenizerError naming the entry. */
  constructor(model: BpeModel) {
    this.vocab = new Map(model.vocab);
    for (const [token, id] of model.vocab) this.place(token, id, 'vocab entry');
    for (const { content, id } of model.specialTokens) {
      if (!content) throw new TokenizerError('a special token has empty content');
      if (this.specialIds.has(content)) throw new TokenizerError(`special token ${quote(content)} is listed twice`);
      const known = this.vocab.get(content);
      if (known === undefined) {
        this.place(content, id, 'special token');
        this.vocab.set(content, id);
      } else if (known !== id) {
        throw new TokenizerError(`special token ${quote(content)} has id ${id} but the vocab gives it id ${known}`);
      }
      this.specialIds.set(content, id);
    }
    // Special tokens decode to their own text; other tokens through the byte alphabet, or, like
    // Hugging Face's ByteLevel decoder, as their UTF-8 text when they have characters outside it.
    this.tokens.forEach((token, id) => {
      if (token === undefined) return; // forEach skips holes; this is for the type checker
      const special = this.specialIds.get(token) === id;
      this.bytes[id] = (special ? undefined : byteLevelBytes(token)) ?? utf8Encoder.encode(token);
    });
    for (let b = 0; b < 256; b++) this.byteIds[b] = this.vocab.get(BYTE_TO_CHAR[b]!) ?? -1;

    this.pairs = new PairTable(model.merges.length);
    this.mergedIds = new Int32Array(model.merges.length);
    model.merges.forEach(([left, right], rank) => {
      const lookup = (token: string): number => {
        const id = this.vocab.get(token);
        if (id === undefined) {
          throw new TokenizerError(
            `merge ${rank} (${quote(left)} ${quote(right)}): ${quote(token)} is not in the vocab`,
          );
        }
        return id;
      };
      this.pairs.set(lookup(left), lookup(right), rank);
      this.mergedIds[rank] = lookup(left + right);
    });
    this.addPrefixSpace = model.addPrefixSpace === true;
    this.endOfText = this.specialIds.get(END_OF_TEXT) ?? this.vocab.get(END_OF_TEXT);
  }

  private place(token: string, id: number, what: string): void {
    if (!Number.isInteger(id) || id < 0 || id > MAX_TOKEN_ID) {
      throw new TokenizerError(`${what} ${quote(token)} has id ${id}: ids must be integers from 0 to ${MAX_TOKEN_ID}`);
    }
    const other = this.tokens[id];
    if (other !== undefined) {
      throw new TokenizerError(`ids must be unique: id ${id} is given to both ${quote(other)} and ${quote(token)}`);
    }
    if (LONE_SURROGATE.test(token)) {
      throw new TokenizerError(
        `${what} ${quote(token)} (id ${id}) has a lone surrogate, which has no UTF-8 bytes: it could never be encoded or decoded`,
      );
    }
    this.tokens[id] = token;
  }

  /** Largest id + 1 (the embedding table's height). */
  get vocabSize(): number {
    return this.tokens.length;
  }

  idOf(token: string): number | undefined {
    return this.vocab.get(token);
  }

  tokenOf(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 ? this.tokens[id] : undefined;
  }

  /**
   * Token ids of `text`. Lone surrogates (not valid Unicode) are encoded as U+FFFD's bytes, as
   * TextEncoder does, so they decode back as U+FFFD. With add_prefix_space the added space stays
   * in the decoded text, as with Hugging Face's ByteLevel decoder.
   */
  encode(text: string): number[] {
    const out: number[] = [];
    if (this.specialIds.size === 0) {
      this.encodeOrdinary(text, out);
      return out;
    }
    for (const piece of splitSpecial(text, [...this.specialIds.keys()])) {
      if (piece.special) out.push(this.specialIds.get(piece.text)!);
      else this.encodeOrdinary(piece.text, out);
    }
    return out;
  }

  /** Text without special tokens: split into words, each word merged (or taken from the cache). */
  private encodeOrdinary(text: string, out: number[]): void {
    if (!text) return;
    // Hugging Face puts the prefix space before each piece between special tokens.
    if (this.addPrefixSpace && !text.startsWith(' ')) text = ' ' + text;
    const re = this.splitter;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const word = m[0];
      let ids = this.cache.get(word);
      if (ids === undefined) {
        ids = this.encodeWord(word);
        if (word.length <= CACHE_MAX_WORD) {
          if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
          this.cache.set(word, ids);
        }
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
    }
  }

  private encodeWord(word: string): number[] {
    const bytes = utf8Encoder.encode(word);
    const symbols = new Array<number>(bytes.length);
    for (let i = 0; i < bytes.length; i++) {
      const id = this.byteIds[bytes[i]!]!;
      if (id < 0) {
        const hex = bytes[i]!.toString(16).padStart(2, '0');
        throw new TokenizerError(`byte 0x${hex} has no token (${quote(BYTE_TO_CHAR[bytes[i]!]!)}) in the vocab`);
      }
      symbols[i] = id;
    }
    return symbols.length > LONG_WORD ? this.mergeLong(symbols) : this.mergeShort(symbols);
  }

  /** Short words: rescan the pair ranks for the lowest (leftmost on ties) after each merge. */
  private mergeShort(symbols: number[]): number[] {
    const ranks: number[] = [];
    for (let i = 0; i + 1 < symbols.length; i++) ranks.push(this.pairs.get(symbols[i]!, symbols[i + 1]!));
    for (;;) {
      let best = -1;
      let at = -1;
      for (let i = 0; i < ranks.length; i++) {
        const r = ranks[i]!;
        if (r >= 0 && (best < 0 || r < best)) {
          best = r;
          at = i;
        }
      }
      if (at < 0) return symbols;
      symbols[at] = this.mergedIds[best]!;
      symbols.splice(at + 1, 1);
      ranks.splice(at, 1);
      if (at > 0) ranks[at - 1] = this.pairs.get(symbols[at - 1]!, symbols[at]!);
      if (at + 1 < symbols.length) ranks[at] = this.pairs.get(symbols[at]!, symbols[at + 1]!);
    }
  }

  /**
   * Long words: symbols in a linked list, candidate merges in a heap keyed by (rank, position);
   * entries whose pair has changed since they were pushed are skipped when popped.
   */
  private mergeLong(input: number[]): number[] {
    const n = input.length;
    if (n >= POS_LIMIT) throw new TokenizerError(`a word of ${n} bytes is too long to encode`);
    const symbols = Int32Array.from(input);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    // Each merge pushes at most two entries: n - 1 initial pairs + 2 (n - 1) bounds the heap.
    const heap = new MinHeap(3 * n);
    const consider = (left: number, right: number): void => {
      const rank = this.pairs.get(symbols[left]!, symbols[right]!);
      if (rank >= 0) heap.push(rank * POS_LIMIT + left);
    };
    for (let i = 0; i + 1 < n; i++) consider(i, i + 1);
    while (heap.size > 0) {
      const key = heap.pop();
      const rank = Math.floor(key / POS_LIMIT);
      const pos = key - rank * POS_LIMIT;
      const right = next[pos]!;
      if (symbols[pos]! < 0 || right < 0 || this.pairs.get(symbols[pos]!, symbols[right]!) !== rank) continue;
      symbols[pos] = this.mergedIds[rank]!;
      symbols[right] = -1;
      const after = next[right]!;
      next[pos] = after;
      if (after >= 0) prev[after] = pos;
      if (prev[pos]! >= 0) consider(prev[pos]!, pos);
      if (after >= 0) consider(pos, after);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(symbols[i]!);
    return out;
  }

  /** The bytes a token decodes to. */
  private bytesOf(id: number): Uint8Array {
    const bytes = Number.isInteger(id) && id >= 0 ? this.bytes[id] : undefined;
    if (bytes === undefined) throw new TokenizerError(`unknown token id ${id} (vocab size ${this.vocabSize})`);
    return bytes;
  }

  /** The exact bytes of a token sequence. */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    let total = 0;
    for (let i = 0; i < ids.length; i++) total += this.bytesOf(ids[i]!).length;
    const out = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const bytes = this.bytes[ids[i]!]!;
      out.set(bytes, at);
      at += bytes.length;
    }
    return out;
  }

  /** Text of a token sequence; a sequence cut inside a character gives U+FFFD there. */
  decode(ids: ArrayLike<number>): string {
    return utf8Decoder.decode(this.decodeBytes(ids));
  }

  /** Incremental decoding for generation: text appears once its characters are whole. */
  streamDecoder(): StreamDecoder {
    return createStreamDecoder((id) => this.bytesOf(id));
  }
}
