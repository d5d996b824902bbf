/**
 * Messages that named the wrong culprit or gave the wrong advice: a full disk while saving a
 * checkpoint is not helped by a lower token limit (that is for datasets), and a run whose stored
 * tokenizer is damaged is the run's fault, not its dataset's.
 */
import 'fake-indexeddb/auto';
import { createStore, type UseStore } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fingerprint } from '../src/data/fingerprint';
import { IdbShardStore } from '../src/data/idb-store';
import { DataError } from '../src/data/types';
import { createLabHandler } from '../src/train/lab-worker';
import type { LabEvent } from '../src/train/protocol';
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
            if (property === 'put' && full)
              return () => {
                throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
              };
            const value = Reflect.get(target, property) as unknown;
            // Methods of the real store keep it as `this`; the Proxy would otherwise be `this`.
            return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
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
    const record = await runs.create({
      settings: testSettings(model),
      tokenizerJson: '{}',
      tokenizer: { vocabSize: 40, fingerprint: 'abc' },
      name: 'tiny',
    });
    (db as unknown as { fill(): void }).fill();
    const arena = () => new Uint8Array(arenaBytes);
    const data: CheckpointData = {
      step: 4,
      adamStep: 4,
      samplerState: 1,
      tokens: 64,
      elapsedSeconds: 1,
      params: arena(),
      adamM: arena(),
      adamV: arena(),
    };
    const checkpoint = await refusal(runs.saveCheckpoint(record.summary.id, data, { steps: [], evals: [] }));
    expect(checkpoint.kind).toBe('quota');
    expect(checkpoint.message).toBe(
      'storage is full while saving the checkpoint of run "tiny" at step 4: free some space (delete an old run or dataset); everything saved before is kept',
    );
    const summary = await refusal(runs.updateSummary(record.summary.id, { status: 'paused' }));
    expect(summary.message).toMatch(
      /^storage is full while saving run "tiny": free some space \(delete an old run or dataset\);/,
    );
    expect(summary.message).not.toMatch(/token limit/);
  });

  it('a dataset keeps its advice: its token limit can be lowered', async () => {
    const db = fullStore('words-data');
    const store = new IdbShardStore(db);
    (db as unknown as { fill(): void }).fill();
    const shard = await refusal(store.putShard('d/shard-00000', new Uint16Array(4)));
    expect(shard.message).toBe(
      'storage is full while saving shard d/shard-00000: free some space (delete a dataset or checkpoint) or lower the token limit; everything saved before is kept',
    );
    const manifest = await refusal(store.putManifest(testManifest('d')));
    expect(manifest.message).toMatch(/^storage is full while saving the manifest of d: .* or lower the token limit;/);
  });
});

describe('a run whose stored tokenizer is damaged', () => {
  const healthy = readFileSync(new URL('./fixtures/bpe-1000.tokenizer.json', import.meta.url), 'utf8');
  const settings = testSettings(
    { vocabSize: 1000, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 },
    { datasetId: 'brown' },
  );

  /** Resumes a run stored with `tokenizerJson` (its record claiming `print`) on a dataset of the healthy tokenizer. */
  async function resumeWith(name: string, tokenizerJson: string, print: string): Promise<string> {
    const runs = new RunStore(createStore(`${name}-runs`, 'kv'));
    const data = new IdbShardStore(createStore(`${name}-data`, 'kv'));
    await data.putManifest(
      testManifest('brown', { tokenizer: { vocabSize: 1000, fingerprint: fingerprint(healthy) } }),
    );
    const record = await runs.create({
      settings,
      tokenizerJson,
      tokenizer: { vocabSize: 1000, fingerprint: print },
      name: 'tiny',
    });
    const events: LabEvent[] = [];
    const handle = createLabHandler((event) => events.push(event), {
      createContext: () => Promise.reject(new Error('no GPU wanted here')),
      shardStore: data,
      runStore: runs,
    });
    await handle({ type: 'resume', runId: record.summary.id });
    const error = events.find((e) => e.type === 'error');
    expect(error, JSON.stringify(events)).toBeDefined();
    return (error as { message: string }).message;
  }

  it('cut short on disk: the run is named, not the dataset (which it blamed for "another tokenizer")', async () => {
    const message = await resumeWith('cut', healthy.slice(0, 500), fingerprint(healthy));
    expect(message).toBe(
      "this run's stored tokenizer is damaged (it is not the tokenizer the run was trained with): the run cannot continue; start a new one",
    );
  });

  it('stored damaged from the start (its fingerprint matches, it does not parse): the run is named with the reason', async () => {
    const broken = healthy.replace('"type": "BPE"', '"type": "Unigram"');
    const message = await resumeWith('broken', broken, fingerprint(broken));
    expect(message).toMatch(
      /^this run's stored tokenizer is damaged \(Unigram tokenizers are not supported; GPT Garden needs a byte-level BPE\): the run cannot continue/,
    );
  });

  it('a healthy run tokenizer on another dataset still blames the dataset', async () => {
    const other = healthy.replace('"dropout": null', '"dropout": 0');
    const message = await resumeWith('other', other, fingerprint(other));
    expect(message).toMatch(/^dataset "brown name" was tokenized with another tokenizer/);
  });
});
