/**
 * The shape of the Data panel's state and of what its store needs from the browser (workers,
 * storage, the saved tokenizer); data-store.ts makes the store.
 */
import type { IngestRequest, IngestResponse } from '../../data/ingest-worker';
import type { DamagedRecord } from '../../data/records';
import type { DataErrorKind, DatasetManifest } from '../../data/types';
import type { StorageStatus } from '../../data/storage';
import type { TrainRequest, TrainResponse } from '../../data/tokenizer-worker';
import type { IngestInput, IngestProgress, PickedFile, SourceForm, TokenizerForm } from './source-form';
import type { TokenizerProposal, TokenizerSample } from './tokenizer-actions';
import type { TakeLock } from './training-lock';
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
  /** The current tokenizer (kept while a new one trains: only a finished training replaces it). */
  json: string | null;
  vocabSize: number | null;
  progress: TrainProgress | null;
  /** While training on a source: "the first 100 MB of bookcorpus/bookcorpus". */
  sampleLabel?: string;
  /** A training that reached fewer tokens than asked, waiting for acceptProposal or rejectProposal. */
  proposal?: TokenizerProposal | null;
}

/**
 * What the Plan tab's "The post's recipe" puts in the Data tab (it starts nothing):
 *   applyRecipe({ source: hubSourceForm('bookcorpus/bookcorpus'), maxTokens: 1.1e9, tokenizer: { sampleMb: 100, vocabSize: 50304 } })
 */
export interface DataRecipe {
  /** Source picker values, over the defaults (hubSourceForm(id) for a Hub dataset). */
  source: Partial<SourceForm>;
  maxTokens: number;
  tokenizer: { sampleMb: number; vocabSize: number };
}

/** A dataset being tokenized again with the current tokenizer, under a new id; `from` stays (runs may train on it). */
export interface Retokenizing {
  from: string;
  to: string;
}

export interface DataState {
  datasets: DatasetManifest[];
  /** Stored manifests that failed their check: listed (with Delete) so they never hide the rest. */
  damagedDatasets: DamagedRecord[];
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
  /** The source picker's values (kept here so a plan or recipe can fill them). */
  sourceForm: SourceForm;
  /** The tokenizer card's sample size and vocabulary, as typed. */
  tokenizerForm: TokenizerForm;
  retokenizing: Retokenizing | null;

  /** Loads the saved tokenizer, the dataset list and the storage estimate (safe to call twice). */
  init: () => Promise<void>;
  refresh: () => void;
  startIngest: (input: IngestInput) => void;
  /** Runs a paused dataset's request again; a 'files' dataset needs the same files picked again. */
  resume: (id: string, files?: PickedFile[]) => void;
  cancel: () => void;
  remove: (id: string) => void;
  refreshStorage: () => Promise<void>;
  persist: () => Promise<void>;
  /**
   * Trains on the bundled corpus, or on the first `sample.sampleMb` MB of `sample.spec` (streamed in
   * the worker); `vocabSize` overrides the default target. The current tokenizer stays until the
   * new one reaches `vocabSize`; a smaller one becomes `tokenizer.proposal`, with a message.
   */
  trainTokenizer: (vocabSize?: number, sample?: TokenizerSample) => Promise<void>;
  cancelTokenizer: () => void;
  /** Makes the smaller tokenizer of a short training the current one. */
  acceptProposal: () => Promise<void>;
  /** Drops it: the current tokenizer stays. */
  rejectProposal: () => void;
  /**
   * Makes a tokenizer.json the user picked the current one (checked first: a malformed file is an
   * error message and the saved tokenizer stays).
   */
  importTokenizer: (text: string) => Promise<void>;
  dismissError: () => void;
  setPlannedTokens: (tokens: number | null) => void;
  setSourceForm: (form: SourceForm) => void;
  setTokenizerForm: (patch: Partial<TokenizerForm>) => void;
  /** Fills the source picker, token limit and tokenizer card (see DataRecipe); starts nothing. */
  applyRecipe: (recipe: DataRecipe) => void;
  /**
   * Tokenizes a dataset's source again with the current tokenizer, as a new dataset beside the old
   * one (never deleted here: a paused run on the old tokens must still resume).
   */
  retokenize: (id: string, files?: PickedFile[]) => void;
}

export interface DataStoreDeps {
  ingestWorker: WorkerClient<IngestRequest, IngestResponse>;
  /** A fresh tokenizer worker per training (it is stopped afterwards to free its memory). */
  createTrainWorker: () => WorkerClient<TrainRequest, TrainResponse>;
  storage: { status(): Promise<StorageStatus>; persist(): Promise<boolean> };
  /** Where tokenizer.json text is kept between visits. */
  tokenizerStore: { get(): Promise<string | undefined>; set(json: string): Promise<void> };
  /** The text the tokenizer learns from (the bundled corpus). */
  fetchCorpus: () => Promise<string>;
  tokenizerOptions?: { vocabSize: number; minFrequency: number };
  /** The one-trainer lock (see training-lock.ts): training a tokenizer and tokenizing take it; none: no other tab to mind. */
  trainingLock?: TakeLock;
}
