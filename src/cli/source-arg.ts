/**
 * `--source <dataset id | url | file | bundled>` as a SourceSpec plus what Node needs to read it
 * (a file as a Blob). Shared by `prepare` and `train-tokenizer`, so both read the same sources.
 * Each form is recognised explicitly: a path that exists is a file, `bundled` is the package's own
 * corpus, a Hub id is `owner/name` or `hf:name`; anything else is refused with the reason, never
 * sent to the Hub to fail there as a network error.
 */
import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SourceEnv } from '../data/sources/index';
import { DataError, type SourceSpec } from '../data/types';

const CORPUS = 'public/corpus/brown-fiction.txt';

/**
 * Where the bundled corpus may be, relative to this code: from the bundle (dist/cli.mjs) it is one
 * folder up, from the sources (src/cli, tests and tsx) two. Never the current directory.
 */
export function bundledCandidates(moduleUrl: string = import.meta.url): string[] {
  return ['../', '../../'].map((up) => fileURLToPath(new URL(up + CORPUS, moduleUrl)));
}

/** The bundled corpus file, wherever the command runs from. */
export async function bundledCorpus(moduleUrl: string = import.meta.url): Promise<string> {
  const candidates = bundledCandidates(moduleUrl);
  for (const path of candidates) if ((await stat(path).catch(() => undefined))?.isFile()) return path;
  throw new DataError(
    'config',
    `--source bundled: the package's corpus is missing (looked for ${candidates.join(' and ')}): reinstall, or give the file`,
  );
}

/** Names a Hub dataset: `owner/name`. */
const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;
/** The files a source may be, by extension: such a name is a path, never a dataset id. */
const FILE_EXTENSION = /\.(txt|text|jsonl|json|ndjson|parquet|csv|md|gz)$/i;

function refuse(message: string): DataError {
  return new DataError('config', message);
}

export async function sourceFromArg(
  arg: string,
  column: string | undefined,
): Promise<{ spec: SourceSpec; env: SourceEnv }> {
  if (/^https?:\/\//.test(arg)) return { spec: { kind: 'url', url: arg, column }, env: {} };
  if (arg.startsWith('hf:')) {
    const dataset = arg.slice(3);
    if (!/^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/.test(dataset)) refuseHub(arg);
    return { spec: { kind: 'hub', dataset, column }, env: {} };
  }
  const path = arg === 'bundled' ? await bundledCorpus() : arg;
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) throw refuse(`--source ${arg} is a folder; give a .txt, .jsonl or .parquet file`);
  if (info?.isFile()) {
    const name = basename(path);
    return {
      spec: { kind: 'files', files: [{ name, size: info.size }], column },
      env: { files: [{ name, blob: await openAsBlob(path) }] },
    };
  }
  if (info) throw refuse(`--source ${arg} is not a regular file; give a .txt, .jsonl or .parquet file`);
  const looksLikePath =
    FILE_EXTENSION.test(arg) || /^(\.{0,2}\/|~)|\\/.test(arg) || (arg.includes('/') && !HUB_ID.test(arg));
  if (looksLikePath) throw refuse(`--source ${arg}: no such file`);
  if (HUB_ID.test(arg)) return { spec: { kind: 'hub', dataset: arg, column }, env: {} };
  return refuseHub(arg);
}

function refuseHub(arg: string): never {
  throw refuse(
    `--source ${arg} is neither a file, a URL, nor a Hugging Face dataset id: a file must exist, a URL starts with http(s)://, a dataset id is owner/name (or hf:name)`,
  );
}
