/** The compare store on a real page: the page's training worker and lab store, picks kept in localStorage. */
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import { appLabStore, labWorker } from './browser-lab';
import { createCompareStore, type CompareState } from './compare-store';

let appStore: StoreApi<CompareState> | null = null;

function storage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    // A page with storage turned off throws on access: nothing is remembered.
    return null;
  }
}

export function appCompareStore(): StoreApi<CompareState> {
  appStore ??= createCompareStore({ worker: labWorker(), lab: appLabStore(), storage: storage() });
  return appStore;
}

/** React hook on the page's compare store. */
export function useCompareStore<T>(selector: (state: CompareState) => T): T {
  return useStore(appCompareStore(), selector);
}
