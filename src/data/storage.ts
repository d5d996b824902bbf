/**
 * The browser's storage budget for this site: how much is used, how much is allowed, and whether
 * the data is protected from eviction. Chromium grants a site up to ~60% of the disk; without
 * persistence it may evict IndexedDB under storage pressure.
 */
export interface StorageStatus {
  supported: boolean;
  usage: number;
  quota: number;
  persisted: boolean;
}

type StorageApi = Pick<StorageManager, 'estimate'> & Partial<Pick<StorageManager, 'persist' | 'persisted'>>;

function storageApi(): StorageApi | undefined {
  return (globalThis.navigator as Navigator | undefined)?.storage;
}

export async function storageStatus(api: StorageApi | undefined = storageApi()): Promise<StorageStatus> {
  if (!api?.estimate) return { supported: false, usage: 0, quota: 0, persisted: false };
  const { usage = 0, quota = 0 } = await api.estimate();
  const persisted = (await api.persisted?.()) ?? false;
  return { supported: true, usage, quota, persisted };
}

/** Asks the browser to keep this site's data under storage pressure (a page API, not in workers). */
export async function requestPersistence(api: StorageApi | undefined = storageApi()): Promise<boolean> {
  return (await api?.persist?.()) ?? false;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}
