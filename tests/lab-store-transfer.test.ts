/**
 * The lab store's side of moving runs: a full-state download, a run directory imported as a
 * resumable run (its curve asked for), and "Prepare its data" for a run whose dataset is not here
 * (the run's tokenizer becomes current and the Data tab names its source and token limit).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import type { RunDataset } from '../src/train/protocol';
import { setup, SUGGESTED, summary } from './helpers/lab-store-env';

const settings = { ...SUGGESTED, datasetId: 'bookcorpus/bookcorpus' };

describe('lab store: runs with their training state', () => {
  it('downloads the full state as "<name>-full-state" and imports a run directory as a paused run whose curve it then shows', () => {
    const env = setup();
    env.store.getState().init();
    env.send({
      type: 'runs',
      runs: [summary(settings, { id: 'a', name: '2L 32w', status: 'paused', checkpointStep: 4 })],
    });
    env.store.getState().exportRun('a', { full: true });
    const exported = env.posted().at(-1) as { requestId: number };
    expect(exported).toEqual({ type: 'export-run', runId: 'a', full: true, requestId: expect.any(Number) });
    env.send({
      type: 'export',
      runId: 'a',
      full: true,
      requestId: exported.requestId,
      files: [{ name: 'run.json', bytes: new Uint8Array(2) }],
    });
    expect(env.downloads.at(-1)).toEqual({ folder: '2L-32w-full-state', names: ['run.json'] });

    env.store.getState().importRun([{ name: 'run.json', bytes: new Uint8Array(2) }], 'run.zip');
    const asked = env.posted().at(-1) as { requestId: number };
    expect(asked).toMatchObject({ type: 'import-run', source: 'run.zip', requestId: expect.any(Number) });
    env.send({
      type: 'run',
      run: summary(settings, { id: 'b', status: 'paused', checkpointStep: 7 }),
      requestId: asked.requestId,
    });
    expect(env.store.getState()).toMatchObject({ phase: 'paused', checkpointStep: 7, run: { id: 'b' } });
    expect(env.posted().at(-1)).toEqual({ type: 'load-run', runId: 'b', requestId: expect.any(Number) });
  });

  it('"Prepare its data" makes the run\'s tokenizer current and names its source and token limit in the Data tab', async () => {
    const env = setup();
    env.store.getState().init();
    const lines = readFileSync('public/corpus/brown-fiction.txt', 'utf8').split('\n').slice(0, 50);
    const runTokenizer = toTokenizerJson(await trainBpe(lines, { vocabSize: 280, specialTokens: [END_OF_TEXT] }));
    const missingDataset: RunDataset = {
      id: 'books',
      name: 'books',
      source: { kind: 'hub', dataset: 'bookcorpus/bookcorpus', column: 'text' },
      tokenizerFingerprint: 'x',
      tokens: 1_100_000_000,
      maxTokens: 1_100_000_000,
      valFraction: 0.05,
    };
    env.send({
      type: 'runs',
      runs: [summary(settings, { id: 'c', status: 'paused', checkpointStep: 3, missingDataset })],
    });
    env.store.getState().prepareRunData('c');
    const asked = env.posted().at(-1) as { requestId: number };
    expect(asked).toEqual({ type: 'run-tokenizer', runId: 'c', requestId: expect.any(Number) });
    env.send({ type: 'run-tokenizer', runId: 'c', tokenizerJson: '{}', requestId: asked.requestId + 1000 }); // not asked for: ignored
    env.send({ type: 'run-tokenizer', runId: 'c', tokenizerJson: runTokenizer, requestId: asked.requestId });
    await expect.poll(() => env.data.getState().tokenizer.json).toBe(runTokenizer);
    await expect
      .poll(() => env.data.getState().sourceForm)
      .toMatchObject({ choice: 'remote', remote: 'bookcorpus/bookcorpus', column: 'text', tokenLimit: '1100000000' });
  });
});
