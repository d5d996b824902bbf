/**
 * The lab's own training worker (src/train/lab-worker.ts) in a real Web Worker, on WebGPU and the
 * real IndexedDB, with the ingestion worker beside it; the Node side of the browser tests sends it
 * the lab's messages through window.gardenLab and reads back every event.
 */
import type { IngestJob, IngestResponse } from '../../src/data/ingest-worker';
import type { LabEvent, LabRequest } from '../../src/train/protocol';

const lab = new Worker(new URL('../../src/train/lab-worker.ts', import.meta.url), { type: 'module' });
const ingestWorker = new Worker(new URL('../../src/data/ingest-worker.ts', import.meta.url), { type: 'module' });
const events: LabEvent[] = [];
let waiter: { done: (event: LabEvent) => boolean; resolve: () => void } | null = null;
/** Pause the run once it reports this step (a deterministic place to stop, unlike a timer). */
let pauseAtStep: number | null = null;

lab.onmessage = (message: MessageEvent<LabEvent>) => {
  const event = message.data;
  events.push(event);
  if (pauseAtStep !== null && event.type === 'step' && event.point.step >= pauseAtStep) {
    pauseAtStep = null;
    lab.postMessage({ type: 'pause' } satisfies LabRequest);
  }
  if (waiter?.done(event)) {
    waiter.resolve();
    waiter = null;
  }
};

/** The events until the answer: a run that stopped training, an export, or an error. */
function ended(event: LabEvent, expect: 'run-ended' | 'export' | 'run'): boolean {
  if (event.type === 'error' && event.requestId === undefined) return true;
  if (expect === 'export') return event.type === 'export';
  if (event.type !== 'run') return false;
  return expect === 'run' || event.run.status !== 'running';
}

async function send(
  request: LabRequest,
  expect: 'run-ended' | 'export' | 'run',
  options: { pauseAtStep?: number } = {},
): Promise<LabEvent[]> {
  const from = events.length;
  pauseAtStep = options.pauseAtStep ?? null;
  await new Promise<void>((resolve) => {
    waiter = { done: (event) => ended(event, expect), resolve };
    lab.postMessage(request);
  });
  return events.slice(from);
}

function ingest(job: IngestJob): Promise<IngestResponse> {
  return new Promise((resolve) => {
    ingestWorker.onmessage = (message: MessageEvent<IngestResponse>) => {
      if (message.data.type !== 'progress') resolve(message.data);
    };
    ingestWorker.postMessage(job);
  });
}

declare global {
  interface Window {
    gardenLab: { send: typeof send; ingest: typeof ingest; bundledUrl: string };
  }
}
window.gardenLab = { send, ingest, bundledUrl: new URL('/corpus/brown-fiction.txt', location.href).href };
document.getElementById('result')!.textContent = 'ready';
document.getElementById('result')!.dataset.status = 'ready';
