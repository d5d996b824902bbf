/**
 * First phase of BPE training: count the pre-tokenized words of a corpus, then lay the distinct
 * words out as arrays of byte-symbol ids for the merge phase.
 */
import { isAscii, scanAscii } from './ascii-split';
import { splitSpecial, splitWords } from './pretokenize';

/** Length of `text` in UTF-8 (a lone surrogate counts 3 bytes: TextEncoder writes it as U+FFFD). */
export function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      n += 1;
      continue;
    }
    // 3 bytes for one code unit; a surrogate pair is 4 bytes for two units, so also +2.
    n += 2;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
  }
  return n;
}

/** Distinct words and how often each occurs. */
export interface WordList {
  words: string[];
  counts: ArrayLike<number>;
}

/**
 * Counts words; each text is pre-tokenized on its own, with special tokens cut out first.
 * Words live in an open-addressing table hashed over their char codes, so an ASCII text's words
 * are counted straight from the text: a substring is made only for a word not seen before.
 */
export class WordCounter {
  bytes = 0;
  private words: string[] = [];
  private counts = new Float64Array(1 << 12);
  private hashes = new Int32Array(1 << 12);
  /** word index + 1 per slot, 0 = empty; kept at most half full. */
  private slots = new Int32Array(1 << 13);
  private ends = new Int32Array(1 << 12);

  constructor(private readonly specialTokens: readonly string[]) {}

  get size(): number {
    return this.words.length;
  }

  add(text: string): void {
    this.bytes += utf8Length(text);
    // splitSpecial builds a regex per call: only pay for it when a special token is there.
    if (this.specialTokens.some((s) => text.includes(s))) {
      for (const piece of splitSpecial(text, this.specialTokens)) if (!piece.special) this.addPlain(piece.text);
    } else this.addPlain(text);
  }

  /** The counts so far (the table keeps its storage: call once, at the end). */
  result(): WordList {
    return { words: this.words, counts: this.counts.subarray(0, this.words.length) };
  }

  private addPlain(text: string): void {
    if (isAscii(text)) {
      let n = scanAscii(text, this.ends);
      while (n < 0) {
        this.ends = new Int32Array(this.ends.length * 4);
        n = scanAscii(text, this.ends);
      }
      let start = 0;
      for (let k = 0; k < n; k++) {
        const end = this.ends[k]!;
        this.addSpan(text, start, end);
        start = end;
      }
    } else {
      for (const w of splitWords(text)) this.addSpan(w, 0, w.length);
    }
  }

  private addSpan(text: string, start: number, end: number): void {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    const slots = this.slots;
    const mask = slots.length - 1;
    const len = end - start;
    for (let s = (h ^ (h >>> 16)) & mask; ; s = (s + 1) & mask) {
      const v = slots[s]!;
      if (v === 0) {
        slots[s] = this.insert(text.slice(start, end), h) + 1;
        if (this.words.length * 2 > slots.length) this.rehash();
        return;
      }
      if (this.hashes[v - 1] !== h) continue;
      const word = this.words[v - 1]!;
      if (word.length !== len) continue;
      let same = true;
      for (let i = 0; i < len; i++) {
        if (word.charCodeAt(i) !== text.charCodeAt(start + i)) {
          same = false;
          break;
        }
      }
      if (same) {
        this.counts[v - 1]!++;
        return;
      }
    }
  }

  private insert(word: string, hash: number): number {
    const w = this.words.length;
    if (w >= this.counts.length) {
      const counts = new Float64Array(this.counts.length * 2);
      counts.set(this.counts);
      this.counts = counts;
      const hashes = new Int32Array(this.hashes.length * 2);
      hashes.set(this.hashes);
      this.hashes = hashes;
    }
    this.words.push(word);
    this.counts[w] = 1;
    this.hashes[w] = hash;
    return w;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let w = 0; w < this.words.length; w++) {
      const h = this.hashes[w]!;
      let s = (h ^ (h >>> 16)) & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = w + 1;
    }
    this.slots = slots;
  }
}

/** The distinct words as symbol-id sequences stored back to back; merges shrink them in place. */
export interface WordTable {
  n: number;
  /** Symbol ids of all words. */
  sym: Int32Array;
  /** Where word w starts in `sym`. */
  start: Int32Array;
  /** Current number of symbols of word w. */
  len: Int32Array;
  /** Occurrences of word w in the corpus. */
  count: Float64Array;
}

/** Writes each word's UTF-8 bytes as symbol ids (`byteToId[b]`). */
export function buildWordTable({ words, counts }: WordList, byteToId: Int32Array): WordTable {
  const n = words.length;
  let total = 0;
  for (const w of words) total += utf8Length(w);
  const sym = new Int32Array(total);
  const start = new Int32Array(n);
  const len = new Int32Array(n);
  const count = new Float64Array(n);
  let k = 0;
  for (let w = 0; w < n; w++) {
    const word = words[w]!;
    start[w] = k;
    count[w] = counts[w]!;
    for (let i = 0; i < word.length; i++) {
      let cp = word.charCodeAt(i);
      if (cp >= 0xd800 && cp <= 0xdfff) {
        const d = i + 1 < word.length ? word.charCodeAt(i + 1) : 0;
        if (cp <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (d - 0xdc00);
          i++;
        } else cp = 0xfffd; // lone surrogate, as TextEncoder writes it
      }
      if (cp < 0x80) sym[k++] = byteToId[cp]!;
      else if (cp < 0x800) {
        sym[k++] = byteToId[0xc0 | (cp >> 6)]!;
        sym[k++] = byteToId[0x80 | (cp & 63)]!;
      } else if (cp < 0x10000) {
        sym[k++] = byteToId[0xe0 | (cp >> 12)]!;
        sym[k++] = byteToId[0x80 | ((cp >> 6) & 63)]!;
        sym[k++] = byteToId[0x80 | (cp & 63)]!;
      } else {
        sym[k++] = byteToId[0xf0 | (cp >> 18)]!;
        sym[k++] = byteToId[0x80 | ((cp >> 12) & 63)]!;
        sym[k++] = byteToId[0x80 | ((cp >> 6) & 63)]!;
        sym[k++] = byteToId[0x80 | (cp & 63)]!;
      }
    }
    len[w] = k - start[w]!;
  }
  return { n, sym, start, len, count };
}

/**
 * The lines of `text`, each with its line ending (a line ends after '\n'). Hugging Face trains on
 * a file line by line; pre-tokenizing lines rather than the whole text reproduces its word counts
 * (they differ where whitespace runs end in a newline).
 */
export function* splitLines(text: string): Generator<string> {
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) break;
    yield text.slice(start, nl + 1);
    start = nl + 1;
  }
  if (start < text.length) yield text.slice(start);
}
