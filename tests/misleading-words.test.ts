/**
 * Messages that named the wrong culprit or gave the wrong advice: a full disk while saving a
 * checkpoint is not helped by a lower token limit (that is for datasets).
 */
import 'fake-indexeddb/auto';
import { createStore, type UseStore } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { IdbShardStore } from '../src/data/idb-store';
import { DataError } from '../src/data/types';
import { RunStore, paramLayout, type CheckpointData } from '../src/train/run-store';
import { testManifest } from './helpers/manifest';
import { testSettings } from './helpers/settings';

const model = { vocabSize: 40, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 };
const arenaBytes = 4 * paramLayout(model).reduce((end, e) => Math.max(end, e.offset + e.numel), 0);

/** An IndexedDB store whose every put fails as a full disk does. */
function fullStore(name: string): UseStore {
  const real = createStore(name, 'kv');
  let full = false;
  const db: UseStore = (mode, callback) =>
    real(mode, (store) =>
      callback(
        new Proxy(store, {
          get(target, property) {
            if (property === 'put' && full) return () => { throw new DOMException('The quota has been exceeded.', 'QuotaExceededError'); };
            const value = Reflect.get(target, property) as unknown;
            return typeof value === 'function' ? value.bind(target) : value;
          },
        }),
      ),
    );
  return Object.assign(db, { fill: () => (full = true) });
}

async function refusal(promise: Promise<unknown>): Promise<DataError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(DataError);
    return error as DataError;
  }
  throw new Error('expected a refusal');
}

describe('storage full: the advice fits what was being saved', () => {
  it('a checkpoint or a run: delete an old run or dataset, never "lower the token limit"', async () => {
    const db = fullStore('words-runs');
    const runs = new RunStore(db);
    const record = await runs.create({ settings: testSettings(model), tokenizerJson: '{}', tokenizer: { vocabSize: 40, fingerprint: 'abc' }, name: 'tiny' });
    (db as unknown as { fill(): void }).fill();
    const arena = () => new Uint8Array(arenaBytes);
    const data: CheckpointData = { step: 4, adamStep: 4, samplerState: 1, tokens: 64, elapsedSeconds: 1, params: arena(), adamM: arena(), adamV: arena() };
    const checkpoint = await refusal(runs.saveCheckpoint(record.summary.id, data, { steps: [], evals: [] }));
    expect(checkpoint.kind).toBe('quota');
    expect(checkpoint.message).toBe('storage is full while saving the checkpoint of run "tiny" at step 4: free some space (delete an old run or dataset); everything saved before is kept');
    const summary = await refusal(runs.updateSummary(record.summary.id, { status: 'paused' }));
    expect(summary.message).toMatch(/^storage is full while saving run "tiny": free some space \(delete an old run or dataset\);/);
    expect(summary.message).not.toMatch(/token limit/);
  });

  it('a dataset keeps its advice: its token limit can be lowered', async () => {
    const db = fullStore('words-data');
    const store = new IdbShardStore(db);
    (db as unknown as { fill(): void }).fill();
    const shard = await refusal(store.putShard('d/shard-00000', new Uint16Array(4)));
    expect(shard.message).toBe('storage is full while saving shard d/shard-00000: free some space (delete a dataset or checkpoint) or lower the token limit; everything saved before is kept');
    const manifest = await refusal(store.putManifest(testManifest('d')));
    expect(manifest.message).toMatch(/^storage is full while saving the manifest of d: .* or lower the token limit;/);
  });
});
