/**
 * ShardStore on IndexedDB (idb-keyval): manifests under `manifest:<id>`, shards under
 * `shard:<key>`, stored as typed arrays (structured clone keeps their type). Works on a page, in a
 * Web Worker, and in Node tests with fake-indexeddb.
 */
import { createStore, del, delMany, get, keys, set, type UseStore } from 'idb-keyval';
import { checkManifest, damagedError, damagedRecord, type DamagedRecord } from './records';
import { DataError, writing, type DatasetManifest, type ShardStore, type TokenArray, type TokenDtype } from './types';

const MANIFEST = 'manifest:';
const SHARD = 'shard:';

export class IdbShardStore implements ShardStore {
  constructor(private readonly db: UseStore = createStore('gpt-garden-data', 'kv')) {}

  /** The manifest, checked: a damaged one throws a DataError naming its key and what is wrong. */
  async getManifest(id: string): Promise<DatasetManifest | undefined> {
    const value = await get<unknown>(MANIFEST + id, this.db);
    if (value === undefined) return undefined;
    const checked = checkManifest(value);
    if (!checked.ok) throw damagedError(`the manifest of dataset "${id}"`, MANIFEST + id, checked.problems);
    return checked.value;
  }

  async putManifest(manifest: DatasetManifest): Promise<void> {
    await writing(`the manifest of ${manifest.id}`, () => set(MANIFEST + manifest.id, manifest, this.db));
  }

  /** The healthy manifests (a damaged one is skipped here and listed by listAll). */
  async listManifests(): Promise<DatasetManifest[]> {
    return (await this.listAll()).manifests;
  }

  /** Healthy manifests and the damaged records beside them (one never hides the others). */
  async listAll(): Promise<{ manifests: DatasetManifest[]; damaged: DamagedRecord[] }> {
    const ids = (await keys(this.db)).filter((k): k is string => typeof k === 'string' && k.startsWith(MANIFEST));
    const manifests: DatasetManifest[] = [];
    const damaged: DamagedRecord[] = [];
    for (const key of ids) {
      const value = await get<unknown>(key, this.db);
      if (value === undefined) continue;
      const checked = checkManifest(value);
      if (checked.ok) manifests.push(checked.value);
      else damaged.push(damagedRecord(key, MANIFEST, checked.problems));
    }
    return { manifests, damaged };
  }

  async putShard(key: string, tokens: TokenArray): Promise<void> {
    await writing(`shard ${key}`, () => set(SHARD + key, tokens, this.db));
  }

  async getShard(key: string, dtype: TokenDtype): Promise<TokenArray> {
    const tokens = await get<unknown>(SHARD + key, this.db);
    if (tokens === undefined)
      throw new DataError(
        'format',
        `shard ${key} is missing from IndexedDB (the browser may have evicted it): delete this dataset and prepare it again`,
      );
    const expected = dtype === 'uint16' ? Uint16Array : Uint32Array;
    // A damaged shard (a string, null, another array type) is named, never read as tokens.
    if (!(tokens instanceof expected)) {
      const held =
        tokens === null
          ? 'null'
          : typeof tokens === 'object'
            ? (tokens.constructor?.name ?? 'an object')
            : `a ${typeof tokens}`;
      throw new DataError(
        'format',
        `shard ${key} is damaged: it holds ${held}, expected ${expected.name}; delete this dataset and prepare it again`,
      );
    }
    return tokens;
  }

  async deleteShard(key: string): Promise<void> {
    await del(SHARD + key, this.db);
  }

  async deleteDataset(id: string): Promise<void> {
    const prefix = `${SHARD}${id}/`;
    const shardKeys = (await keys(this.db)).filter((k) => typeof k === 'string' && k.startsWith(prefix));
    // Manifest first: a crash halfway leaves orphan shards, never a manifest naming missing shards.
    await del(MANIFEST + id, this.db);
    await delMany(shardKeys, this.db);
  }
}
