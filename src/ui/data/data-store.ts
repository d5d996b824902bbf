/**
 * The Data panel's state: datasets in the browser's store, the running ingestion, storage use and
 * the tokenizer. It talks to the ingestion and tokenizer workers by messages only; everything it
 * needs from the browser comes in through DataStoreDeps, so tests drive it with fakes in Node.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { useStore } from 'zustand';
import type { IngestRequest, IngestResponse } from '../../data/ingest-worker';
import type { DataErrorKind, DatasetManifest } from '../../data/types';
import type { StorageStatus } from '../../data/storage';
import type { TrainRequest, TrainResponse } from '../../tokenizer/train-worker';
import { parseTokenizerJson } from '../../tokenizer/tokenizer-json';
import { vocabSizeOf } from '../tokenizer/tokenizer-info';
import { browserDataDeps } from './browser-deps';
import type { IngestInput, IngestProgress, PickedFile } from './source-form';
import type { WorkerClient } from './worker-client';

export type IngestStatus = 'idle' | 'running' | 'cancelling' | 'error' | 'done';
export type TrainProgress = Extract<TrainResponse, { type: 'progress' }>['progress'];

export interface IngestionState {
  /** Dataset id of the current or last ingestion. */
  id: string | null;
  progress: IngestProgress | null;
  status: IngestStatus;
}

export interface PanelError {
  kind: DataErrorKind | 'internal' | 'tokenizer' | 'storage';
  message: string;
}

export interface TokenizerState {
  /** 'loading': reading the saved one; 'missing': none saved yet. */
  status: 'loading' | 'missing' | 'training' | 'ready';
  json: string | null;
  vocabSize: number | null;
  progress: TrainProgress | null;
}

export interface DataState {
  datasets: DatasetManifest[];
  /** The worker has answered the first dataset list (before that, `datasets` is not yet known). */
  datasetsLoaded: boolean;
  ingestion: IngestionState;
  error: PanelError | null;
  storage: StorageStatus;
  /** The browser's answer to the last persistence request (null: not asked yet). */
  persistGranted: boolean | null;
  tokenizer: TokenizerState;
  /** Tokens a plan (Plan tab, "Use this plan") wants: pre-fills the source form's token limit. */
  plannedTokens: number | null;

  /** Loads the saved tokenizer, the dataset list and the storage estimate (safe to call twice). */
  init(): Promise<void>;
  refresh(): void;
  startIngest(input: IngestInput): void;
  /** Runs a paused dataset's request again; a 'files' dataset needs the same files picked again. */
  resume(id: string, files?: PickedFile[]): void;
  cancel(): void;
  remove(id: string): void;
  refreshStorage(): Promise<void>;
  persist(): Promise<void>;
  /** Trains on the bundled corpus; `vocabSize` overrides the default target. */
  trainTokenizer(vocabSize?: number): Promise<void>;
  cancelTokenizer(): void;
  /**
   * Makes a tokenizer.json the user picked the current one (checked first: a malformed file is an
   * error message and the saved tokenizer stays).
   */
  importTokenizer(text: string): Promise<void>;
  dismissError(): void;
  setPlannedTokens(tokens: number | null): void;
}

export interface DataStoreDeps {
  ingestWorker: WorkerClient<IngestRequest, IngestResponse>;
  /** A fresh tokenizer worker per training (it is stopped afterwards to free its memory). */
  createTrainWorker(): WorkerClient<TrainRequest, TrainResponse>;
  storage: { status(): Promise<StorageStatus>; persist(): Promise<boolean> };
  /** Where tokenizer.json text is kept between visits. */
  tokenizerStore: { get(): Promise<string | undefined>; set(json: string): Promise<void> };
  /** The text the tokenizer learns from (the bundled corpus). */
  fetchCorpus(): Promise<string>;
  tokenizerOptions?: { vocabSize: number; minFrequency: number };
}

export const DEFAULT_TOKENIZER_OPTIONS = { vocabSize: 16384, minFrequency: 2 };

const NO_STORAGE: StorageStatus = { supported: false, usage: 0, quota: 0, persisted: false };

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function createDataStore(deps: DataStoreDeps): StoreApi<DataState> {
  let initialized = false;
  let trainer: WorkerClient<TrainRequest, TrainResponse> | null = null;

  const store = createStore<DataState>()((set, get) => ({
    datasets: [],
    datasetsLoaded: false,
    ingestion: { id: null, progress: null, status: 'idle' },
    error: null,
    storage: NO_STORAGE,
    persistGranted: null,
    tokenizer: { status: 'loading', json: null, vocabSize: null, progress: null },
    plannedTokens: null,

    async init() {
      if (initialized) return;
      initialized = true;
      get().refresh();
      await Promise.all([get().refreshStorage(), loadTokenizer()]);
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
      set({ error: null, ingestion: { id: input.id, progress: null, status: 'running' } });
      deps.ingestWorker.post({
        type: 'ingest',
        id: input.id,
        name: input.name,
        spec: input.spec,
        tokenizerJson: tokenizer.json,
        maxTokens: input.maxTokens,
        files: input.files,
      });
    },

    resume(id, files = []) {
      const manifest = get().datasets.find((d) => d.id === id);
      if (!manifest) {
        set({ error: { kind: 'config', message: `There is no dataset "${id}" any more: refresh the list and start it again.` } });
        return;
      }
      const spec = manifest.source;
      let picked: PickedFile[] | undefined;
      if (spec.kind === 'files') {
        // Picked files do not survive a reload: the user has to pick the same ones again.
        const byName = new Map(files.map((f) => [f.name, f]));
        const missing = spec.files.filter((f) => !byName.has(f.name)).map((f) => f.name);
        if (missing.length > 0) {
          set({ error: { kind: 'config', message: `To resume "${manifest.name}", pick its files again (${missing.join(', ')}) under "Your files", then press Resume.` } });
          return;
        }
        picked = spec.files.map((f) => byName.get(f.name)!);
      }
      get().startIngest({ id: manifest.id, name: manifest.name, spec, maxTokens: manifest.maxTokens, files: picked });
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
        set({ storage: NO_STORAGE, error: { kind: 'storage', message: `Could not read this site's storage use: ${messageOf(error)}` } });
      }
    },

    async persist() {
      try {
        set({ persistGranted: await deps.storage.persist() });
      } catch (error) {
        set({ persistGranted: false, error: { kind: 'storage', message: `Asking the browser to keep the data failed: ${messageOf(error)}` } });
      }
      await get().refreshStorage();
    },

    async trainTokenizer(vocabSize) {
      if (get().tokenizer.status === 'training') return;
      set({ error: null, tokenizer: { status: 'training', json: null, vocabSize: null, progress: null } });
      let text: string;
      try {
        text = await deps.fetchCorpus();
      } catch (error) {
        setTokenizerMissing({ kind: 'tokenizer', message: messageOf(error) });
        return;
      }
      const client = deps.createTrainWorker();
      trainer = client;
      client.subscribe((message) => void onTrainMessage(client, message));
      const options = deps.tokenizerOptions ?? DEFAULT_TOKENIZER_OPTIONS;
      client.post({ type: 'train', texts: [text], options: vocabSize ? { ...options, vocabSize } : options });
    },

    cancelTokenizer() {
      trainer?.post({ type: 'cancel' });
    },

    async importTokenizer(text) {
      if (get().tokenizer.status === 'training') return;
      const json = text;
      try {
        // The same checks the workers run when they load it (ids, merges, pre-tokenizer, specials).
        parseTokenizerJson(text);
      } catch (error) {
        set({ error: { kind: 'tokenizer', message: `That file is not a tokenizer GPT Garden can use: ${messageOf(error)}. The current tokenizer is unchanged.` } });
        return;
      }
      set({ error: null, tokenizer: { status: 'ready', json, vocabSize: vocabSizeOf(json), progress: null } });
      try {
        await deps.tokenizerStore.set(json);
      } catch (error) {
        set({ error: { kind: 'storage', message: `The tokenizer works for now but could not be saved (${messageOf(error)}); free some space, or it must be loaded again on the next visit.` } });
      }
    },

    dismissError() {
      set({ error: null });
    },

    setPlannedTokens(tokens) {
      set({ plannedTokens: tokens !== null && Number.isFinite(tokens) && tokens > 0 ? Math.round(tokens) : null });
    },
  }));

  const { setState: set, getState: get } = store;

  function setTokenizerMissing(error: PanelError | null) {
    set({ tokenizer: { status: 'missing', json: null, vocabSize: null, progress: null }, ...(error ? { error } : {}) });
  }

  async function loadTokenizer() {
    let json: string | undefined;
    try {
      json = await deps.tokenizerStore.get();
    } catch (error) {
      setTokenizerMissing({ kind: 'tokenizer', message: `Could not read the saved tokenizer (${messageOf(error)}): train it again.` });
      return;
    }
    if (get().tokenizer.status !== 'loading') return; // a training started meanwhile
    if (json === undefined) return setTokenizerMissing(null);
    try {
      set({ tokenizer: { status: 'ready', json, vocabSize: vocabSizeOf(json), progress: null } });
    } catch (error) {
      setTokenizerMissing({ kind: 'tokenizer', message: `The saved tokenizer is damaged (${messageOf(error)}): train it again.` });
    }
  }

  async function onTrainMessage(client: WorkerClient<TrainRequest, TrainResponse>, message: TrainResponse) {
    if (message.type === 'progress') {
      set((s) => ({ tokenizer: { ...s.tokenizer, progress: message.progress } }));
      return;
    }
    client.terminate();
    if (trainer === client) trainer = null;
    if (message.type === 'error') {
      setTokenizerMissing(message.cancelled ? null : { kind: 'tokenizer', message: `Training the tokenizer failed: ${message.message}` });
      return;
    }
    set({ tokenizer: { status: 'ready', json: message.json, vocabSize: vocabSizeOf(message.json), progress: null } });
    try {
      await deps.tokenizerStore.set(message.json);
    } catch (error) {
      set({ error: { kind: 'storage', message: `The tokenizer works for now but could not be saved (${messageOf(error)}); free some space, or it must be trained again on the next visit.` } });
    }
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
        set({ datasets: message.manifests, datasetsLoaded: true });
        void get().refreshStorage(); // a delete frees space
        return;
      case 'done': {
        const others = get().datasets.filter((d) => d.id !== message.manifest.id);
        set({ ingestion: { ...ingestion, status: 'done' }, datasets: [...others, message.manifest] });
        afterIngestion();
        return;
      }
      case 'error':
        if (message.kind === 'cancelled') {
          // A cancelled ingestion is a paused one: its dataset shows Resume.
          set({ ingestion: { ...ingestion, status: 'idle' } });
        } else {
          set({ error: { kind: message.kind, message: message.message }, ...(active ? { ingestion: { ...ingestion, status: 'error' } } : {}) });
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
  appStore ??= createDataStore(browserDataDeps());
  return appStore;
}

/** React hook on the page's store: re-renders when the selected value changes. */
export function useDataStore<T>(selector: (state: DataState) => T): T {
  return useStore(appDataStore(), selector);
}
