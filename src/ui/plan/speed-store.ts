/**
 * This device's measured training speed for the planner: a short probe (a few steps of a reference
 * model in the worker) when the Plan tab first opens, and again on request. Refused while a run
 * trains, since the run would slow the probe and the probe the run.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { GPTConfig } from '../../model/config';
import { nextRequestId, type LabEvent, type LabRequest } from '../../train/protocol';
import type { WorkerClient } from '../data/worker-client';
import { messageOf } from '../../util/errors';

export interface SpeedMeasurement {
  model: GPTConfig;
  batchSize: number;
  tokensPerSecond: number;
  flopsPerSecond: number;
  seconds: number;
}

export interface SpeedState {
  status: 'idle' | 'measuring' | 'done' | 'error';
  result: SpeedMeasurement | null;
  error: string | null;
  /** Measures `model` at `batchSize` unless a measurement is running. */
  measure(model: GPTConfig, batchSize: number): Promise<void>;
}

export interface SpeedDeps {
  /** Runs the probe (in a worker) and resolves with its tokens/s and FLOP/s. */
  probe(request: {
    model: GPTConfig;
    batchSize: number;
    steps: number;
  }): Promise<{ tokensPerSecond: number; flopsPerSecond: number }>;
  /** Why the probe cannot run now (a run is training), or null. */
  busy(): string | null;
  /** Told each new measurement (the page hands it to the lab's time estimate: no store watches another). */
  measured?: (result: SpeedMeasurement) => void;
  now?: () => number;
  steps?: number;
}

export function createSpeedStore(deps: SpeedDeps): StoreApi<SpeedState> {
  const now = deps.now ?? (() => performance.now());
  return createStore<SpeedState>()((set, get) => ({
    status: 'idle',
    result: null,
    error: null,
    async measure(model, batchSize) {
      if (get().status === 'measuring') return;
      const busy = deps.busy();
      if (busy) {
        set({ status: 'error', error: busy });
        return;
      }
      set({ status: 'measuring', error: null });
      const started = now();
      try {
        const speed = await deps.probe({ model, batchSize, steps: deps.steps ?? 2 });
        const result = { model, batchSize, ...speed, seconds: (now() - started) / 1000 };
        set({ status: 'done', result });
        deps.measured?.(result);
      } catch (error) {
        set({ status: 'error', error: messageOf(error) });
      }
    },
  }));
}

/**
 * The probe through the lab's worker. Its replies are matched by request id only: an error from
 * another request (an import, a run list) never ends the measurement, and its own never reaches them.
 */
export function workerProbe(worker: WorkerClient<LabRequest, LabEvent>): SpeedDeps['probe'] {
  return (request) =>
    new Promise((resolve, reject) => {
      const requestId = nextRequestId();
      const stop = worker.subscribe((message) => {
        if (message.type === 'speed' && message.requestId === requestId) {
          stop();
          resolve({ tokensPerSecond: message.tokensPerSecond, flopsPerSecond: message.flopsPerSecond });
        } else if (message.type === 'error' && message.requestId === requestId) {
          stop();
          reject(new Error(message.message));
        }
      });
      worker.post({ type: 'speed-probe', ...request, requestId });
    });
}
