/**
 * The lab's store in Node: a scripted training worker (the test plays the worker's events), the
 * real Data store with a scripted ingestion worker and the real tokenizer trainer behind a fake
 * Worker. Checks the first-run path (tokenizer, bundled corpus, start), the curve, pause/resume,
 * sampling, errors (NaN, lost device, no WebGPU) and downloads.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { datasetIdFor, fingerprint } from '../src/data/fingerprint';
import { BUNDLED_ID } from '../src/ui/data/source-form';
import { ANOTHER_TAB_TRAINS, exportFolderName, NO_WEBGPU } from '../src/ui/lab/lab-store';
import { LIMITS, manifestFor, point, setup, started, SUGGESTED, summary } from './helpers/lab-store-env';

describe('lab store', () => {
  it('first run: probe fills the form, Train makes a tokenizer at the suggested size and the bundled dataset, then starts', async () => {
    const env = setup({ datasets: () => [] });
    const start = await started(env);
    expect(env.posted()[0]).toEqual({ type: 'probe' });
    // The tokenizer was trained on the bundled corpus at the form's vocabulary (BPE may stop short of it).
    const tokenizerJson = env.tokenizer()!;
    expect(start.tokenizerJson).toBe(tokenizerJson);
    expect(env.ingests).toHaveLength(1);
    // The dataset's id names its tokenizer: a later tokenizer makes its own copy beside this one.
    const bundledId = datasetIdFor(BUNDLED_ID, fingerprint(tokenizerJson));
    expect(env.ingests[0]).toMatchObject({
      id: bundledId,
      spec: { kind: 'bundled', url: 'http://localhost/corpus/brown-fiction.txt' },
    });
    const vocab = env.data.getState().tokenizer.vocabSize!;
    expect(vocab).toBeGreaterThan(256);
    expect(vocab).toBeLessThanOrEqual(2048);
    expect(start.settings).toEqual({
      ...SUGGESTED,
      model: { ...SUGGESTED.model, vocabSize: vocab },
      datasetId: bundledId,
    });
    expect(env.store.getState().form.model.vocabSize).toBe(vocab);
    expect(env.store.getState()).toMatchObject({ phase: 'preparing', stage: 'Compiling the model on the GPU…' });
  });

  it('reuses a saved tokenizer and its dataset; the curve, first-step time, evals and checkpoints follow the events', async () => {
    const saved = JSON.stringify({
      model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2 }, merges: [['a', 'b']] },
      added_tokens: [{ id: 3, content: '<|endoftext|>', special: true }],
    });
    const env = setup({ savedTokenizer: saved, datasets: (json) => [manifestFor(json!, 'mine')] });
    await env.data.getState().init();
    const start = await started(env);
    expect(env.ingests).toHaveLength(0);
    expect(start.settings.datasetId).toBe('mine');
    expect(start.settings.model.vocabSize).toBe(4);
    const { store, send, tick } = env;
    send({ type: 'run', run: summary(start.settings) });
    expect(store.getState().phase).toBe('running');
    expect(store.getState().stage).toMatch(/first step/);
    send({ type: 'history', runId: 'run-1', steps: [], evals: [] });
    tick(1500);
    send({ type: 'step', runId: 'run-1', point: point(1, 5) });
    send({ type: 'step', runId: 'other', point: point(9, 1) }); // another run's event is not ours
    send({ type: 'step', runId: 'run-1', point: point(2, 4.5) });
    send({ type: 'eval', runId: 'run-1', point: { step: 2, valLoss: 4.7 } });
    send({ type: 'checkpoint', runId: 'run-1', step: 2 });
    expect(store.getState()).toMatchObject({
      firstStepMs: 1500,
      checkpointStep: 2,
      stage: null,
      evals: [{ step: 2, valLoss: 4.7 }],
    });
    expect(store.getState().runs[0]).toMatchObject({
      id: 'run-1',
      checkpointStep: 2,
      tokens: 128,
      lastLoss: 4.5,
      lastValLoss: 4.7,
    });
    expect(store.getState().steps.map((p) => p.loss)).toEqual([5, 4.5]);

    store.getState().pause();
    expect(env.posted().at(-1)).toEqual({ type: 'pause' });
    expect(store.getState().phase).toBe('pausing');
    send({ type: 'run', run: summary(start.settings, { status: 'running', checkpointStep: 2 }) });
    expect(store.getState().phase).toBe('pausing'); // a late 'running' summary does not undo the request
    send({ type: 'run', run: summary(start.settings, { status: 'paused', checkpointStep: 2 }) });
    expect(store.getState().phase).toBe('paused');

    await store.getState().resume();
    expect(env.posted().at(-1)).toEqual({ type: 'resume', runId: 'run-1' });
    send({ type: 'run', run: summary(start.settings, { status: 'running', checkpointStep: 2 }) });
    send({ type: 'history', runId: 'run-1', steps: [point(1, 5), point(2, 4.5)], evals: [] });
    send({ type: 'step', runId: 'run-1', point: point(3, 4.2) });
    expect(store.getState().steps.map((p) => p.step)).toEqual([1, 2, 3]);
    store.getState().stop();
    expect(env.posted().at(-1)).toEqual({ type: 'stop' });
    send({ type: 'run', run: summary(start.settings, { status: 'stopped', checkpointStep: 3 }) });
    expect(store.getState().phase).toBe('stopped');
  });

  it('explains settings that cannot work before sending anything', async () => {
    const env = setup();
    env.store.getState().init();
    env.send({ type: 'device', report: { ok: true, limits: LIMITS, suggested: SUGGESTED } });
    env.store.getState().setForm({ model: { nEmbd: 30, nHead: 4 } });
    expect(env.store.getState().problems()).toEqual([
      'The width 30 is not divisible by 4 heads: each head takes an equal share of the width, so use a multiple of 4.',
    ]);
    env.store.getState().setForm({ model: { nEmbd: 32 }, batchSize: NaN });
    await env.store.getState().train();
    expect(env.store.getState().error).toEqual({
      kind: 'config',
      message: 'The batch size must be a whole number of at least 1 (it is NaN).',
    });
    expect(env.posted().some((m) => m.type === 'start')).toBe(false);
    // Once edited, a later device report no longer overwrites the form.
    env.send({ type: 'device', report: { ok: true, limits: LIMITS, suggested: { ...SUGGESTED, batchSize: 7 } } });
    expect(env.store.getState().form.model.nHead).toBe(4);
  });

  it('samples stream token by token; compare samples the initial weights first, then the current ones', async () => {
    const env = setup();
    env.store.getState().init();
    env.store.getState().generate({ prompt: 'life is about', maxTokens: 5, temperature: 0.8, topK: 40, compare: true });
    const first = env.posted().at(-1)!;
    expect(first).toMatchObject({
      type: 'sample',
      weights: 'initial',
      prompt: 'life is about',
      maxTokens: 5,
      topK: 40,
    });
    if (first.type !== 'sample') throw new Error('expected a sample request');
    env.send({ type: 'sample-token', requestId: first.requestId, text: ' the' });
    env.send({ type: 'sample-token', requestId: first.requestId, text: ' cat' });
    expect(env.store.getState().samples.initial).toMatchObject({ status: 'running', text: ' the cat' });
    expect(env.posted().filter((m) => m.type === 'sample')).toHaveLength(1); // one at a time
    env.send({ type: 'sample-done', requestId: first.requestId, text: ' the cat', tokens: 2, seconds: 0.1 });
    const second = env.posted().at(-1)!;
    expect(second).toMatchObject({ type: 'sample', weights: 'current' });
    if (second.type !== 'sample') throw new Error('expected a sample request');
    env.send({ type: 'error', kind: 'config', message: 'no run is loaded', requestId: second.requestId });
    expect(env.store.getState().samples).toMatchObject({
      initial: { status: 'done', text: ' the cat' },
      current: { status: 'error', error: 'no run is loaded' },
    });
  });

  it('shows NaN and lost-device errors, and a page without WebGPU never probes', async () => {
    const env = setup({ savedTokenizer: undefined });
    const start = await started(env);
    env.send({ type: 'run', run: summary(start.settings) });
    env.send({
      type: 'error',
      kind: 'nan',
      message: 'the loss became NaN at step 3; lower the learning rate',
      runId: 'run-1',
    });
    env.send({ type: 'run', run: summary(start.settings, { status: 'error', checkpointStep: 2 }) });
    expect(env.store.getState()).toMatchObject({
      phase: 'error',
      error: { kind: 'nan', message: expect.stringMatching(/NaN at step 3/) },
    });
    env.send({
      type: 'error',
      kind: 'device-lost',
      message: 'GPU device lost. The checkpoint at step 2 is saved',
      runId: 'run-1',
    });
    expect(env.store.getState().device).toEqual({
      status: 'unavailable',
      report: { ok: false, reason: 'GPU device lost. The checkpoint at step 2 is saved' },
    });

    const noAdapter = setup();
    noAdapter.store.getState().init();
    noAdapter.send({
      type: 'device',
      report: {
        ok: false,
        reason: 'WebGPU is present but no GPU adapter was found (the GPU may be blocklisted or disabled).',
      },
    });
    expect(noAdapter.store.getState().device).toMatchObject({
      status: 'unavailable',
      report: { reason: expect.stringMatching(/no GPU adapter/) },
    });
    expect(noAdapter.store.getState().form.batchSize).toBe(4); // the software defaults stay: a failed probe suggests nothing

    const bare = setup({ hasWebGpu: false });
    bare.store.getState().init();
    expect(bare.posted()).toEqual([{ type: 'list-runs', requestId: expect.any(Number) }]);
    expect(bare.store.getState().device).toEqual({ status: 'unavailable', report: { ok: false, reason: NO_WEBGPU } });
  });

  it('lists, deletes and downloads runs as a folder named after the run', () => {
    const env = setup();
    env.store.getState().init();
    const settings = { ...SUGGESTED, datasetId: 'd' };
    env.send({
      type: 'runs',
      runs: [summary(settings, { id: 'a', name: '4L 256w on Brown corpus', status: 'paused', checkpointStep: 4 })],
    });
    env.store.getState().exportRun('a');
    const asked = env.posted().at(-1) as { requestId: number };
    expect(asked).toEqual({ type: 'export-run', runId: 'a', requestId: expect.any(Number) });
    env.send({ type: 'export', runId: 'a', requestId: asked.requestId + 1000, files: [] }); // not asked for here: no download
    env.send({
      type: 'export',
      runId: 'a',
      requestId: asked.requestId,
      files: [
        { name: 'model.safetensors', bytes: new Uint8Array(8) },
        { name: 'config.json', bytes: new Uint8Array(2) },
      ],
    });
    expect(env.downloads).toEqual([{ folder: '4L-256w-on-Brown-corpus', names: ['model.safetensors', 'config.json'] }]);
    env.store.getState().deleteRun('a');
    expect(env.posted().at(-1)).toEqual({ type: 'delete-run', runId: 'a', requestId: expect.any(Number) });
    env.send({ type: 'runs', runs: [] });
    expect(env.store.getState().runs).toEqual([]);
    expect(exportFolderName('///')).toBe('gpt-garden-run');
  });

  it('Stop while preparing ends the preparation before its next stage and starts nothing', async () => {
    const env = setup({ datasets: () => [] });
    env.store.getState().init();
    env.send({ type: 'device', report: { ok: true, limits: LIMITS, suggested: SUGGESTED } });
    const training = env.store.getState().train();
    env.store.getState().stop(); // before the tokenizer stage begins
    await training;
    expect(env.store.getState()).toMatchObject({ phase: 'idle', error: null });
    expect(env.data.getState().tokenizer.json).toBeNull(); // no tokenizer was trained
    expect(env.posted().some((m) => m.type === 'start')).toBe(false);
  });

  it('Stop after the start was sent stops the run as soon as the worker announces it', async () => {
    const env = setup();
    const start = await started(env);
    env.store.getState().stop();
    env.send({ type: 'run', run: summary(start.settings) });
    expect(env.posted().at(-1)).toEqual({ type: 'stop' });
    expect(env.store.getState().phase).toBe('stopping');
    env.send({ type: 'run', run: summary(start.settings, { status: 'stopped', checkpointStep: 1 }) });
    expect(env.store.getState().phase).toBe('stopped');
  });

  it('Show opens a stored run: its curve replaces the current one and Resume continues it', async () => {
    const env = setup();
    env.store.getState().init();
    const settings = { ...SUGGESTED, datasetId: 'd' };
    const stored = summary(settings, { id: 'old', status: 'paused', checkpointStep: 4 });
    env.send({ type: 'runs', runs: [stored] });
    env.send({ type: 'run', run: summary(settings, { id: 'new', status: 'done', checkpointStep: 10 }) });
    env.send({ type: 'history', runId: 'new', steps: [point(1, 5)], evals: [] });
    env.store.getState().open('old');
    expect(env.posted().at(-1)).toEqual({ type: 'load-run', runId: 'old', requestId: expect.any(Number) });
    expect(env.store.getState()).toMatchObject({ run: { id: 'old' }, phase: 'paused', steps: [] });
    env.send({ type: 'run', run: stored });
    env.send({ type: 'history', runId: 'old', steps: [point(1, 6), point(2, 5.5)], evals: [] });
    expect(env.store.getState().steps.map((p) => p.loss)).toEqual([6, 5.5]);
    await env.store.getState().resume();
    expect(env.posted().at(-1)).toEqual({ type: 'resume', runId: 'old' });
  });

  it('a bundled corpus left half-tokenized by a reload is finished before training, not trained on in part', async () => {
    const saved = readFileSync('tests/fixtures/bpe-1000.tokenizer.json', 'utf8');
    const env = setup({
      savedTokenizer: saved,
      datasets: (json) => [{ ...manifestFor(json!), complete: false, tokens: 900 }],
    });
    await env.data.getState().init();
    const start = await started(env);
    expect(env.ingests).toHaveLength(1);
    expect(env.ingests[0]).toMatchObject({ id: BUNDLED_ID, tokenizerJson: saved });
    expect(start.settings.datasetId).toBe(BUNDLED_ID);
  });

  it('holds the training lock from Train until the run pauses or ends; without it, says another tab trains', async () => {
    let held = false;
    const trainingLock = async () => {
      if (held) return null;
      held = true;
      return () => void (held = false);
    };
    const env = setup({ trainingLock });
    const start = await started(env);
    expect(held).toBe(true); // taken before the tokenizer and data were prepared
    env.send({ type: 'run', run: summary(start.settings) });
    env.send({ type: 'run', run: summary(start.settings, { status: 'paused', checkpointStep: 2 }) });
    expect(held).toBe(false);
    await env.store.getState().resume();
    expect(held).toBe(true);
    expect(env.posted().at(-1)).toEqual({ type: 'resume', runId: 'run-1' });
    env.send({ type: 'run', run: summary(start.settings, { status: 'done', checkpointStep: 10 }) });
    expect(held).toBe(false);

    held = true; // another tab takes it
    const before = env.posted().length;
    await env.store.getState().train();
    await env.store.getState().resume('run-1');
    expect(env.posted().length).toBe(before);
    expect(env.store.getState().error).toEqual({ kind: 'config', message: ANOTHER_TAB_TRAINS });
    expect(env.store.getState().phase).toBe('done');
  });

  it('an imported model becomes the current run, ready to sample', () => {
    const env = setup();
    env.store.getState().init();
    const files = [{ name: 'config.json', bytes: new Uint8Array([123, 125]) }];
    env.store.getState().importRun(files, 'my-model.zip');
    const asked = env.posted().at(-1) as { requestId: number };
    expect(asked).toEqual({ type: 'import-run', files, source: 'my-model.zip', requestId: expect.any(Number) });
    const settings = { ...SUGGESTED, datasetId: '' };
    env.send({
      type: 'run',
      run: summary(settings, { id: 'imp', status: 'done', imported: 'my-model.zip' }),
      requestId: asked.requestId,
    });
    expect(env.store.getState()).toMatchObject({
      run: { id: 'imp', imported: 'my-model.zip' },
      phase: 'done',
      steps: [],
    });
    env.store.getState().generate({ prompt: 'life is about', maxTokens: 3, temperature: 0, compare: false });
    expect(env.posted().at(-1)).toMatchObject({ type: 'sample', runId: 'imp', weights: 'current' });
  });

  it("the vocabulary is the tokenizer's: the form cannot change it, Train never retrains it, a new tokenizer in Data does", async () => {
    const env = setup({ datasets: (json) => (json ? [manifestFor(json)] : []) });
    await started(env);
    const firstJson = env.tokenizer()!;
    const vocab = env.data.getState().tokenizer.vocabSize!;
    env.send({ type: 'error', kind: 'internal', message: 'stop' }); // back to idle for the next Train
    env.store.getState().setForm({ model: { vocabSize: 270, nLayer: 3 } });
    expect(env.store.getState().form.model).toMatchObject({ vocabSize: vocab, nLayer: 3 });
    await env.store.getState().train();
    const starts = env.posted().filter((m) => m.type === 'start');
    expect(starts).toHaveLength(2);
    expect(env.tokenizer()).toBe(firstJson);
    expect(env.ingests).toHaveLength(1);
    expect(starts[1]).toMatchObject({ tokenizerJson: firstJson, settings: { model: { vocabSize: vocab, nLayer: 3 } } });
    // Retrained in Data (not by the lab): the form follows it.
    env.send({ type: 'error', kind: 'internal', message: 'stop' });
    await env.data.getState().trainTokenizer(270);
    await vi.waitFor(() => expect(env.data.getState().tokenizer.status).toBe('ready'));
    expect(env.store.getState().form.model.vocabSize).toBe(env.data.getState().tokenizer.vocabSize);
    expect(env.data.getState().tokenizer.vocabSize).not.toBe(vocab);
  });

  it('a picked dataset that is not ready for this tokenizer is said, and nothing trains on the bundled corpus instead', async () => {
    const env = setup({
      datasets: (json) =>
        json ? [manifestFor(json), { ...manifestFor('another tokenizer', 'books'), name: 'BookCorpus' }] : [],
    });
    await started(env);
    env.send({ type: 'error', kind: 'internal', message: 'stop' });
    env.store.getState().setForm({ datasetId: 'books' });
    await env.store.getState().train();
    expect(env.posted().filter((m) => m.type === 'start')).toHaveLength(1);
    expect(env.store.getState().error?.message).toBe(
      'The dataset "BookCorpus" was tokenized with another tokenizer than the current one: re-tokenize it in Data (or load its tokenizer), then press Train again.',
    );
    env.store.getState().setForm({ datasetId: 'nope' });
    await env.store.getState().train();
    expect(env.store.getState().error?.message).toMatch(/^The dataset "nope" is not prepared yet: prepare it in Data/);
  });
});
