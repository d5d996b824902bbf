/**
 * The lab store on a real page: the training worker, the Data store, and downloads as a zip of a
 * Hugging Face folder (model.safetensors, config.json, tokenizer.json).
 */
import { zipSync } from 'fflate';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import type { LabEvent, LabRequest } from '../../train/protocol';
import { bundledCorpusUrl } from '../data/browser-deps';
import { appDataStore } from '../data/data-store';
import { tabTrainingLock } from '../data/training-lock';
import { createWorkerClient, type WorkerClient } from '../data/worker-client';
import { createLabStore, type LabState } from './lab-store';
import { keepForm, pageStorage } from './saved-form';

/** Hands `bytes` to the browser as a file download. */
export function saveFile(name: string, bytes: Uint8Array, type = 'application/zip'): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

let appStore: StoreApi<LabState> | null = null;
let appWorker: WorkerClient<LabRequest, LabEvent> | null = null;

/** The page's one training worker (one GPU device, its compiled kernels shared by every request). */
export function labWorker(): WorkerClient<LabRequest, LabEvent> {
  if (appWorker) return appWorker;
  const worker = new Worker(new URL('../../train/lab-worker.ts', import.meta.url), { type: 'module' });
  appWorker = createWorkerClient<LabRequest, LabEvent>(worker, (message) => ({
    type: 'error',
    kind: 'internal',
    message: `The training worker stopped (${message}). Reload the page: checkpoints saved so far are kept.`,
  }));
  return appWorker;
}

export function appLabStore(): StoreApi<LabState> {
  if (appStore) return appStore;
  appStore = createLabStore({
    worker: labWorker(),
    data: appDataStore(),
    bundledUrl: bundledCorpusUrl,
    hasWebGpu: () => 'gpu' in navigator && !!navigator.gpu,
    // One lock for the tab, shared with the Data store: Train's own data preparation is not refused by it.
    trainingLock: tabTrainingLock,
    // Stored without compression: weights do not compress, and the zip opens anywhere.
    download: (folder, files) =>
      saveFile(
        `${folder}.zip`,
        zipSync(Object.fromEntries(files.map((f) => [`${folder}/${f.name}`, f.bytes])), { level: 0 }),
      ),
  });
  keepForm(appStore, pageStorage());
  return appStore;
}

/** React hook on the page's lab store. */
export function useLabStore<T>(selector: (state: LabState) => T): T {
  return useStore(appLabStore(), selector);
}
