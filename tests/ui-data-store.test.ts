/**
 * The Data panel's store, driven in Node through fake workers: a scripted ingestion worker (the
 * test plays its answers) and the real tokenizer-training handler behind a fake Worker. The source
 * form's own checks are in source-form.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { datasetIdFor, fingerprint } from '../src/data/fingerprint';
import type { IngestRequest, IngestResponse } from '../src/data/ingest-worker';
import type { DatasetManifest, SourceSpec } from '../src/data/types';
import type { StorageStatus } from '../src/data/storage';
import { createTrainHandler, type TrainRequest, type TrainResponse } from '../src/data/tokenizer-worker';
import { createDataStore, type DataStoreDeps } from '../src/ui/data/data-store';
import { BUNDLED_ID as BUNDLED_SOURCE_ID, progressSummary, type IngestProgress } from '../src/ui/data/source-form';
import { createWorkerClient } from '../src/ui/data/worker-client';
import { FakeWorker } from './helpers/fake-worker';
import { testManifest } from './helpers/manifest';
import { vocabSizeOf } from '../src/ui/tokenizer/tokenizer-info';

// A tiny but real tokenizer.json: 3 vocab entries and one special token.
const TOKENIZER_JSON = JSON.stringify({
  model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2 }, merges: [['a', 'b']] },
  added_tokens: [{ id: 3, content: '<|endoftext|>', special: true }],
});

const BUNDLED: SourceSpec = { kind: 'bundled', url: 'http://localhost/corpus/brown-fiction.txt' };

// Datasets made with TOKENIZER_JSON: resuming one keeps its id.
function manifest(
  id: string,
  tokens: number,
  complete: boolean,
  source: SourceSpec = BUNDLED,
  maxTokens?: number,
): DatasetManifest {
  return testManifest(id, {
    tokens,
    complete,
    source,
    maxTokens,
    tokenizer: { vocabSize: 4, fingerprint: fingerprint(TOKENIZER_JSON) },
  });
}

/** The id a new dataset of `base` gets under TOKENIZER_JSON. */
const idFor = (base: string) => datasetIdFor(base, fingerprint(TOKENIZER_JSON));

function progress(tokens: number, fraction?: number): IngestProgress {
  return {
    rows: tokens / 10,
    tokens,
    textBytes: tokens * 4,
    bytesRead: tokens * 4,
    shards: 0,
    elapsedSeconds: 1,
    textBytesPerSecond: 2_500_000,
    tokensPerSecond: tokens,
    fraction,
    etaSeconds: 70,
  };
}

function setup(
  options: { savedTokenizer?: string; trainHandle?: (m: unknown, reply: (r: TrainResponse) => void) => void } = {},
) {
  const ingest = new FakeWorker<IngestResponse>();
  const trainWorkers: FakeWorker<TrainResponse>[] = [];
  const saved = new Map<string, string>();
  if (options.savedTokenizer) saved.set('tokenizer', options.savedTokenizer);
  let usage = 1_000_000;
  const storageCalls: StorageStatus[] = [];
  const deps: DataStoreDeps = {
    ingestWorker: createWorkerClient<IngestRequest, IngestResponse>(ingest, (message) => ({
      type: 'error',
      kind: 'internal',
      message,
    })),
    createTrainWorker() {
      const worker = new FakeWorker<TrainResponse>(options.trainHandle);
      trainWorkers.push(worker);
      return createWorkerClient<TrainRequest, TrainResponse>(worker);
    },
    storage: {
      async status() {
        const status = { supported: true, usage, quota: 100_000_000, persisted: false };
        storageCalls.push(status);
        return status;
      },
      persist: async () => true,
    },
    tokenizerStore: { get: async () => saved.get('tokenizer'), set: async (json) => void saved.set('tokenizer', json) },
    fetchCorpus: async () => 'the cat sat on the mat.\nthe cat ate the rat.\n'.repeat(20),
    tokenizerOptions: { vocabSize: 300, minFrequency: 1 },
  };
  const store = createDataStore(deps);
  return { store, ingest, trainWorkers, saved, storageCalls, setUsage: (n: number) => (usage = n) };
}

async function ready(savedTokenizer = TOKENIZER_JSON) {
  const env = setup({ savedTokenizer });
  await env.store.getState().init();
  return env;
}

describe('data store: dataset list and storage', () => {
  it('init lists datasets, reads storage and the saved tokenizer', async () => {
    const { store, ingest, storageCalls } = await ready();
    expect(ingest.posted).toEqual([{ type: 'list' }]);
    expect(store.getState().tokenizer).toMatchObject({ status: 'ready', vocabSize: 4, json: TOKENIZER_JSON });
    expect(store.getState().storage).toEqual({
      supported: true,
      usage: 1_000_000,
      quota: 100_000_000,
      persisted: false,
    });
    const listed = [manifest('a', 500, true), manifest('b', 70, false)];
    ingest.reply({ type: 'datasets', manifests: listed });
    expect(store.getState().datasets.map((d) => [d.id, d.tokens, d.complete])).toEqual([
      ['a', 500, true],
      ['b', 70, false],
    ]);
    await vi.waitFor(() => expect(storageCalls.length).toBe(2)); // a new list re-reads storage use
    await store.getState().init(); // StrictMode runs effects twice: no second list
    expect(ingest.posted).toEqual([{ type: 'list' }]);
  });

  it('remove posts delete and the answered list replaces the old one', async () => {
    const { store, ingest, storageCalls, setUsage } = await ready();
    ingest.reply({ type: 'datasets', manifests: [manifest('a', 500, true), manifest('b', 70, true)] });
    store.getState().remove('a');
    expect(ingest.posted.at(-1)).toEqual({ type: 'delete', id: 'a' });
    setUsage(400_000);
    ingest.reply({ type: 'datasets', manifests: [manifest('b', 70, true)] });
    expect(store.getState().datasets.map((d) => d.id)).toEqual(['b']);
    await vi.waitFor(() => expect(store.getState().storage.usage).toBe(400_000));
    expect(storageCalls.length).toBe(3);
  });

  it('persist records the answer and re-reads storage', async () => {
    const { store, storageCalls } = await ready();
    await store.getState().persist();
    expect(store.getState().persistGranted).toBe(true);
    expect(storageCalls.length).toBe(2);
  });
});

describe('data store: ingestion', () => {
  it('start posts the request, progress updates state, done refreshes the list', async () => {
    const { store, ingest, storageCalls } = await ready();
    const BUNDLED_ID = idFor(BUNDLED_SOURCE_ID); // already named by the tokenizer: kept as it is
    store.getState().startIngest({ id: BUNDLED_ID, name: 'Brown', spec: BUNDLED, maxTokens: 2000 });
    expect(ingest.posted.at(-1)).toEqual({
      type: 'ingest',
      id: BUNDLED_ID,
      name: 'Brown',
      spec: BUNDLED,
      tokenizerJson: TOKENIZER_JSON,
      maxTokens: 2000,
      files: undefined,
    });
    expect(store.getState().ingestion).toEqual({ id: BUNDLED_ID, progress: null, status: 'running' });

    ingest.reply({ type: 'progress', id: BUNDLED_ID, progress: progress(1000, 0.5) });
    expect(store.getState().ingestion.progress).toMatchObject({ tokens: 1000, fraction: 0.5, rows: 100 });
    ingest.reply({ type: 'progress', id: 'someone-else', progress: progress(9) });
    expect(store.getState().ingestion.progress?.tokens).toBe(1000);
    expect(progressSummary(store.getState().ingestion.progress!)).toBe(
      '100 rows · 4.0 KB of text · 1000 tokens · 2.5 MB/s · about 1 min 10 s left',
    );
    expect(progressSummary(store.getState().ingestion.progress!, true)).toBe(
      '100 rows · 4.0 KB of text · 1000 tokens · 2.5 MB/s',
    );

    const posts = ingest.posted.length;
    ingest.reply({ type: 'done', manifest: manifest(BUNDLED_ID, 2004, true) });
    expect(store.getState().ingestion.status).toBe('done');
    expect(store.getState().datasets.map((d) => [d.id, d.tokens])).toEqual([[BUNDLED_ID, 2004]]);
    expect(ingest.posted.slice(posts)).toEqual([{ type: 'list' }]);
    ingest.reply({ type: 'datasets', manifests: [manifest(BUNDLED_ID, 2004, true)] });
    await vi.waitFor(() => expect(storageCalls.length).toBe(2));
  });

  it('a quota error shows its message, marks the ingestion failed and refreshes the datasets', async () => {
    const { store, ingest, storageCalls, setUsage } = await ready();
    store
      .getState()
      .startIngest({ id: 'bookcorpus/bookcorpus', spec: { kind: 'hub', dataset: 'bookcorpus/bookcorpus' } });
    ingest.reply({ type: 'progress', id: 'bookcorpus/bookcorpus', progress: progress(3_000_000) });
    const message =
      'storage is full while saving shard 3: free some space (delete a dataset or checkpoint) or lower the token limit; everything saved before is kept';
    const posts = ingest.posted.length;
    ingest.reply({ type: 'error', kind: 'quota', message });
    expect(store.getState().error).toEqual({ kind: 'quota', message });
    expect(store.getState().ingestion.status).toBe('error');
    expect(ingest.posted.slice(posts)).toEqual([{ type: 'list' }]);
    setUsage(99_000_000);
    ingest.reply({ type: 'datasets', manifests: [manifest('bookcorpus/bookcorpus', 2_097_152, false)] });
    expect(store.getState().datasets[0]).toMatchObject({
      id: 'bookcorpus/bookcorpus',
      tokens: 2_097_152,
      complete: false,
    });
    await vi.waitFor(() => expect(store.getState().storage.usage).toBe(99_000_000));
    expect(storageCalls.length).toBe(2);
    store.getState().dismissError();
    expect(store.getState().error).toBeNull();
  });

  it('cancel posts cancel; the cancelled answer pauses without an error', async () => {
    const { store, ingest } = await ready();
    store.getState().startIngest({ id: 'x', spec: BUNDLED });
    store.getState().cancel();
    expect(ingest.posted.at(-1)).toEqual({ type: 'cancel' });
    expect(store.getState().ingestion.status).toBe('cancelling');
    store.getState().cancel(); // a second press sends nothing more
    expect(ingest.posted.filter((m) => (m as { type: string }).type === 'cancel').length).toBe(1);
    ingest.reply({ type: 'error', kind: 'cancelled', message: 'ingestion cancelled' });
    expect(store.getState().ingestion.status).toBe('idle');
    expect(store.getState().error).toBeNull();
    expect(ingest.posted.at(-1)).toEqual({ type: 'list' });
  });

  it('a second start while one runs is ignored', async () => {
    const { store, ingest } = await ready();
    store.getState().startIngest({ id: 'x', spec: BUNDLED });
    store.getState().startIngest({ id: 'y', spec: BUNDLED });
    expect(ingest.posted.filter((m) => (m as { type: string }).type === 'ingest').length).toBe(1);
    expect(store.getState().ingestion.id).toBe(idFor('x'));
  });

  it('resume sends the paused dataset’s id, spec and token limit again', async () => {
    const { store, ingest } = await ready();
    const hub: SourceSpec = { kind: 'hub', dataset: 'bookcorpus/bookcorpus', column: 'text' };
    ingest.reply({ type: 'datasets', manifests: [manifest('bookcorpus/bookcorpus', 1000, false, hub, 50_000)] });
    store.getState().resume('bookcorpus/bookcorpus');
    expect(ingest.posted.at(-1)).toEqual({
      type: 'ingest',
      id: 'bookcorpus/bookcorpus',
      name: 'bookcorpus/bookcorpus name',
      spec: hub,
      tokenizerJson: TOKENIZER_JSON,
      maxTokens: 50_000,
      files: undefined,
    });
    expect(store.getState().ingestion.status).toBe('running');
  });

  it('resuming a files dataset needs the same files picked again', async () => {
    const { store, ingest } = await ready();
    const spec: SourceSpec = {
      kind: 'files',
      files: [
        { name: 'a.txt', size: 5 },
        { name: 'b.txt', size: 3 },
      ],
    };
    ingest.reply({ type: 'datasets', manifests: [manifest('a.txt', 10, false, spec)] });
    const posts = ingest.posted.length;
    store.getState().resume('a.txt', [{ name: 'a.txt', blob: new Blob(['hello']) }]);
    expect(ingest.posted.length).toBe(posts);
    expect(store.getState().error?.message).toContain('pick its files again (b.txt)');

    const a = { name: 'a.txt', blob: new Blob(['hello']) };
    const b = { name: 'b.txt', blob: new Blob(['hey']) };
    store.getState().resume('a.txt', [b, a]);
    const sent = ingest.posted.at(-1) as Extract<IngestRequest, { type: 'ingest' }>;
    expect(sent).toMatchObject({ type: 'ingest', id: 'a.txt', spec });
    expect(sent.files).toEqual([a, b]); // in the manifest's order, as the cursor counts files
    expect(store.getState().error).toBeNull();
  });

  it('refuses to start without a tokenizer', async () => {
    const { store, ingest } = setup();
    await store.getState().init();
    expect(store.getState().tokenizer.status).toBe('missing');
    store.getState().startIngest({ id: 'x', spec: BUNDLED });
    expect(ingest.posted).toEqual([{ type: 'list' }]);
    expect(store.getState().error).toEqual({
      kind: 'config',
      message: 'Train the tokenizer first: datasets are stored as its token ids.',
    });
  });

  it('a worker that fails to load surfaces as an error', async () => {
    const { store, ingest } = await ready();
    store.getState().startIngest({ id: 'x', spec: BUNDLED });
    ingest.onerror?.({ message: 'SyntaxError: bad module', preventDefault() {} } as ErrorEvent);
    expect(store.getState().error).toEqual({ kind: 'internal', message: 'SyntaxError: bad module' });
    expect(store.getState().ingestion.status).toBe('error');
  });
});

describe('data store: tokenizer', () => {
  it('trains with the real training handler, saves tokenizer.json and reports the vocab size', async () => {
    let handler: ((m: TrainRequest) => Promise<void>) | null = null;
    const { store, saved, trainWorkers } = setup({
      trainHandle: (m, reply) => {
        handler ??= createTrainHandler(reply);
        void handler(m as TrainRequest);
      },
    });
    await store.getState().init();
    const phases = new Set<string>();
    store.subscribe((s) => s.tokenizer.progress && phases.add(s.tokenizer.progress.phase));
    await store.getState().trainTokenizer();
    expect(store.getState().tokenizer.status).toBe('training');
    await vi.waitFor(() => expect(store.getState().tokenizer.status).toBe('ready'));
    const json = saved.get('tokenizer')!;
    expect(JSON.parse(json).model.type).toBe('BPE');
    const { vocabSize } = store.getState().tokenizer;
    expect(vocabSize).toBe(vocabSizeOf(json));
    expect(vocabSize).toBeGreaterThan(257); // merges were learned
    expect(vocabSize).toBeLessThanOrEqual(300);
    expect(phases.has('merging')).toBe(true);
    expect(trainWorkers[0]!.posted[0]).toMatchObject({ type: 'train', options: { vocabSize: 300, minFrequency: 1 } });
    expect(trainWorkers[0]!.terminated).toBe(true);
  });

  it('a failed training leaves the tokenizer missing with a message', async () => {
    const { store } = setup({
      trainHandle: (_m, reply) => reply({ type: 'error', message: 'vocabSize 10 is too small', cancelled: false }),
    });
    await store.getState().init();
    await store.getState().trainTokenizer();
    expect(store.getState().tokenizer.status).toBe('missing');
    expect(store.getState().error).toEqual({
      kind: 'tokenizer',
      message: 'Training the tokenizer failed: vocabSize 10 is too small',
    });
  });

  it('trains at the vocabulary asked for', async () => {
    const { store, trainWorkers } = setup({ trainHandle: () => undefined });
    await store.getState().init();
    await store.getState().trainTokenizer(280);
    expect(trainWorkers[0]!.posted[0]).toMatchObject({ type: 'train', options: { vocabSize: 280, minFrequency: 1 } });
  });

  it('loads a tokenizer.json the user picked, and refuses a malformed one keeping the current tokenizer', async () => {
    const { store, saved } = await ready();
    const fixture = readFileSync('tests/fixtures/bpe-1000.tokenizer.json', 'utf8');
    await store.getState().importTokenizer(fixture);
    expect(store.getState().tokenizer).toMatchObject({ status: 'ready', json: fixture, vocabSize: 1000 });
    expect(saved.get('tokenizer')).toBe(fixture);
    expect(store.getState().error).toBeNull();

    await store.getState().importTokenizer('{"model": {"type": "WordPiece", "vocab": {}}}');
    expect(store.getState().error).toEqual({
      kind: 'tokenizer',
      message: expect.stringMatching(
        /^That file is not a tokenizer GPT Garden can use: .*WordPiece.*\. The current tokenizer is unchanged\.$/,
      ),
    });
    await store.getState().importTokenizer('{"model": ');
    expect(store.getState().error?.message).toMatch(/not valid JSON/);
    expect(store.getState().tokenizer).toMatchObject({ status: 'ready', vocabSize: 1000 });
    expect(saved.get('tokenizer')).toBe(fixture);
  });

  it('a damaged saved tokenizer asks for a new one', async () => {
    const { store } = await ready('{"not": "a tokenizer"}');
    expect(store.getState().tokenizer.status).toBe('missing');
    expect(store.getState().error?.message).toMatch(/^The saved tokenizer is damaged .*: train it again\.$/);
  });
});
