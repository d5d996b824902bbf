/**
 * Byte-level BPE training, compatible with Hugging Face tokenizers' BpeTrainer as
 * ByteLevelBPETokenizer uses it: the same ids (special tokens, then the 256 byte symbols sorted by
 * code point, then one token per merge) and the same merges (the most frequent pair first, ties to
 * the smallest (left id, right id)).
 *
 * Pair counts are updated incrementally: a merge visits only the words that hold its pair, so the
 * merge phase costs about as much as the words touched, not a recount of the corpus per merge.
 * Pure TypeScript: runs in a Web Worker (see data/tokenizer-worker.ts) and in Node (the CLI).
 */
import { BYTE_TO_CHAR, SORTED_ALPHABET } from './bytes';
import { MergeQueue, PairTable } from './pair-heap';
import { type BpeModel, END_OF_TEXT, TokenizerError } from './types';
import { buildWordTable, utf8Length, WordCounter, type WordList } from './word-counts';

export { splitLines, utf8Length } from './word-counts';

export interface TrainProgress {
  /** 'counting': reading and pre-tokenizing the corpus; 'merging': learning merges. */
  phase: 'counting' | 'merging';
  /** counting: UTF-8 bytes read; merging: tokens learned so far. */
  done: number;
  /** counting: bytes in all (0 when unknown); merging: tokens to learn (vocabSize - initial vocab). */
  total: number;
  /** UTF-8 bytes of corpus read so far. */
  bytes?: number;
}

export interface TrainOptions {
  /** Final vocabulary size, special tokens and the 256 byte symbols included. */
  vocabSize: number;
  /**
   * A pair is merged only if it occurs at least this often. Default 2 (as Hugging Face's
   * ByteLevelBPETokenizer examples use; the library's own default is 0): merging a pair seen once
   * only memorizes the corpus.
   */
  minFrequency?: number;
  /** Tokens given the first ids and cut out of the text before pre-tokenization. Default [<|endoftext|>]. */
  specialTokens?: string[];
  onProgress?: (p: TrainProgress) => void;
  /** Aborting makes trainBpe reject with TokenizerError('cancelled') at its next check (within ~50 ms). */
  signal?: AbortSignal;
  /** UTF-8 size of the corpus, when the caller knows it (a file's size), for counting progress. */
  totalBytes?: number;
}

export const DEFAULT_MIN_FREQUENCY = 2;
export const CANCELLED = 'cancelled';

/** How often (ms) training yields to the event loop, so a Worker can receive 'cancel' and progress gets out. */
const YIELD_MS = 50;

/** True for the error trainBpe throws when its signal is aborted. */
export function isCancelled(error: unknown): boolean {
  return error instanceof TokenizerError && error.message === CANCELLED;
}

interface Checked {
  vocabSize: number;
  minFrequency: number;
  specialTokens: string[];
}

function checkOptions(options: TrainOptions): Checked {
  const { vocabSize, minFrequency = DEFAULT_MIN_FREQUENCY, specialTokens = [END_OF_TEXT] } = options;
  if (!Number.isSafeInteger(vocabSize) || vocabSize <= 0) {
    throw new TokenizerError(`vocabSize must be a positive integer, got ${String(vocabSize)}`);
  }
  if (!Number.isSafeInteger(minFrequency) || minFrequency < 0) {
    throw new TokenizerError(`minFrequency must be a non-negative integer, got ${String(minFrequency)}`);
  }
  if (!Array.isArray(specialTokens) || specialTokens.some((t) => typeof t !== 'string' || t.length === 0)) {
    throw new TokenizerError('specialTokens must be an array of non-empty strings');
  }
  // Hugging Face keeps the first of duplicated special tokens.
  const unique = [...new Set(specialTokens)];
  const minimum = new Set([...unique, ...SORTED_ALPHABET]).size;
  if (vocabSize < minimum) {
    throw new TokenizerError(
      `vocabSize ${vocabSize} is too small: the minimum is ${minimum} ` +
        `(256 byte symbols + ${unique.length} special token${unique.length === 1 ? '' : 's'})`,
    );
  }
  return { vocabSize, minFrequency, specialTokens: unique };
}

/** Yields to the event loop now and then, and throws once the signal is aborted. */
class Pacer {
  private last = performance.now();
  constructor(private readonly signal: AbortSignal | undefined) {}

  check(): void {
    if (this.signal?.aborted) throw new TokenizerError(CANCELLED);
  }

  /** Returns true when it yielded (a good time to report progress). */
  async tick(): Promise<boolean> {
    this.check();
    const now = performance.now();
    if (now - this.last < YIELD_MS) return false;
    await new Promise((resolve) => setTimeout(resolve, 0));
    this.last = performance.now();
    this.check();
    return true;
  }
}

function isAsyncIterable(x: unknown): x is AsyncIterable<string> {
  return typeof x === 'object' && x !== null && Symbol.asyncIterator in x;
}

/**
 * Counts the words of `texts`. Each text is pre-tokenized on its own (give lines, as Hugging Face
 * does with files, or documents); special tokens are cut out first and never counted.
 */
async function countWords(
  texts: Iterable<string> | AsyncIterable<string>,
  specialTokens: readonly string[],
  options: TrainOptions,
  pacer: Pacer,
): Promise<WordList> {
  const counter = new WordCounter(specialTokens);
  let total = options.totalBytes ?? 0;
  if (!total && Array.isArray(texts)) for (const t of texts as string[]) total += utf8Length(t);
  const report = () => options.onProgress?.({ phase: 'counting', done: counter.bytes, total, bytes: counter.bytes });
  let k = 0;
  // Checking the clock per text would cost more than short texts (lines) themselves.
  const due = (text: string) => (++k & 63) === 0 || text.length > 4096;
  const check = (text: unknown) => {
    if (typeof text !== 'string') throw new TokenizerError(`corpus items must be strings, got ${typeof text}`);
  };
  if (isAsyncIterable(texts)) {
    for await (const text of texts) {
      check(text);
      counter.add(text);
      if (due(text) && (await pacer.tick())) report();
    }
  } else {
    for (const text of texts) {
      check(text);
      counter.add(text);
      if (due(text) && (await pacer.tick())) report();
    }
  }
  report();
  return counter.result();
}

/**
 * Trains a byte-level BPE model on `texts`. Each text is pre-tokenized on its own: pass a file's
 * lines (splitLines) to train as Hugging Face does on that file. Special tokens found in the text
 * are cut out (never merged across, never counted). Ids: special tokens, the 256 byte symbols,
 * then each merge's token in merge order. Training stops at vocabSize, when the best pair occurs
 * fewer than minFrequency times, or when no pair is left (the vocab is then smaller).
 * Throws TokenizerError: bad options, a vocabSize below 256 + special tokens, an empty corpus,
 * and TokenizerError('cancelled') (see isCancelled) when options.signal is aborted.
 */
export async function trainBpe(
  texts: Iterable<string> | AsyncIterable<string>,
  options: TrainOptions,
): Promise<BpeModel> {
  const checked = checkOptions(options);
  const pacer = new Pacer(options.signal);
  pacer.check();
  const counts = await countWords(texts, checked.specialTokens, options, pacer);
  pacer.check();
  return learnMerges(counts, checked, options, pacer);
}

/** Trains on already counted words (pre-tokenized words as plain text -> occurrences). */
export async function trainBpeFromWordCounts(counts: Map<string, number>, options: TrainOptions): Promise<BpeModel> {
  const list = { words: [...counts.keys()], counts: [...counts.values()] };
  return learnMerges(list, checkOptions(options), options, new Pacer(options.signal));
}

async function learnMerges(
  counts: WordList,
  { vocabSize, minFrequency, specialTokens }: Checked,
  options: TrainOptions,
  pacer: Pacer,
): Promise<BpeModel> {
  if (counts.words.length === 0) throw new TokenizerError('the corpus is empty: there are no words to train on');

  // Ids: special tokens, then the byte alphabet in code point order (skipping a symbol a special
  // token already is, as Hugging Face does), then one per new merged token.
  const tokens: string[] = [];
  const vocab = new Map<string, number>();
  for (const t of [...specialTokens, ...SORTED_ALPHABET]) {
    if (!vocab.has(t)) vocab.set(t, tokens.push(t) - 1);
  }
  const initialSize = tokens.length;
  const byteToId = new Int32Array(256);
  for (let b = 0; b < 256; b++) byteToId[b] = vocab.get(BYTE_TO_CHAR[b]!)!;

  const words = buildWordTable(counts, byteToId);
  const { sym, start, len, count } = words;
  const pairs = new PairTable();

  // Initial pair counts, and for each pair the words holding it (the queue entries own the lists).
  const queue = new MergeQueue(pairs);
  {
    const wordsOf: number[][] = [];
    for (let w = 0; w < words.n; w++) {
      const s = start[w]!;
      const e = s + len[w]!;
      for (let i = s; i + 1 < e; i++) {
        const p = pairs.id(sym[i]!, sym[i + 1]!);
        pairs.count[p]! += count[w]!;
        const list = (wordsOf[p] ??= []);
        if (list[list.length - 1] !== w) list.push(w);
      }
    }
    for (let p = 0; p < pairs.size; p++) if (pairs.count[p]! > 0) queue.push(p, pairs.count[p]!, wordsOf[p]!);
  }

  // Pairs that gained occurrences during the current merge, with the words where they did.
  const gained: number[] = [];
  const gainedWords: (number[] | undefined)[] = [];
  const change = (l: number, r: number, delta: number, w: number) => {
    const p = pairs.id(l, r);
    pairs.count[p]! += delta;
    if (delta > 0) {
      let list = gainedWords[p];
      if (list === undefined) {
        list = gainedWords[p] = [];
        gained.push(p);
      }
      if (list[list.length - 1] !== w) list.push(w);
    }
  };

  const merged: [number, number][] = [];
  const mergeTotal = vocabSize - initialSize;
  const report = () => options.onProgress?.({ phase: 'merging', done: tokens.length - initialSize, total: mergeTotal });
  report();
  let steps = 0;
  while (tokens.length < vocabSize && queue.length > 0) {
    const p = queue.topPair();
    const current = pairs.count[p]!;
    // Lazy invalidation: a stale entry is re-filed under the pair's current count.
    if (queue.topCount() !== current) {
      queue.updateTopCount(current);
      continue;
    }
    if (current < 1 || current < minFrequency) break;
    const inWords = queue.pop();
    const a = pairs.left[p]!;
    const b = pairs.right[p]!;
    const text = tokens[a]! + tokens[b]!;
    let t = vocab.get(text);
    if (t === undefined) vocab.set(text, (t = tokens.push(text) - 1));
    merged.push([a, b]);

    // Merge left to right in each word, reporting the neighbour pairs lost and gained exactly as
    // Hugging Face's Word::merge does (the merged pair's own count is left as is; it is done).
    for (const w of inWords) {
      const s = start[w]!;
      const e = s + len[w]!;
      const c = count[w]!;
      let out = s;
      let i = s;
      while (i < e) {
        if (sym[i] === a && i + 1 < e && sym[i + 1] === b) {
          if (out > s) {
            const prev = sym[out - 1]!;
            change(prev, a, -c, w);
            change(prev, t, c, w);
          }
          sym[out++] = t;
          i += 2;
          if (i < e) {
            const next = sym[i]!;
            change(b, next, -c, w);
            change(t, next, c, w);
          }
        } else sym[out++] = sym[i++]!;
      }
      len[w] = out - s;
    }
    for (const q of gained) {
      if (pairs.count[q]! > 0) queue.push(q, pairs.count[q]!, gainedWords[q]!);
      gainedWords[q] = undefined;
    }
    gained.length = 0;
    if ((++steps & 31) === 0 && (await pacer.tick())) report();
  }
  pacer.check();
  report();

  // A pair merged twice (possible only when two merges make the same token) is listed once, at
  // its last rank, as Hugging Face writes its merges.
  const lastRank = new Map<number, number>();
  merged.forEach(([a, b], rank) => lastRank.set(a * 0x100000000 + b, rank));
  const merges: [string, string][] = [];
  merged.forEach(([a, b], rank) => {
    if (lastRank.get(a * 0x100000000 + b) === rank) merges.push([tokens[a]!, tokens[b]!]);
  });
  return {
    vocab,
    merges,
    specialTokens: specialTokens.map((content) => ({ content, id: vocab.get(content)! })),
  };
}
