/**
 * Rows of one text column from a list of parquet files, read row group by row group so that only
 * the footer and the one column's chunks are fetched. A resumed read skips whole files and row
 * groups without touching their bytes.
 */
import {
  parquetMetadataAsync,
  parquetRead,
  parquetSchema,
  type AsyncBuffer,
  type FileMetaData,
  type SchemaTree,
} from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { DataError, type SourceCursor, type TextRows, type TextSource } from '../types';
import { formatBytes } from './format';
import { throwIfAborted } from './http';
import { messageOf } from '../../util/errors';

export interface ParquetFile {
  name: string;
  /** Opens the file for reading; `signal` cancels its requests. */
  open(signal?: AbortSignal): Promise<AsyncBuffer>;
  /** Size in bytes, when known (for progress). */
  size?: number;
}

export interface ParquetSourceOptions {
  /** The text column; default `text`, else the first string column. */
  column?: string;
  rowKind?: 'line' | 'document';
  description?: string;
  /** Rows per batch when a row group is split (default 10,000). */
  chunkRows?: number;
}

/** Enough for most footers in one request; hyparquet fetches the rest of a larger one. */
const FOOTER_FETCH_BYTES = 64 * 1024;
const DEFAULT_CHUNK_ROWS = 10_000;

export function parquetSource(files: ParquetFile[], options: ParquetSourceOptions = {}): TextSource {
  const sizes = files.map((f) => f.size);
  const totalBytes = sizes.every((s) => s !== undefined) ? sizes.reduce((a: number, s) => a + (s ?? 0), 0) : undefined;
  const fileCount = `${files.length} parquet file${files.length === 1 ? '' : 's'}`;
  const description =
    options.description ??
    (files.length === 1 ? files[0]!.name : fileCount) +
      (totalBytes !== undefined ? ` (${formatBytes(totalBytes)})` : '');
  const chunkRows = options.chunkRows ?? DEFAULT_CHUNK_ROWS;
  // Footers parsed once per source: a resumed read does not fetch them again.
  const footers = new Map<number, FileMetaData>();

  async function* read(from: SourceCursor, signal?: AbortSignal): AsyncIterable<TextRows> {
    for (let fileIndex = Math.max(0, from.file); fileIndex < files.length; fileIndex++) {
      throwIfAborted(signal);
      const file = files[fileIndex]!;
      let pendingBytes = 0;
      const buffer = countingBuffer(await file.open(signal), (n) => (pendingBytes += n));
      const takeBytes = () => {
        const n = pendingBytes;
        pendingBytes = 0;
        return n;
      };
      const metadata = footers.get(fileIndex) ?? (await readFooter(file.name, buffer));
      footers.set(fileIndex, metadata);
      const column = pickColumn(file.name, metadata, options.column);
      const totalRows = Number(metadata.num_rows);
      const next: SourceCursor = { file: fileIndex + 1, row: 0 };
      const startRow = fileIndex === from.file ? Math.max(0, from.row) : 0;
      if (startRow >= totalRows) {
        yield { rows: [], cursor: next, bytesRead: takeBytes(), endOfFile: true };
        continue;
      }

      let groupStart = 0;
      for (const group of metadata.row_groups) {
        const groupEnd = groupStart + Number(group.num_rows);
        const first = Math.max(groupStart, startRow);
        if (first < groupEnd) {
          const chunk = group.columns.find((c) => c.meta_data?.path_in_schema[0] === column);
          // With an offset index hyparquet fetches only the pages a slice needs; without one a
          // slice costs the whole column chunk, so such a group is read once and then split.
          const pagesAddressable = chunk?.offset_index_offset !== undefined && chunk.offset_index_length !== undefined;
          const step = pagesAddressable ? chunkRows : groupEnd - first;
          for (let start = first; start < groupEnd; start += step) {
            throwIfAborted(signal);
            const end = Math.min(groupEnd, start + step);
            const values = await readRows(file.name, buffer, metadata, column, start, end, pagesAddressable);
            for (let offset = 0; offset < values.length; offset += chunkRows) {
              const rowEnd = Math.min(end, start + offset + chunkRows);
              const last = rowEnd === totalRows;
              yield {
                rows: textsOf(values, offset, offset + chunkRows, `${file.name}'s column "${column}"`),
                cursor: last ? next : { file: fileIndex, row: rowEnd },
                bytesRead: takeBytes(),
                endOfFile: last,
              };
            }
          }
        }
        groupStart = groupEnd;
      }
    }
  }

  return { description, totalBytes, rowKind: options.rowKind ?? 'document', read };
}

/** An AsyncBuffer over a Blob or File: a picked file, or `fs.openAsBlob(path)` in Node. */
export function blobBuffer(blob: Blob): AsyncBuffer {
  return { byteLength: blob.size, slice: (start, end) => blob.slice(start, end).arrayBuffer() };
}

function countingBuffer(buffer: AsyncBuffer, onBytes: (bytes: number) => void): AsyncBuffer {
  return {
    byteLength: buffer.byteLength,
    async slice(start, end) {
      const bytes = await buffer.slice(start, end);
      onBytes(bytes.byteLength);
      return bytes;
    },
  };
}

async function readFooter(name: string, buffer: AsyncBuffer): Promise<FileMetaData> {
  try {
    return await parquetMetadataAsync(buffer, { initialFetchSize: FOOTER_FETCH_BYTES });
  } catch (error) {
    throw asFormatError(name, error);
  }
}

async function readRows(
  name: string,
  file: AsyncBuffer,
  metadata: FileMetaData,
  column: string,
  rowStart: number,
  rowEnd: number,
  useOffsetIndex: boolean,
): Promise<unknown[]> {
  let values: unknown[] = [];
  try {
    await parquetRead({
      file,
      metadata,
      columns: [column],
      rowStart,
      rowEnd,
      useOffsetIndex,
      compressors,
      onComplete: (rows: unknown[][]) => {
        values = rows.map((row) => row[0]);
      },
    });
  } catch (error) {
    throw asFormatError(name, error);
  }
  if (values.length !== rowEnd - rowStart) {
    throw new DataError(
      'format',
      `${name} is not a readable parquet file (rows ${rowStart}-${rowEnd - 1} decoded to ${values.length} values): the file may be damaged; download it again`,
    );
  }
  return values;
}

/**
 * Nulls are dropped (the cursor still counts them); bytes that are not text are decoded as UTF-8.
 * pickColumn only lets text columns through, so anything else means the file decoded wrongly.
 */
function textsOf(values: unknown[], from: number, to: number, where: string): string[] {
  const texts: string[] = [];
  const decoder = new TextDecoder();
  for (const value of values.slice(from, to)) {
    if (value === null || value === undefined) continue;
    if (typeof value === 'string') texts.push(value);
    else if (value instanceof Uint8Array) texts.push(decoder.decode(value));
    else throw new DataError('format', `${where} decoded to ${typeof value} values, not text: the file may be damaged`);
  }
  return texts;
}

function pickColumn(name: string, metadata: FileMetaData, wanted: string | undefined): string {
  let columns: SchemaTree[];
  try {
    columns = parquetSchema(metadata).children;
  } catch (error) {
    throw asFormatError(name, error);
  }
  const isText = (c: SchemaTree) =>
    c.children.length === 0 &&
    c.element.type === 'BYTE_ARRAY' &&
    (c.element.converted_type === 'UTF8' ||
      c.element.logical_type?.type === 'STRING' ||
      c.element.converted_type === undefined);
  const names = columns.map((c) => c.element.name);
  const listed = names.length ? names.join(', ') : 'none';
  if (wanted !== undefined) {
    const match = columns.find((c) => c.element.name === wanted);
    if (!match)
      throw new DataError('format', `${name} has no column "${wanted}" (its columns: ${listed}): pick one of those`);
    if (!isText(match))
      throw new DataError(
        'format',
        `Column "${wanted}" of ${name} does not hold text (its columns: ${listed}): pick a text column`,
      );
    return wanted;
  }
  const chosen = columns.find((c) => c.element.name === 'text' && isText(c)) ?? columns.find(isText);
  if (!chosen)
    throw new DataError(
      'format',
      `${name} has no text column (its columns: ${listed}): this dataset holds no plain text to train on`,
    );
  return chosen.element.name;
}

function asFormatError(name: string, error: unknown): unknown {
  if (error instanceof DataError) return error;
  const reason = messageOf(error);
  return new DataError(
    'format',
    `${name} is not a readable parquet file (${reason}): it may be truncated or damaged; download it again or pick another file`,
    { cause: error },
  );
}
