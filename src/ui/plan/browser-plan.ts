/**
 * The Plan tab's stores on a real page: the speed probe in a short-lived lab worker of its own
 * (the lab store keeps its worker's events to itself; this one is terminated after answering, so
 * its GPU memory goes with it), and the sweep saved in IndexedDB under its own database.
 */
import { createStore as createIdbStore, del, get, set } from 'idb-keyval';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import type { LabEvent, LabRequest } from '../../train/protocol';
import { appLabStore } from '../lab/browser-lab';
import { isBusy } from '../lab/lab-store';
import type { SweepState } from './sweep-plan';
import { type SpeedState, createSpeedStore } from './speed-store';
import { type SweepStoreState, createSweepStore } from './sweep-store';

function probeInWorker(request: Extract<LabRequest, { type: 'speed-probe' }>): Promise<{ tokensPerSecond: number; flopsPerSecond: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('../../train/lab-worker.ts', import.meta.url), { type: 'module' });
    const finish = () => worker.terminate();
    worker.onmessage = (event: MessageEvent<LabEvent>) => {
      const message = event.data;
      if (message.type === 'speed') {
        finish();
        resolve({ tokensPerSecond: message.tokensPerSecond, flopsPerSecond: message.flopsPerSecond });
      } else if (message.type === 'error') {
        finish();
        reject(new Error(message.message));
      }
    };
    worker.onerror = (event) => {
      finish();
      reject(new Error(`the speed probe's worker stopped (${event.message || 'it failed to load'})`));
    };
    worker.postMessage(request);
  });
}

let speed: StoreApi<SpeedState> | null = null;

export function appSpeedStore(): StoreApi<SpeedState> {
  speed ??= createSpeedStore({
    probe: (request) => probeInWorker({ type: 'speed-probe', ...request }),
    busy: () => (isBusy(appLabStore().getState().phase) ? 'A run is training: measure the speed when it has ended (pause or stop it first).' : null),
  });
  return speed;
}

const SWEEP_KEY = 'current';

let sweep: StoreApi<SweepStoreState> | null = null;

export function appSweepStore(): StoreApi<SweepStoreState> {
  if (sweep) return sweep;
  // Its own database: the lab's run store and the data store never see it.
  const db = createIdbStore('gpt-garden-sweep', 'kv');
  sweep = createSweepStore({
    lab: appLabStore(),
    storage: {
      load: () => get<SweepState>(SWEEP_KEY, db),
      save: (state) => (state ? set(SWEEP_KEY, state, db) : del(SWEEP_KEY, db)),
    },
  });
  return sweep;
}

export function useSpeedStore<T>(selector: (state: SpeedState) => T): T {
  return useStore(appSpeedStore(), selector);
}

export function useSweepStore<T>(selector: (state: SweepStoreState) => T): T {
  return useStore(appSweepStore(), selector);
}
