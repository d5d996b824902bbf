/**
 * The Data store's browser deps in memory, for tests that need the real tokenizer trainer: a fresh
 * fake worker running the real training handler per training (as the page makes one), storage that
 * always has room, tokenizer.json kept in a variable, and `corpus` as the bundled text.
 */
import type { IngestRequest, IngestResponse } from '../../src/data/ingest-worker';
import { createTrainHandler, type TrainRequest, type TrainResponse } from '../../src/data/tokenizer-worker';
import type { DataStoreDeps } from '../../src/ui/data/data-store';
import { createWorkerClient, type WorkerClient } from '../../src/ui/data/worker-client';
import { FakeWorker } from './fake-worker';

/** A tokenizer-training worker: the real handler behind a FakeWorker. */
export function trainingWorker(): WorkerClient<TrainRequest, TrainResponse> {
  let handler: ((m: TrainRequest) => Promise<void>) | null = null;
  return createWorkerClient<TrainRequest, TrainResponse>(
    new FakeWorker((m, reply) => {
      handler ??= createTrainHandler(reply);
      void handler(m as TrainRequest);
    }),
  );
}

export function memoryDataDeps(
  ingestWorker: WorkerClient<IngestRequest, IngestResponse>,
  corpus: string,
  savedTokenizer?: string,
): DataStoreDeps {
  let tokenizerJson = savedTokenizer;
  return {
    ingestWorker,
    createTrainWorker: trainingWorker,
    storage: {
      status: async () => ({ supported: true, usage: 0, quota: 1e9, persisted: false }),
      persist: async () => true,
    },
    tokenizerStore: { get: async () => tokenizerJson, set: async (json) => void (tokenizerJson = json) },
    fetchCorpus: async () => corpus,
    tokenizerOptions: { vocabSize: 300, minFrequency: 1 },
  };
}
