/**
 * The Plan tab's stores on a real page: the speed probe in the lab's worker (the probe frees its
 * model when done), and the sweep saved in IndexedDB under its own database.
 */
import { createStore as createIdbStore, del, get, set } from 'idb-keyval';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import type { LabEvent, LabRequest } from '../../train/protocol';
import { appLabStore, labWorker } from '../lab/browser-lab';
import { isBusy } from '../lab/lab-store';
import type { SweepState } from './sweep-plan';
import { type SpeedState, createSpeedStore } from './speed-store';
import { type SweepStoreState, createSweepStore } from './sweep-store';

/** Runs the probe in the lab's own worker: its device and compiled kernels are already there. */
function probeInWorker(request: Extract<LabRequest, { type: 'speed-probe' }>): Promise<{ tokensPerSecond: number; flopsPerSecond: number }> {
  const worker = labWorker();
  return new Promise((resolve, reject) => {
    const stop = worker.subscribe((message: LabEvent) => {
      if (message.type === 'speed') {
        stop();
        resolve({ tokensPerSecond: message.tokensPerSecond, flopsPerSecond: message.flopsPerSecond });
      } else if (message.type === 'error' && message.requestId === undefined && message.runId === undefined) {
        stop();
        reject(new Error(message.message));
      }
    });
    worker.post(request);
  });
}

let speed: StoreApi<SpeedState> | null = null;

export function appSpeedStore(): StoreApi<SpeedState> {
  if (speed) return speed;
  speed = createSpeedStore({
    probe: (request) => probeInWorker({ type: 'speed-probe', ...request }),
    busy: () => (isBusy(appLabStore().getState().phase) ? 'A run is training: measure the speed when it has ended (pause or stop it first).' : null),
  });
  // The Train form's time estimate uses the latest measurement.
  speed.subscribe((s, previous) => {
    if (s.result && s.result !== previous.result) appLabStore().getState().setMeasuredSpeed(s.result);
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
