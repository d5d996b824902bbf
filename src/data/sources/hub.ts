/**
 * A Hugging Face dataset id -> the URLs of its parquet files (the Hub converts every public
 * dataset to parquet). Asks the dataset viewer's API first, which also gives file sizes, and the
 * Hub's own listing when that fails or lists nothing.
 */
import { DataError } from '../types';
import { withRetries, type HttpOptions } from './http';
import { messageOf } from '../../util/errors';

export interface HubOptions {
  config?: string;
  split?: string;
  hubEndpoint?: string;
  datasetsServer?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  retries?: number;
  retryDelayMs?: number;
}

export interface HubFile {
  url: string;
  size?: number;
  /** `config/split/filename`, for messages and progress. */
  name: string;
}

interface Listing {
  /** Config -> split -> files, in the order the server listed them. */
  configs: Map<string, Map<string, HubFile[]>>;
}

/** Why a listing gave nothing; `missing` when the server said the dataset does not exist. */
interface Failure {
  missing: boolean;
  message: string;
  error?: DataError;
}

export async function resolveHubDataset(dataset: string, options: HubOptions = {}): Promise<HubFile[]> {
  const id = dataset
    .trim()
    .replace(/^https?:\/\/huggingface\.co\/datasets\//, '')
    .replace(/\/+$/, '');
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(id)) {
    throw new DataError(
      'config',
      `"${dataset}" is not a dataset id: write it as owner/name, e.g. bookcorpus/bookcorpus`,
    );
  }
  const hub = (options.hubEndpoint ?? 'https://huggingface.co').replace(/\/+$/, '');
  const viewer = (options.datasetsServer ?? 'https://datasets-server.huggingface.co').replace(/\/+$/, '');

  const fromViewer = await listing(`${viewer}/parquet?dataset=${encodeURIComponent(id)}`, options, viewerListing);
  if (!('message' in fromViewer) && fromViewer.configs.size > 0) return pick(id, fromViewer, options);
  const fromHub = await listing(`${hub}/api/datasets/${id}/parquet`, options, hubListing);
  if (!('message' in fromHub) && fromHub.configs.size > 0) return pick(id, fromHub, options);

  const failures = [fromViewer, fromHub].filter((f): f is Failure => 'message' in f);
  const detail = failures.map((f) => f.message).join('; ') || 'no parquet files listed';
  if (failures.length === 2 && failures.every((f) => f.missing)) {
    throw new DataError(
      'http',
      `Dataset ${id} was not found on the Hub (${detail}): check the id, e.g. bookcorpus/bookcorpus`,
    );
  }
  const network = failures.find((f) => f.error?.kind === 'network' || f.error?.kind === 'cancelled')?.error;
  if (network && failures.every((f) => f.error?.kind === network.kind)) throw network;
  throw new DataError(
    'http',
    `The Hub lists no parquet files for dataset ${id} (${detail}): the dataset may still be converting, be gated or private; try later or paste a file URL`,
  );
}

async function listing(
  url: string,
  options: HubOptions,
  parse: (body: unknown, url: string) => Listing,
): Promise<Listing | Failure> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const http: HttpOptions = { ...options };
  let response: Response;
  try {
    response = await withRetries(url, http, () =>
      doFetch(url, { signal: options.signal, headers: { Accept: 'application/json' } }),
    );
  } catch (error) {
    if (error instanceof DataError && error.kind === 'cancelled') throw error;
    const e = error instanceof DataError ? error : new DataError('network', String(error));
    return { missing: false, message: e.message, error: e };
  }
  if (!response.ok) {
    const serverSays = await errorText(response);
    // The Hub answers 401 rather than 404 for a repository it cannot show an anonymous user.
    const missing = response.status === 404 || response.status === 401;
    return { missing, message: `${url} answered ${response.status}${serverSays ? `: ${serverSays}` : ''}` };
  }
  try {
    return parse(await response.json(), url);
  } catch (error) {
    return { missing: false, message: `${url} sent an unexpected answer (${messageOf(error)})` };
  }
}

/** `{"parquet_files": [{dataset, config, split, url, filename, size}], ...}` */
function viewerListing(body: unknown): Listing {
  const files = (body as { parquet_files?: unknown }).parquet_files;
  if (!Array.isArray(files)) throw new Error('no parquet_files list');
  const configs = new Map<string, Map<string, HubFile[]>>();
  for (const f of files as { config?: unknown; split?: unknown; url?: unknown; filename?: unknown; size?: unknown }[]) {
    if (typeof f.config !== 'string' || typeof f.split !== 'string' || typeof f.url !== 'string') continue;
    const filename = typeof f.filename === 'string' ? f.filename : (f.url.split('/').pop() ?? f.url);
    add(configs, f.config, f.split, {
      url: f.url,
      size: typeof f.size === 'number' ? f.size : undefined,
      name: `${f.config}/${f.split}/${filename}`,
    });
  }
  return { configs };
}

/** `{"<config>": {"<split>": ["url", ...]}}` */
function hubListing(body: unknown): Listing {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error('not a config -> split map');
  const configs = new Map<string, Map<string, HubFile[]>>();
  for (const [config, splits] of Object.entries(body as Record<string, unknown>)) {
    if (splits === null || typeof splits !== 'object') continue;
    for (const [split, urls] of Object.entries(splits as Record<string, unknown>)) {
      if (!Array.isArray(urls)) continue;
      for (const url of urls) {
        if (typeof url === 'string')
          add(configs, config, split, { url, name: `${config}/${split}/${url.split('/').pop() ?? url}` });
      }
    }
  }
  return { configs };
}

function add(configs: Map<string, Map<string, HubFile[]>>, config: string, split: string, file: HubFile): void {
  const splits = configs.get(config) ?? new Map<string, HubFile[]>();
  configs.set(config, splits);
  splits.set(split, [...(splits.get(split) ?? []), file]);
}

/** The asked-for config and split; by default `default`, `plain_text` or the first config, and `train`. */
function pick(id: string, { configs }: Listing, options: HubOptions): HubFile[] {
  const names = [...configs.keys()];
  const config = options.config ?? ['default', 'plain_text'].find((c) => configs.has(c)) ?? names[0];
  // Callers pass only listings with a config; this keeps the message honest if one did not.
  if (config === undefined) throw new DataError('config', `Dataset ${id} lists no parquet configs`);
  const splits = configs.get(config);
  if (!splits) {
    throw new DataError(
      'config',
      `Dataset ${id} has no config "${config}" (it has: ${names.join(', ')}): pick one of those`,
    );
  }
  const splitNames = [...splits.keys()];
  const wanted = options.split ?? 'train';
  // A dataset too big to convert whole is listed as "partial-train".
  const split =
    [wanted, `partial-${wanted}`].find((s) => splits.has(s)) ??
    (options.split === undefined ? splitNames[0] : undefined);
  if (split === undefined) {
    throw new DataError(
      'config',
      `Dataset ${id} (config ${config}) has no split "${wanted}" (it has: ${splitNames.join(', ')}): pick one of those`,
    );
  }
  return splits.get(split) ?? [];
}

async function errorText(response: Response): Promise<string> {
  try {
    const text = await response.text();
    try {
      const parsed = JSON.parse(text) as { error?: unknown };
      if (typeof parsed.error === 'string') return parsed.error;
    } catch {
      // Not JSON: show the start of the text.
    }
    return text.slice(0, 200).trim();
  } catch {
    return '';
  }
}
