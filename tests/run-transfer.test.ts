/**
 * Full-state runs moving between labs (and so between the lab and the CLI, which share the run
 * directory format): a run paused in one lab, downloaded with its state and imported into another
 * lab whose copy of the dataset has another id, resumes to the same weights, bit for bit, as the
 * run trained without a break. A run whose dataset is missing says which one, and resumes once it
 * is prepared.
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { createStore } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { IdbShardStore } from '../src/data/idb-store';
import { fingerprint, ingest } from '../src/data/ingest';
import type { TextSource } from '../src/data/types';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import { createLabHandler } from '../src/train/lab-worker';
import type { LabEvent, LabRequest, RunSettings } from '../src/train/protocol';
import { isRunDir, readRunDir } from '../src/train/run-dir';
import { RunStore } from '../src/train/run-store';
import { gpu } from './helpers/gpu';

const LINES = readFileSync('public/corpus/brown-fiction.txt', 'utf8').split('\n').filter(Boolean).slice(300, 450);
const bpe = await trainBpe(LINES, { vocabSize: 280, minFrequency: 2, specialTokens: [END_OF_TEXT] });
const tokenizer = new Tokenizer(bpe);
const tokenizerJson = toTokenizerJson(bpe);

const source: TextSource = {
  description: '150 lines of the bundled corpus',
  rowKind: 'line',
  async *read(from) {
    yield { rows: LINES.slice(from.row), cursor: { file: 0, row: LINES.length }, bytesRead: 0, endOfFile: true };
  },
};

let dbCount = 0;
/** A shard store holding the dataset under `id` (each lab its own IndexedDB database). */
async function dataStore(id: string | null): Promise<IdbShardStore> {
  const store = new IdbShardStore(createStore(`transfer-data-${dbCount++}`, 'kv'));
  if (id)
    await ingest({
      store,
      tokenizer,
      tokenizerFingerprint: fingerprint(tokenizerJson),
      id,
      spec: { kind: 'bundled', url: '/corpus/brown-fiction.txt' },
      source,
      valFraction: 0.1,
    });
  return store;
}

const SETTINGS: RunSettings = {
  model: { vocabSize: tokenizer.vocabSize, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32 },
  batchSize: 2,
  accumSteps: 2,
  maxSteps: 6,
  lr: { maxLr: 3e-3, minLr: 3e-4, warmupSteps: 2 },
  weightDecay: 0.1,
  gradClip: 1,
  evalEvery: 3,
  evalBatches: 1,
  checkpointEvery: 100,
  seed: 11,
  datasetId: 'here',
};

function lab(shardStore: IdbShardStore, react?: (event: LabEvent, handle: (m: LabRequest) => Promise<void>) => void) {
  const events: LabEvent[] = [];
  const runStore = new RunStore(createStore(`transfer-runs-${dbCount++}`, 'kv'));
  const handle: (m: LabRequest) => Promise<void> = createLabHandler(
    (event) => {
      events.push(event);
      react?.(event, handle);
    },
    { createContext: gpu, shardStore, runStore },
  );
  const of = <T extends LabEvent['type']>(type: T) =>
    events.filter((e): e is Extract<LabEvent, { type: T }> => e.type === type);
  return { handle, events, of, runStore };
}

/** The run's current weights, as model.safetensors bytes of its latest checkpoint. */
async function weights(runStore: RunStore, runId: string): Promise<Uint8Array> {
  const files = await runStore.exportHf(runId);
  return files.find((f) => f.name === 'model.safetensors')!.bytes;
}

describe('full-state runs between labs', () => {
  it(
    'a run paused at step 3, downloaded, imported elsewhere and resumed ends with the uninterrupted weights',
    { timeout: 240_000 },
    async () => {
      const straight = lab(await dataStore('here'));
      await straight.handle({ type: 'start', settings: SETTINGS, tokenizerJson });
      const straightRun = straight.of('run').at(-1)!.run;
      expect(straightRun.status).toBe('done');
      const expected = await weights(straight.runStore, straightRun.id);

      const first = lab(await dataStore('here'), (event, handle) => {
        if (event.type === 'step' && event.point.step === 3) void handle({ type: 'pause' });
      });
      await first.handle({ type: 'start', settings: SETTINGS, tokenizerJson });
      const paused = first.of('run').at(-1)!.run;
      expect(paused.status).toBe('paused');
      expect(paused.checkpointStep).toBe(3);
      await first.handle({ type: 'export-run', runId: paused.id, full: true });
      const exported = first.of('export').at(-1)!;
      expect(exported.full).toBe(true);
      expect(exported.files.map((f) => f.name).sort()).toEqual([
        'config.json',
        'model.safetensors',
        'run.json',
        'tokenizer.json',
        'training_state.safetensors',
      ]);
      expect(isRunDir(exported.files)).toBe(true);
      const dir = readRunDir(exported.files);
      expect(dir.checkpoint.step).toBe(3);
      expect(dir.record.steps.map((p) => p.step)).toEqual([1, 2, 3]);
      expect(dir.dataset).toMatchObject({ id: 'here', tokenizerFingerprint: fingerprint(tokenizerJson) });

      // The other lab holds the same tokens under another id: found by content.
      const second = lab(await dataStore('elsewhere'));
      await second.handle({ type: 'import-run', files: exported.files, source: 'run.zip' });
      expect(second.of('error')).toEqual([]);
      const imported = second.of('run').at(-1)!.run;
      expect(imported).toMatchObject({ status: 'paused', checkpointStep: 3, name: paused.name });
      expect(imported.settings.datasetId).toBe('elsewhere');
      expect(imported.id).not.toBe(paused.id);
      await second.handle({ type: 'load-run', runId: imported.id });
      expect(
        second
          .of('history')
          .at(-1)!
          .steps.map((p) => p.loss),
      ).toEqual(first.of('step').map((e) => e.point.loss));

      await second.handle({ type: 'resume', runId: imported.id });
      expect(second.of('error')).toEqual([]);
      expect(second.of('run').at(-1)!.run.status).toBe('done');
      // Steps 4..6 trained here repeat the uninterrupted run's losses, and its weights, exactly.
      expect(second.of('step').map((e) => e.point.loss)).toEqual(
        straight
          .of('step')
          .slice(3)
          .map((e) => e.point.loss),
      );
      expect(Buffer.from(await weights(second.runStore, imported.id)).equals(Buffer.from(expected))).toBe(true);
    },
  );

  it('a run whose dataset is missing says which one; once prepared, it resumes', { timeout: 240_000 }, async () => {
    const first = lab(await dataStore('here'), (event, handle) => {
      if (event.type === 'step' && event.point.step === 2) void handle({ type: 'pause' });
    });
    await first.handle({ type: 'start', settings: SETTINGS, tokenizerJson });
    const paused = first.of('run').at(-1)!.run;
    await first.handle({ type: 'export-run', runId: paused.id, full: true });
    const files = first.of('export').at(-1)!.files;

    const emptyData = await dataStore(null);
    const second = lab(emptyData);
    await second.handle({ type: 'import-run', files, source: 'run.zip' });
    const imported = second.of('run').at(-1)!.run;
    expect(imported.status).toBe('paused');
    expect(imported.message).toMatch(/its dataset .* is not here yet/);
    expect(imported.missingDataset).toMatchObject({
      id: 'here',
      source: { kind: 'bundled' },
      tokenizerFingerprint: fingerprint(tokenizerJson),
    });
    await second.handle({ type: 'run-tokenizer', runId: imported.id });
    expect(second.of('run-tokenizer').at(-1)).toEqual({ type: 'run-tokenizer', runId: imported.id, tokenizerJson });
    await second.handle({ type: 'resume', runId: imported.id });
    const error = second.of('error').at(-1)!;
    expect(error.kind).toBe('config');
    expect(error.message).toMatch(
      /trains on .*the bundled corpus.*not in this browser: prepare that source with this run's tokenizer/,
    );

    await ingest({
      store: emptyData,
      tokenizer,
      tokenizerFingerprint: fingerprint(tokenizerJson),
      id: 'prepared-later',
      spec: { kind: 'bundled', url: '/corpus/brown-fiction.txt' },
      source,
      valFraction: 0.1,
    });
    await second.handle({ type: 'resume', runId: imported.id });
    expect(second.of('run').at(-1)!.run).toMatchObject({ status: 'done', checkpointStep: SETTINGS.maxSteps });
    expect(second.of('run').at(-1)!.run.settings.datasetId).toBe('prepared-later');
    expect(second.of('run').at(-1)!.run.missingDataset).toBeUndefined();
  });

  it('a damaged run directory is refused with the file named, and nothing is stored', async () => {
    const second = lab(await dataStore('here'));
    const first = lab(await dataStore('here'), (event, handle) => {
      if (event.type === 'step' && event.point.step === 1) void handle({ type: 'pause' });
    });
    await first.handle({ type: 'start', settings: { ...SETTINGS, evalBatches: 0 }, tokenizerJson });
    await first.handle({ type: 'export-run', runId: first.of('run').at(-1)!.run.id, full: true });
    const files = first.of('export').at(-1)!.files;
    const truncated = files.map((f) =>
      f.name === 'training_state.safetensors' ? { ...f, bytes: f.bytes.slice(0, f.bytes.length - 9) } : f,
    );
    await second.handle({ type: 'import-run', files: truncated, source: 'broken.zip' });
    expect(second.of('error').at(-1)!.message).toMatch(/training_state\.safetensors/);
    expect(await second.runStore.list()).toEqual([]);
  });
});
