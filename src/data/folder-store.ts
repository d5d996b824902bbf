/**
 * ShardStore on a folder, for the CLI and headless training in Node: one dataset per folder,
 * `manifest.json` plus `shard-00000.bin` files of raw little-endian tokens. The manifest is written
 * to a temporary file and renamed, so a crash leaves the previous manifest whole. A manifest read
 * from disk goes through the same checker as IndexedDB's, and every shard it lists must be on disk
 * with exactly its tokens: a damaged folder is named before any training starts.
 */
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkManifest, problemText } from './records';
import { DataError, writing, type DatasetManifest, type ShardStore, type TokenArray, type TokenDtype } from './types';

const AGAIN = 'delete the folder and prepare the data again';
const width = (dtype: TokenDtype): number => (dtype === 'uint16' ? 2 : 4);
const isMissing = (error: unknown): boolean => (error as { code?: string }).code === 'ENOENT';

export class FolderShardStore implements ShardStore {
  /** Shard key -> tokens, from the manifest last read or written: what getShard must find. */
  private listed = new Map<string, number>();

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
    const path = join(this.dir, 'manifest.json');
    const json = await this.readJson(path);
    if (json === undefined) return undefined;
    const checked = checkManifest(json);
    if (!checked.ok) throw new DataError('format', `${path} is damaged (${problemText(checked.problems)}): ${AGAIN}`);
    await this.checkShardFiles(checked.value);
    this.remember(checked.value);
    return checked.value;
  }

  private async readJson(path: string): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new DataError('format', `${path} is not valid JSON: ${AGAIN}`, { cause: error });
    }
  }

  /** Sizes only (a stat per shard): a file cut short, grown or gone is named here, not mid-training. */
  private async checkShardFiles(manifest: DatasetManifest): Promise<void> {
    const bytesPer = width(manifest.dtype);
    for (const shard of manifest.shards) {
      const path = this.shardPath(shard.key);
      let size: number;
      try {
        size = (await stat(path)).size;
      } catch (error) {
        if (isMissing(error))
          throw new DataError(
            'format',
            `${path} is missing, but manifest.json lists it with ${shard.tokens} tokens: ${AGAIN}`,
            { cause: error },
          );
        throw error;
      }
      const expected = shard.tokens * bytesPer;
      if (size !== expected) {
        const how = size < expected ? 'is cut short' : 'is damaged';
        throw new DataError(
          'format',
          `${path} ${how}: it holds ${size} bytes, but manifest.json lists ${shard.tokens} ${manifest.dtype} tokens (${expected} bytes): ${AGAIN}`,
        );
      }
    }
  }

  private remember(manifest: DatasetManifest): void {
    this.listed = new Map(manifest.shards.map((s) => [s.key, s.tokens]));
  }

  async putManifest(manifest: DatasetManifest): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, 'manifest.json');
    await writing(path, async () => {
      await writeFile(`${path}.tmp`, JSON.stringify(manifest, null, 1));
      await rename(`${path}.tmp`, path);
    });
    this.remember(manifest);
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
    const path = this.shardPath(key);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (error) {
      if (isMissing(error)) throw new DataError('format', `${path} is missing: ${AGAIN}`, { cause: error });
      throw error;
    }
    if (bytes.byteLength % width(dtype) !== 0)
      throw new DataError(
        'format',
        `${path} has ${bytes.byteLength} bytes, not a whole number of ${dtype} tokens: ${AGAIN}`,
      );
    const tokens = bytes.byteLength / width(dtype);
    const listed = this.listed.get(key);
    if (listed !== undefined && listed !== tokens) {
      throw new DataError('format', `${path} holds ${tokens} tokens, but manifest.json lists ${listed}: ${AGAIN}`);
    }
    const copy = new Uint8Array(bytes).buffer; // aligned, owned copy (Buffer may share a pool)
    return dtype === 'uint16' ? new Uint16Array(copy) : new Uint32Array(copy);
  }

  async deleteShard(key: string): Promise<void> {
    await rm(this.shardPath(key), { force: true });
  }

  async deleteDataset(id: string): Promise<void> {
    // Unchecked: a damaged folder must still be deletable.
    const json = await this.readJson(join(this.dir, 'manifest.json')).catch(() => undefined);
    if ((json as { id?: unknown } | undefined)?.id !== id) return;
    await rm(join(this.dir, 'manifest.json'), { force: true });
    for (const name of await readdir(this.dir))
      if (/^shard-\d+\.bin$/.test(name)) await rm(join(this.dir, name), { force: true });
  }
}
