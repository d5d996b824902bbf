/**
 * ShardStore on IndexedDB (idb-keyval): manifests under `manifest:<id>`, shards under
 * `shard:<key>`, stored as typed arrays (structured clone keeps their type). Works on a page, in a
 * Web Worker, and in Node tests with fake-indexeddb.
 */
import { createStore, del, delMany, get, keys, set, type UseStore } from 'idb-keyval';
import { DataError, writing, type DatasetManifest, type ShardStore, type TokenArray, type TokenDtype } from './types';

const MANIFEST = 'manifest:';
const SHARD = 'shard:';

export class IdbShardStore implements ShardStore {
  constructor(private readonly db: UseStore = createStore('gpt-garden-data', 'kv')) {}

  async getManifest(id: string): Promise<DatasetManifest | undefined> {
    return get<DatasetManifest>(MANIFEST + id, this.db);
  }

  async putManifest(manifest: DatasetManifest): Promise<void> {
    await writing(`the manifest of ${manifest.id}`, () => set(MANIFEST + manifest.id, manifest, this.db));
  }

  async listManifests(): Promise<DatasetManifest[]> {
    const ids = (await keys(this.db)).filter((k): k is string => typeof k === 'string' && k.startsWith(MANIFEST));
    const manifests = await Promise.all(ids.map((k) => get<DatasetManifest>(k, this.db)));
    return manifests.filter((m): m is DatasetManifest => m !== undefined);
  }

  async putShard(key: string, tokens: TokenArray): Promise<void> {
    await writing(`shard ${key}`, () => set(SHARD + key, tokens, this.db));
  }

  async getShard(key: string, dtype: TokenDtype): Promise<TokenArray> {
    const tokens = await get<TokenArray>(SHARD + key, this.db);
    if (!tokens) throw new DataError('format', `shard ${key} is missing from IndexedDB (the browser may have evicted it): delete this dataset and prepare it again`);
    const expected = dtype === 'uint16' ? Uint16Array : Uint32Array;
    if (!(tokens instanceof expected)) throw new DataError('format', `shard ${key} holds ${tokens?.constructor?.name}, expected ${expected.name}`);
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
