/**
 * Replies matched by request id only: the lab store and the Plan tab's speed probe share one worker,
 * and neither takes the other's answers or errors (the crossings of issue 12, item 5).
 */
import { describe, expect, it } from 'vitest';
import type { LabRequest } from '../src/train/protocol';
import { createSpeedStore, workerProbe } from '../src/ui/plan/speed-store';
import { setup, SUGGESTED, summary } from './helpers/lab-store-env';

const MODEL = { vocabSize: 300, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 32 };

function bench(options: Parameters<typeof setup>[0] = {}) {
  const env = setup(options);
  const speed = createSpeedStore({ probe: workerProbe(env.worker), busy: () => null });
  const last = <T extends LabRequest['type']>(type: T) =>
    env
      .posted()
      .filter((m): m is Extract<LabRequest, { type: T }> => m.type === type)
      .at(-1)!;
  return { env, speed, last };
}

describe('request ids between the page and the lab worker', () => {
  it('an import error while a speed probe is pending leaves the probe pending; its own answer then completes it', async () => {
    const { env, speed, last } = bench();
    env.store.getState().init();
    env.store.getState().importRun([{ name: 'config.json', bytes: new Uint8Array([123]) }], 'bad.zip');
    const measuring = speed.getState().measure(MODEL, 2);
    const imp = last('import-run').requestId!;
    const probe = last('speed-probe').requestId!;
    expect(new Set([imp, probe]).size).toBe(2);

    env.send({ type: 'error', kind: 'data', message: 'missing: config.json', requestId: imp });
    expect(env.store.getState().error).toEqual({ kind: 'data', message: 'missing: config.json' });
    expect(speed.getState()).toMatchObject({ status: 'measuring', error: null });
    // A speed answer to someone else's request is not this probe's either.
    env.send({ type: 'speed', model: MODEL, tokensPerSecond: 1, flopsPerSecond: 1, requestId: probe + 1000 });
    expect(speed.getState().status).toBe('measuring');

    env.send({ type: 'speed', model: MODEL, tokensPerSecond: 640, flopsPerSecond: 2.5e9, requestId: probe });
    await measuring;
    expect(speed.getState()).toMatchObject({ status: 'done', result: { tokensPerSecond: 640, flopsPerSecond: 2.5e9 } });
    expect(env.store.getState().error?.message).toBe('missing: config.json');
  });

  it('a speed-probe error during "preparing" leaves the phase, the stage and the import state alone', async () => {
    // The lock never comes: Train stays in 'preparing' for the whole test.
    const { env, speed, last } = bench({ trainingLock: () => new Promise(() => undefined) });
    env.store.getState().init();
    env.send({ type: 'device', report: { ok: true, adapter: 'fake', isSoftware: true, suggested: SUGGESTED } });
    env.store.getState().importRun([{ name: 'config.json', bytes: new Uint8Array([123]) }], 'model.zip');
    const imp = last('import-run').requestId!;
    const measuring = speed.getState().measure(MODEL, 2);
    const probe = last('speed-probe').requestId!;
    void env.store.getState().train();
    const before = env.store.getState();
    expect(before.phase).toBe('preparing');

    env.send({
      type: 'error',
      kind: 'config',
      message: 'a run is training: measure the speed when it has ended',
      requestId: probe,
    });
    await measuring;
    expect(speed.getState()).toMatchObject({
      status: 'error',
      error: 'a run is training: measure the speed when it has ended',
    });
    expect(env.store.getState()).toMatchObject({ phase: 'preparing', stage: before.stage, error: null });

    // The import is still awaited: its run becomes the current one.
    env.send({
      type: 'run',
      run: summary({ ...SUGGESTED, datasetId: '' }, { id: 'imp', status: 'done', imported: 'model.zip' }),
      requestId: imp,
    });
    expect(env.store.getState().run).toMatchObject({ id: 'imp', imported: 'model.zip' });
  });

  it("errors of the store's own requests are shown; errors of requests it never sent are not", () => {
    const { env, last } = bench();
    env.store.getState().init();
    env.store.getState().exportRun('gone');
    env.send({
      type: 'error',
      kind: 'config',
      message: 'profile failed',
      requestId: last('export-run').requestId! + 1000,
    });
    expect(env.store.getState().error).toBeNull();
    env.send({
      type: 'error',
      kind: 'config',
      message: 'there is no run "gone"',
      runId: 'gone',
      requestId: last('export-run').requestId,
    });
    expect(env.store.getState().error?.message).toBe('there is no run "gone"');
  });

  it("train() resolves with its start's id, which the run the worker names answers; a refused press with null", async () => {
    const env = setup();
    env.store.getState().init();
    env.send({ type: 'device', report: { ok: true, adapter: 'fake', isSoftware: true, suggested: SUGGESTED } });
    env.store.getState().setForm({ batchSize: 0 });
    expect(await env.store.getState().train()).toBeNull();
    env.store.getState().setForm({ batchSize: SUGGESTED.batchSize });
    const startId = await env.store.getState().train();
    expect(startId).not.toBeNull();
    expect(env.posted().filter((m) => m.type === 'start')).toHaveLength(1);
    expect(env.store.getState().started).toEqual({ startId, runId: null });
    env.send({ type: 'run', run: summary(env.store.getState().form, { id: 'run-7' }) });
    expect(env.store.getState().started).toEqual({ startId, runId: 'run-7' });
    // A later run shown (another run opened) does not rename the start's run.
    env.send({ type: 'run', run: summary(env.store.getState().form, { id: 'run-7', status: 'done' }) });
    env.store.getState().open('run-8');
    expect(env.store.getState().started).toEqual({ startId, runId: 'run-7' });
  });
});
