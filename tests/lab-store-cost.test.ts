/**
 * Time before cost, and a lab that answers at once (the lab store in Node, scripted worker): the
 * Train form's estimate and where its speed comes from, the question asked before a run of more
 * than three hours, the status line the moment Stop or Pause is pressed and while a step runs,
 * and a stopped run (not "done") that resumes to its last step.
 */
import { describe, expect, it } from 'vitest';
import { trainingFlopsPerToken } from '../src/model/hf';
import { formatRunTime } from '../src/ui/lab/estimate';
import { canResume } from '../src/ui/lab/lab-store';
import { statusText } from '../src/ui/lab/status-text';
import { LIMITS, point, setup, started, SUGGESTED, summary } from './helpers/lab-store-env';

const device = (probeGflops: number) => ({
  ok: true,
  adapter: 'SwiftShader Device',
  isSoftware: true,
  limits: LIMITS,
  suggested: SUGGESTED,
  probeGflops,
});

describe('the Train form says the time before the cost', () => {
  it("estimates from the device check, from the Plan tab's speed, or exactly for a measured model, and says which", () => {
    const env = setup();
    env.store.getState().init();
    expect(env.store.getState().estimate()).toBeNull(); // no probe yet: no guess
    env.send({ type: 'device', report: device(2) });
    const { form } = env.store.getState();
    const tokens = 2 * 1 * 32 * 10;
    const flops = tokens * trainingFlopsPerToken(form.model, 32);
    expect(env.store.getState().estimate()).toEqual({
      seconds: flops / (2e9 * 0.5),
      basis: expect.stringMatching(/^rough: from the device check's matmul speed/),
      device: 'software adapter',
    });

    const other = { ...form.model, nLayer: 1, nEmbd: 64 };
    env.store.getState().setMeasuredSpeed({ model: other, batchSize: 4, tokensPerSecond: 500, flopsPerSecond: 3e8 });
    expect(env.store.getState().estimate()).toEqual({
      seconds: flops / 3e8,
      basis: "from the Plan tab's measured speed (1-layer, 64-wide model)",
      device: 'software adapter',
    });
    env.store.getState().setMeasuredSpeed({ model: form.model, batchSize: 2, tokensPerSecond: 80, flopsPerSecond: 1 });
    expect(env.store.getState().estimate()!).toMatchObject({
      seconds: tokens / 80,
      basis: 'measured on this model in the Plan tab',
    });
    env.store.getState().setForm({ maxSteps: 20 });
    expect(env.store.getState().estimate()!.seconds).toBe((2 * tokens) / 80);
    env.store.getState().setForm({ batchSize: 0 });
    expect(env.store.getState().estimate()).toBeNull(); // settings that cannot run have no time
  });

  it('asks before starting a run estimated past three hours: Cancel starts nothing, Train anyway starts it', async () => {
    const env = setup({ datasets: () => [] });
    env.store.getState().init();
    env.send({ type: 'device', report: device(2) });
    env.store.getState().setForm({ maxSteps: 200_000_000 });
    const seconds = env.store.getState().estimate()!.seconds;
    expect(seconds).toBeGreaterThan(3 * 3600);
    await env.store.getState().train();
    expect(env.store.getState().confirm).toEqual({
      message: `This run would take about ${formatRunTime(seconds)} on this device (software adapter). Train anyway?`,
    });
    expect(env.store.getState().phase).toBe('idle');
    expect(env.posted().some((m) => m.type === 'start')).toBe(false);
    expect(env.data.getState().tokenizer.json).toBeNull(); // nothing was prepared either
    env.store.getState().cancelTrain();
    expect(env.store.getState().confirm).toBeNull();
    expect(env.posted().some((m) => m.type === 'start')).toBe(false);

    await env.store.getState().train();
    expect(env.store.getState().confirm).not.toBeNull();
    env.store.getState().setForm({ maxSteps: 10 }); // editing the form withdraws the question
    expect(env.store.getState().confirm).toBeNull();
    env.store.getState().setForm({ maxSteps: 200_000_000 });
    await env.store.getState().train();
    await env.store.getState().confirmTrain();
    expect(env.posted().filter((m) => m.type === 'start')).toEqual([
      expect.objectContaining({ settings: expect.objectContaining({ maxSteps: 200_000_000 }) }),
    ]);
    expect(env.store.getState().confirm).toBeNull();
  });

  it('a run under three hours starts without asking', async () => {
    const env = setup({ datasets: () => [] });
    env.store.getState().init();
    env.send({ type: 'device', report: device(2) });
    await env.store.getState().train();
    expect(env.store.getState().confirm).toBeNull();
    expect(env.posted().filter((m) => m.type === 'start')).toHaveLength(1);
  });
});

describe('Stop and Pause answer at once', () => {
  it('shows the first step\'s wait, "Stopping after this step…" the moment Stop is pressed, then a stopped run that resumes to its end', async () => {
    const env = setup();
    const start = await started(env);
    const { store, send, tick } = env;
    const status = () => statusText(store.getState(), tick(0));
    expect(status()).toBe('Compiling the model on the GPU…');
    tick(5_000); // the worker builds the model: timed from the start sent
    expect(status()).toBe('Compiling the model on the GPU… 5 s');
    send({ type: 'run', run: summary(start.settings) });
    expect(status()).toBe('Compiling the kernels and running the first step… 5 s');
    tick(40_000);
    expect(status()).toBe('Compiling the kernels and running the first step… 45 s');
    store.getState().stop();
    // Before the worker answers anything: the status says it, and the step in flight keeps its clock.
    expect(store.getState().phase).toBe('stopping');
    expect(status()).toBe('Stopping after this step… · 2L 32w · Step 1 running for 45 s…');
    tick(85_000);
    expect(status()).toBe('Stopping after this step… · 2L 32w · Step 1 running for 2 min 10 s…');
    expect(store.getState().stepElapsedMs()).toBe(130_000);
    send({ type: 'step', runId: 'run-1', point: point(1, 5) });
    expect(status()).toBe('Stopping after this step… · 2L 32w · step 1 of 10 · loss 5.0000');
    send({ type: 'checkpoint', runId: 'run-1', step: 1 });
    send({ type: 'run', run: summary(start.settings, { status: 'stopped', checkpointStep: 1 }) });
    expect(store.getState().phase).toBe('stopped');
    expect(status()).toBe('Stopped · 2L 32w · step 1 of 10 · loss 5.0000 · Resume continues it');
    expect(canResume(store.getState().run, store.getState().phase)).toBe(true);
    expect(store.getState().stepElapsedMs()).toBeNull();

    await store.getState().resume();
    expect(env.posted().at(-1)).toEqual({ type: 'resume', runId: 'run-1' });
    send({ type: 'run', run: summary(start.settings, { status: 'running', checkpointStep: 1 }) });
    send({ type: 'history', runId: 'run-1', steps: [point(1, 5)], evals: [] });
    for (let step = 2; step <= 10; step++) send({ type: 'step', runId: 'run-1', point: point(step, 5 - step / 10) });
    send({ type: 'run', run: summary(start.settings, { status: 'done', checkpointStep: 10 }) });
    expect(status()).toBe('Finished · 2L 32w · step 10 of 10 · loss 4.0000');
    expect(canResume(store.getState().run, store.getState().phase)).toBe(false);
  });

  it('a step running long shows its elapsed time; Pause says "Pausing after this step…" at once', async () => {
    const env = setup();
    const start = await started(env);
    const { store, send, tick } = env;
    const status = () => statusText(store.getState(), tick(0));
    send({ type: 'run', run: summary(start.settings) });
    send({ type: 'history', runId: 'run-1', steps: [], evals: [] });
    send({ type: 'step', runId: 'run-1', point: point(1, 5) });
    send({ type: 'step', runId: 'run-1', point: point(2, 4.5) });
    tick(1000);
    expect(status()).toBe('Training · 2L 32w · step 2 of 10 · loss 4.5000'); // a fast step is not announced
    tick(129_000);
    expect(status()).toBe('Training · 2L 32w · step 2 of 10 · loss 4.5000 · Step 3 running for 2 min 10 s…');
    store.getState().pause();
    expect(status()).toBe(
      'Pausing after this step… · 2L 32w · step 2 of 10 · loss 4.5000 · Step 3 running for 2 min 10 s…',
    );
    // Stop still answers while pausing.
    store.getState().stop();
    expect(status()).toMatch(/^Stopping after this step… · /);
  });

  it('a stopped run in the runs list (e.g. after a reload) resumes; a done one does not', async () => {
    const env = setup();
    env.store.getState().init();
    const settings = { ...SUGGESTED, datasetId: 'd' };
    const stopped = summary(settings, { id: 's', status: 'stopped', checkpointStep: 4 });
    const done = summary(settings, { id: 'd', status: 'done', checkpointStep: 10 });
    env.send({ type: 'runs', runs: [stopped, done] });
    expect(canResume(stopped, 'idle')).toBe(true);
    expect(canResume(done, 'idle')).toBe(false);
    await env.store.getState().resume('s');
    expect(env.posted().at(-1)).toEqual({ type: 'resume', runId: 's' });
    expect(env.store.getState()).toMatchObject({ phase: 'preparing', run: { id: 's' } });
  });
});
