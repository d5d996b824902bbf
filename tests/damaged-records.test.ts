/**
 * Damaged IndexedDB records (fake-indexeddb): a run record set to a string, `{}` or without
 * summary.settings; a checkpoint stored as a string; a manifest set to a string or with
 * `shards: null`. Each is listed as damaged (key + what is wrong) beside the healthy ones, reading
 * it names it, and deleting it works, through the stores and the lab and ingest workers' handlers.
 * A seeded fuzz of the checkers: a clear list of problems or a valid record, never a throw.
 */
import 'fake-indexeddb/auto';
import { createStore, get, keys, set } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { IdbShardStore } from '../src/data/idb-store';
import { createIngestHandler, type IngestResponse } from '../src/data/ingest-worker';
import { checkManifest } from '../src/data/records';
import { checkCheckpoint, checkRunRecord } from '../src/train/run-records';
import type { DatasetManifest } from '../src/data/types';
import { createLabHandler } from '../src/train/lab-worker';
import type { LabEvent } from '../src/train/protocol';
import { RunStore, paramLayout, type CheckpointData } from '../src/train/run-store';
import { testSettings } from './helpers/settings';

const model = { vocabSize: 40, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 };
const settings = testSettings(model);
const arenaBytes = 4 * paramLayout(model).reduce((end, e) => Math.max(end, e.offset + e.numel), 0);

function checkpoint(step: number): CheckpointData {
  const bytes = () => new Uint8Array(arenaBytes).map((_, i) => (i * 7 + step) & 0x3f);
  return {
    step,
    adamStep: step,
    samplerState: 9,
    tokens: step * 16,
    elapsedSeconds: 1,
    params: bytes(),
    adamM: bytes(),
    adamV: bytes(),
  };
}

function manifest(id: string): DatasetManifest {
  return {
    format: 'gpt-garden-tokens',
    version: 1,
    id,
    name: `dataset ${id}`,
    source: { kind: 'bundled', url: '/corpus/brown-fiction.txt' },
    tokenizer: { vocabSize: 40, fingerprint: 'f' },
    dtype: 'uint16',
    shards: [{ key: `${id}/0`, tokens: 4, rows: 1 }],
    tokens: 4,
    rows: 1,
    textBytes: 10,
    cursor: { file: 0, row: 1 },
    complete: true,
    valFraction: 0.1,
    createdAt: '2026-12-01T00:00:00Z',
    updatedAt: '2026-12-01T00:00:00Z',
  };
}

let dbCount = 0;

/** A run store holding one healthy run (checkpoint at step 5) and the three damaged run records. */
async function damagedRuns() {
  const db = createStore(`damaged-runs-${dbCount++}`, 'kv');
  const store = new RunStore(db);
  const healthy = await store.create({
    settings,
    tokenizerJson: '{}',
    tokenizer: { vocabSize: 40, fingerprint: 'f' },
    id: 'good',
  });
  await store.saveCheckpoint('good', checkpoint(5), { steps: [], evals: [] }, { status: 'paused' });
  await set('run:str', 'not a record', db);
  await set('run:empty', {}, db);
  const record = (await get<{ summary: Record<string, unknown> }>('run:good', db))!;
  const { settings: _dropped, ...summary } = record.summary;
  await set('run:nosettings', { ...record, summary: { ...summary, id: 'nosettings' } }, db);
  return { db, store, healthy };
}

describe('run records', () => {
  it('lists each damaged form by key and what is wrong, and the healthy run beside them', async () => {
    const { store } = await damagedRuns();
    const { runs, damaged } = await store.listAll();
    expect(runs.map((r) => r.id)).toEqual(['good']);
    expect(runs[0]!.checkpointStep).toBe(5);
    const byKey = Object.fromEntries(damaged.map((d) => [d.key, d]));
    expect(Object.keys(byKey).sort()).toEqual(['run:empty', 'run:nosettings', 'run:str']);
    expect(byKey['run:str']!.problem).toBe('the record is a string, expected an object');
    expect(byKey['run:empty']!.problem).toContain('summary is missing');
    expect(byKey['run:nosettings']!.problem).toBe('summary.settings is missing');
    expect(byKey['run:nosettings']!.id).toBe('nosettings');
    expect(await store.list()).toHaveLength(1);
  });

  it('reading a damaged run names it; deleting it leaves the healthy one resumable', async () => {
    const { db, store } = await damagedRuns();
    await expect(store.get('nosettings')).rejects.toThrow(
      'the record of run "nosettings" is damaged (run:nosettings: summary.settings is missing)',
    );
    await store.delete('nosettings');
    await store.delete('str');
    await store.delete('empty');
    expect((await keys(db)).sort()).toEqual(['ckpt:good:5', 'run:good']);
    const data = await store.latestCheckpoint('good');
    expect(data?.step).toBe(5);
    expect([...data!.params.slice(0, 4)]).toEqual([5, 12, 19, 26]);
  });

  it('a checkpoint stored as a string is called damaged, not "reading byteLength"', async () => {
    const { db, store } = await damagedRuns();
    await set('ckpt:good:5', 'garbage', db);
    await expect(store.latestCheckpoint('good')).rejects.toThrow(
      'the checkpoint of run "1L 8w on d" at step 5 is damaged (ckpt:good:5: the record is a string, expected an object)',
    );
    await expect(store.exportHf('good')).rejects.toThrow(/checkpoint .* is damaged/);
    await set('ckpt:good:5', { ...checkpoint(5), adamV: new Uint8Array(4) }, db);
    await expect(store.latestCheckpoint('good')).rejects.toThrow(
      `adamM/adamV hold ${arenaBytes}/4 bytes, params ${arenaBytes}`,
    );
  });

  it('a checkpoint whose weights do not fit the model, or are NaN, is damaged (not offered to resume)', async () => {
    const { db, store } = await damagedRuns();
    const short = { ...checkpoint(5), params: new Uint8Array(8), adamM: new Uint8Array(8), adamV: new Uint8Array(8) };
    await set('ckpt:good:5', short, db);
    await expect(store.latestCheckpoint('good')).rejects.toThrow(
      /is damaged \(ckpt:good:5: params holds 8 bytes, the run's model needs \d+/,
    );
    const nan = checkpoint(5);
    new Float32Array(nan.params.buffer)[17] = NaN;
    await set('ckpt:good:5', nan, db);
    await expect(store.latestCheckpoint('good')).rejects.toThrow('params hold a non-finite value (NaN) at index 17');
  });

  it('the lab worker lists damaged runs with the healthy and deletes them by id', async () => {
    const { db, store } = await damagedRuns();
    const events: LabEvent[] = [];
    const handle = createLabHandler((e) => events.push(e), {
      createContext: () => Promise.reject(new Error('no GPU needed to list runs')),
      shardStore: new IdbShardStore(createStore(`lab-data-${dbCount++}`, 'kv')),
      runStore: store,
    });
    await handle({ type: 'list-runs' });
    const listed = events.at(-1);
    if (listed?.type !== 'runs') throw new Error(`expected runs, got ${JSON.stringify(listed)}`);
    expect(listed.runs.map((r) => r.id)).toEqual(['good']);
    expect(listed.damaged?.map((d) => d.key).sort()).toEqual(['run:empty', 'run:nosettings', 'run:str']);
    await handle({ type: 'delete-run', runId: 'str' });
    const after = events.at(-1);
    if (after?.type !== 'runs') throw new Error(`expected runs, got ${JSON.stringify(after)}`);
    expect(after.damaged?.map((d) => d.key).sort()).toEqual(['run:empty', 'run:nosettings']);
    expect(await get('run:str', db)).toBeUndefined();
    await handle({ type: 'load-run', runId: 'empty' });
    const error = events.at(-1);
    expect(error?.type === 'error' && error.message).toMatch(
      /^the record of run "empty" is damaged \(run:empty: summary is missing/,
    );
  });
});

describe('dataset manifests and shards', () => {
  async function damagedData() {
    const db = createStore(`damaged-data-${dbCount++}`, 'kv');
    const store = new IdbShardStore(db);
    await store.putManifest(manifest('good'));
    await store.putShard('good/0', Uint16Array.of(1, 2, 3, 4));
    await set('manifest:str', 'oops', db);
    await set('manifest:noshards', { ...manifest('noshards'), shards: null }, db);
    return { db, store };
  }

  it('lists damaged manifests beside the healthy one; reading one names it', async () => {
    const { store } = await damagedData();
    const { manifests, damaged } = await store.listAll();
    expect(manifests.map((m) => m.id)).toEqual(['good']);
    expect(damaged).toEqual([
      { key: 'manifest:noshards', id: 'noshards', problem: 'shards is null, expected an array' },
      { key: 'manifest:str', id: 'str', problem: 'the record is a string, expected an object' },
    ]);
    await expect(store.getManifest('noshards')).rejects.toThrow(
      'the manifest of dataset "noshards" is damaged (manifest:noshards: shards is null',
    );
    expect(await store.getShard('good/0', 'uint16')).toEqual(Uint16Array.of(1, 2, 3, 4));
  });

  it('a damaged shard is named, not read as tokens', async () => {
    const { db, store } = await damagedData();
    await set('shard:good/0', 'text', db);
    await expect(store.getShard('good/0', 'uint16')).rejects.toThrow(
      'shard good/0 is damaged: it holds a string, expected Uint16Array',
    );
    await set('shard:good/0', null, db);
    await expect(store.getShard('good/0', 'uint16')).rejects.toThrow('it holds null');
  });

  it('the ingest worker lists damaged manifests and deletes them', async () => {
    const { db, store } = await damagedData();
    const replies: IngestResponse[] = [];
    const handle = createIngestHandler((m) => replies.push(m), store);
    await handle({ type: 'list' });
    const listed = replies.at(-1);
    if (listed?.type !== 'datasets') throw new Error(`expected datasets, got ${JSON.stringify(listed)}`);
    expect(listed.manifests.map((m) => m.id)).toEqual(['good']);
    expect(listed.damaged?.map((d) => d.key)).toEqual(['manifest:noshards', 'manifest:str']);
    await handle({ type: 'delete', id: 'noshards' });
    await handle({ type: 'delete', id: 'str' });
    const after = replies.at(-1);
    expect(after?.type === 'datasets' && after.damaged).toEqual([]);
    expect((await keys(db)).sort()).toEqual(['manifest:good', 'shard:good/0']);
  });
});

/** A small seeded generator (mulberry32): the fuzz cases are the same on every run. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ODD: unknown[] = [
  undefined,
  null,
  '',
  'x',
  0,
  -1,
  1.5,
  NaN,
  Infinity,
  1e300,
  [],
  {},
  [1],
  true,
  new Uint8Array(3),
];

/** Sets or deletes one randomly chosen field, at any depth, to an odd value. */
function mutate(value: unknown, random: () => number): unknown {
  const copy = structuredClone(value) as Record<string, unknown>;
  let node: Record<string, unknown> = copy;
  for (;;) {
    const fields = Object.keys(node);
    if (fields.length === 0) return copy;
    const field = fields[Math.floor(random() * fields.length)]!;
    const child = node[field];
    if (typeof child === 'object' && child !== null && !ArrayBuffer.isView(child) && random() < 0.6) {
      node = child as Record<string, unknown>;
      continue;
    }
    const odd = ODD[Math.floor(random() * ODD.length)];
    if (odd === undefined) delete node[field];
    else node[field] = odd;
    return copy;
  }
}

describe('checkers under a seeded fuzz', () => {
  const record = {
    summary: {
      id: 'r',
      name: 'r',
      createdAt: 'a',
      updatedAt: 'b',
      settings,
      status: 'paused',
      checkpointStep: 5,
      tokens: 80,
      tokenizer: { vocabSize: 40, fingerprint: 'f' },
    },
    tokenizerJson: '{}',
    steps: [],
    evals: [],
  };
  const cases = [
    { name: 'run record', check: checkRunRecord, valid: record },
    { name: 'manifest', check: checkManifest, valid: manifest('m') },
    { name: 'checkpoint', check: checkCheckpoint, valid: checkpoint(3) },
  ] as const;
  for (const { name, check, valid } of cases) {
    it(`${name}: 500 mutations each give a valid record or named problems, never a throw`, () => {
      expect(check(valid)).toMatchObject({ ok: true });
      const random = rng(42);
      let damaged = 0;
      for (let i = 0; i < 500; i++) {
        const result = check(mutate(valid, random));
        if (!result.ok) {
          damaged++;
          expect(result.problems.length).toBeGreaterThan(0);
          for (const p of result.problems) expect(p).toMatch(/ is | holds? /);
        }
      }
      // Most mutations hit a checked field; a few land on optional ones and stay valid.
      expect(damaged).toBeGreaterThan(300);
    });
  }
});
