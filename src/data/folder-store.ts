/**
 * ShardStore on a folder, for the CLI and headless training in Node: one dataset per folder,
 * `manifest.json` plus `shard-00000.bin` files of raw little-endian tokens. The manifest is written
 * to a temporary file and renamed, so a crash leaves the previous manifest whole.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError, writing, type DatasetManifest, type ShardStore, type TokenArray, type TokenDtype } from './types';

export class FolderShardStore implements ShardStore {
  constructor(readonly dir: string) {}

  private shardPath(key: string): string {
    // Keys are `<id>/shard-NNNNN`; the folder already is the dataset.
    return join(this.dir, `${key.slice(key.lastIndexOf('/') + 1)}.bin`);
  }

  async getManifest(id: string): Promise<DatasetManifest | undefined> {
    const manifest = await this.readManifest();
    return manifest?.id === id ? manifest : undefined;
  }

  private async readManifest(): Promise<DatasetManifest | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.dir, 'manifest.json'), 'utf8');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      return JSON.parse(text) as DatasetManifest;
    } catch (error) {
      throw new DataError('format', `${join(this.dir, 'manifest.json')} is not valid JSON: delete the folder and prepare the data again`, { cause: error });
    }
  }

  async putManifest(manifest: DatasetManifest): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, 'manifest.json');
    await writing(path, async () => {
      await writeFile(`${path}.tmp`, JSON.stringify(manifest, null, 1));
      await rename(`${path}.tmp`, path);
    });
  }

  async listManifests(): Promise<DatasetManifest[]> {
    const manifest = await this.readManifest();
    return manifest ? [manifest] : [];
  }

  async putShard(key: string, tokens: TokenArray): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const path = this.shardPath(key);
    await writing(path, () => writeFile(path, new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength)));
  }

  async getShard(key: string, dtype: TokenDtype): Promise<TokenArray> {
    const bytes = await readFile(this.shardPath(key));
    const width = dtype === 'uint16' ? 2 : 4;
    if (bytes.byteLength % width !== 0) throw new DataError('format', `${this.shardPath(key)} has ${bytes.byteLength} bytes, not a whole number of ${dtype} tokens`);
    const copy = new Uint8Array(bytes).buffer; // aligned, owned copy (Buffer may share a pool)
    return dtype === 'uint16' ? new Uint16Array(copy) : new Uint32Array(copy);
  }

  async deleteShard(key: string): Promise<void> {
    await rm(this.shardPath(key), { force: true });
  }

  async deleteDataset(id: string): Promise<void> {
    if (!(await this.getManifest(id))) return;
    await rm(join(this.dir, 'manifest.json'), { force: true });
    for (const name of await readdir(this.dir)) if (/^shard-\d+\.bin$/.test(name)) await rm(join(this.dir, name), { force: true });
  }
}
