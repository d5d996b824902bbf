/**
 * "The first N MB" of any TextSource as the BPE trainer's texts: rows of a 'line' source are lines
 * (each with its '\n', as the trainer reads a file), rows of a 'document' source are documents.
 * The cut is exact: the texts hold the source's first `maxBytes` UTF-8 bytes (the last row cut on
 * a character boundary), and reading stops there, so a 5 GB dataset costs only its first N MB.
 */
import {
  CANCELLED,
  type TrainOptions,
  type TrainProgress,
  trainBpe,
  trainBpeFromWordCounts,
  utf8Length,
} from '../tokenizer/trainer';
import { type BpeModel, END_OF_TEXT, TokenizerError } from '../tokenizer/types';
import { WordCounter } from '../tokenizer/word-counts';
import type { TextSource } from './types';

/** Bytes in a "MB" of sample (decimal, as sizes are shown). */
export const MB = 1e6;
export const DEFAULT_SAMPLE_MB = 100;

export interface SampleProgress {
  /** UTF-8 bytes of text taken so far. */
  bytes: number;
  /** The sample's size limit. */
  total: number;
}

export interface SampleStats {
  /** UTF-8 bytes of text taken. */
  bytes: number;
  /** Rows taken (the last one possibly cut). */
  rows: number;
  /** True when the limit was reached (false: the whole source was smaller). */
  cut: boolean;
}

export interface SampleOptions {
  maxBytes: number;
  signal?: AbortSignal;
  onProgress?: (p: SampleProgress) => void;
}

/** The longest prefix of `text` with at most `maxBytes` UTF-8 bytes that ends on a whole character. */
export function cutUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.codePointAt(i)!;
    const size = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (bytes + size > maxBytes) break;
    bytes += size;
    i += c >= 0x10000 ? 2 : 1;
  }
  return text.slice(0, i);
}

/**
 * The first `maxBytes` of `source`, a batch of texts at a time (the cut rule above); `stats` fills
 * in as they are read. Aborting `signal` ends it with TokenizerError('cancelled').
 */
function sampleBatches(source: TextSource, options: SampleOptions, stats: SampleStats): AsyncGenerator<string[]> {
  const { maxBytes, signal, onProgress } = options;
  if (!Number.isFinite(maxBytes) || maxBytes <= 0)
    throw new TokenizerError(`the sample size must be above 0 bytes, got ${String(maxBytes)}`);
  const newline = source.rowKind === 'line' ? '\n' : '';
  return (async function* () {
    try {
      for await (const batch of source.read({ file: 0, row: 0 }, signal)) {
        if (signal?.aborted) break;
        const texts: string[] = [];
        for (const row of batch.rows) {
          const text = row + newline;
          const size = utf8Length(text);
          if (stats.bytes + size >= maxBytes) {
            const last = size === maxBytes - stats.bytes ? text : cutUtf8(text, maxBytes - stats.bytes);
            stats.bytes += utf8Length(last);
            stats.rows++;
            stats.cut = true;
            if (last) texts.push(last);
            onProgress?.({ bytes: stats.bytes, total: maxBytes });
            yield texts;
            return; // leaving the loop closes the source's reader: nothing more is fetched
          }
          stats.bytes += size;
          stats.rows++;
          texts.push(text);
        }
        onProgress?.({ bytes: stats.bytes, total: maxBytes });
        yield texts;
      }
    } catch (error) {
      if (signal?.aborted) throw new TokenizerError(CANCELLED);
      throw error;
    }
    if (signal?.aborted) throw new TokenizerError(CANCELLED);
  })();
}

/** Streams the first `maxBytes` of `source` as texts, one at a time; `stats` fills in as they are read. */
export function sampleTexts(
  source: TextSource,
  options: SampleOptions,
): { texts: AsyncIterable<string>; stats: SampleStats } {
  const stats: SampleStats = { bytes: 0, rows: 0, cut: false };
  const batches = sampleBatches(source, options, stats);
  async function* texts(): AsyncGenerator<string> {
    for await (const batch of batches) yield* batch;
  }
  return { texts: texts(), stats };
}

export interface SampleTrainOptions extends Omit<TrainOptions, 'totalBytes' | 'onProgress'> {
  /** Sample size in bytes (MB * sampleMb). */
  sampleBytes: number;
  onProgress?: (p: TrainProgress) => void;
}

export interface SampleTrainResult {
  model: BpeModel;
  stats: SampleStats;
  /** The vocabulary reached (model.vocab.size); below `asked` when the sample ran out of pairs. */
  reached: number;
  asked: number;
}

/**
 * Trains a byte-level BPE on the first `sampleBytes` of `source`: the same model as trainBpe on
 * those texts. Words are counted a batch of rows at a time (an await per row would cost more than
 * counting it), then merged by the trainer.
 */
export async function trainBpeOnSample(source: TextSource, options: SampleTrainOptions): Promise<SampleTrainResult> {
  const { sampleBytes, signal, onProgress, ...train } = options;
  // Bad options are said before any text is read (trainBpe checks them first; an empty corpus is all that is left).
  await trainBpe([], train).catch((error: unknown) => {
    if (!(error instanceof TokenizerError && /corpus is empty/.test(error.message))) throw error;
  });
  const stats: SampleStats = { bytes: 0, rows: 0, cut: false };
  const counter = new WordCounter([...new Set(train.specialTokens ?? [END_OF_TEXT])]);
  const report = () => onProgress?.({ phase: 'counting', done: stats.bytes, total: sampleBytes, bytes: stats.bytes });
  let last = 0;
  for await (const texts of sampleBatches(source, { maxBytes: sampleBytes, signal }, stats)) {
    for (const text of texts) counter.add(text);
    if (signal?.aborted) throw new TokenizerError(CANCELLED);
    const now = performance.now();
    if (now - last > 50) {
      last = now;
      report();
      // Lets a Worker receive 'cancel' while a fast local source keeps the loop busy.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
  report();
  const { words, counts } = counter.result();
  const model = await trainBpeFromWordCounts(new Map(words.map((w, i) => [w, counts[i]!])), {
    ...train,
    signal,
    onProgress,
  });
  return { model, stats, reached: model.vocab.size, asked: train.vocabSize };
}
