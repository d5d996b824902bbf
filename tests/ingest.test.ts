/**
 * Ingestion logic against an in-memory source and IndexedDB (fake-indexeddb): shards and manifest,
 * resume after an interruption without lost or repeated rows, token limit, a full quota, cancel.
 */
import 'fake-indexeddb/auto';
import { createStore } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { IdbShardStore } from '../src/data/idb-store';
import { fingerprint, ingest, readAllTokens, type IngestOptions } from '../src/data/ingest';
import {
  DataError,
  type ShardStore,
  type SourceCursor,
  type TextRows,
  type TextSource,
  type TokenArray,
} from '../src/data/types';
import { trainBpe } from '../src/tokenizer/trainer';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { END_OF_TEXT } from '../src/tokenizer/types';
import { rng } from './helpers/random';

const random = rng(7);
const WORDS = [
  'the',
  'garden',
  'grows',
  'slowly',
  'under',
  'a',
  'quiet',
  'sky',
  'and',
  'life',
  'is',
  'about',
  'café',
  'naïve',
];
function sentence(): string {
  const n = 3 + Math.floor(random() * 9);
  return Array.from({ length: n }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ') + '.';
}
/** Two "files" of rows, the second with a null-like gap handled by the source. */
const FILES = [Array.from({ length: 700 }, sentence), Array.from({ length: 500 }, sentence)];

const model = await trainBpe(FILES.flat(), { vocabSize: 400, minFrequency: 2, specialTokens: [END_OF_TEXT] });
const tokenizer = new Tokenizer(model);
const tokenizerJson = toTokenizerJson(model);

/** Rows from memory in batches of 64; optionally fails once after `failAfterRows` rows. */
function memorySource(
  rowKind: 'line' | 'document',
  failAfterRows?: number,
  error?: () => Error,
): TextSource & { reads: SourceCursor[] } {
  const reads: SourceCursor[] = [];
  let failed = false;
  return {
    description: 'memory',
    rowKind,
    reads,
    totalRows: FILES[0]!.length + FILES[1]!.length,
    async *read(from: SourceCursor): AsyncIterable<TextRows> {
      reads.push({ ...from });
      let served = 0;
      for (let file = from.file; file < FILES.length; file++) {
        const rows = FILES[file]!;
        for (let row = file === from.file ? from.row : 0; row < rows.length; row += 64) {
          const end = Math.min(rows.length, row + 64);
          if (failAfterRows !== undefined && !failed && served >= failAfterRows) {
            failed = true;
            throw error ? error() : new DataError('network', 'connection dropped');
          }
          served += end - row;
          yield {
            rows: rows.slice(row, end),
            cursor: { file, row: end },
            bytesRead: 100,
            endOfFile: end === rows.length,
          };
        }
      }
    },
  };
}

/** What a straight, uninterrupted ingestion must produce. */
function expectedTokens(rowKind: 'line' | 'document'): number[] {
  const eot = tokenizer.idOf(END_OF_TEXT)!;
  const out: number[] = [];
  for (const rows of FILES) {
    for (const row of rows) {
      if (rowKind === 'line') out.push(...tokenizer.encode(row + '\n'));
      else out.push(...tokenizer.encode(row), eot);
    }
    if (rowKind === 'line') out.push(eot);
  }
  return out;
}

let dbCount = 0;
function freshStore(): IdbShardStore {
  return new IdbShardStore(createStore(`test-${dbCount++}`, 'kv'));
}

function options(store: ShardStore, source: TextSource, extra: Partial<IngestOptions> = {}): IngestOptions {
  return {
    store,
    tokenizer,
    tokenizerFingerprint: fingerprint(tokenizerJson),
    id: 'memory',
    spec: { kind: 'url', url: 'memory:' },
    source,
    shardTokens: 1000,
    ...extra,
  };
}

describe('ingest', () => {
  for (const rowKind of ['line', 'document'] as const) {
    it(`stores every row's tokens in order, in shards ending on row boundaries (${rowKind}s)`, async () => {
      const store = freshStore();
      const manifest = await ingest(options(store, memorySource(rowKind)));
      const expected = expectedTokens(rowKind);
      expect(manifest.complete).toBe(true);
      expect(manifest.sourceExhausted).toBe(true);
      expect(manifest.rows).toBe(1200);
      expect(manifest.tokens).toBe(expected.length);
      expect(manifest.dtype).toBe('uint16');
      expect(manifest.shards.length).toBeGreaterThan(3);
      expect(manifest.shards.reduce((n, s) => n + s.rows, 0)).toBe(1200);
      expect(Array.from(await readAllTokens(store, manifest))).toEqual(expected);
      // The manifest read back from IndexedDB is the one returned.
      expect(await store.getManifest('memory')).toEqual(manifest);
      const firstShard = tokenizer.decode(Array.from(await store.getShard(manifest.shards[0]!.key, 'uint16')));
      expect(
        firstShard.startsWith(
          rowKind === 'line'
            ? `${FILES[0]![0]}\n${FILES[0]![1]}\n`
            : `${FILES[0]![0]}${END_OF_TEXT}${FILES[0]![1]}${END_OF_TEXT}`,
        ),
      ).toBe(true);
    });
  }

  it('resumes an interrupted ingestion from the manifest cursor, without duplicates or gaps', async () => {
    const store = freshStore();
    const source = memorySource('line', 800);
    await expect(ingest(options(store, source))).rejects.toMatchObject({ kind: 'network' });
    const partial = (await store.getManifest('memory'))!;
    expect(partial.complete).toBe(false);
    expect(partial.shards.length).toBeGreaterThan(0);
    expect(partial.cursor.row + (partial.cursor.file ? FILES[0]!.length : 0)).toBe(partial.rows);
    // Shards saved before the failure are readable.
    const saved = await readAllTokens(store, partial);
    expect(Array.from(saved)).toEqual(expectedTokens('line').slice(0, partial.tokens));

    const manifest = await ingest(options(store, source));
    expect(source.reads.at(-1)).toEqual(partial.cursor);
    expect(Array.from(await readAllTokens(store, manifest))).toEqual(expectedTokens('line'));
    expect(manifest.rows).toBe(1200);
  });

  it('stops at the token limit and continues when the limit is raised', async () => {
    const store = freshStore();
    const first = await ingest(options(store, memorySource('document'), { maxTokens: 2500 }));
    expect(first.complete).toBe(true);
    expect(first.sourceExhausted).toBe(false);
    expect(first.tokens).toBeGreaterThanOrEqual(2500);
    expect(first.tokens).toBeLessThan(2500 + 64 * 20); // overshoot at most one read batch
    const again = await ingest(options(store, memorySource('document'), { maxTokens: 2500 }));
    expect(again.tokens).toBe(first.tokens); // already complete: nothing re-read
    const all = await ingest(options(store, memorySource('document')));
    expect(Array.from(await readAllTokens(store, all))).toEqual(expectedTokens('document'));
  });

  it('turns a full quota into a clear error and keeps every shard saved before', async () => {
    const inner = freshStore();
    let writes = 0;
    const store: ShardStore = Object.assign(Object.create(inner) as ShardStore, {
      putShard: async (key: string, tokens: TokenArray) => {
        if (++writes > 3) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        return inner.putShard(key, tokens);
      },
    });
    const error = await ingest(options(store, memorySource('line'))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).kind).toBe('quota');
    expect((error as DataError).message).toMatch(/storage is full.*everything saved before is kept/);
    const manifest = (await inner.getManifest('memory'))!;
    expect(manifest.shards.length).toBe(3);
    expect(Array.from(await readAllTokens(inner, manifest))).toEqual(expectedTokens('line').slice(0, manifest.tokens));
  });

  it('cancels with a DataError and resumes later', async () => {
    const store = freshStore();
    const controller = new AbortController();
    let batches = 0;
    const source = memorySource('line');
    const slow: TextSource = {
      ...source,
      async *read(from, signal) {
        for await (const batch of source.read(from, signal)) {
          if (++batches === 12) controller.abort();
          yield batch;
        }
      },
    };
    const error = await ingest(options(store, slow, { signal: controller.signal })).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'cancelled' });
    const manifest = await ingest(options(store, memorySource('line')));
    expect(Array.from(await readAllTokens(store, manifest))).toEqual(expectedTokens('line'));
  });

  it('refuses to extend a dataset with another tokenizer or source', async () => {
    const store = freshStore();
    await ingest(options(store, memorySource('line'), { maxTokens: 100 }));
    await expect(ingest(options(store, memorySource('line'), { tokenizerFingerprint: 'other' }))).rejects.toThrow(
      /another tokenizer/,
    );
    await expect(
      ingest(options(store, memorySource('line'), { spec: { kind: 'url', url: 'elsewhere' } })),
    ).rejects.toThrow(/another source/);
  });

  it('reports progress with rates and an ETA against the token limit', async () => {
    const store = freshStore();
    const seen: { tokens: number; fraction?: number; etaSeconds?: number }[] = [];
    await ingest(
      options(store, memorySource('line'), { maxTokens: 4000, progressInterval: 0, onProgress: (p) => seen.push(p) }),
    );
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.at(-1)!.fraction).toBe(1);
    expect(seen.every((p, i) => i === 0 || p.tokens >= seen[i - 1]!.tokens)).toBe(true);
    expect(seen.some((p) => p.etaSeconds !== undefined && p.etaSeconds >= 0)).toBe(true);
  });

  it('deletes a dataset: manifest and shards', async () => {
    const store = freshStore();
    const manifest = await ingest(options(store, memorySource('line')));
    await store.deleteDataset('memory');
    expect(await store.getManifest('memory')).toBeUndefined();
    await expect(store.getShard(manifest.shards[0]!.key, 'uint16')).rejects.toThrow(/missing/);
    expect(await store.listManifests()).toEqual([]);
  });
});
