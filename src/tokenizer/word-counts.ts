/**
 * First phase of BPE training: count the pre-tokenized words of a corpus, then lay the distinct
 * words out as arrays of byte-symbol ids for the merge phase.
 */
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

/** Counts words; each text is pre-tokenized on its own, with special tokens cut out first. */
export class WordCounter {
  readonly counts = new Map<string, number>();
  bytes = 0;

  constructor(private readonly specialTokens: readonly string[]) {}

  add(text: string): void {
    this.bytes += utf8Length(text);
    // splitSpecial builds a regex per call: only pay for it when a special token is there.
    if (this.specialTokens.some((s) => text.includes(s))) {
      for (const piece of splitSpecial(text, this.specialTokens)) if (!piece.special) this.addPlain(piece.text);
    } else this.addPlain(text);
  }

  private addPlain(text: string): void {
    const counts = this.counts;
    for (const w of splitWords(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
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
export function buildWordTable(counts: Map<string, number>, byteToId: Int32Array): WordTable {
  const n = counts.size;
  let total = 0;
  for (const w of counts.keys()) total += utf8Length(w);
  const sym = new Int32Array(total);
  const start = new Int32Array(n);
  const len = new Int32Array(n);
  const count = new Float64Array(n);
  let w = 0;
  let k = 0;
  for (const [word, c] of counts) {
    start[w] = k;
    count[w] = c;
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
    w++;
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
