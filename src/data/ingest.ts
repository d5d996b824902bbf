/**
 * Ingestion: rows from a TextSource -> token ids -> shards of about `shardTokens` tokens in a
 * ShardStore, with a manifest updated after each shard. Shards end on row boundaries and the
 * manifest's cursor is the first row not in any listed shard, so an ingestion that is cancelled,
 * crashes or runs out of storage resumes from that cursor with nothing lost or repeated.
 */
import type { Tokenizer } from '../tokenizer/tokenizer';
import { fingerprint } from './fingerprint';
import { END_OF_TEXT } from '../tokenizer/types';
import {
  DataError,
  emptyTokens,
  tokenDtype,
  writing,
  type DatasetManifest,
  type ShardStore,
  type SourceSpec,
  type TextSource,
  type TokenArray,
} from './types';

export interface IngestProgress {
  rows: number;
  tokens: number;
  /** UTF-8 bytes of text tokenized so far (this dataset, all sessions). */
  textBytes: number;
  /** Bytes transferred in this session. */
  bytesRead: number;
  totalBytes?: number;
  shards: number;
  elapsedSeconds: number;
  /** Text bytes per second in this session. */
  textBytesPerSecond: number;
  tokensPerSecond: number;
  /** 0..1 when the end is known (source size or token limit). */
  fraction?: number;
  etaSeconds?: number;
}

export interface IngestOptions {
  store: ShardStore;
  tokenizer: Tokenizer;
  /** Identifies the tokenizer (see fingerprint()); a dataset is never extended with another one. */
  tokenizerFingerprint: string;
  /** Dataset id: the key of its manifest and the prefix of its shard keys. */
  id: string;
  name?: string;
  spec: SourceSpec;
  source: TextSource;
  /** Stop once this many tokens are stored (the last row is kept whole, so slightly more). */
  maxTokens?: number;
  /** Tokens per shard (default 2^20: 2 MiB of uint16). */
  shardTokens?: number;
  /** Tail fraction of each shard held out for validation (new datasets only; default 0.05). */
  valFraction?: number;
  signal?: AbortSignal;
  onProgress?: (progress: IngestProgress) => void;
  /** Milliseconds between progress reports (default 250). */
  progressInterval?: number;
}

export { fingerprint };

export const DEFAULT_SHARD_TOKENS = 1 << 20;

export function shardKey(id: string, index: number): string {
  return `${id}/shard-${String(index).padStart(5, '0')}`;
}

function sameSource(a: SourceSpec, b: SourceSpec): boolean {
  const strip = (s: SourceSpec) =>
    s.kind === 'files' ? { ...s, files: s.files.map((f) => ({ name: f.name, size: f.size })) } : s;
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

async function startManifest(options: IngestOptions): Promise<DatasetManifest> {
  const { store, id, tokenizer, tokenizerFingerprint, spec } = options;
  const existing = await store.getManifest(id);
  if (existing) {
    if (existing.tokenizer.fingerprint !== tokenizerFingerprint) {
      throw new DataError(
        'config',
        `dataset "${existing.name}" was tokenized with another tokenizer: delete it, or prepare this one under another name`,
      );
    }
    if (!sameSource(existing.source, spec)) {
      throw new DataError(
        'config',
        `dataset "${existing.name}" was made from another source: delete it, or prepare this one under another name`,
      );
    }
    return existing;
  }
  const now = new Date().toISOString();
  return {
    format: 'gpt-garden-tokens',
    version: 1,
    id,
    name: options.name ?? id,
    source: spec,
    tokenizer: { vocabSize: tokenizer.vocabSize, fingerprint: tokenizerFingerprint },
    dtype: tokenDtype(tokenizer.vocabSize),
    shards: [],
    tokens: 0,
    rows: 0,
    textBytes: 0,
    cursor: { file: 0, row: 0 },
    complete: false,
    valFraction: options.valFraction ?? 0.05,
    createdAt: now,
    updatedAt: now,
  };
}

/** Growable token buffer for the shard being filled. */
class PendingTokens {
  private data: TokenArray;
  length = 0;
  rows = 0;
  textBytes = 0;

  constructor(
    private readonly dtype: DatasetManifest['dtype'],
    capacity: number,
  ) {
    this.data = emptyTokens(dtype, capacity);
  }

  push(ids: readonly number[]): void {
    if (this.length + ids.length > this.data.length) {
      const grown = emptyTokens(this.dtype, Math.max(this.data.length * 2, this.length + ids.length));
      grown.set(this.data.subarray(0, this.length));
      this.data = grown;
    }
    this.data.set(ids, this.length);
    this.length += ids.length;
  }

  take(): TokenArray {
    const shard = this.data.slice(0, this.length);
    this.length = this.rows = this.textBytes = 0;
    return shard;
  }
}

function cancelled(): DataError {
  return new DataError('cancelled', 'cancelled: the shards saved so far are kept, and the next run resumes after them');
}

/**
 * Runs (or resumes) an ingestion and returns the final manifest. Throws DataError on cancel, a
 * full quota, or a source failure; the stored manifest then still names only whole shards.
 */
export async function ingest(options: IngestOptions): Promise<DatasetManifest> {
  const { store, tokenizer, source, signal, maxTokens } = options;
  const shardTokens = options.shardTokens ?? DEFAULT_SHARD_TOKENS;
  const manifest = await startManifest(options);
  const limitReached = () => maxTokens !== undefined && manifest.tokens >= maxTokens;
  if (manifest.sourceExhausted || limitReached()) {
    manifest.complete = true;
    return manifest;
  }
  manifest.complete = false;
  manifest.maxTokens = maxTokens;

  const eot = tokenizer.idOf(END_OF_TEXT);
  const documentEnd = eot !== undefined ? [eot] : tokenizer.encode('\n\n');
  const encoder = new TextEncoder();
  const pending = new PendingTokens(manifest.dtype, shardTokens + 4096);
  const started = performance.now();
  let bytesRead = 0;
  let sessionTextBytes = 0;
  let sessionTokens = 0;
  let lastReport = -Infinity;
  let lastReportShards = -1;

  // Throttled, except that every newly saved shard is reported (the UI lists saved progress).
  const report = (force: boolean) => {
    const now = performance.now();
    const newShard = manifest.shards.length !== lastReportShards;
    if (!options.onProgress || (!force && !newShard && now - lastReport < (options.progressInterval ?? 250))) return;
    lastReport = now;
    lastReportShards = manifest.shards.length;
    const elapsedSeconds = (now - started) / 1000;
    const tokens = manifest.tokens + pending.length;
    const fractions: number[] = [];
    if (source.totalBytes) fractions.push(Math.min(1, bytesRead / source.totalBytes));
    if (maxTokens) fractions.push(Math.min(1, tokens / maxTokens));
    const fraction = fractions.length ? Math.max(...fractions) : undefined;
    options.onProgress({
      rows: manifest.rows + pending.rows,
      tokens,
      textBytes: manifest.textBytes + pending.textBytes,
      bytesRead,
      totalBytes: source.totalBytes,
      shards: manifest.shards.length,
      elapsedSeconds,
      textBytesPerSecond: elapsedSeconds > 0 ? sessionTextBytes / elapsedSeconds : 0,
      tokensPerSecond: elapsedSeconds > 0 ? sessionTokens / elapsedSeconds : 0,
      fraction,
      etaSeconds: fraction && fraction > 0 ? (elapsedSeconds * (1 - fraction)) / fraction : undefined,
    });
  };

  // Writes the pending tokens as the next shard, then the manifest that lists it and moves the cursor.
  const flush = async (cursor: DatasetManifest['cursor'], exhausted: boolean) => {
    if (pending.length > 0) {
      const rows = pending.rows;
      const textBytes = pending.textBytes;
      const key = shardKey(manifest.id, manifest.shards.length);
      const tokens = pending.take();
      await writing(`shard ${key}`, () => store.putShard(key, tokens));
      manifest.shards.push({ key, tokens: tokens.length, rows });
      manifest.tokens += tokens.length;
      manifest.rows += rows;
      manifest.textBytes += textBytes;
    }
    manifest.cursor = { ...cursor };
    manifest.sourceExhausted = exhausted;
    manifest.complete = exhausted || limitReached();
    manifest.updatedAt = new Date().toISOString();
    try {
      await writing(`the manifest of ${manifest.id}`, () => store.putManifest(manifest));
    } catch (error) {
      // The new shard is not listed: drop it (best effort) so it cannot be mistaken for data.
      const last = manifest.shards.pop();
      if (last) await store.deleteShard(last.key).catch(() => undefined);
      throw error;
    }
  };

  let cursor = { ...manifest.cursor };
  let writingShard = false;
  const save = async (exhausted: boolean) => {
    writingShard = true;
    await flush(cursor, exhausted);
    writingShard = false;
  };
  try {
    for await (const batch of source.read(cursor, signal)) {
      if (signal?.aborted) throw cancelled();
      bytesRead += batch.bytesRead;
      // The whole batch is encoded before any of it is added, so pending rows always end at `cursor`.
      const ids: number[] = [];
      let bytes = 0;
      for (const row of batch.rows) {
        if (source.rowKind === 'line') ids.push(...tokenizer.encode(row + '\n'));
        else ids.push(...tokenizer.encode(row), ...documentEnd);
        bytes += encoder.encode(row).length + (source.rowKind === 'line' ? 1 : 0);
      }
      // A file of lines is one document: mark where it ends.
      if (batch.endOfFile && source.rowKind === 'line') ids.push(...documentEnd);
      pending.push(ids);
      pending.rows += batch.rows.length;
      pending.textBytes += bytes;
      sessionTextBytes += bytes;
      sessionTokens += ids.length;
      cursor = batch.cursor;
      if (maxTokens !== undefined && manifest.tokens + pending.length >= maxTokens) {
        await save(false);
        break;
      }
      if (pending.length >= shardTokens) await save(false);
      report(false);
    }
    if (!manifest.complete) await save(true);
  } catch (error) {
    // The source failed or was cancelled: keep every row read so far, then report the failure.
    if (!writingShard && pending.length > 0) await save(false).catch(() => undefined);
    if (signal?.aborted && !(error instanceof DataError && error.kind !== 'cancelled')) throw cancelled();
    throw error;
  }
  report(true);
  return manifest;
}

/** Reads every token of a dataset in order (tests, the CLI's summary, small corpora). */
export async function readAllTokens(store: ShardStore, manifest: DatasetManifest): Promise<TokenArray> {
  const all = emptyTokens(manifest.dtype, manifest.tokens);
  let offset = 0;
  for (const shard of manifest.shards) {
    const tokens = await store.getShard(shard.key, manifest.dtype);
    all.set(tokens, offset);
    offset += tokens.length;
  }
  return all;
}
