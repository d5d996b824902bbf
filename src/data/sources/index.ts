/**
 * SourceSpec -> TextSource: picks the reader for a bundled corpus, a URL, a Hub dataset or picked
 * files. Uses only fetch and Blob, so the same code runs in Node, on a page and in a Web Worker.
 */
import type { AsyncBuffer } from 'hyparquet';
import { DataError, type SourceCursor, type SourceSpec, type TextRows, type TextSource } from '../types';
import { baseName, formatBytes, kindFromName, type FileKind } from './format';
import { resolveHubDataset } from './hub';
import { DEFAULT_STALL_TIMEOUT_MS, rangeBuffer, withRetries, withStallDeadline, type HttpOptions } from './http';
import { blobBuffer, parquetSource } from './parquet';
import { blobText, textSource, urlText } from './text';

export interface SourceEnv {
  fetch?: typeof fetch;
  /** The picked files' contents, matched to a 'files' spec by name. */
  files?: { name: string; blob: Blob }[];
  hubEndpoint?: string;
  datasetsServer?: string;
  /** Cancels the requests made while creating the source (reads take their own signal). */
  signal?: AbortSignal;
  /** Network retries per request (default 2) and the first retry's delay (default 500 ms). */
  retries?: number;
  retryDelayMs?: number;
  /** A response silent this long (headers or body) is aborted and retried (default 30 s). */
  stallTimeoutMs?: number;
  /**
   * How parquet rows join, overriding the guess ('line' for BookCorpus, else 'document'); text
   * files are always lines and JSON lines always documents.
   */
  rowKind?: 'line' | 'document';
}

/** Datasets whose rows are sentences of running text rather than whole documents. */
const LINE_DATASETS = /(^|\/)bookcorpus(open)?$/i;

export async function createSource(spec: SourceSpec, env: SourceEnv = {}): Promise<TextSource> {
  const guarded = withStallDeadline(
    env.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    env.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
  );
  const http: HttpOptions = {
    fetch: guarded,
    signal: env.signal,
    retries: env.retries,
    retryDelayMs: env.retryDelayMs,
  };
  switch (spec.kind) {
    case 'bundled':
      return textSource(urlText(spec.url, { ...http, ...TEXT_OPEN, name: baseName(spec.url) }), {
        format: 'lines',
        ...textRetries(http),
      });
    case 'url':
      return urlSource(spec.url, spec.column, http, spec.rowKind ?? env.rowKind);
    case 'hub': {
      const files = await resolveHubDataset(spec.dataset, {
        ...http,
        config: spec.config,
        split: spec.split,
        ...hubEndpoints(env),
      });
      const known = files.every((f) => f.size !== undefined);
      const total = known ? files.reduce((sum, f) => sum + (f.size ?? 0), 0) : undefined;
      const count = `${files.length} parquet file${files.length === 1 ? '' : 's'}`;
      return parquetSource(
        files.map((f) => remoteParquet(f.url, f.name, f.size, http)),
        {
          column: spec.column,
          rowKind: spec.rowKind ?? env.rowKind ?? (LINE_DATASETS.test(spec.dataset.trim()) ? 'line' : 'document'),
          description: `${spec.dataset} (${count}${total !== undefined ? `, ${formatBytes(total)}` : ''})`,
        },
      );
    }
    case 'files':
      return filesSource(spec.files, spec.column, { ...env, rowKind: spec.rowKind ?? env.rowKind });
  }
}

/**
 * A text stream is retried by the text source, which reopens it where it stopped; its opening is
 * not retried again inside, or a server that never answers would be waited on retries² times.
 */
const TEXT_OPEN = { retries: 0 } as const;

function textRetries(http: HttpOptions): { retries?: number; retryDelayMs?: number } {
  return { retries: http.retries, retryDelayMs: http.retryDelayMs };
}

function hubEndpoints(env: SourceEnv): { hubEndpoint?: string; datasetsServer?: string } {
  return { hubEndpoint: env.hubEndpoint, datasetsServer: env.datasetsServer };
}

async function urlSource(
  url: string,
  column: string | undefined,
  http: HttpOptions,
  rowKind: 'line' | 'document' | undefined,
): Promise<TextSource> {
  const name = baseName(url);
  const kind = kindFromName(url) ?? ((await urlStartsWithPar1(url, http)) ? 'parquet' : 'text');
  if (kind === 'parquet')
    return parquetSource([remoteParquet(url, name, undefined, http)], { column, rowKind, description: url });
  return textSource(urlText(url, { ...http, ...TEXT_OPEN, name }), {
    format: kind === 'jsonl' ? 'jsonl' : 'lines',
    column,
    description: url,
    ...textRetries(http),
  });
}

/** A remote parquet file; its size is asked for once, not on every (resumed) read. */
function remoteParquet(url: string, name: string, size: number | undefined, http: HttpOptions) {
  let byteLength = size;
  return {
    name,
    size,
    async open(signal?: AbortSignal): Promise<AsyncBuffer> {
      const buffer = await rangeBuffer(url, { ...http, signal: signal ?? http.signal, byteLength });
      byteLength = buffer.byteLength;
      return buffer;
    },
  };
}

async function filesSource(
  files: { name: string; size: number }[],
  column: string | undefined,
  env: SourceEnv,
): Promise<TextSource> {
  if (files.length === 0)
    throw new DataError('config', 'No files were given: pick at least one .txt, .jsonl or .parquet file');
  const available = env.files ?? [];
  const parts = await Promise.all(
    files.map(async ({ name }, index) => {
      const match = available[index]?.name === name ? available[index] : available.find((f) => f.name === name);
      if (!match)
        throw new DataError(
          'config',
          `${name} is no longer available (files must be picked again after a reload): pick it again`,
        );
      const kind: FileKind = kindFromName(name) ?? ((await blobStartsWithPar1(match.blob)) ? 'parquet' : 'text');
      if (kind === 'parquet') {
        const open = async () => blobBuffer(match.blob);
        return parquetSource([{ name, size: match.blob.size, open }], { column, rowKind: env.rowKind });
      }
      return textSource(blobText(name, match.blob), { format: kind === 'jsonl' ? 'jsonl' : 'lines', column });
    }),
  );
  if (parts.length === 1) return parts[0]!;
  const total = files.reduce((sum, f) => sum + f.size, 0);
  return concatSources(parts, `${files.length} files (${formatBytes(total)})`);
}

/**
 * One source made of several single-file sources, in order; cursor.file indexes the parts. Parts
 * of different row kinds join as lines: a document ending then comes at the end of each file.
 */
export function concatSources(parts: TextSource[], description: string): TextSource {
  const kinds = new Set(parts.map((p) => p.rowKind));
  const sizes = parts.map((p) => p.totalBytes);
  async function* read(from: SourceCursor, signal?: AbortSignal): AsyncIterable<TextRows> {
    for (let index = Math.max(0, from.file); index < parts.length; index++) {
      const start = { file: 0, row: index === from.file ? from.row : 0 };
      for await (const batch of parts[index]!.read(start, signal)) {
        const done = batch.cursor.file > 0;
        yield { ...batch, cursor: done ? { file: index + 1, row: 0 } : { file: index, row: batch.cursor.row } };
      }
    }
  }
  return {
    description,
    totalBytes: sizes.every((s) => s !== undefined) ? sizes.reduce((a: number, s) => a + (s ?? 0), 0) : undefined,
    rowKind: kinds.size === 1 ? parts[0]!.rowKind : 'line',
    read,
  };
}

const PAR1 = [0x50, 0x41, 0x52, 0x31];

function isPar1(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && PAR1.every((b, i) => bytes[i] === b);
}

async function blobStartsWithPar1(blob: Blob): Promise<boolean> {
  return isPar1(new Uint8Array(await blob.slice(0, 4).arrayBuffer()));
}

/** Reads only the first chunk of the body, whether or not the server honours the Range header. */
async function urlStartsWithPar1(url: string, http: HttpOptions): Promise<boolean> {
  const doFetch = http.fetch ?? globalThis.fetch;
  return withRetries(url, http, async () => {
    const response = await doFetch(url, { headers: { Range: 'bytes=0-3' }, signal: http.signal });
    // An error status is left for the real read to report, with its full message.
    if (!response.ok || !response.body) {
      await response.body?.cancel().catch(() => undefined);
      return false;
    }
    const reader = response.body.getReader();
    const first = new Uint8Array(4);
    let filled = 0;
    try {
      while (filled < 4) {
        const { done, value } = await reader.read();
        if (done) break;
        const take = value.subarray(0, 4 - filled);
        first.set(take, filled);
        filled += take.length;
      }
    } finally {
      reader.cancel().catch(() => undefined);
    }
    return isPar1(first.subarray(0, filled));
  });
}
