/**
 * Runs and checkpoints in IndexedDB (fake-indexeddb): round trips, a crash between the checkpoint
 * and the record update, a full quota, deletion, and the Hugging Face export (no GPU needed).
 */
import 'fake-indexeddb/auto';
import { createStore, keys, set, type UseStore } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/data/types';
import { configFromHfJson, gpt2ParamShapes } from '../src/model/hf';
import { parseSafetensors, tensorAsFloat32 } from '../src/model/safetensors';
import type { StepPoint } from '../src/train/protocol';
import { RunStore, paramLayout, type CheckpointData } from '../src/train/run-store';
import { testSettings } from './helpers/settings';

const model = { vocabSize: 40, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 8 };
const settings = testSettings(model);
const arenaLength = paramLayout(model).reduce((end, e) => Math.max(end, e.offset + e.numel), 0);

function checkpoint(step: number): CheckpointData {
  const fill = (k: number) =>
    new Uint8Array(Float32Array.from({ length: arenaLength }, (_, i) => step * 1000 + k * 100 + (i % 97)).buffer);
  return {
    step,
    adamStep: step,
    samplerState: 12345 + step,
    tokens: step * 16,
    elapsedSeconds: step / 2,
    params: fill(0),
    adamM: fill(1),
    adamV: fill(2),
  };
}

function point(step: number): StepPoint {
  return {
    step,
    loss: 4 - step / 10,
    lr: 1e-3,
    gradNorm: 0.5,
    tokens: step * 16,
    elapsedSeconds: step,
    tokensPerSecond: 16,
    tflops: 1e-9,
  };
}

let dbCount = 0;
/** A store whose puts can be made to fail with a full-quota error (for keys matching `failOn`). */
function quotaStore(): { db: UseStore; failOn: { prefix: string | null } } {
  const real = createStore(`runs-${dbCount++}`, 'kv');
  const failOn = { prefix: null as string | null };
  const db: UseStore = (mode, callback) =>
    real(mode, (store) =>
      callback(
        new Proxy(store, {
          get(target, property) {
            if (property === 'put') {
              return (value: unknown, key: IDBValidKey) => {
                if (failOn.prefix !== null && typeof key === 'string' && key.startsWith(failOn.prefix))
                  throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
                return target.put(value, key);
              };
            }
            const value = Reflect.get(target, property) as unknown;
            // Methods of the real store keep it as `this`; the Proxy would otherwise be `this`.
            return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
          },
        }),
      ),
    );
  return { db, failOn };
}

async function newRun() {
  const { db, failOn } = quotaStore();
  const runs = new RunStore(db);
  const record = await runs.create({
    settings,
    tokenizerJson: '{"fake":true}',
    tokenizer: { vocabSize: 40, fingerprint: 'abc' },
    name: 'tiny',
  });
  return { runs, db, failOn, id: record.summary.id };
}

describe('RunStore', () => {
  it('saves and loads a checkpoint with the curve up to it', async () => {
    const { runs, id } = await newRun();
    expect(await runs.latestCheckpoint(id)).toBeUndefined();
    await runs.saveCheckpoint(id, checkpoint(5), {
      steps: [1, 2, 3, 4, 5].map(point),
      evals: [{ step: 5, valLoss: 3.5 }],
    });
    const record = (await runs.get(id))!;
    expect(record.summary).toMatchObject({
      checkpointStep: 5,
      tokens: 80,
      lastLoss: 3.5,
      lastValLoss: 3.5,
      status: 'running',
      name: 'tiny',
    });
    expect(record.steps.map((p) => p.step)).toEqual([1, 2, 3, 4, 5]);
    expect(record.tokenizerJson).toBe('{"fake":true}');
    const loaded = (await runs.latestCheckpoint(id))!;
    const expected = checkpoint(5);
    expect(loaded.params).toBeInstanceOf(Uint8Array);
    expect(Array.from(loaded.adamV)).toEqual(Array.from(expected.adamV));
    expect(loaded).toEqual(expected);
    const summary = await runs.updateSummary(id, { status: 'paused' });
    expect(summary.status).toBe('paused');
    expect((await runs.list()).map((s) => [s.id, s.status])).toEqual([[id, 'paused']]);
  });

  it('a crash between writing a checkpoint and updating the record leaves the previous one current and readable', async () => {
    const { runs, db, id } = await newRun();
    await runs.saveCheckpoint(id, checkpoint(5), { steps: [point(5)], evals: [] });
    // The "crash": the new checkpoint's key is written, the record never is.
    await set(`ckpt:${id}:10`, checkpoint(10), db);
    expect((await runs.get(id))!.summary.checkpointStep).toBe(5);
    expect(await runs.latestCheckpoint(id)).toEqual(checkpoint(5));
    // The next save sweeps the orphan.
    await runs.saveCheckpoint(id, checkpoint(15), { steps: [point(15)], evals: [] });
    expect((await keys(db)).sort()).toEqual([`ckpt:${id}:15`, `run:${id}`]);
  });

  it('a full quota gives a clear error and keeps the previous checkpoint', async () => {
    const { runs, db, failOn, id } = await newRun();
    await runs.saveCheckpoint(id, checkpoint(5), { steps: [point(5)], evals: [] });
    for (const prefix of ['ckpt:', 'run:']) {
      failOn.prefix = prefix;
      const error = await runs
        .saveCheckpoint(id, checkpoint(10), { steps: [point(10)], evals: [] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DataError);
      expect((error as DataError).kind).toBe('quota');
      expect((error as DataError).message).toMatch(
        /storage is full while saving (the checkpoint of )?run "tiny".*free some space/,
      );
      failOn.prefix = null;
      expect(await runs.latestCheckpoint(id)).toEqual(checkpoint(5));
      expect((await keys(db)).sort()).toEqual([`ckpt:${id}:5`, `run:${id}`]);
    }
  });

  it('delete removes the run and all its checkpoints, and no other run', async () => {
    const { runs, db, id } = await newRun();
    const other = await runs.create({
      settings,
      tokenizerJson: '{}',
      tokenizer: { vocabSize: 40, fingerprint: 'abc' },
      id: `${id}x`,
    });
    await runs.saveCheckpoint(id, checkpoint(5), { steps: [], evals: [] });
    await runs.saveCheckpoint(other.summary.id, checkpoint(5), { steps: [], evals: [] });
    await set(`ckpt:${id}:10`, checkpoint(10), db); // an orphan too
    await runs.delete(id);
    expect((await keys(db)).sort()).toEqual([`ckpt:${id}x:5`, `run:${id}x`]);
    expect(await runs.get(id)).toBeUndefined();
    await expect(runs.exportHf(id)).rejects.toThrow(/there is no run .* refresh the list of runs/);
  });

  it('exports a Hugging Face folder: safetensors with GPT-2 names, config.json, tokenizer.json', async () => {
    const { runs, id } = await newRun();
    await expect(runs.exportHf(id)).rejects.toThrow(/has no checkpoint yet/);
    const data = checkpoint(5);
    await runs.saveCheckpoint(id, data, { steps: [], evals: [] });
    const files = await runs.exportHf(id);
    expect(files.map((f) => f.name)).toEqual(['model.safetensors', 'config.json', 'tokenizer.json']);
    const file = parseSafetensors(files[0]!.bytes);
    expect(file.metadata).toEqual({ format: 'pt' });
    expect([...file.tensors.keys()].sort()).toEqual(
      gpt2ParamShapes(model)
        .map((p) => p.name)
        .sort(),
    );
    const arena = new Float32Array(data.params.buffer);
    for (const e of paramLayout(model)) {
      const t = file.tensors.get(e.name)!;
      expect(t.shape).toEqual(e.shape);
      expect(Array.from(tensorAsFloat32(t))).toEqual(Array.from(arena.subarray(e.offset, e.offset + e.numel)));
    }
    expect(configFromHfJson(JSON.parse(new TextDecoder().decode(files[1]!.bytes)))).toEqual(model);
    expect(new TextDecoder().decode(files[2]!.bytes)).toBe('{"fake":true}');
  });
});
