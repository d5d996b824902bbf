/**
 * The lab worker hands every request's id back on its answers and on its errors, so the page's
 * stores can match replies by id alone. No GPU needed: the context that fails stands for a device
 * that cannot be had, and the run store lives in fake-indexeddb.
 */
import 'fake-indexeddb/auto';
import { createStore } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { IdbShardStore } from '../src/data/idb-store';
import { createLabHandler } from '../src/train/lab-worker';
import type { LabEvent } from '../src/train/protocol';
import { RunStore } from '../src/train/run-store';

const MODEL = { vocabSize: 300, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32 };

function lab() {
  const events: LabEvent[] = [];
  const handle = createLabHandler((event) => events.push(event), {
    createContext: () => Promise.reject(new Error('no WebGPU adapter here')),
    shardStore: new IdbShardStore(createStore('ids-data', 'kv')),
    runStore: new RunStore(createStore('ids-runs', 'kv')),
  });
  return { handle, events };
}

describe('lab worker: request ids', () => {
  it('every failing request gets its error back under its own id', async () => {
    const { handle, events } = lab();
    await handle({
      type: 'import-run',
      files: [{ name: 'model.safetensors', bytes: new Uint8Array(8) }],
      source: 'x.zip',
      requestId: 11,
    });
    await handle({ type: 'speed-probe', model: MODEL, batchSize: 2, steps: 1, requestId: 12 });
    await handle({ type: 'profile', model: MODEL, batchSize: 2, requestId: 13 });
    await handle({ type: 'load-run', runId: 'gone', requestId: 14 });
    await handle({ type: 'run-tokenizer', runId: 'gone', requestId: 15 });
    await handle({ type: 'export-run', runId: 'gone', requestId: 16 });
    const errors = events.filter((e) => e.type === 'error');
    expect(errors.map((e) => e.requestId)).toEqual([11, 12, 13, 14, 15, 16]);
    expect(errors[0]!.message).toMatch(/config\.json/);
    expect(errors[1]!.message).toMatch(/no WebGPU adapter here/);
    expect(errors[3]).toMatchObject({ runId: 'gone', message: expect.stringMatching(/there is no run "gone"/) });
  });

  it('answers carry the id too: the runs list, a deletion', async () => {
    const { handle, events } = lab();
    await handle({ type: 'list-runs', requestId: 21 });
    await handle({ type: 'delete-run', runId: 'gone', requestId: 22 });
    expect(events.map((e) => [e.type, 'requestId' in e ? e.requestId : undefined])).toEqual([
      ['runs', 21],
      ['runs', 22],
    ]);
  });
});
