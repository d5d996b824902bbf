/**
 * Shared by the data source tests: the rows their parquet files hold, reading a source to the end,
 * and awaiting the DataError a call must fail with.
 */
import { expect } from 'vitest';
import { DataError, type SourceCursor, type TextRows, type TextSource } from '../../src/data/types';

/** Few retries with short waits: a failure is reported at once. */
export const QUICK = { retries: 1, retryDelayMs: 5 };

/** Rows with multi-byte text of varied length, every 97th one null (a parquet null). */
export const TEXTS = Array.from({ length: 2500 }, (_, i) =>
  i % 97 === 13 ? null : `row ${i}: ünïcødé 日本語 ${'x'.repeat(i % 17)}`,
);
export const NON_NULL = TEXTS.filter((t): t is string => t !== null);

/** Every batch a source yields from `from`, its rows and the bytes it read. */
export async function collect(source: TextSource, from: SourceCursor = { file: 0, row: 0 }, signal?: AbortSignal) {
  const batches: TextRows[] = [];
  for await (const batch of source.read(from, signal)) batches.push(batch);
  return { batches, rows: batches.flatMap((b) => b.rows), bytes: batches.reduce((n, b) => n + b.bytesRead, 0) };
}

/** The DataError `promise` rejects with (the test fails when it resolves or throws something else). */
export async function failure(promise: Promise<unknown>): Promise<DataError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DataError);
  return error as DataError;
}
