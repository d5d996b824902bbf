/**
 * The one-trainer lock over tokenizer work: two tabs (each a lab store and a Data store on one
 * shared lock, as on the page) over a fake Web Locks manager. While one tab trains, the other's
 * Train tokenizer / Start / Re-tokenize are refused with a clear message; while one tab trains the
 * tokenizer, the other's Train is refused; a tab's own Train is never refused by its own data work.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { fingerprint } from '../src/data/fingerprint';
import type { IngestRequest, IngestResponse } from '../src/data/ingest-worker';
import type { BpeModel } from '../src/tokenizer/types';
import { createTrainHandler, type TrainRequest, type TrainResponse } from '../src/data/tokenizer-worker';
import type { LabEvent, LabRequest } from '../src/train/protocol';
import { createDataStore } from '../src/ui/data/data-store';
import { BUNDLED_ID } from '../src/ui/data/source-form';
import { anotherTabBusy, sharedLock, type TakeLock } from '../src/ui/data/training-lock';
import { createWorkerClient } from '../src/ui/data/worker-client';
import { ANOTHER_TAB_TRAINS, createLabStore } from '../src/ui/lab/lab-store';
import { FakeWorker } from './helpers/fake-worker';
import { LIMITS, manifestFor, SUGGESTED, summary } from './helpers/lab-store-env';
import { testManifest } from './helpers/manifest';

const CORPUS = 'the cat sat on the mat.\nthe dog ate the bone.\n'.repeat(30);
const SAVED = readFileSync('tests/fixtures/bpe-1000.tokenizer.json', 'utf8');

/** The browser's lock manager for one lock name: held or free, `ifAvailable` semantics. */
function fakeWebLocks() {
  let held = false;
  let requests = 0;
  const acquire: TakeLock = async () => {
    requests++;
    if (held) return null;
    held = true;
    return () => void (held = false);
  };
  return { acquire, held: () => held, requests: () => requests };
}

/** One tab: its stores share one in-tab holder of the browser's lock. `manualTokenizer`: the test answers the tokenizer worker. */
function tab(acquire: TakeLock, options: { saved?: string; manualTokenizer?: boolean } = {}) {
  const lock = sharedLock(acquire);
  let tokenizerJson = options.saved;
  const ingests: IngestRequest[] = [];
  const datasets = () =>
    tokenizerJson ? [testManifest('books', { name: 'Books', tokenizer: { vocabSize: 9, fingerprint: 'other' } })] : [];
  const ingest = new FakeWorker<IngestResponse>((message, reply) => {
    const m = message as IngestRequest;
    if (m.type === 'list') queueMicrotask(() => reply({ type: 'datasets', manifests: datasets() }));
    if (m.type === 'ingest') {
      ingests.push(m);
      queueMicrotask(() => reply({ type: 'done', manifest: manifestFor(m.tokenizerJson, m.id) }));
    }
  });
  const trainWorkers: FakeWorker<TrainResponse>[] = [];
  const data = createDataStore({
    ingestWorker: createWorkerClient<IngestRequest, IngestResponse>(ingest),
    createTrainWorker() {
      let handler: ((m: TrainRequest) => Promise<void>) | null = null;
      const worker = new FakeWorker<TrainResponse>(
        options.manualTokenizer
          ? undefined
          : (m, reply) => {
              handler ??= createTrainHandler(reply);
              void handler(m as TrainRequest);
            },
      );
      trainWorkers.push(worker);
      return createWorkerClient<TrainRequest, TrainResponse>(worker);
    },
    storage: {
      status: async () => ({ supported: true, usage: 0, quota: 1e9, persisted: false }),
      persist: async () => true,
    },
    tokenizerStore: { get: async () => tokenizerJson, set: async (json) => void (tokenizerJson = json) },
    fetchCorpus: async () => CORPUS,
    tokenizerOptions: { vocabSize: 300, minFrequency: 1 },
    trainingLock: lock,
  });
  const lab = new FakeWorker<LabEvent>();
  const store = createLabStore({
    worker: createWorkerClient<LabRequest, LabEvent>(lab),
    data,
    bundledUrl: () => 'http://localhost/corpus/brown-fiction.txt',
    download: () => undefined,
    hasWebGpu: () => true,
    trainingLock: lock,
    now: () => 0,
  });
  const starts = () => (lab.posted as LabRequest[]).filter((m) => m.type === 'start');
  const ready = async () => {
    store.getState().init();
    await data.getState().init();
    lab.reply({
      type: 'device',
      report: { ok: true, adapter: 'fake', isSoftware: true, limits: LIMITS, suggested: SUGGESTED },
    });
    await vi.waitFor(() => expect(data.getState().datasetsLoaded).toBe(true));
  };
  return { data, store, lab, ingest, ingests, trainWorkers, starts, ready };
}

describe('sharedLock', () => {
  it('one request per tab however many take it; freed when the last releases; refused while another tab holds it', async () => {
    const locks = fakeWebLocks();
    const a = sharedLock(locks.acquire);
    const b = sharedLock(locks.acquire);
    const [first, second] = await Promise.all([a(), a()]); // two takers at once share one request
    expect(locks.requests()).toBe(1);
    expect(first && second).toBeTruthy();
    expect(await b()).toBeNull();
    first!();
    first!(); // a release counts once
    expect(locks.held()).toBe(true);
    expect(await b()).toBeNull();
    second!();
    expect(locks.held()).toBe(false);
    const other = await b();
    expect(other).toBeTruthy();
    expect(await a()).toBeNull();
    other!();
    expect(locks.held()).toBe(false);
  });
});

describe('the one-trainer lock across two tabs', () => {
  it('while tab A trains (its own tokenizer and tokenizing included), tab B cannot train the tokenizer, tokenize or re-tokenize; once A stops, B can', async () => {
    const locks = fakeWebLocks();
    const a = tab(locks.acquire);
    const b = tab(locks.acquire, { saved: SAVED });
    await a.ready();
    await b.ready();

    // A's first Train trains a tokenizer and tokenizes the bundled corpus under the lock it holds.
    await a.store.getState().train();
    expect(a.store.getState().error).toBeNull();
    expect(a.starts()).toHaveLength(1);
    expect(a.ingests).toHaveLength(1);
    expect(locks.held()).toBe(true);
    a.lab.reply({ type: 'run', run: summary((a.starts()[0] as Extract<LabRequest, { type: 'start' }>).settings) });
    expect(a.store.getState().phase).toBe('running');

    await b.data.getState().trainTokenizer(300);
    expect(b.data.getState().error).toEqual({ kind: 'tokenizer', message: anotherTabBusy('train the tokenizer') });
    expect(b.data.getState().error!.message).toMatch(/^Another tab is training/);
    expect(b.data.getState().tokenizer).toMatchObject({ status: 'ready', json: SAVED });
    expect(b.trainWorkers).toHaveLength(0);

    b.data
      .getState()
      .startIngest({ id: BUNDLED_ID, spec: { kind: 'bundled', url: 'http://localhost/corpus/brown-fiction.txt' } });
    await vi.waitFor(() => expect(b.data.getState().ingestion.status).toBe('error'));
    expect(b.data.getState().error?.message).toBe(anotherTabBusy('tokenize a dataset'));
    b.data.getState().retokenize('books');
    await vi.waitFor(() => expect(b.data.getState().ingestion.status).toBe('error'));
    expect(b.data.getState().error?.message).toBe(anotherTabBusy('tokenize a dataset'));
    expect(b.data.getState().retokenizing).toBeNull();
    expect(b.ingests).toHaveLength(0);

    // A's run ends: the lock is free and B's work goes ahead.
    a.lab.reply({
      type: 'run',
      run: summary((a.starts()[0] as Extract<LabRequest, { type: 'start' }>).settings, {
        status: 'paused',
        checkpointStep: 2,
      }),
    });
    expect(locks.held()).toBe(false);
    await b.data.getState().trainTokenizer(300);
    await vi.waitFor(() => expect(b.data.getState().tokenizer.status).toBe('ready'));
    expect(b.data.getState().error).toBeNull();
    expect(b.data.getState().tokenizer.json).not.toBe(SAVED);
    expect(locks.held()).toBe(false); // released when the training ended
    b.data.getState().retokenize('books');
    await vi.waitFor(() => expect(b.data.getState().ingestion.status).toBe('done'));
    expect(b.ingests.map((m) => (m as { id: string }).id)).toEqual([
      `books@${fingerprint(b.data.getState().tokenizer.json!).slice(0, 8)}`,
    ]);
    expect(locks.held()).toBe(false);
  });

  it("while tab B trains the tokenizer, tab A's Train is refused and starts nothing; B's lock goes when its training ends", async () => {
    const locks = fakeWebLocks();
    const a = tab(locks.acquire, { saved: SAVED });
    const b = tab(locks.acquire, { saved: SAVED, manualTokenizer: true });
    await a.ready();
    await b.ready();

    await b.data.getState().trainTokenizer(300);
    expect(b.data.getState().tokenizer.status).toBe('training');
    expect(locks.held()).toBe(true);

    await a.store.getState().train();
    expect(a.store.getState().error).toEqual({ kind: 'config', message: ANOTHER_TAB_TRAINS });
    expect(a.store.getState().phase).toBe('idle');
    expect(a.starts()).toHaveLength(0);
    expect(a.ingests).toHaveLength(0);

    // B's tokenizer worker answers: the training ends and so does B's hold.
    b.trainWorkers[0]!.reply({ type: 'done', model: {} as BpeModel, json: SAVED });
    await vi.waitFor(() => expect(b.data.getState().tokenizer.status).toBe('ready'));
    expect(locks.held()).toBe(false);
    await a.store.getState().train();
    expect(a.store.getState().error).toBeNull();
    expect(a.starts()).toHaveLength(1);
  });
});
