/**
 * The data a lab worker test trains on: a byte-level BPE trained on the bundled corpus's first
 * lines, and those lines tokenized into a shard store as dataset 'brown' (a tenth for validation).
 */
import { readFileSync } from 'node:fs';
import { fingerprint, ingest } from '../../src/data/ingest';
import type { ShardStore } from '../../src/data/types';
import { Tokenizer } from '../../src/tokenizer/tokenizer';
import { toTokenizerJson } from '../../src/tokenizer/tokenizer-json';
import { trainBpe } from '../../src/tokenizer/trainer';
import { END_OF_TEXT } from '../../src/tokenizer/types';

export interface LabData {
  lines: string[];
  tokenizer: Tokenizer;
  tokenizerJson: string;
}

/** The bundled corpus's first `count` non-empty lines. */
export function bundledLines(count: number): string[] {
  return readFileSync('public/corpus/brown-fiction.txt', 'utf8').split('\n').filter(Boolean).slice(0, count);
}

/** Trains the tokenizer on the first `lines` lines and ingests them into `store` as 'brown'. */
export async function bundledLabData(
  store: ShardStore,
  options: { lines: number; vocabSize: number },
): Promise<LabData> {
  const lines = bundledLines(options.lines);
  const bpe = await trainBpe(lines, { vocabSize: options.vocabSize, minFrequency: 2, specialTokens: [END_OF_TEXT] });
  const tokenizer = new Tokenizer(bpe);
  const tokenizerJson = toTokenizerJson(bpe);
  await ingest({
    store,
    tokenizer,
    tokenizerFingerprint: fingerprint(tokenizerJson),
    id: 'brown',
    spec: { kind: 'bundled', url: '/corpus/brown-fiction.txt' },
    source: {
      description: `the first ${lines.length} lines of the bundled corpus`,
      rowKind: 'line',
      async *read(from) {
        yield { rows: lines.slice(from.row), cursor: { file: 0, row: lines.length }, bytesRead: 0, endOfFile: true };
      },
    },
    valFraction: 0.1,
  });
  return { lines, tokenizer, tokenizerJson };
}
