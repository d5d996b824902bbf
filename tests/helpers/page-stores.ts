/**
 * For jsdom tests of the page's components: the page's stores swapped for the lab's test stores
 * (lab-store-env.ts, scripted workers), and the browser APIs jsdom lacks. In a test:
 *
 *   vi.mock('../src/ui/lab/browser-lab', async (original) =>
 *     (await import('./helpers/page-stores')).withTestLabStore(await original<object>()));
 *   vi.mock('../src/ui/data/data-store', async (original) =>
 *     (await import('./helpers/page-stores')).withTestDataStore(await original<object>()));
 *   pageStores.env = setup();
 *
 * Only types come from lab-store-env.ts: it imports the data store, which these mocks replace.
 */
import { useStore } from 'zustand';
import type { setup } from './lab-store-env';

/** The test stores the page's components see (set by the test before they render). */
export const pageStores = { env: null as unknown as ReturnType<typeof setup> };

type LabView = ReturnType<ReturnType<typeof setup>['store']['getState']>;
type DataView = ReturnType<ReturnType<typeof setup>['data']['getState']>;

/** browser-lab.ts with its store and worker the test's. */
export function withTestLabStore(original: object) {
  return {
    ...original,
    appLabStore: () => pageStores.env.store,
    useLabStore: <T>(selector: (s: LabView) => T) => useStore(pageStores.env.store, selector),
    labWorker: () => pageStores.env.worker,
  };
}

/** data-store.ts with its store the test's. */
export function withTestDataStore(original: object) {
  return {
    ...original,
    appDataStore: () => pageStores.env.data,
    useDataStore: <T>(selector: (s: DataView) => T) => useStore(pageStores.env.data, selector),
  };
}

/** React's act() warnings on, and a ResizeObserver that does nothing (recharts sizes its charts with one; jsdom lacks it). */
export function jsdomPage(): void {
  (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
  globalThis.ResizeObserver ??= class {
    observe() {}
    unobserve() {}
    disconnect() {}
  } as unknown as typeof ResizeObserver;
}
