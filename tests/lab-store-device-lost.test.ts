/**
 * The lab store while the worker replaces a lost GPU device (scripted worker): the status line says
 * so and times the wait, the curve drops the steps after the checkpoint, training picks up again;
 * an event for another run changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { statusText } from '../src/ui/lab/status-text';
import { point, setup, started, summary } from './helpers/lab-store-env';

describe('a lost GPU device on the page', () => {
  it('says "GPU device lost at step 3: resuming from the checkpoint at step 2 (try 1 of 3)…" until the next step lands', async () => {
    const env = setup();
    const start = await started(env);
    const { store, send, tick } = env;
    const status = () => statusText(store.getState(), tick(0));
    send({ type: 'run', run: summary(start.settings) });
    send({ type: 'history', runId: 'run-1', steps: [], evals: [] });
    for (const [step, loss] of [
      [1, 5],
      [2, 4.5],
      [3, 4.2],
    ] as const)
      send({ type: 'step', runId: 'run-1', point: point(step, loss) });
    send({ type: 'checkpoint', runId: 'run-1', step: 2 });

    const message = 'GPU device lost at step 3: resuming from the checkpoint at step 2 (try 1 of 3)…';
    send({
      type: 'device-recovering',
      runId: 'other-run',
      lostAtStep: 9,
      fromStep: 8,
      attempt: 1,
      maxTries: 3,
      message: 'not this run',
    });
    expect(status()).toMatch(/^Training · .*step 3 of 10 · loss 4\.2000$/);
    send({ type: 'history', runId: 'run-1', steps: [point(1, 5), point(2, 4.5)], evals: [] });
    send({ type: 'device-recovering', runId: 'run-1', lostAtStep: 3, fromStep: 2, attempt: 1, maxTries: 3, message });
    expect(store.getState()).toMatchObject({ phase: 'running', checkpointStep: 2, error: null });
    expect(store.getState().steps.map((p) => p.step)).toEqual([1, 2]);
    expect(status()).toBe(`${message} 0 s`);
    tick(5000); // compiling on the new device takes a while: the wait is timed
    expect(status()).toBe(`${message} 5 s`);

    send({ type: 'step', runId: 'run-1', point: point(3, 4.2) });
    expect(status()).toMatch(/^Training · .*step 3 of 10 · loss 4\.2000$/);
    expect(store.getState().steps.map((p) => p.step)).toEqual([1, 2, 3]);
  });
});
