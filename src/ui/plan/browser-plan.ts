/**
 * The Plan tab's stores on a real page: the speed probe in the lab's worker (the probe frees its
 * model when done), and the sweep saved in IndexedDB under its own database.
 */
import { createStore as createIdbStore, del, get, set } from 'idb-keyval';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import { appLabStore, labWorker } from '../lab/browser-lab';
import { isBusy } from '../lab/lab-store';
import type { SweepState } from './sweep-plan';
import { type SpeedState, createSpeedStore, workerProbe } from './speed-store';
import { type SweepStoreState, createSweepStore } from './sweep-store';

let speed: StoreApi<SpeedState> | null = null;

export function appSpeedStore(): StoreApi<SpeedState> {
  if (speed) return speed;
  speed = createSpeedStore({
    // In the lab's own worker: its device and compiled kernels are already there.
    probe: workerProbe(labWorker()),
    busy: () =>
      isBusy(appLabStore().getState().phase)
        ? 'A run is training: measure the speed when it has ended (pause or stop it first).'
        : null,
    // The Train form's time estimate uses the latest measurement.
    measured: (result) => appLabStore().getState().setMeasuredSpeed(result),
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
