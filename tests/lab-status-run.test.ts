/**
 * The status line names the run it is about and tells that run's numbers only: a failed resume of
 * one run after another run's curve was shown said "Stopped by an error · step 3 of 200" (the
 * other run's step, this run's length).
 */
import { describe, expect, it } from 'vitest';
import { statusText } from '../src/ui/lab/status-text';
import { point, setup, started, summary } from './helpers/lab-store-env';

describe('status line of one run', () => {
  it('a failed resume of a paused run after another run trained names that run and its own checkpoint, not the other curve', async () => {
    const env = setup();
    const start = await started(env);
    const { store, send } = env;
    const status = () => statusText(store.getState(), 0);
    // Run "new" trains three steps, then pauses.
    send({ type: 'run', run: summary(start.settings, { id: 'new', name: 'the new run' }) });
    for (let step = 1; step <= 3; step++) send({ type: 'step', runId: 'new', point: point(step, 5 - step / 10) });
    send({
      type: 'run',
      run: summary(start.settings, { id: 'new', name: 'the new run', status: 'paused', checkpointStep: 3 }),
    });
    expect(status()).toBe('Paused · the new run · step 3 of 10 · loss 4.7000');

    // Run "old" (200 steps, paused at 4) is resumed from the list and the worker refuses it.
    const old = summary(
      { ...start.settings, maxSteps: 200 },
      { id: 'old', name: 'the old run', status: 'paused', checkpointStep: 4 },
    );
    send({
      type: 'runs',
      runs: [old, summary(start.settings, { id: 'new', name: 'the new run', status: 'paused', checkpointStep: 3 })],
    });
    await store.getState().resume('old');
    expect(env.posted().at(-1)).toEqual({ type: 'resume', runId: 'old' });
    expect(store.getState().steps).toEqual([]); // the new run's curve is not the old run's
    send({
      type: 'error',
      kind: 'config',
      message: 'dataset "Brown" was tokenized with another tokenizer',
      runId: 'old',
    });
    expect(store.getState().phase).toBe('error');
    expect(status()).toBe('Stopped by an error · the old run · checkpoint at step 4 of 200');
    expect(status()).not.toMatch(/step 3/);

    // Its own history, once loaded, gives its own last step.
    send({ type: 'history', runId: 'old', steps: [point(3, 6), point(4, 5.9)], evals: [] });
    expect(status()).toBe('Stopped by an error · the old run · step 4 of 200 · loss 5.9000');
  });
});
