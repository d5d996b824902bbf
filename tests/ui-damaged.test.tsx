/**
 * Damaged records on the page's side: the lab and Data stores keep the workers' damaged entries
 * beside the healthy ones, the lists render "damaged: <key> — what is wrong" with Delete, and the
 * per-panel ErrorBoundary turns a render error into "This panel failed" with Retry.
 */
import type { ReactElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { IngestRequest, IngestResponse } from '../src/data/ingest-worker';
import type { DamagedRecord } from '../src/data/records';
import type { TrainRequest, TrainResponse } from '../src/data/tokenizer-worker';
import { createDataStore } from '../src/ui/data/data-store';
import { DatasetList } from '../src/ui/data/DatasetList';
import { createWorkerClient } from '../src/ui/data/worker-client';
import { DamagedList } from '../src/ui/DamagedList';
import { ErrorBoundary } from '../src/ui/ErrorBoundary';
import { rawJson } from '../src/ui/raw-record';
import { FakeWorker } from './helpers/fake-worker';
import { setup, summary, SUGGESTED } from './helpers/lab-store-env';
import { testManifest } from './helpers/manifest';

const RUN: DamagedRecord = { key: 'run:broken', id: 'broken', problem: 'summary.settings is missing' };
const MANIFEST: DamagedRecord = { key: 'manifest:old', id: 'old', problem: 'shards is null, expected an array' };

describe('damaged records in the stores', () => {
  it('the lab store keeps damaged runs beside the healthy and deletes one by its id', () => {
    const env = setup();
    env.store.getState().init();
    const healthy = summary({ ...SUGGESTED, datasetId: 'd' }, { id: 'a', status: 'paused', checkpointStep: 4 });
    env.send({ type: 'runs', runs: [healthy], damaged: [RUN] });
    expect(env.store.getState().runs.map((r) => r.id)).toEqual(['a']);
    expect(env.store.getState().damagedRuns).toEqual([RUN]);
    env.store.getState().deleteRun('broken');
    expect(env.posted().at(-1)).toEqual({ type: 'delete-run', runId: 'broken', requestId: expect.any(Number) });
    env.send({ type: 'runs', runs: [healthy] });
    expect(env.store.getState().damagedRuns).toEqual([]);
  });

  it('the Data store keeps damaged manifests from the ingest worker', async () => {
    const ingest = new FakeWorker<IngestResponse>();
    const store = createDataStore({
      ingestWorker: createWorkerClient<IngestRequest, IngestResponse>(ingest),
      createTrainWorker: () => createWorkerClient<TrainRequest, TrainResponse>(new FakeWorker<TrainResponse>()),
      storage: {
        status: async () => ({ supported: false, usage: 0, quota: 0, persisted: false }),
        persist: async () => false,
      },
      tokenizerStore: { get: async () => undefined, set: async () => undefined },
      fetchCorpus: async () => '',
    });
    await store.getState().init();
    ingest.reply({ type: 'datasets', manifests: [testManifest('good')], damaged: [MANIFEST] });
    expect(store.getState().datasets.map((d) => d.id)).toEqual(['good']);
    expect(store.getState().damagedDatasets).toEqual([MANIFEST]);
    store.getState().remove('old');
    expect(ingest.posted.at(-1)).toEqual({ type: 'delete', id: 'old' });
  });
});

describe('damaged records in the lists', () => {
  it('DamagedList names the key and the problem, with a Delete per entry', () => {
    const html = renderToStaticMarkup(
      <DamagedList
        items={[RUN, MANIFEST]}
        label="Damaged runs"
        database="gpt-garden-runs"
        onDelete={() => undefined}
      />,
    );
    expect(html).toContain('damaged: run:broken — summary.settings is missing');
    expect(html).toContain('damaged: manifest:old — shards is null, expected an array');
    expect(html).toContain('aria-label="Delete the damaged run:broken"');
    expect(html).toContain('aria-label="Delete the damaged manifest:old"');
    expect(html).toContain('aria-label="Download the damaged run:broken as JSON"');
    expect(
      renderToStaticMarkup(<DamagedList items={[]} label="x" database="gpt-garden-data" onDelete={() => undefined} />),
    ).toBe('');
  });

  it('DatasetList shows damaged manifests with the healthy, and when no healthy one is left', () => {
    const props = {
      busy: false,
      tokenizerFingerprint: null,
      retokenizing: null,
      onResume: () => undefined,
      onDelete: () => undefined,
      onRetokenize: () => undefined,
    };
    const both = renderToStaticMarkup(
      <DatasetList {...props} datasets={[testManifest('good')]} damaged={[MANIFEST]} />,
    );
    expect(both).toContain('good name');
    expect(both).toContain('damaged: manifest:old');
    const onlyDamaged = renderToStaticMarkup(<DatasetList {...props} datasets={[]} damaged={[MANIFEST]} />);
    expect(onlyDamaged).toContain('No datasets yet');
    expect(onlyDamaged).toContain('damaged: manifest:old');
  });
});

describe('Download raw', () => {
  it('writes any stored value as JSON: strings, typed arrays by type and size, NaN by name', () => {
    expect(rawJson('not a record')).toBe('"not a record"');
    expect(rawJson(undefined)).toBe('null');
    expect(JSON.parse(rawJson({ step: NaN, params: new Uint8Array(12), shards: null }))).toEqual({
      step: 'NaN',
      params: { typedArray: 'Uint8Array', byteLength: 12 },
      shards: null,
    });
  });
});

describe('ErrorBoundary', () => {
  it('renders its panel, then the failure line and Retry once a render threw', () => {
    expect(
      renderToStaticMarkup(
        <ErrorBoundary name="Data">
          <p>fine</p>
        </ErrorBoundary>,
      ),
    ).toContain('<p>fine</p>');
    const boundary = new ErrorBoundary({ name: 'Data', children: <p>fine</p> });
    boundary.state = {
      ...boundary.state,
      ...ErrorBoundary.getDerivedStateFromError(
        new TypeError("Cannot read properties of undefined (reading 'length')"),
      ),
    };
    const html = renderToStaticMarkup(boundary.render() as ReactElement);
    expect(html).toContain('This panel failed: Cannot read properties of undefined (reading &#x27;length&#x27;)');
    expect(html).toContain('>Retry</button>');
    expect(html).not.toContain('<p>fine</p>');
    expect(ErrorBoundary.getDerivedStateFromError('a thrown string').error?.message).toBe('a thrown string');
  });
});
