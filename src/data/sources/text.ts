/**
 * Plain text (one row per line) and JSON lines (one row per object's text field) from a URL or a
 * Blob, streamed: no Range support needed and the file is never held whole in memory. The cursor
 * counts lines, so resuming re-reads the stream from its start and skips what was already read.
 */
import { DataError, type SourceCursor, type TextRows, type TextSource } from '../types';
import { formatBytes } from './format';
import { cancelledError, httpError, networkError, sleep, throwIfAborted, withRetries, type HttpOptions } from './http';
import { messageOf } from '../../util/errors';

export interface TextInput {
  name: string;
  size?: number;
  /** A fresh stream of the file's bytes from its start. */
  open(signal?: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  /** Turns a failure while reading the stream into what the user sees (network error by default). */
  readFailure?: (error: unknown) => DataError;
}

export type TextFormat = 'lines' | 'jsonl';

export interface TextSourceOptions {
  format: TextFormat;
  /** JSON lines: the field holding the text (default `text`). */
  column?: string;
  description?: string;
  /** A connection dropped mid-file is reopened this many times (default 2). */
  retries?: number;
  retryDelayMs?: number;
  /** A batch ends after this many lines (default 1000) or characters (default 1 M). */
  batchLines?: number;
  batchChars?: number;
}

export function textSource(input: TextInput, options: TextSourceOptions): TextSource {
  const sizeNote = input.size !== undefined ? ` (${formatBytes(input.size)})` : '';
  const retries = options.retries ?? 2;

  async function* read(from: SourceCursor, signal?: AbortSignal): AsyncIterable<TextRows> {
    if (from.file > 0) return;
    let cursor = Math.max(0, from.row);
    for (let attempt = 0; ; attempt++) {
      try {
        for await (const batch of readLines(input, options, cursor, signal)) {
          cursor = batch.cursor.row;
          attempt = 0;
          yield batch;
        }
        return;
      } catch (error) {
        if (!(error instanceof DataError) || error.kind !== 'network' || attempt >= retries) throw error;
        await sleep((options.retryDelayMs ?? 500) * 2 ** attempt, signal);
      }
    }
  }

  return {
    description: options.description ?? input.name + sizeNote,
    totalBytes: input.size,
    rowKind: options.format === 'jsonl' ? 'document' : 'line',
    read,
  };
}

/** A URL read as a stream; status errors and refused connections are reported like the parquet reader's. */
export function urlText(url: string, options: HttpOptions & { name?: string; size?: number } = {}): TextInput {
  const doFetch = options.fetch ?? globalThis.fetch;
  return {
    name: options.name ?? url,
    size: options.size,
    async open(signal) {
      const response = await withRetries(url, { ...options, signal: signal ?? options.signal }, async () => {
        const r = await doFetch(url, { signal: signal ?? options.signal });
        if (!r.ok) {
          await r.body?.cancel().catch(() => undefined);
          throw httpError(url, r);
        }
        return r;
      });
      if (!response.body) throw new DataError('http', `${url} answered with no body: check the URL`);
      return response.body;
    },
    readFailure: (error) => networkError(url, error),
  };
}

/** A picked File, or `fs.openAsBlob(path)` in Node. */
export function blobText(name: string, blob: Blob): TextInput {
  return {
    name,
    size: blob.size,
    open: async () => blob.stream(),
    readFailure: (error) =>
      new DataError('config', `Could not read ${name} (${messageOf(error)}): pick the file again`, {
        cause: error,
      }),
  };
}

async function* readLines(
  input: TextInput,
  options: TextSourceOptions,
  startLine: number,
  signal?: AbortSignal,
): AsyncIterable<TextRows> {
  const maxLines = options.batchLines ?? 1000;
  const maxChars = options.batchChars ?? 1 << 20;
  const column = options.column ?? 'text';
  const fail = input.readFailure ?? ((error: unknown) => networkError(input.name, error));
  const reader = (await input.open(signal)).getReader();
  const decoder = new TextDecoder('utf-8');

  let line = 0; // index of the next complete line
  let partial = ''; // text after the last newline seen
  let rows: string[] = [];
  let chars = 0;
  let linesInBatch = 0;
  let bytes = 0;
  const take = (endOfFile: boolean): TextRows => {
    const batch: TextRows = {
      rows,
      cursor: endOfFile ? { file: 1, row: 0 } : { file: 0, row: line },
      bytesRead: bytes,
      endOfFile,
    };
    rows = [];
    chars = 0;
    linesInBatch = 0;
    bytes = 0;
    return batch;
  };
  const addLine = (raw: string) => {
    const index = line++;
    if (index < startLine) return;
    linesInBatch++;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const row = options.format === 'jsonl' ? textOfJsonLine(text, index, input.name, column) : text;
    if (row !== undefined) {
      rows.push(row);
      chars += row.length;
    }
  };

  try {
    for (;;) {
      throwIfAborted(signal);
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        if (signal?.aborted) throw cancelledError(error);
        throw fail(error);
      }
      if (chunk.done) break;
      bytes += chunk.value.byteLength;
      // Streaming decode keeps a multi-byte character split across chunks whole.
      const pieces = (partial + decoder.decode(chunk.value, { stream: true })).split('\n');
      partial = pieces.pop() ?? '';
      for (const piece of pieces) {
        addLine(piece);
        if (linesInBatch >= maxLines || chars >= maxChars) yield take(false);
      }
    }
    partial += decoder.decode();
    if (partial !== '') addLine(partial);
    yield take(true);
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

function textOfJsonLine(text: string, index: number, name: string, column: string): string | undefined {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = messageOf(error);
    throw new DataError(
      'format',
      `Line ${index + 1} of ${name} is not JSON (${reason}): each line of a JSON-lines file must be one JSON object`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DataError(
      'format',
      `Line ${index + 1} of ${name} is not a JSON object: each line must look like {"${column}": "..."}`,
    );
  }
  const record = value as Record<string, unknown>;
  const field = record[column];
  if (typeof field === 'string') return field;
  if (field === null) return undefined;
  if (!(column in record)) {
    throw new DataError(
      'format',
      `Line ${index + 1} of ${name} has no "${column}" field (it has: ${Object.keys(record).join(', ') || 'none'}): set the column to the field that holds the text`,
    );
  }
  throw new DataError(
    'format',
    `Field "${column}" on line ${index + 1} of ${name} is not text: set the column to a text field`,
  );
}
