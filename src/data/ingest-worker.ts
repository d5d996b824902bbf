/**
 * Web Worker entry for data ingestion (fetch, parquet decoding, tokenizing and IndexedDB writes
 * all happen off the page's thread):
 *   new Worker(new URL('./ingest-worker.ts', import.meta.url), { type: 'module' })
 * The message logic is the plain function createIngestHandler, which tests drive in Node.
 */
import { parseTokenizerJson } from '../tokenizer/tokenizer-json';
import { Tokenizer } from '../tokenizer/tokenizer';
import { IdbShardStore } from './idb-store';
import { fingerprint, ingest, type IngestProgress } from './ingest';
import type { DamagedRecord } from './records';
import { createSource, type SourceEnv } from './sources/index';
import { DataError, type DataErrorKind, type DatasetManifest, type ShardStore, type SourceSpec } from './types';
import { messageOf } from '../util/errors';

/** One ingestion job: a source, the tokenizer and where the shards go. */
export interface IngestJob {
  type: 'ingest';
  id: string;
  name?: string;
  spec: SourceSpec;
  /** tokenizer.json text. */
  tokenizerJson: string;
  maxTokens?: number;
  shardTokens?: number;
  valFraction?: number;
  /** The picked files for a 'files' spec (File objects survive postMessage). */
  files?: { name: string; blob: Blob }[];
  /** Hub endpoints (tests point them at a local server). */
  hubEndpoint?: string;
  datasetsServer?: string;
  /** Network retries per request and the first retry's delay (defaults 2 and 500 ms). */
  retries?: number;
  retryDelayMs?: number;
  /** A response silent this long is aborted and retried (default 30 s). */
  stallTimeoutMs?: number;
}

export type IngestRequest =
  | IngestJob
  /** Stops the running ingestion: it answers { type: 'error', kind: 'cancelled' }. */
  | { type: 'cancel' }
  | { type: 'list' }
  | { type: 'delete'; id: string };

export type IngestResponse =
  | { type: 'progress'; id: string; progress: IngestProgress }
  | { type: 'done'; manifest: DatasetManifest }
  /** The healthy datasets; `damaged`: manifests that failed their check (listed to be deleted). */
  | { type: 'datasets'; manifests: DatasetManifest[]; damaged?: DamagedRecord[] }
  | { type: 'error'; kind: DataErrorKind | 'internal'; message: string };

export function errorResponse(error: unknown): IngestResponse {
  if (error instanceof DataError) return { type: 'error', kind: error.kind, message: error.message };
  return { type: 'error', kind: 'internal', message: messageOf(error) };
}

/** Healthy and damaged manifests where the store can tell them apart (IndexedDB), else all listed. */
async function listDatasets(store: ShardStore): Promise<{ manifests: DatasetManifest[]; damaged: DamagedRecord[] }> {
  if (store instanceof IdbShardStore) return store.listAll();
  return { manifests: await store.listManifests(), damaged: [] };
}

/** Returns the handler of one incoming message; one ingestion runs at a time. */
export function createIngestHandler(
  post: (message: IngestResponse) => void,
  store: ShardStore = new IdbShardStore(),
  fetchImpl?: typeof fetch,
): (message: IngestRequest) => Promise<void> {
  let running: AbortController | null = null;
  return async (message) => {
    try {
      switch (message.type) {
        case 'cancel':
          running?.abort();
          return;
        case 'list':
          post({ type: 'datasets', ...(await listDatasets(store)) });
          return;
        case 'delete':
          if (running)
            throw new DataError(
              'config',
              'wait for the running ingestion to finish (or cancel it) before deleting a dataset',
            );
          await store.deleteDataset(message.id);
          post({ type: 'datasets', ...(await listDatasets(store)) });
          return;
        case 'ingest':
          break;
        default:
          throw new Error(`unknown message type ${JSON.stringify((message as { type?: unknown }).type)}`);
      }
      if (running) throw new DataError('config', 'an ingestion is already running');
      const controller = new AbortController();
      running = controller;
      try {
        const tokenizer = new Tokenizer(parseTokenizerJson(message.tokenizerJson));
        const env: SourceEnv = {
          fetch: fetchImpl,
          files: message.files,
          hubEndpoint: message.hubEndpoint,
          datasetsServer: message.datasetsServer,
          retries: message.retries,
          retryDelayMs: message.retryDelayMs,
          stallTimeoutMs: message.stallTimeoutMs,
          signal: controller.signal,
        };
        const source = await createSource(message.spec, env);
        const manifest = await ingest({
          store,
          tokenizer,
          tokenizerFingerprint: fingerprint(message.tokenizerJson),
          id: message.id,
          name: message.name,
          spec: message.spec,
          source,
          maxTokens: message.maxTokens,
          shardTokens: message.shardTokens,
          valFraction: message.valFraction,
          signal: controller.signal,
          onProgress: (progress) => post({ type: 'progress', id: message.id, progress }),
        });
        post({ type: 'done', manifest });
      } finally {
        running = null;
      }
    } catch (error) {
      post(errorResponse(error));
    }
  };
}

// Only when loaded as a worker (importing this file in Node or a page does nothing).
declare const WorkerGlobalScope: unknown;
if (typeof WorkerGlobalScope !== 'undefined' && typeof self !== 'undefined') {
  const scope = self as unknown as {
    postMessage(message: IngestResponse): void;
    onmessage: ((event: MessageEvent<IngestRequest>) => void) | null;
  };
  const handle = createIngestHandler((m) => scope.postMessage(m));
  scope.onmessage = (event) => void handle(event.data);
}
