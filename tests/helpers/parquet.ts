/**
 * Builds small parquet files in memory for the data tests: one `text` string column (nulls
 * allowed) plus optional extra columns, with a chosen row-group size and codec.
 */
import { compress, init } from '@bokuweb/zstd-wasm';
import { parquetWriteBuffer, type ColumnSource } from 'hyparquet-writer';

export interface MakeParquetOptions {
  rowGroupSize?: number;
  codec?: 'SNAPPY' | 'ZSTD' | 'UNCOMPRESSED';
  /** More columns, written before `text` (so `text` is not simply the first column). */
  extraColumns?: Record<string, (string | number | null)[]>;
  /** Name of the text column (default `text`). */
  textColumn?: string;
  /** Write page offset indexes (default true): without them a reader cannot fetch single pages. */
  offsetIndex?: boolean;
  /** Target page size in bytes (the writer's default is 1 MB). */
  pageSize?: number;
}

let zstdReady: Promise<void> | undefined;

export async function makeParquet(
  texts: (string | null)[],
  options: MakeParquetOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const codec = options.codec ?? 'SNAPPY';
  if (codec === 'ZSTD') await (zstdReady ??= init());
  const offsetIndex = options.offsetIndex ?? true;
  const extra: ColumnSource[] = Object.entries(options.extraColumns ?? {}).map(([name, data]) => ({
    name,
    data,
    type: data.some((v) => typeof v === 'string') ? 'STRING' : 'DOUBLE',
    nullable: true,
    offsetIndex,
  }));
  const buffer = parquetWriteBuffer({
    columnData: [
      ...extra,
      { name: options.textColumn ?? 'text', data: texts, type: 'STRING', nullable: true, offsetIndex },
    ],
    codec,
    compressors: { ZSTD: (input: Uint8Array) => compress(input, 3) },
    rowGroupSize: options.rowGroupSize ?? 1000,
    pageSize: options.pageSize,
    statistics: false,
  });
  return new Uint8Array(buffer);
}
