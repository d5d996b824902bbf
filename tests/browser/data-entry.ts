/**
 * Drives the ingestion Web Worker against the real IndexedDB; the Node side of the browser tests
 * (and the data benchmark) calls window.gardenData through page.evaluate.
 */
import type { IngestRequest, IngestResponse } from '../../src/data/ingest-worker';
import { IdbShardStore } from '../../src/data/idb-store';
import { readAllTokens } from '../../src/data/ingest';
import type { DatasetManifest } from '../../src/data/types';

export interface IngestRun {
  last: IngestResponse;
  progress: number;
  seconds: number;
}

const worker = new Worker(new URL('../../src/data/ingest-worker.ts', import.meta.url), { type: 'module' });
const store = new IdbShardStore();

function ingest(request: IngestRequest, cancelAfterShards?: number): Promise<IngestRun> {
  const started = performance.now();
  return new Promise((resolve) => {
    let progress = 0;
    let cancelling = false;
    worker.onmessage = (event: MessageEvent<IngestResponse>) => {
      const message = event.data;
      if (message.type === 'progress') {
        progress++;
        if (cancelAfterShards !== undefined && !cancelling && message.progress.shards >= cancelAfterShards) {
          cancelling = true;
          worker.postMessage({ type: 'cancel' } satisfies IngestRequest);
        }
        return;
      }
      resolve({ last: message, progress, seconds: (performance.now() - started) / 1000 });
    };
    worker.postMessage(request);
  });
}

async function tokens(id: string): Promise<number[] | null> {
  const manifest = await store.getManifest(id);
  return manifest ? Array.from(await readAllTokens(store, manifest)) : null;
}

async function manifest(id: string): Promise<DatasetManifest | undefined> {
  return store.getManifest(id);
}

declare global {
  interface Window {
    gardenData: { ingest: typeof ingest; tokens: typeof tokens; manifest: typeof manifest };
  }
}
window.gardenData = { ingest, tokens, manifest };
document.getElementById('result')!.textContent = 'ready';
document.getElementById('result')!.dataset.status = 'ready';
