/**
 * The lab worker's message handler in Node: Dawn on SwiftShader, IndexedDB from fake-indexeddb, a
 * tokenizer trained here on the bundled corpus's first lines (helpers/lab-data.ts). Covers probe,
 * bad settings, a whole tiny run (steps, evals, checkpoints, status), sampling with and without a
 * run training, export, pause + resume giving the uninterrupted losses, delete, and a lost device.
 * The settings checks that need no GPU are in suggested-settings.test.ts.
 */
import 'fake-indexeddb/auto';
import { createStore, keys } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { IdbShardStore } from '../src/data/idb-store';
import type { GpuContext } from '../src/gpu/context';
import { exportHfModel } from '../src/model/checkpoint';
import { GPTModel } from '../src/model/gpt';
import { parseSafetensors } from '../src/model/safetensors';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import { settingsProblems } from '../src/train/defaults';
import { createLabHandler, type LabDeps } from '../src/train/lab-worker';
import type { LabEvent, LabRequest, RunSettings, StepPoint } from '../src/train/protocol';
import { RunStore } from '../src/train/run-store';
import { writeArena } from '../src/train/sampling';
import { gpu } from './helpers/gpu';
import { bundledLabData } from './helpers/lab-data';
import { testSettings } from './helpers/settings';

const shardStore = new IdbShardStore(createStore('lab-data', 'kv'));
const { lines: LINES, tokenizer, tokenizerJson } = await bundledLabData(shardStore, { lines: 200, vocabSize: 300 });

const SETTINGS: RunSettings = testSettings(
  { vocabSize: tokenizer.vocabSize, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32 },
  {
    maxSteps: 8,
    lr: { maxLr: 3e-3, minLr: 3e-4, warmupSteps: 2 },
    evalEvery: 4,
    evalBatches: 2,
    checkpointEvery: 4,
    seed: 3,
    datasetId: 'brown',
  },
);

let dbCount = 0;
/** A handler with its own run database; `react` sees every event as it is posted. */
function lab(
  options: {
    react?: (event: LabEvent, handle: (m: LabRequest) => Promise<void>) => void;
    createContext?: () => Promise<GpuContext>;
  } = {},
) {
  const events: LabEvent[] = [];
  const runDb = createStore(`lab-runs-${dbCount++}`, 'kv');
  const runStore = new RunStore(runDb);
  const deps: LabDeps = {
    createContext: options.createContext ?? gpu,
    shardStore,
    runStore,
    recovery: { maxTries: 3, windowMs: 60_000, backoffMs: () => 0 },
  };
  const handle: (m: LabRequest) => Promise<void> = createLabHandler((event) => {
    events.push(event);
    options.react?.(event, handle);
  }, deps);
  const of = <T extends LabEvent['type']>(type: T) =>
    events.filter((e): e is Extract<LabEvent, { type: T }> => e.type === type);
  return { handle, events, of, runStore, runDb };
}

const stepLosses = (points: StepPoint[]) => points.map((p) => p.loss);

describe('lab worker', () => {
  it('probe reports the adapter, its limits and speed, and suggests tiny settings on SwiftShader', async () => {
    const { handle, of } = lab();
    await handle({ type: 'probe' });
    const { report } = of('device')[0]!;
    expect(report.ok).toBe(true);
    expect(report.isSoftware).toBe(true);
    expect(report.adapter).toMatch(/swiftshader/i);
    expect(report.probeGflops).toBeGreaterThan(0);
    expect(report.limits!.maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(report.suggested!.model).toMatchObject({ nLayer: 2, nHead: 2, nEmbd: 64, blockSize: 64 });
    expect(settingsProblems(report.suggested!, report.limits)).toEqual([]);

    const failing = lab({ createContext: () => Promise.reject(new Error('adapter.requestDevice() failed')) });
    await failing.handle({ type: 'probe' });
    expect(failing.of('device')[0]!.report).toEqual({
      ok: false,
      reason: expect.stringMatching(/requesting a WebGPU device failed \(adapter.requestDevice\(\) failed\)/),
    });
  });

  it('bad settings, a missing dataset or another tokenizer are config errors, and leave no run behind', async () => {
    const { handle, of } = lab();
    const start = (settings: Partial<RunSettings>, json = tokenizerJson) =>
      handle({ type: 'start', settings: { ...SETTINGS, ...settings }, tokenizerJson: json });
    await start({ model: { ...SETTINGS.model, nHead: 3 } });
    await start({ datasetId: 'nope' });
    await start({ model: { ...SETTINGS.model, vocabSize: 512 } });
    await start(
      {},
      toTokenizerJson(await trainBpe(LINES.slice(0, 50), { vocabSize: 280, specialTokens: [END_OF_TEXT] })),
    );
    await start({ lr: { ...SETTINGS.lr, maxLr: 0 } });
    const errors = of('error');
    expect(errors.map((e) => e.kind)).toEqual(['config', 'config', 'config', 'config', 'config']);
    expect(errors[0]!.message).toMatch(/width 32 is not divisible by 3 heads/);
    expect(errors[1]!.message).toBe('there is no prepared dataset "nope": prepare the data first');
    expect(errors[2]!.message).toMatch(
      /vocabulary size is 512 but the tokenizer has \d+ tokens: set the vocabulary size to \d+/,
    );
    expect(errors[3]!.message).toMatch(/tokenized with another tokenizer/);
    expect(errors[4]!.message).toMatch(/learning rate must be above 0/);
    await handle({ type: 'list-runs' });
    expect(of('runs')[0]!.runs).toEqual([]);
  });

  let finished: { runId: string; losses: number[]; runStore: RunStore } | undefined;

  it('trains a tiny run: steps, evals, checkpoints, then done; samples and exports the stored run', async () => {
    const { handle, events, of, runStore } = lab();
    await handle({ type: 'start', settings: SETTINGS, tokenizerJson, name: 'tiny' });
    expect(of('error')).toEqual([]);
    expect(events[0]).toMatchObject({ type: 'run', run: { name: 'tiny', status: 'running', checkpointStep: 0 } });
    const runId = of('run')[0]!.run.id;
    expect(events[1]).toMatchObject({
      type: 'history',
      runId,
      steps: [],
      evals: [],
      log: [{ step: 0, kind: 'start' }],
    });
    const steps = of('step').map((e) => e.point);
    expect(steps.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(steps[7]!.loss).toBeLessThan(steps[0]!.loss);
    expect(of('eval').map((e) => e.point.step)).toEqual([4, 8]);
    expect(of('checkpoint').map((e) => e.step)).toEqual([4, 8]);
    expect(events.at(-1)).toMatchObject({
      type: 'run',
      run: { id: runId, status: 'done', checkpointStep: 8, tokens: 8 * 2 * 32 },
    });
    finished = { runId, losses: stepLosses(steps), runStore };

    await handle({ type: 'list-runs' });
    expect(of('runs')[0]!.runs.map((r) => [r.id, r.status, r.lastLoss])).toEqual([[runId, 'done', steps[7]!.loss]]);

    // Nothing trains now: the stored checkpoint is loaded for sampling.
    await handle({
      type: 'sample',
      requestId: 7,
      prompt: 'He said',
      maxTokens: 8,
      temperature: 0.8,
      weights: 'current',
      runId,
    });
    const done = of('sample-done')[0]!;
    expect(done).toMatchObject({ requestId: 7, tokens: 8 });
    expect(done.text.length).toBeGreaterThan(0);
    expect(
      of('sample-token')
        .map((e) => e.text)
        .join(''),
    ).toBe(done.text);

    await handle({ type: 'export-run', runId });
    const files = of('export')[0]!.files;
    expect(files.map((f) => f.name)).toEqual(['model.safetensors', 'config.json', 'tokenizer.json']);
    // The export holds exactly what the GPU model exports after loading the checkpoint.
    const model = new GPTModel(await gpu(), SETTINGS.model);
    writeArena(model, 'param', (await runStore.latestCheckpoint(runId))!.params);
    const reference = parseSafetensors((await exportHfModel(model)).safetensors);
    model.destroy();
    const exported = parseSafetensors(files[0]!.bytes);
    expect(exported.metadata).toEqual({ format: 'pt' });
    expect([...exported.tensors.keys()]).toEqual([...reference.tensors.keys()]);
    for (const [name, t] of reference.tensors)
      expect(Buffer.from(exported.tensors.get(name)!.data).equals(Buffer.from(t.data))).toBe(true);
    expect(JSON.parse(new TextDecoder().decode(files[1]!.bytes))).toMatchObject({
      vocab_size: tokenizer.vocabSize,
      n_positions: 32,
      n_layer: 2,
    });
    expect(new TextDecoder().decode(files[2]!.bytes)).toBe(tokenizerJson);
  });

  it('imports a downloaded run as a new one: same weights, same greedy text; never trained further; bad files leave no run', async () => {
    expect(finished).toBeDefined();
    const files = (await finished!.runStore.exportHf(finished!.runId)).map((f) => ({
      name: `trained/${f.name}`,
      bytes: f.bytes,
    }));
    const greedy = { prompt: 'He said', maxTokens: 12, temperature: 0, weights: 'current' as const };

    const { handle, of, events, runStore } = lab();
    await handle({ type: 'import-run', files, source: 'trained.zip' });
    const run = of('run')[0]!.run;
    expect(run).toMatchObject({
      status: 'done',
      imported: 'trained.zip',
      checkpointStep: 0,
      settings: { model: SETTINGS.model, datasetId: '' },
    });
    expect(of('runs')[0]!.runs.map((r) => r.id)).toEqual([run.id]);
    expect((await runStore.latestCheckpoint(run.id))!.params).toEqual(
      (await finished!.runStore.latestCheckpoint(finished!.runId))!.params,
    );

    await handle({ type: 'sample', requestId: 2, runId: run.id, ...greedy });
    // Greedy text from the trained run's own checkpoint, through a handler on its store.
    const referenceText: string[] = [];
    const onTrained = createLabHandler((e) => void (e.type === 'sample-done' && referenceText.push(e.text)), {
      createContext: gpu,
      shardStore,
      runStore: finished!.runStore,
    });
    await onTrained({ type: 'sample', requestId: 3, runId: finished!.runId, ...greedy });
    expect(referenceText[0]!.length).toBeGreaterThan(0);
    expect(of('sample-done')[0]!.text).toBe(referenceText[0]);

    await handle({ type: 'export-run', runId: run.id });
    const again = of('export')[0]!.files;
    expect(Buffer.from(again[0]!.bytes).equals(Buffer.from(files[0]!.bytes))).toBe(true);

    await handle({ type: 'resume', runId: run.id });
    expect(events.at(-1)).toMatchObject({
      type: 'error',
      kind: 'config',
      message: expect.stringMatching(/was imported, not trained here/),
    });

    const before = (await runStore.list()).length;
    await handle({ type: 'import-run', files: files.filter((f) => !f.name.endsWith('config.json')), source: 'broken' });
    expect(events.at(-1)).toMatchObject({
      type: 'error',
      kind: 'data',
      message: expect.stringMatching(/missing: config\.json/),
    });
    expect((await runStore.list()).length).toBe(before);
  });

  it('pause mid-run, sample while training, resume: the curve continues and the losses match the uninterrupted run', async () => {
    expect(finished).toBeDefined();
    const paused = lab({
      react: (event, handle) => {
        if (event.type === 'step' && event.point.step === 2)
          void handle({
            type: 'sample',
            requestId: 1,
            prompt: 'The',
            maxTokens: 4,
            temperature: 1,
            weights: 'initial',
          });
        if (event.type === 'step' && event.point.step === 3) void handle({ type: 'pause' });
      },
    });
    await paused.handle({ type: 'start', settings: SETTINGS, tokenizerJson });
    expect(paused.of('error')).toEqual([]);
    expect(paused.of('sample-done').map((e) => [e.requestId, e.tokens])).toEqual([[1, 4]]);
    expect(paused.of('checkpoint').map((e) => e.step)).toEqual([3]);
    const runId = paused.of('run')[0]!.run.id;
    expect(paused.of('run').at(-1)!.run).toMatchObject({ status: 'paused', checkpointStep: 3 });

    // A "reload": a new handler over the same databases.
    const resumed = lab();
    const handle = createLabHandler((e) => resumed.events.push(e), {
      createContext: gpu,
      shardStore,
      runStore: paused.runStore,
    });
    await handle({ type: 'resume', runId });
    expect(resumed.of('error')).toEqual([]);
    const history = resumed.of('history')[0]!;
    expect(history.steps.map((p) => p.step)).toEqual([1, 2, 3]);
    const all = [...history.steps, ...resumed.of('step').map((e) => e.point)];
    expect(all.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(stepLosses(all)).toEqual(finished!.losses);
    expect(resumed.events.at(-1)).toMatchObject({ type: 'run', run: { id: runId, status: 'done', checkpointStep: 8 } });
  });

  it("stop ends a run 'stopped' (not done) at its checkpoint; resume trains it on to maxSteps, 'done'", async () => {
    const settings = { ...SETTINGS, maxSteps: 4, evalBatches: 0 };
    const stopped = lab({
      react: (event, handle) => event.type === 'step' && event.point.step === 2 && void handle({ type: 'stop' }),
    });
    await stopped.handle({ type: 'start', settings, tokenizerJson });
    const runId = stopped.of('run')[0]!.run.id;
    expect(stopped.of('run').at(-1)!.run).toMatchObject({ id: runId, status: 'stopped', checkpointStep: 2 });
    await stopped.handle({ type: 'resume', runId });
    expect(stopped.of('error')).toEqual([]);
    expect(stopped.of('step').map((e) => e.point.step)).toEqual([1, 2, 3, 4]);
    expect(stopped.of('run').at(-1)!.run).toMatchObject({ id: runId, status: 'done', checkpointStep: 4 });
  });

  it('delete-run removes the run and its checkpoints', async () => {
    const { handle, of, runDb } = lab();
    await handle({ type: 'start', settings: { ...SETTINGS, maxSteps: 1, evalBatches: 0 }, tokenizerJson });
    const runId = of('run')[0]!.run.id;
    expect((await keys(runDb)).length).toBe(2);
    await handle({ type: 'delete-run', runId });
    expect(of('runs').at(-1)!.runs).toEqual([]);
    expect(await keys(runDb)).toEqual([]);
  });

  it('load-run shows a stored run and its curve without training it', async () => {
    const { handle, of, events, runStore } = lab();
    await handle({
      type: 'start',
      settings: { ...SETTINGS, maxSteps: 2, evalEvery: 2, checkpointEvery: 2 },
      tokenizerJson,
    });
    const runId = of('run')[0]!.run.id;
    const trained = of('step').map((e) => e.point);
    const before = events.length;
    await handle({ type: 'load-run', runId });
    const answer = events.slice(before);
    expect(answer.map((e) => e.type)).toEqual(['run', 'history']);
    expect(answer[0]).toMatchObject({ type: 'run', run: { id: runId, status: 'done', checkpointStep: 2 } });
    expect(answer[1]).toMatchObject({ type: 'history', runId, steps: trained, evals: of('eval').map((e) => e.point) });
    // The stored log: start, the checkpoint at step 2 and the end of the run.
    expect((answer[1] as { log: { kind: string; step: number }[] }).log.map((e) => `${e.kind} ${e.step}`)).toEqual([
      'start 0',
      'checkpoint 2',
      'done 2',
    ]);
    // A run saved as 'running' that this worker is not training was interrupted: it shows as paused.
    await runStore.updateSummary(runId, { status: 'running' });
    await handle({ type: 'list-runs' });
    expect(of('runs').at(-1)!.runs[0]).toMatchObject({
      id: runId,
      status: 'paused',
      message: expect.stringMatching(/interrupted/),
    });
    await handle({ type: 'load-run', runId: 'nope' });
    expect(events.at(-1)).toMatchObject({
      type: 'error',
      kind: 'config',
      runId: 'nope',
      message: expect.stringMatching(/no run "nope"/),
    });
  });

  it('a device lost for good (every new one lost too) ends the run with a clear error after 3 tries; the last checkpoint stays loadable', async () => {
    const real = await gpu();
    let lose: (reason: string) => void = () => undefined;
    let lost = false;
    const fake: GpuContext = { ...real, lost: new Promise((resolve) => (lose = resolve)), isLost: () => lost };
    const { handle, of, runStore } = lab({
      createContext: async () => fake,
      react: (event) => {
        if (event.type === 'step' && event.point.step === 3) {
          lost = true;
          lose('GPU device lost (unknown): the driver was reset');
        }
      },
    });
    await handle({ type: 'start', settings: { ...SETTINGS, checkpointEvery: 2, evalBatches: 0 }, tokenizerJson });
    const error = of('error')[0]!;
    expect(error.kind).toBe('device-lost');
    // The last loss is seen either while the model is built on the new device or right after (step 2, the checkpoint).
    expect(error.message).toMatch(
      /^GPU device lost at step [23]\b.*\. 3 tries to continue on a new device within 60 seconds failed\. The checkpoint at step 2 is saved: reload the page and resume the run\.$/,
    );
    expect(of('device-recovering').map((e) => e.attempt)).toEqual([1, 2, 3]);
    const runId = of('run')[0]!.run.id;
    expect(of('step').map((e) => e.point.step)).toEqual([1, 2, 3]);
    expect((await runStore.get(runId))!.summary).toMatchObject({ status: 'error', checkpointStep: 2 });
    expect((await runStore.latestCheckpoint(runId))!.step).toBe(2);
  });
});
