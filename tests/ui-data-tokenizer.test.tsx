/**
 * The Data store's tokenizer from a dataset sample, driven in Node: the real tokenizer-worker
 * handler behind a fake Worker streams the sample off a local Hub-like parquet server. A vocabulary
 * the sample cannot reach replaces nothing until accepted; cancel keeps the current tokenizer;
 * "The post's recipe" fills the forms and starts nothing; datasets of another tokenizer are marked
 * and re-tokenized into a new dataset beside the old one, which is never deleted by it.
 */
import { renderToStaticMarkup } from 'react-dom/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fingerprint } from '../src/data/fingerprint';
import { cutUtf8 } from '../src/data/text-sample';
import type { IngestRequest, IngestResponse } from '../src/data/ingest-worker';
import type { SourceSpec } from '../src/data/types';
import { createTrainHandler, type TrainRequest, type TrainResponse } from '../src/data/tokenizer-worker';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { splitLines, trainBpe } from '../src/tokenizer/trainer';
import { createDataStore } from '../src/ui/data/data-store';
import { DatasetList } from '../src/ui/data/DatasetList';
import { hubSourceForm, initialForm, parseTokenizerForm } from '../src/ui/data/source-form';
import { createWorkerClient } from '../src/ui/data/worker-client';
import { startDataServer, type DataServer } from './helpers/data-server';
import { FakeWorker } from './helpers/fake-worker';
import { testManifest } from './helpers/manifest';
import { makeParquet } from './helpers/parquet';
import { bookRows } from './helpers/text';

const ROWS = bookRows(2000, 5);
const TEXT = ROWS.map((r) => `${r}\n`).join('');
const BOOKS: SourceSpec = { kind: 'hub', dataset: 'garden/books', rowKind: 'line' };
const CURRENT = toTokenizerJson(await trainBpe(splitLines(TEXT.slice(0, 5000)), { vocabSize: 270 }));

let server: DataServer;

beforeAll(async () => {
  server = await startDataServer();
  server.addDataset('garden/books', [
    { config: 'default', split: 'train', name: '0.parquet', bytes: await makeParquet(ROWS, { rowGroupSize: 250 }) },
  ]);
});

afterAll(async () => {
  await server?.close();
});

function setup(saved: string | null = CURRENT) {
  const ingest = new FakeWorker<IngestResponse>();
  const trainWorkers: FakeWorker<TrainResponse>[] = [];
  let stored = saved ?? undefined;
  const store = createDataStore({
    ingestWorker: createWorkerClient<IngestRequest, IngestResponse>(ingest),
    createTrainWorker() {
      let handler: ((m: TrainRequest) => Promise<void>) | null = null;
      const worker = new FakeWorker<TrainResponse>((m, reply) => {
        handler ??= createTrainHandler(reply, {
          hubEndpoint: `${server.url}/hub`,
          datasetsServer: `${server.url}/datasets-server`,
        });
        void handler(m as TrainRequest);
      });
      trainWorkers.push(worker);
      return createWorkerClient<TrainRequest, TrainResponse>(worker);
    },
    storage: {
      status: async () => ({ supported: true, usage: 0, quota: 1e9, persisted: false }),
      persist: async () => true,
    },
    tokenizerStore: { get: async () => stored, set: async (json) => void (stored = json) },
    fetchCorpus: async () => TEXT,
  });
  return { store, ingest, trainWorkers, saved: () => stored };
}

const sample = (sampleMb: number) => ({ spec: BOOKS, sampleMb, label: 'garden/books' });

describe('data store: tokenizer from a dataset sample', () => {
  it('trains on the first N MB streamed by the worker, and the sample bytes are exactly those', async () => {
    const { store, trainWorkers, saved } = setup();
    await store.getState().init();
    await store.getState().trainTokenizer(400, sample(0.03));
    expect(trainWorkers[0]!.posted[0]).toEqual({
      type: 'train-source',
      spec: BOOKS,
      sampleBytes: 30_000,
      options: { vocabSize: 400, minFrequency: 2 },
      files: undefined,
    });
    // The current tokenizer stays in use while the new one trains.
    expect(store.getState().tokenizer).toMatchObject({
      status: 'training',
      json: CURRENT,
      sampleLabel: 'the first 0.03 MB of garden/books',
    });
    await vi.waitFor(() => expect(store.getState().tokenizer.status).toBe('ready'));
    const expected = toTokenizerJson(
      await trainBpe(splitLines(cutUtf8(TEXT, 30_000)), { vocabSize: 400, minFrequency: 2 }),
    );
    expect(store.getState().tokenizer).toMatchObject({ json: expected, vocabSize: 400, proposal: null });
    expect(saved()).toBe(expected);
  });

  it('an unreachable vocabulary is said with the size reached, and nothing is replaced until accepted', async () => {
    const { store, saved } = setup();
    await store.getState().init();
    await store.getState().trainTokenizer(5000, sample(0.002));
    await vi.waitFor(() => expect(store.getState().tokenizer.status).toBe('ready'));
    const { tokenizer, error } = store.getState();
    expect(tokenizer.json).toBe(CURRENT);
    expect(tokenizer.vocabSize).toBe(270);
    expect(saved()).toBe(CURRENT);
    const reached = tokenizer.proposal!.vocabSize;
    expect(reached).toBeGreaterThan(257);
    expect(reached).toBeLessThan(5000);
    expect(tokenizer.proposal).toMatchObject({ asked: 5000, trainedOn: 'the first 0.002 MB of garden/books' });
    expect(error).toEqual({
      kind: 'tokenizer',
      message: `The first 0.002 MB of garden/books reaches only ${reached.toLocaleString('en-US')} tokens, not 5,000: use ${reached.toLocaleString('en-US')}, or keep the current tokenizer (a larger sample can reach more).`,
    });

    store.getState().rejectProposal();
    expect(store.getState().tokenizer).toMatchObject({ json: CURRENT, proposal: null });
    expect(store.getState().error).toBeNull();

    await store.getState().trainTokenizer(5000, sample(0.002));
    await vi.waitFor(() => expect(store.getState().tokenizer.proposal).toBeTruthy());
    const proposed = store.getState().tokenizer.proposal!.json;
    await store.getState().acceptProposal();
    expect(store.getState().tokenizer).toMatchObject({
      status: 'ready',
      json: proposed,
      vocabSize: reached,
      proposal: null,
    });
    expect(saved()).toBe(proposed);
  });

  it('a source smaller than the sample is named by what it held', async () => {
    const { store } = setup();
    await store.getState().init();
    await store.getState().trainTokenizer(50_000, sample(100));
    await vi.waitFor(() => expect(store.getState().tokenizer.proposal).toBeTruthy());
    const bytes = new TextEncoder().encode(TEXT).length;
    expect(store.getState().tokenizer.proposal!.trainedOn).toBe(
      `all ${Number((bytes / 1e6).toPrecision(3))} MB of garden/books`,
    );
    expect(store.getState().error?.message).toMatch(
      /^All 0\.\d+ MB of garden\/books reaches only [\d,]+ tokens, not 50,000: /,
    );
  });

  it('cancel keeps the current tokenizer (and a first one stays missing)', async () => {
    const { store, saved } = setup();
    await store.getState().init();
    await store.getState().trainTokenizer(50_000, sample(100));
    store.getState().cancelTokenizer();
    await vi.waitFor(() => expect(store.getState().tokenizer.status).toBe('ready'));
    expect(store.getState().tokenizer).toMatchObject({ json: CURRENT, vocabSize: 270, progress: null });
    expect(store.getState().error).toBeNull();
    expect(saved()).toBe(CURRENT);

    const fresh = setup(null);
    await fresh.store.getState().init();
    await fresh.store.getState().trainTokenizer(50_000, sample(100));
    fresh.store.getState().cancelTokenizer();
    await vi.waitFor(() => expect(fresh.store.getState().tokenizer.status).toBe('missing'));
    expect(fresh.saved()).toBeUndefined();
  });

  it("the post's recipe fills the source picker, token limit and tokenizer card, and starts nothing", async () => {
    const { store, ingest, trainWorkers } = setup();
    await store.getState().init();
    const posted = ingest.posted.length;
    store.getState().applyRecipe({
      source: hubSourceForm('bookcorpus/bookcorpus'),
      maxTokens: 1.1e9,
      tokenizer: { sampleMb: 100, vocabSize: 50304 },
    });
    const state = store.getState();
    expect(state.sourceForm).toEqual({
      ...initialForm,
      choice: 'remote',
      remote: 'bookcorpus/bookcorpus',
      tokenLimit: '1100000000',
    });
    expect(state.tokenizerForm).toEqual({ sampleMb: '100', vocab: '50304' });
    expect(parseTokenizerForm(state.tokenizerForm)).toEqual({ sampleMb: 100, vocabSize: 50304 });
    expect(state.plannedTokens).toBe(1_100_000_000);
    expect(ingest.posted.length).toBe(posted);
    expect(trainWorkers).toHaveLength(0);
    expect(state.tokenizer.json).toBe(CURRENT);
  });

  it('the tokenizer form says what to fix', () => {
    expect(parseTokenizerForm({ sampleMb: '100', vocab: '200' })).toEqual({
      error: 'A vocabulary of 260 to 200,000 tokens.',
    });
    expect(parseTokenizerForm({ sampleMb: '0', vocab: '8000' })).toEqual({
      error: 'A sample of more than 0 and at most 100,000 MB.',
    });
    expect(parseTokenizerForm({ sampleMb: '2.5', vocab: '8000' })).toEqual({ sampleMb: 2.5, vocabSize: 8000 });
  });
});

describe('data store: datasets of another tokenizer', () => {
  const print = fingerprint(CURRENT);
  const old = testManifest('books', {
    name: 'Books',
    source: BOOKS,
    maxTokens: 9000,
    tokenizer: { vocabSize: 16384, fingerprint: 'other' },
  });
  const mine = testManifest('brown', { name: 'Brown', tokenizer: { vocabSize: 270, fingerprint: print } });

  it('are listed, marked with their vocabulary, with Re-tokenize (and Resume only for the current tokenizer)', () => {
    const html = renderToStaticMarkup(
      <DatasetList
        datasets={[old, { ...mine, complete: false }]}
        busy={false}
        tokenizerFingerprint={print}
        retokenizing={null}
        onResume={() => {}}
        onDelete={() => {}}
        onRetokenize={() => {}}
      />,
    );
    const [first, second] = html.split('</li>');
    expect(first).toContain('tokenized with another tokenizer (16,384 tokens)');
    expect(first).toContain('aria-label="Re-tokenize Books"');
    expect(first).toContain('a new dataset beside this one, which stays for the runs made with its tokenizer');
    expect(second).not.toContain('another tokenizer');
    expect(second).toContain('aria-label="Resume Brown"');
    expect(second).not.toContain('Re-tokenize');
  });

  it('Re-tokenize ingests the same source with the current tokenizer under a new id; the old one stays, even once that is complete', async () => {
    const { store, ingest } = setup();
    await store.getState().init();
    ingest.reply({ type: 'datasets', manifests: [old, mine] });
    store.getState().retokenize('brown'); // already this tokenizer's: nothing to do
    expect(ingest.posted.at(-1)).toEqual({ type: 'list' });

    store.getState().retokenize('books');
    const to = `books@${print.slice(0, 8)}`;
    expect(ingest.posted.at(-1)).toEqual({
      type: 'ingest',
      id: to,
      name: 'Books',
      spec: BOOKS,
      tokenizerJson: CURRENT,
      maxTokens: 9000,
      files: undefined,
    });
    expect(store.getState().retokenizing).toEqual({ from: 'books', to });

    // Cancelled: the old dataset stays.
    ingest.reply({ type: 'error', kind: 'cancelled', message: 'cancelled' });
    expect(store.getState().retokenizing).toBeNull();
    expect(ingest.posted.some((m) => (m as IngestRequest).type === 'delete')).toBe(false);

    store.getState().retokenize('books');
    ingest.reply({
      type: 'done',
      manifest: testManifest(to, { name: 'Books', source: BOOKS, tokenizer: { vocabSize: 270, fingerprint: print } }),
    });
    expect(ingest.posted.at(-1)).toEqual({ type: 'list' });
    expect(ingest.posted.some((m) => (m as IngestRequest).type === 'delete')).toBe(false);
    expect(store.getState().retokenizing).toBeNull();
    expect(
      store
        .getState()
        .datasets.map((d) => d.id)
        .sort(),
    ).toEqual(['books', to, 'brown']);
  });

  it('a dataset of picked files asks for the files again', async () => {
    const { store, ingest } = setup();
    await store.getState().init();
    const files = testManifest('notes.txt', {
      name: 'notes.txt',
      source: { kind: 'files', files: [{ name: 'notes.txt', size: 3 }] },
      tokenizer: { vocabSize: 300, fingerprint: 'other' },
    });
    ingest.reply({ type: 'datasets', manifests: [files] });
    store.getState().retokenize('notes.txt');
    expect(store.getState().error?.message).toBe(
      'To re-tokenize "notes.txt", pick its files again (notes.txt) under "Your files", then press Re-tokenize.',
    );
    const blob = new Blob(['abc']);
    store.getState().retokenize('notes.txt', [{ name: 'notes.txt', blob }]);
    expect(ingest.posted.at(-1)).toMatchObject({
      type: 'ingest',
      id: `notes.txt@${print.slice(0, 8)}`,
      files: [{ name: 'notes.txt', blob }],
    });
  });
});
