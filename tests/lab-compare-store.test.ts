/**
 * The compare store beside the real lab store on a scripted worker: a picked run's curve is asked
 * under the compare store's own request id and leaves the lab's current run alone; a return visit
 * shows the latest run; picks and view survive a reload; a deleted run drops out.
 */
import { describe, expect, it } from 'vitest';
import type { LabRequest, RunSummary } from '../src/train/protocol';
import { testSettings } from './helpers/settings';
import { createCompareStore, shownRuns } from '../src/ui/lab/compare-store';
import { point, setup, summary } from './helpers/lab-store-env';

const SETTINGS = testSettings({ vocabSize: 300, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32 });
const OLD = summary(SETTINGS, {
  id: 'old',
  name: 'old run',
  status: 'done',
  checkpointStep: 4,
  updatedAt: '2026-01-01T00:00:00Z',
});
const NEW = summary(SETTINGS, {
  id: 'new',
  name: 'new run',
  status: 'paused',
  checkpointStep: 2,
  updatedAt: '2026-02-01T00:00:00Z',
});

function memoryStorage() {
  const map = new Map<string, string>();
  return { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v), map };
}

function loadRequests(env: ReturnType<typeof setup>) {
  return env.posted().filter((m): m is Extract<LabRequest, { type: 'load-run' }> => m.type === 'load-run');
}

/** The worker's answer to a load-run: the summary, then the curve. */
function answer(
  env: ReturnType<typeof setup>,
  request: { runId: string; requestId?: number },
  run: RunSummary,
  losses: number[],
) {
  env.send({ type: 'run', run, requestId: request.requestId });
  env.send({
    type: 'history',
    runId: run.id,
    steps: losses.map((l, i) => point(i + 1, l)),
    evals: [],
    requestId: request.requestId,
  });
}

describe('compare store', () => {
  it("on a return visit shows the latest run's curve without making it the lab's current run", () => {
    const env = setup();
    const compare = createCompareStore({ worker: env.worker, lab: env.store, storage: memoryStorage() });
    env.store.getState().init();
    env.send({ type: 'runs', runs: [OLD, NEW] });
    expect(compare.getState()).toMatchObject({ picked: ['new'], autoPicked: 'new' });
    const [request] = loadRequests(env);
    expect(request).toMatchObject({ runId: 'new' });
    answer(env, request!, NEW, [5, 4]);
    // The lab store took neither the summary nor the curve: nothing is current, the list keeps its order.
    expect(env.store.getState()).toMatchObject({ run: null, steps: [], phase: 'idle' });
    expect(env.store.getState().runs.map((r) => r.id)).toEqual(['old', 'new']);
    const shown = shownRuns(env.store.getState(), compare.getState());
    expect(shown.map((r) => [r.id, r.steps.map((p) => p.loss)])).toEqual([['new', [5, 4]]]);

    // Show on another run makes it current: the page's own pick gives way.
    env.store.getState().open('old');
    expect(compare.getState()).toMatchObject({ picked: [], autoPicked: null });
  });

  it('overlays picked runs after the current one, remembers picks and view, and drops a run that is gone', () => {
    const env = setup();
    const storage = memoryStorage();
    const compare = createCompareStore({ worker: env.worker, lab: env.store, storage });
    env.store.getState().init();
    env.send({ type: 'runs', runs: [OLD, NEW] });
    compare.getState().toggle('old', true);
    compare.getState().setView({ axis: 'flops', smoothing: 0.5, log: true });
    const request = loadRequests(env).find((r) => r.runId === 'old')!;
    answer(env, request, OLD, [6, 5, 4, 3]);
    // The current run (live from the lab store) comes first, then the picks.
    env.store.setState({ run: NEW, steps: [point(1, 9)], evals: [] });
    expect(shownRuns(env.store.getState(), compare.getState()).map((r) => [r.id, r.steps.length])).toEqual([
      ['new', 1],
      ['old', 4],
    ]);

    // A reload: the user's pick and view come back (the page's own pick is not saved as one).
    const again = setup();
    const restored = createCompareStore({ worker: again.worker, lab: again.store, storage });
    expect(restored.getState()).toMatchObject({
      picked: ['old'],
      axis: 'flops',
      smoothing: 0.5,
      log: true,
      table: false,
    });
    again.store.getState().init();
    again.send({ type: 'runs', runs: [OLD, NEW] });
    expect(restored.getState().autoPicked).toBeNull();
    // The run was deleted elsewhere: the worker's error for this request drops it, and the lab shows no error.
    const gone = loadRequests(again).find((r) => r.runId === 'old')!;
    again.send({ type: 'error', kind: 'config', message: 'there is no run "old"', requestId: gone.requestId });
    expect(restored.getState().picked).toEqual([]);
    expect(again.store.getState().error).toBeNull();
    expect(JSON.parse(storage.map.get('gpt-garden-compare')!)).toMatchObject({ picked: [] });
  });

  it('a damaged saved entry falls back to the defaults', () => {
    const env = setup();
    const storage = memoryStorage();
    storage.setItem('gpt-garden-compare', '{"axis":"sideways","smoothing":7,"picked":[1,"x"]');
    expect(createCompareStore({ worker: env.worker, lab: env.store, storage }).getState()).toMatchObject({
      axis: 'step',
      smoothing: 0.9,
      picked: [],
    });
    storage.setItem('gpt-garden-compare', '{"axis":"sideways","smoothing":7,"picked":[1,"x"]}');
    expect(createCompareStore({ worker: env.worker, lab: env.store, storage }).getState()).toMatchObject({
      axis: 'step',
      smoothing: 0.9,
      picked: ['x'],
    });
  });
});
