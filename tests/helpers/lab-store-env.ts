/**
 * The lab store's test bench in Node: a scripted training worker (the test plays the worker's
 * events), the real Data store with a scripted ingestion worker and the real tokenizer trainer
 * behind a fake Worker, and a clock the test moves.
 */
import { fingerprint } from '../../src/data/fingerprint';
import type { IngestJob, IngestRequest, IngestResponse } from '../../src/data/ingest-worker';
import type { DatasetManifest } from '../../src/data/types';
import { createTrainHandler, type TrainRequest, type TrainResponse } from '../../src/data/tokenizer-worker';
import type { LabEvent, LabRequest, RunSettings, RunSummary, StepPoint } from '../../src/train/protocol';
import { createDataStore } from '../../src/ui/data/data-store';
import { BUNDLED_ID } from '../../src/ui/data/source-form';
import { createWorkerClient } from '../../src/ui/data/worker-client';
import { createLabStore } from '../../src/ui/lab/lab-store';
import { FakeWorker } from './fake-worker';
import { testManifest } from './manifest';
import { testSettings } from './settings';

const CORPUS = 'the cat sat on the mat.\nthe dog ate the bone.\n'.repeat(30);

export function manifestFor(tokenizerJson: string, id = BUNDLED_ID, tokens = 5000): DatasetManifest {
  return testManifest(id, { tokens, tokenizer: { vocabSize: 300, fingerprint: fingerprint(tokenizerJson) } });
}

export function setup(
  options: {
    savedTokenizer?: string;
    hasWebGpu?: boolean;
    datasets?: (json: string | undefined) => DatasetManifest[];
    trainingLock?: () => Promise<(() => void) | null>;
  } = {},
) {
  let tokenizerJson = options.savedTokenizer;
  const ingests: IngestJob[] = [];
  const ingest = new FakeWorker((message, reply) => {
    const m = message as IngestRequest;
    if (m.type === 'list')
      queueMicrotask(() =>
        reply({ type: 'datasets', manifests: options.datasets?.(tokenizerJson) ?? [] } satisfies IngestResponse),
      );
    if (m.type === 'delete') queueMicrotask(() => reply({ type: 'datasets', manifests: [] } satisfies IngestResponse));
    if (m.type === 'ingest') {
      ingests.push(m);
      queueMicrotask(() =>
        reply({ type: 'done', manifest: manifestFor(m.tokenizerJson, m.id) } satisfies IngestResponse),
      );
    }
  });
  const data = createDataStore({
    ingestWorker: createWorkerClient<IngestRequest, IngestResponse>(ingest),
    // A fresh worker per training, as on the page.
    createTrainWorker() {
      let handler: ((m: TrainRequest) => Promise<void>) | null = null;
      return createWorkerClient<TrainRequest, TrainResponse>(
        new FakeWorker((m, reply) => {
          handler ??= createTrainHandler(reply);
          void handler(m as TrainRequest);
        }),
      );
    },
    storage: {
      status: async () => ({ supported: true, usage: 0, quota: 1e9, persisted: false }),
      persist: async () => true,
    },
    tokenizerStore: { get: async () => tokenizerJson, set: async (json) => void (tokenizerJson = json) },
    fetchCorpus: async () => CORPUS,
    tokenizerOptions: { vocabSize: 300, minFrequency: 1 },
  });
  const lab = new FakeWorker();
  const downloads: { folder: string; names: string[] }[] = [];
  let clock = 0;
  // One client, as on the page: the speed store and the profile share it with the lab store.
  const worker = createWorkerClient<LabRequest, LabEvent>(lab);
  const store = createLabStore({
    worker,
    data,
    bundledUrl: () => 'http://localhost/corpus/brown-fiction.txt',
    download: (folder, files) => downloads.push({ folder, names: files.map((f) => f.name) }),
    hasWebGpu: () => options.hasWebGpu ?? true,
    trainingLock: options.trainingLock,
    now: () => clock,
  });
  const send = (event: LabEvent) => lab.reply(event);
  const posted = () => lab.posted as LabRequest[];
  return {
    store,
    data,
    lab,
    worker,
    send,
    posted,
    ingests,
    downloads,
    tick: (ms: number) => (clock += ms),
    tokenizer: () => tokenizerJson,
  };
}

const { datasetId: _unused, ...suggested } = testSettings(
  { vocabSize: 2048, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32 },
  { evalBatches: 2 },
);
export const SUGGESTED: Omit<RunSettings, 'datasetId'> = suggested;

export const LIMITS = {
  maxBufferSize: 2 ** 28,
  maxStorageBufferBindingSize: 2 ** 27,
  maxComputeWorkgroupStorageSize: 16384,
};

export function summary(settings: RunSettings, patch: Partial<RunSummary> = {}): RunSummary {
  return {
    id: 'run-1',
    name: '2L 32w',
    createdAt: 'x',
    updatedAt: 'x',
    settings,
    status: 'running',
    checkpointStep: 0,
    tokens: 0,
    tokenizer: { vocabSize: 300, fingerprint: 'f' },
    ...patch,
  };
}

export function point(step: number, loss: number): StepPoint {
  return {
    step,
    loss,
    lr: 1e-3,
    gradNorm: 1,
    tokens: step * 64,
    elapsedSeconds: step * 0.5,
    tokensPerSecond: 128,
    tflops: 1e-6,
  };
}

export async function started(env: ReturnType<typeof setup>) {
  env.store.getState().init();
  env.send({
    type: 'device',
    report: { ok: true, adapter: 'fake', isSoftware: true, limits: LIMITS, suggested: SUGGESTED },
  });
  await env.store.getState().train();
  const start = env.posted().find((m) => m.type === 'start');
  if (!start || start.type !== 'start')
    throw new Error(`no start posted; error: ${env.store.getState().error?.message}`);
  return start;
}
