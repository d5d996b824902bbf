/**
 * `--source <dataset id | url | file | bundled>` as a SourceSpec plus what Node needs to read it
 * (a file as a Blob). Shared by `prepare` and `train-tokenizer`, so both read the same sources.
 */
import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { SourceEnv } from '../data/sources/index';
import { DataError, type SourceSpec } from '../data/types';

/** The bundled corpus, relative to the repository root (where `npm run cli` runs). */
export const BUNDLED = 'public/corpus/brown-fiction.txt';

export async function sourceFromArg(arg: string, column: string | undefined): Promise<{ spec: SourceSpec; env: SourceEnv }> {
  if (/^https?:\/\//.test(arg)) return { spec: { kind: 'url', url: arg, column }, env: {} };
  const path = arg === 'bundled' ? BUNDLED : arg;
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile()) {
    const name = basename(path);
    return { spec: { kind: 'files', files: [{ name, size: info.size }], column }, env: { files: [{ name, blob: await openAsBlob(path) }] } };
  }
  if (arg === 'bundled') throw new DataError('config', `--source bundled reads ${BUNDLED}: run the command from the repository root`);
  if (/^[\w.-]+(\/[\w.-]+)?$/.test(arg)) return { spec: { kind: 'hub', dataset: arg, column }, env: {} };
  throw new DataError('config', `--source ${arg} is neither a file, a URL, nor a Hugging Face dataset id`);
}
