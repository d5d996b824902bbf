/**
 * The Data panel's store: datasets in the browser's store, the running ingestion, storage use and
 * the tokenizer (its state's shape is in data-state.ts). It talks to the ingestion and tokenizer workers by messages only; everything it
 * needs from the browser comes in through DataStoreDeps, so tests drive it with fakes in Node.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { useStore } from 'zustand';
import type { IngestRequest } from '../../data/ingest-worker';
import type { DatasetManifest } from '../../data/types';
import type { StorageStatus } from '../../data/storage';
import { datasetIdFor, fingerprint } from '../../data/fingerprint';
import { messageOf } from '../../util/errors';
import { browserDataDeps } from './browser-deps';
import type { DataState, DataStoreDeps } from './data-state';
import { DEFAULT_SAMPLE_MB, ingestId, initialForm, type PickedFile, type TokenizerForm } from './source-form';
import {
  DEFAULT_TOKENIZER_OPTIONS,
  tokenizerActions,
  type TokenizerProposal,
  type TokenizerSample,
} from './tokenizer-actions';
import { anotherTabBusy } from './training-lock';
import { pageStorage } from '../lab/saved-form';
import { keepSourceForm } from './saved-source-form';

export { DEFAULT_TOKENIZER_OPTIONS, type TokenizerProposal, type TokenizerSample };
export type {
  DataRecipe,
  DataState,
  DataStoreDeps,
  IngestionState,
  IngestStatus,
  PanelError,
  Retokenizing,
  TokenizerState,
  TrainProgress,
} from './data-state';

const NO_STORAGE: StorageStatus = { supported: false, usage: 0, quota: 0, persisted: false };

export const initialTokenizerForm: TokenizerForm = {
  sampleMb: String(DEFAULT_SAMPLE_MB),
  vocab: String(DEFAULT_TOKENIZER_OPTIONS.vocabSize),
};

export function createDataStore(deps: DataStoreDeps): StoreApi<DataState> {
  let initialized = false;

  const store = createStore<DataState>()((set, get) => ({
    datasets: [],
    damagedDatasets: [],
    datasetsLoaded: false,
    ingestion: { id: null, progress: null, status: 'idle' },
    error: null,
    storage: NO_STORAGE,
    persistGranted: null,
    tokenizer: { status: 'loading', json: null, vocabSize: null, progress: null },
    plannedTokens: null,
    sourceForm: initialForm,
    tokenizerForm: initialTokenizerForm,
    retokenizing: null,

    async init() {
      if (initialized) return;
      initialized = true;
      get().refresh();
      await Promise.all([get().refreshStorage(), tokenizer.loadTokenizer()]);
    },

    refresh() {
      deps.ingestWorker.post({ type: 'list' });
    },

    startIngest(input) {
      const { ingestion, tokenizer } = get();
      if (ingestion.status === 'running' || ingestion.status === 'cancelling') return;
      if (!tokenizer.json) {
        set({ error: { kind: 'config', message: 'Train the tokenizer first: datasets are stored as its token ids.' } });
        return;
      }
      const id = ingestId(input.id, fingerprint(tokenizer.json), get().datasets);
      set({ error: null, ingestion: { id, progress: null, status: 'running' } });
      const request: IngestRequest = {
        type: 'ingest',
        id,
        name: input.name,
        spec: input.spec,
        tokenizerJson: tokenizer.json,
        maxTokens: input.maxTokens,
        files: input.files,
      };
      if (!deps.trainingLock) return deps.ingestWorker.post(request);
      void deps.trainingLock().then((release) => {
        const now = get().ingestion;
        const mine = now.id === id && (now.status === 'running' || now.status === 'cancelling');
        if (!release) {
          if (mine)
            set({
              ingestion: { ...now, status: 'error' },
              error: { kind: 'config', message: anotherTabBusy('tokenize a dataset') },
              retokenizing: null,
            });
          return;
        }
        if (!mine || now.status === 'cancelling') {
          // Cancelled before it started: nothing ran, nothing to wait for.
          release();
          if (mine) set({ ingestion: { ...now, status: 'idle' }, retokenizing: null });
          return;
        }
        deps.ingestWorker.post(request);
        releaseWhen((s) => s.ingestion.status !== 'running' && s.ingestion.status !== 'cancelling', release);
      });
    },

    resume(id, files = []) {
      const manifest = listed(id);
      if (!manifest) return;
      const picked = filesFor(manifest, files, 'resume', 'Resume');
      if (picked === null) return;
      get().startIngest({
        id: manifest.id,
        name: manifest.name,
        spec: manifest.source,
        maxTokens: manifest.maxTokens,
        files: picked,
      });
    },

    cancel() {
      if (get().ingestion.status !== 'running') return;
      set((s) => ({ ingestion: { ...s.ingestion, status: 'cancelling' } }));
      deps.ingestWorker.post({ type: 'cancel' });
    },

    remove(id) {
      set({ error: null });
      deps.ingestWorker.post({ type: 'delete', id });
    },

    async refreshStorage() {
      try {
        set({ storage: await deps.storage.status() });
      } catch (error) {
        set({
          storage: NO_STORAGE,
          error: { kind: 'storage', message: `Could not read this site's storage use: ${messageOf(error)}` },
        });
      }
    },

    async persist() {
      try {
        set({ persistGranted: await deps.storage.persist() });
      } catch (error) {
        set({
          persistGranted: false,
          error: { kind: 'storage', message: `Asking the browser to keep the data failed: ${messageOf(error)}` },
        });
      }
      await get().refreshStorage();
    },

    async trainTokenizer(vocabSize, sample) {
      if (!deps.trainingLock) return tokenizer.trainTokenizer(vocabSize, sample);
      if (get().tokenizer.status === 'training') return;
      const release = await deps.trainingLock();
      if (!release) return set({ error: { kind: 'tokenizer', message: anotherTabBusy('train the tokenizer') } });
      if (get().tokenizer.status === 'training') return release(); // pressed twice: the first one trains
      const training = tokenizer.trainTokenizer(vocabSize, sample); // 'training' from here until it ends
      releaseWhen((s) => s.tokenizer.status !== 'training', release);
      await training;
    },
    cancelTokenizer: () => tokenizer.cancelTokenizer(),
    acceptProposal: () => tokenizer.acceptProposal(),
    rejectProposal: () => tokenizer.rejectProposal(),
    importTokenizer: (text) => tokenizer.importTokenizer(text),

    dismissError() {
      set({ error: null });
    },

    setPlannedTokens(tokens) {
      const planned = tokens !== null && Number.isFinite(tokens) && tokens > 0 ? Math.round(tokens) : null;
      // A plan's token count pre-fills the limit (the user can still clear or change it).
      set((s) => ({
        plannedTokens: planned,
        ...(planned ? { sourceForm: { ...s.sourceForm, tokenLimit: String(planned) } } : {}),
      }));
    },

    setSourceForm(form) {
      set({ sourceForm: form });
    },

    setTokenizerForm(patch) {
      set((s) => ({ tokenizerForm: { ...s.tokenizerForm, ...patch } }));
    },

    applyRecipe({ source, maxTokens, tokenizer: wanted }) {
      const tokens = Math.round(maxTokens);
      set({
        plannedTokens: tokens,
        sourceForm: { ...initialForm, ...source, tokenLimit: String(tokens) },
        tokenizerForm: { sampleMb: String(wanted.sampleMb), vocab: String(wanted.vocabSize) },
      });
    },

    retokenize(id, files) {
      retokenizeDataset(id, files);
    },
  }));

  const { setState: set, getState: get } = store;
  const tokenizer = tokenizerActions(deps, set, get);

  /** The listed dataset `id`; undefined after saying it is gone. */
  function listed(id: string): DatasetManifest | undefined {
    const manifest = get().datasets.find((d) => d.id === id);
    if (!manifest)
      set({
        error: {
          kind: 'config',
          message: `There is no dataset "${id}" any more: refresh the list and start it again.`,
        },
      });
    return manifest;
  }

  /** A 'files' dataset's files, picked again (they do not survive a reload); null after saying which are missing. */
  function filesFor(
    manifest: DatasetManifest,
    files: PickedFile[],
    verb: string,
    button: string,
  ): PickedFile[] | undefined | null {
    const spec = manifest.source;
    if (spec.kind !== 'files') return undefined;
    const byName = new Map(files.map((f) => [f.name, f]));
    const missing = spec.files.filter((f) => !byName.has(f.name)).map((f) => f.name);
    if (missing.length > 0) {
      set({
        error: {
          kind: 'config',
          message: `To ${verb} "${manifest.name}", pick its files again (${missing.join(', ')}) under "Your files", then press ${button}.`,
        },
      });
      return null;
    }
    return spec.files.map((f) => byName.get(f.name)!);
  }

  /** Calls `release` once `done` holds (now, or on a later change). */
  function releaseWhen(done: (s: DataState) => boolean, release: () => void) {
    if (done(get())) return release();
    const stop = store.subscribe((s) => {
      if (!done(s)) return;
      stop();
      release();
    });
  }

  function retokenizeDataset(id: string, files: PickedFile[] = []) {
    const { datasets, tokenizer: current, ingestion } = get();
    const manifest = listed(id);
    if (!manifest) return;
    if (
      current.status !== 'ready' ||
      !current.json ||
      ingestion.status === 'running' ||
      ingestion.status === 'cancelling'
    )
      return;
    const print = fingerprint(current.json);
    if (manifest.tokenizer.fingerprint === print) return;
    const picked = filesFor(manifest, files, 're-tokenize', 'Re-tokenize');
    if (picked === null) return;
    // A new id per tokenizer: the old dataset stays whole, for the runs that train on it.
    const to = datasetIdFor(id, print);
    if (datasets.some((d) => d.id === to && d.complete)) {
      set({
        error: {
          kind: 'config',
          message: `"${manifest.name}" is already tokenized with the current tokenizer (dataset ${to}): train on that one.`,
        },
      });
      return;
    }
    set({ retokenizing: { from: id, to } });
    get().startIngest({
      id: to,
      name: manifest.name,
      spec: manifest.source,
      maxTokens: manifest.maxTokens,
      files: picked,
    });
  }

  // The new list's arrival refreshes the storage estimate too.
  const afterIngestion = () => get().refresh();

  deps.ingestWorker.subscribe((message) => {
    const { ingestion } = get();
    const active = ingestion.status === 'running' || ingestion.status === 'cancelling';
    switch (message.type) {
      case 'progress':
        if (active && message.id === ingestion.id) set({ ingestion: { ...ingestion, progress: message.progress } });
        return;
      case 'datasets':
        set({ datasets: message.manifests, damagedDatasets: message.damaged ?? [], datasetsLoaded: true });
        void get().refreshStorage(); // a delete frees space
        return;
      case 'done': {
        const others = get().datasets.filter((d) => d.id !== message.manifest.id);
        set({ ingestion: { ...ingestion, status: 'done' }, datasets: [...others, message.manifest] });
        if (get().retokenizing?.to === message.manifest.id) set({ retokenizing: null });
        afterIngestion();
        return;
      }
      case 'error':
        if (get().retokenizing?.to === ingestion.id && active) set({ retokenizing: null });
        if (message.kind === 'cancelled') {
          // A cancelled ingestion is a paused one: its dataset shows Resume.
          set({ ingestion: { ...ingestion, status: 'idle' } });
        } else {
          set({
            error: { kind: message.kind, message: message.message },
            ...(active ? { ingestion: { ...ingestion, status: 'error' } } : {}),
          });
        }
        afterIngestion();
        return;
    }
  });

  return store;
}

let appStore: StoreApi<DataState> | null = null;

/** The page's store, created on first use with the browser's workers and storage. */
export function appDataStore(): StoreApi<DataState> {
  if (!appStore) {
    appStore = createDataStore(browserDataDeps());
    keepSourceForm(appStore, pageStorage());
  }
  return appStore;
}

/** React hook on the page's store: re-renders when the selected value changes. */
export function useDataStore<T>(selector: (state: DataState) => T): T {
  return useStore(appDataStore(), selector);
}
