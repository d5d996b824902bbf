/**
 * What pressing Train needs before the worker can start: a tokenizer and a dataset tokenized with
 * it. On a first visit neither exists, so both are made from the bundled corpus (no network; a few
 * seconds). Works on the Data panel's store, so the Data section shows the same progress. A new
 * tokenizer gets its own copy of the bundled corpus beside the old one: runs on the old tokens resume.
 */
import type { StoreApi } from 'zustand/vanilla';
import { datasetBase, fingerprint } from '../../data/fingerprint';
import type { DatasetManifest } from '../../data/types';
import type { DataState } from '../data/data-store';
import { buildIngestInput, initialForm, isBundledDataset } from '../data/source-form';

/** Resolves with the store's state once `done` holds for it (checked now and on every change). */
export function waitForState<S>(store: StoreApi<S>, done: (state: S) => boolean): Promise<S> {
  return new Promise((resolve) => {
    if (done(store.getState())) return resolve(store.getState());
    const stop = store.subscribe((state) => {
      if (!done(state)) return;
      stop();
      resolve(state);
    });
  });
}

export interface PreparedData {
  tokenizerJson: string;
  vocabSize: number;
  dataset: DatasetManifest;
}

export interface PrepareOptions {
  /** The vocabulary for a first tokenizer, when there is none yet (an existing one is never replaced here). */
  defaultVocab: number;
  /** The dataset the user picked ('' lets the lab choose; a picked one that is not ready is an error). */
  datasetId: string;
  bundledUrl: string;
  onStage(message: string): void;
  /** Checked before each stage: true ends the preparation (what is saved so far stays). */
  stopped?(): boolean;
}

/** Datasets that hold tokens of this tokenizer: the only ones a run with it can train on. */
export function usableDatasets(datasets: DatasetManifest[], tokenizerJson: string): DatasetManifest[] {
  const print = fingerprint(tokenizerJson);
  return datasets.filter((d) => d.tokenizer.fingerprint === print && d.tokens > 0);
}

export async function prepareData(data: StoreApi<DataState>, options: PrepareOptions): Promise<PreparedData> {
  const checkStopped = () => {
    if (options.stopped?.()) throw new Error('Stopped before training started.');
  };
  await data.getState().init();
  let state = await waitForState(
    data,
    (s) => s.datasetsLoaded && s.tokenizer.status !== 'loading' && s.tokenizer.status !== 'training',
  );
  if (state.ingestion.status === 'running' || state.ingestion.status === 'cancelling') {
    throw new Error(
      'A dataset is being tokenized (see Data): wait for it to finish or cancel it, then press Train again.',
    );
  }

  if (state.tokenizer.status !== 'ready') {
    const wanted = options.defaultVocab;
    checkStopped();
    options.onStage(`Training a ${wanted.toLocaleString('en-US')}-token BPE tokenizer on the bundled corpus…`);
    await data.getState().trainTokenizer(wanted);
    state = await waitForState(data, (s) => s.tokenizer.status !== 'training');
    if (state.tokenizer.status !== 'ready')
      throw new Error(state.error?.message ?? 'The tokenizer training was cancelled.');
  }
  const tokenizerJson = state.tokenizer.json!;
  const vocabSize = state.tokenizer.vocabSize!;

  const usable = usableDatasets(state.datasets, tokenizerJson);
  // A picked dataset of another tokenizer is fine when its source was already tokenized again with this one.
  const picked =
    usable.find((d) => d.id === options.datasetId) ??
    usable.find((d) => d.complete && datasetBase(d.id) === datasetBase(options.datasetId));
  if (picked) return { tokenizerJson, vocabSize, dataset: picked };
  if (options.datasetId !== '') throw new Error(notReady(state, options.datasetId));
  const bundled = usable
    .filter((d) => isBundledDataset(d.id))
    .sort((a, b) => Number(b.complete) - Number(a.complete))[0];
  if (bundled && !bundled.complete) {
    // A first run cut short (a reload mid-tokenizing): finish the bundled corpus rather than train on part of it.
    checkStopped();
    options.onStage('Tokenizing the rest of the bundled corpus…');
    data.getState().resume(bundled.id);
    return { tokenizerJson, vocabSize, dataset: await ingestionResult(data) };
  }
  const chosen = bundled ?? usable.find((d) => d.complete) ?? usable[0];
  if (chosen) return { tokenizerJson, vocabSize, dataset: chosen };

  // None for this tokenizer: a new copy of the bundled corpus, under an id naming the tokenizer. Copies
  // made with other tokenizers stay (a paused run on one resumes from it; Data can delete them).
  const built = buildIngestInput({ ...initialForm, choice: 'bundled' }, options.bundledUrl);
  if ('error' in built) throw new Error(built.error);
  checkStopped();
  options.onStage('Tokenizing the bundled corpus…');
  data.getState().startIngest(built.input);
  return { tokenizerJson, vocabSize, dataset: await ingestionResult(data) };
}

/** Why a picked dataset cannot be trained on with the current tokenizer, and what to do. */
function notReady(state: DataState, id: string): string {
  const dataset = state.datasets.find((d) => d.id === id);
  if (!dataset)
    return `The dataset "${id}" is not prepared yet: prepare it in Data (or pick another dataset), then press Train again.`;
  if (dataset.tokens === 0)
    return `The dataset "${dataset.name}" holds no tokens yet: prepare it in Data, then press Train again.`;
  return `The dataset "${dataset.name}" was tokenized with another tokenizer than the current one: re-tokenize it in Data (or load its tokenizer), then press Train again.`;
}

/** Waits for the bundled corpus's ingestion (just started: the store names its id) to end; its manifest, or why not. */
async function ingestionResult(data: StoreApi<DataState>): Promise<DatasetManifest> {
  const id = data.getState().ingestion.id;
  const state = await waitForState(
    data,
    (s) =>
      s.ingestion.id !== id ||
      s.ingestion.status === 'done' ||
      s.ingestion.status === 'error' ||
      s.ingestion.status === 'idle',
  );
  const dataset = state.datasets.find((d) => d.id === id);
  if (state.ingestion.status !== 'done' || !dataset)
    throw new Error(state.error?.message ?? 'Tokenizing the bundled corpus was cancelled.');
  return dataset;
}
