/**
 * The Data store's dependencies on a real page: the two workers, navigator.storage, IndexedDB
 * (through idb-keyval) for the tokenizer and the bundled corpus served from public/.
 */
import { createStore as createKeyValueStore, get, set } from 'idb-keyval';
import type { IngestRequest, IngestResponse } from '../../data/ingest-worker';
import { requestPersistence, storageStatus } from '../../data/storage';
import type { TrainRequest, TrainResponse } from '../../data/tokenizer-worker';
import { messageOf } from '../../util/errors';
import type { DataStoreDeps } from './data-state';
import { tabTrainingLock } from './training-lock';
import { createWorkerClient } from './worker-client';

const TOKENIZER_KEY = 'tokenizer';

/** The bundled corpus's absolute URL: the ingestion worker fetches it, and workers need absolute URLs. */
export function bundledCorpusUrl(): string {
  return new URL('corpus/brown-fiction.txt', location.origin + import.meta.env.BASE_URL).href;
}

export function browserDataDeps(): DataStoreDeps {
  const kv = createKeyValueStore('gpt-garden-lab', 'kv');
  const ingest = new Worker(new URL('../../data/ingest-worker.ts', import.meta.url), { type: 'module' });
  return {
    ingestWorker: createWorkerClient<IngestRequest, IngestResponse>(ingest, (message) => ({
      type: 'error',
      kind: 'internal',
      message: `The ingestion worker stopped: ${message}. Reload the page; datasets saved so far are kept.`,
    })),
    createTrainWorker() {
      const worker = new Worker(new URL('../../data/tokenizer-worker.ts', import.meta.url), { type: 'module' });
      return createWorkerClient<TrainRequest, TrainResponse>(worker, (message) => ({
        type: 'error',
        message: `the tokenizer worker stopped (${message}); reload the page and try again`,
        cancelled: false,
      }));
    },
    // The lab store's lock: tokenizing here while another tab trains (or the reverse) is refused.
    trainingLock: tabTrainingLock,
    storage: { status: () => storageStatus(), persist: () => requestPersistence() },
    tokenizerStore: {
      get: () => get<string>(TOKENIZER_KEY, kv),
      set: (json) => set(TOKENIZER_KEY, json, kv),
    },
    async fetchCorpus() {
      const url = bundledCorpusUrl();
      let response: Response;
      try {
        response = await fetch(url);
      } catch (error) {
        throw new Error(
          `could not fetch the bundled corpus at ${url} (${messageOf(error)}): check that the site is still reachable and reload`,
          { cause: error },
        );
      }
      if (!response.ok) {
        throw new Error(
          `${url} answered ${response.status} ${response.statusText}: the bundled corpus is missing from this build (public/corpus/brown-fiction.txt)`,
        );
      }
      return response.text();
    },
  };
}
