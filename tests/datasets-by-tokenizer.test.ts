/**
 * Datasets are versioned by tokenizer: a new tokenizer + Train makes a second copy of the bundled
 * corpus beside the first (whose manifest and shard bits stay as they were), and a paused run on the
 * old tokens still finds them. The real Data store, first-run path and ingestion handler over
 * IndexedDB (fake-indexeddb); the training worker is scripted (its dataset check is replayed here).
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { createStore } from 'idb-keyval';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it, vi } from 'vitest';
import { datasetBase, datasetIdFor, fingerprint } from '../src/data/fingerprint';
import { IdbShardStore } from '../src/data/idb-store';
import { createIngestHandler, type IngestRequest, type IngestResponse } from '../src/data/ingest-worker';
import type { DatasetManifest } from '../src/data/types';
import type { LabEvent, LabRequest, RunSettings } from '../src/train/protocol';
import { RunStore } from '../src/train/run-store';
import { locateDataset } from '../src/train/run-transfer';
import { createDataStore } from '../src/ui/data/data-store';
import { BUNDLED_ID, ingestId, isBundledDataset } from '../src/ui/data/source-form';
import { DatasetList, runsByDataset, usedByText } from '../src/ui/data/DatasetList';
import { createWorkerClient } from '../src/ui/data/worker-client';
import { createLabStore } from '../src/ui/lab/lab-store';
import { memoryDataDeps } from './helpers/data-deps';
import { FakeWorker } from './helpers/fake-worker';
import { LIMITS, SUGGESTED, summary } from './helpers/lab-store-env';
import { testManifest } from './helpers/manifest';

const CORPUS = 'the cat sat on the mat.\nthe dog ate the bone by the door.\n'.repeat(200);
const OLD_TOKENIZER = readFileSync('tests/fixtures/bpe-1000.tokenizer.json', 'utf8');
const URL = 'http://localhost/corpus/brown-fiction.txt';
let dbCount = 0;

/** One tab: the lab store and the Data store, ingesting for real into `shards`. */
function tab(savedTokenizer: string) {
  const shards = new IdbShardStore(createStore(`versions-${dbCount++}`, 'kv'));
  let ingestHandler: ((m: IngestRequest) => Promise<void>) | null = null;
  const ingest = new FakeWorker<IngestResponse>((m, reply) => {
    ingestHandler ??= createIngestHandler(reply, shards, async () => new Response(CORPUS));
    void ingestHandler(m as IngestRequest);
  });
  const data = createDataStore(
    memoryDataDeps(createWorkerClient<IngestRequest, IngestResponse>(ingest), CORPUS, savedTokenizer),
  );
  const lab = new FakeWorker<LabEvent>();
  const store = createLabStore({
    worker: createWorkerClient<LabRequest, LabEvent>(lab),
    data,
    bundledUrl: () => URL,
    download: () => undefined,
    hasWebGpu: () => true,
    now: () => 0,
  });
  const posted = () => lab.posted as LabRequest[];
  const starts = () => posted().filter((m): m is Extract<LabRequest, { type: 'start' }> => m.type === 'start');
  return { shards, ingest, data, store, lab, posted, starts, send: (e: LabEvent) => lab.reply(e) };
}

/** Every shard's bytes, by key: what "intact" is checked against. */
async function shardBits(shards: IdbShardStore, manifest: DatasetManifest): Promise<Map<string, number[]>> {
  const bits = new Map<string, number[]>();
  for (const shard of manifest.shards) bits.set(shard.key, [...(await shards.getShard(shard.key, manifest.dtype))]);
  return bits;
}

describe('datasets versioned by tokenizer', () => {
  it('a new tokenizer + Train makes a second bundled dataset; the first stays whole and a paused run on it resolves to it', async () => {
    const t = tab(OLD_TOKENIZER);
    t.store.getState().init();
    t.send({
      type: 'device',
      report: { ok: true, adapter: 'fake', isSoftware: true, limits: LIMITS, suggested: SUGGESTED },
    });

    // Train with the saved tokenizer: the bundled corpus is tokenized under an id naming it.
    await t.store.getState().train();
    expect(t.store.getState().error).toBeNull();
    const oldId = datasetIdFor(BUNDLED_ID, fingerprint(OLD_TOKENIZER));
    expect(t.starts()[0]!.settings.datasetId).toBe(oldId);
    const oldManifest = (await t.shards.getManifest(oldId))!;
    expect(oldManifest).toMatchObject({ complete: true, tokenizer: { fingerprint: fingerprint(OLD_TOKENIZER) } });
    expect(oldManifest.tokens).toBeGreaterThan(1000);
    const oldBits = await shardBits(t.shards, oldManifest);
    // The run on it is paused at step 4 (the worker's answers, scripted).
    const pausedSettings: RunSettings = { ...t.starts()[0]!.settings };
    const paused = summary(pausedSettings, {
      id: 'old-run',
      name: 'the old run',
      status: 'paused',
      checkpointStep: 4,
      tokenizer: { vocabSize: 1000, fingerprint: fingerprint(OLD_TOKENIZER) },
    });
    t.send({ type: 'run', run: paused });
    expect(t.store.getState().phase).toBe('paused');

    // A new tokenizer in Data, then Train again.
    await t.data.getState().trainTokenizer(300);
    await vi.waitFor(() => expect(t.data.getState().tokenizer.status).toBe('ready'));
    const newTokenizer = t.data.getState().tokenizer.json!;
    expect(fingerprint(newTokenizer)).not.toBe(fingerprint(OLD_TOKENIZER));
    await t.store.getState().train();
    expect(t.store.getState().error).toBeNull();
    const newId = datasetIdFor(BUNDLED_ID, fingerprint(newTokenizer));
    expect(t.starts()).toHaveLength(2);
    expect(t.starts()[1]!.settings.datasetId).toBe(newId);
    expect(t.starts()[1]!.tokenizerJson).toBe(newTokenizer);
    expect(newId).not.toBe(oldId);

    // Nothing was deleted: both copies are listed, the old manifest and its shard bits unchanged.
    expect(t.ingest.posted.some((m) => (m as IngestRequest).type === 'delete')).toBe(false);
    await vi.waitFor(() =>
      expect(
        t.data
          .getState()
          .datasets.map((d) => d.id)
          .sort(),
      ).toEqual([oldId, newId].sort()),
    );
    expect(t.data.getState().datasets.every((d) => isBundledDataset(d.id))).toBe(true);
    expect((await t.shards.listManifests()).map((m) => m.id).sort()).toEqual([oldId, newId].sort());
    expect(await t.shards.getManifest(oldId)).toEqual(oldManifest);
    expect(await shardBits(t.shards, oldManifest)).toEqual(oldBits);
    const newManifest = (await t.shards.getManifest(newId))!;
    expect(newManifest.shards.every((s) => s.key.startsWith(`${newId}/`))).toBe(true);
    expect(newManifest.tokenizer.fingerprint).toBe(fingerprint(newTokenizer));

    // The new run pauses; Resume on the old one asks the worker for it...
    t.send({
      type: 'run',
      run: summary(t.starts()[1]!.settings, { id: 'new-run', status: 'paused', checkpointStep: 1 }),
    });
    await t.store.getState().resume('old-run');
    expect(t.posted().at(-1)).toEqual({ type: 'resume', runId: 'old-run' });
    // ...and the worker's resolution finds its dataset, tokenized with the run's own tokenizer (the check
    // that said "was tokenized with another tokenizer" when the copy was replaced in place).
    const runs = new RunStore(createStore(`versions-runs-${dbCount++}`, 'kv'));
    const record = await runs.create({
      settings: pausedSettings,
      tokenizerJson: OLD_TOKENIZER,
      tokenizer: paused.tokenizer,
      id: 'old-run',
      name: 'the old run',
    });
    const located = await locateDataset(runs, t.shards, record);
    expect(located.summary.settings.datasetId).toBe(oldId);
    const manifest = (await t.shards.getManifest(located.summary.settings.datasetId))!;
    expect(manifest.tokenizer.fingerprint).toBe(fingerprint(record.tokenizerJson));

    // The Data tab has nothing to re-tokenize: the source already has a copy for this tokenizer.
    t.data.getState().retokenize(oldId);
    expect(t.data.getState().error?.message).toContain(
      `already tokenized with the current tokenizer (dataset ${newId})`,
    );
    expect(t.ingest.posted.filter((m) => (m as IngestRequest).type === 'ingest')).toHaveLength(2);
  });

  it('a dataset made before ids named their tokenizer keeps its id; a new ingestion gets "<base>@<8 hex>"', () => {
    const print = fingerprint(OLD_TOKENIZER);
    const legacy = testManifest(BUNDLED_ID, { tokenizer: { vocabSize: 1000, fingerprint: print } });
    expect(ingestId(BUNDLED_ID, print, [legacy])).toBe(BUNDLED_ID); // resuming it
    expect(ingestId(BUNDLED_ID, 'abcdef0123456789', [legacy])).toBe(`${BUNDLED_ID}@abcdef01`); // another tokenizer: beside it
    expect(ingestId('bookcorpus/bookcorpus', print, [])).toBe(`bookcorpus/bookcorpus@${print.slice(0, 8)}`);
    // An id that already names a tokenizer is re-based, never stacked.
    expect(ingestId(`books.txt@${print.slice(0, 8)}`, 'abcdef0123456789', [])).toBe('books.txt@abcdef01');
    expect(datasetBase('books.txt@abcdef01')).toBe('books.txt');
    expect(datasetBase('name@with-at')).toBe('name@with-at');
  });

  it('the list marks the copies: the old one stays (no Re-tokenize once a copy for this tokenizer exists), and says which saved runs use it', () => {
    const newPrint = 'abcdef0123456789';
    const old = testManifest(`${BUNDLED_ID}@11111111`, {
      name: 'Brown',
      tokenizer: { vocabSize: 1000, fingerprint: '1111111111111111' },
    });
    const copy = testManifest(datasetIdFor(BUNDLED_ID, newPrint), {
      name: 'Brown',
      tokens: 4000,
      tokenizer: { vocabSize: 300, fingerprint: newPrint },
    });
    const settings = (datasetId: string) => ({ ...SUGGESTED, datasetId });
    const runs = [
      summary(settings(old.id), { id: 'a', name: 'run A', status: 'paused' }),
      summary(settings(old.id), { id: 'b', name: 'run B', status: 'stopped' }),
      summary(settings(old.id), { id: 'c', name: 'run C', status: 'done' }), // cannot train further: not a user
      summary(settings(copy.id), { id: 'd', name: 'run D', status: 'paused', imported: 'a Hugging Face model' }), // trains elsewhere
    ];
    const usedBy = runsByDataset(runs);
    expect(usedBy).toEqual({ [old.id]: ['run A', 'run B'] });
    expect(usedByText(['x'])).toBe('used by run x');
    expect(usedByText(['x', 'y', 'z', 'w'])).toBe('used by runs x, y and 2 more');
    const html = renderToStaticMarkup(
      createElement(DatasetList, {
        datasets: [old, copy],
        busy: false,
        tokenizerFingerprint: newPrint,
        retokenizing: null,
        usedBy,
        onResume() {},
        onDelete() {},
        onRetokenize() {},
      }),
    );
    const [first, second] = html.split('</li>');
    expect(first).toContain('used by runs run A and run B');
    expect(first).toContain('train on its copy &quot;Brown&quot; (4000 tokens); this one stays');
    expect(first).not.toContain('Re-tokenize');
    expect(second).not.toContain('used by');
    expect(second).not.toContain('another tokenizer');
    // Both are "Brown": each button names its own copy.
    expect(first).toContain('aria-label="Delete Brown (vocabulary 1,000)"');
    expect(second).toContain('aria-label="Delete Brown (vocabulary 300)"');
  });
});
