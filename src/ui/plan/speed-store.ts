/**
 * This device's measured training speed for the planner: a short probe (a few steps of a reference
 * model in the worker) when the Plan tab first opens, and again on request. Refused while a run
 * trains, since the run would slow the probe and the probe the run.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { GPTConfig } from '../../model/config';

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
  probe(request: { model: GPTConfig; batchSize: number; steps: number }): Promise<{ tokensPerSecond: number; flopsPerSecond: number }>;
  /** Why the probe cannot run now (a run is training), or null. */
  busy(): string | null;
  now?(): number;
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
        set({ status: 'done', result: { model, batchSize, ...speed, seconds: (now() - started) / 1000 } });
      } catch (error) {
        set({ status: 'error', error: error instanceof Error ? error.message : String(error) });
      }
    },
  }));
}
