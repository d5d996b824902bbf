/**
 * The lab's phases driven through the pure `transition` alone: event sequences in, state and
 * effects out. No store, no worker, no GPU, no DOM; time and request ids come in on the events.
 */
import { describe, expect, it } from 'vitest';
import type { LabEvent, RunSummary, StepPoint } from '../src/train/protocol';
import {
  initialLabData,
  transition,
  type LabEffect,
  type LabMachineEvent,
  type LabMachineState,
} from '../src/ui/lab/lab-machine';
import { ask, ASKED_KEPT } from '../src/ui/lab/lab-machine-worker';
import { ANOTHER_TAB_TRAINS } from '../src/ui/lab/lab-state';
import { testSettings } from './helpers/settings';

const SETTINGS = testSettings({ vocabSize: 300, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 32 }, { datasetId: '' });
const LIMITS = { maxBufferSize: 2 ** 28, maxStorageBufferBindingSize: 2 ** 27, maxComputeWorkgroupStorageSize: 16384 };
const { datasetId: _unused, ...SUGGESTED } = SETTINGS;

function run(patch: Partial<RunSummary> = {}): RunSummary {
  return {
    id: 'run-1',
    name: '1L 32w',
    createdAt: 'x',
    updatedAt: 'x',
    settings: SETTINGS,
    status: 'running',
    checkpointStep: 0,
    tokens: 0,
    tokenizer: { vocabSize: 300, fingerprint: 'f' },
    ...patch,
  };
}

const step = (n: number, loss: number): StepPoint => ({
  step: n,
  loss,
  lr: 1e-3,
  gradNorm: 1,
  tokens: n * 64,
  elapsedSeconds: n,
  tokensPerSecond: 64,
  tflops: 1e-6,
});

/** Plays events from `state`; keeps every effect in order, and the state after each event. */
function play(state: LabMachineState, events: LabMachineEvent[]) {
  const effects: LabEffect[] = [];
  const states: LabMachineState[] = [];
  for (const event of events) {
    const next = transition(state, event);
    state = next.state;
    effects.push(...next.effects);
    states.push(state);
  }
  return { state, effects, states };
}

const worker = (event: LabEvent, at = 0, requestId = 900): LabMachineEvent => ({
  type: 'worker',
  event,
  at,
  requestId,
});
const posted = (effects: LabEffect[]) => effects.flatMap((e) => (e.type === 'post' ? [e.request.type] : []));

/** Initialised (list-runs asked as 1), the device probed and ready. */
function ready(): LabMachineState {
  return play(initialLabData(300), [
    { type: 'init', hasWebGpu: true, requestId: 1 },
    worker({
      type: 'device',
      report: { ok: true, adapter: 'fake', isSoftware: true, limits: LIMITS, suggested: SUGGESTED },
    }),
  ]).state;
}

/** Train pressed at t=100, the lock held, the data prepared at t=300: the start is sent (start id 7). */
function startSent(from = ready()) {
  return play(from, [
    { type: 'train', at: 100, startId: 7 },
    { type: 'lock', held: true, at: 150 },
    { type: 'prepared', at: 300, vocabSize: 300, datasetId: 'brown', tokenizerJson: '{}' },
  ]);
}

describe('the lab machine', () => {
  it("init probes and lists once; the probe fills the form with the tokenizer's vocabulary", () => {
    const first = transition(initialLabData(300), { type: 'init', hasWebGpu: true, requestId: 1 });
    expect(first.effects).toEqual([
      { type: 'post', request: { type: 'probe' } },
      { type: 'post', request: { type: 'list-runs', requestId: 1 } },
    ]);
    expect(transition(first.state, { type: 'init', hasWebGpu: true, requestId: 2 }).effects).toEqual([]);
    const noGpu = transition(initialLabData(), { type: 'init', hasWebGpu: false, requestId: 3 });
    expect(posted(noGpu.effects)).toEqual(['list-runs']);
    expect(noGpu.state.device.status).toBe('unavailable');
    expect(ready().form).toMatchObject({ model: SETTINGS.model, datasetId: '' });
  });

  it('happy path: train, preparing, running, pause, pausing, paused, resume, running, done; the lock follows', () => {
    const sent = startSent();
    expect(sent.states.map((s) => s.phase)).toEqual(['preparing', 'preparing', 'preparing']);
    expect(sent.effects).toEqual([
      { type: 'take-lock' },
      { type: 'prepare-data', defaultVocab: 300, datasetId: '' },
      {
        type: 'post',
        request: { type: 'start', settings: { ...SETTINGS, datasetId: 'brown' }, tokenizerJson: '{}', name: undefined },
      },
    ]);
    expect(sent.state).toMatchObject({ stepStartedAt: 300, started: { startId: 7, runId: null } });
    expect(sent.state.book.lock).toBe('held');

    const trained = play(sent.state, [
      worker({ type: 'run', run: run() }, 400),
      worker({ type: 'step', runId: 'run-1', point: step(1, 5) }, 1100),
      { type: 'pause' },
      worker({ type: 'step', runId: 'run-1', point: step(2, 4.5) }, 1500),
      worker({ type: 'run', run: run({ status: 'paused', checkpointStep: 2 }) }, 1600),
      { type: 'resume', at: 2000 },
      { type: 'lock', held: true, at: 2100 },
      worker({ type: 'run', run: run({ checkpointStep: 2 }) }, 2200),
      worker({ type: 'run', run: run({ status: 'done', checkpointStep: 10 }) }, 3000),
    ]);
    expect(trained.states.map((s) => s.phase)).toEqual([
      'running',
      'running',
      'pausing',
      'pausing',
      'paused',
      'preparing',
      'preparing',
      'running',
      'done',
    ]);
    expect(trained.effects).toEqual([
      { type: 'post', request: { type: 'pause' } },
      { type: 'release-lock' },
      { type: 'take-lock' },
      { type: 'post', request: { type: 'resume', runId: 'run-1' } },
      { type: 'release-lock' },
    ]);
    const [, firstStep, , lastStep] = trained.states;
    expect(firstStep).toMatchObject({ firstStepMs: 1000, stepStartedAt: 1100, stage: null });
    // The step after Pause was the last: nothing is in flight.
    expect(lastStep!.stepStartedAt).toBeNull();
    expect(trained.state.started).toEqual({ startId: 7, runId: 'run-1' });
    expect(trained.state.steps.map((p) => p.loss)).toEqual([5, 4.5]);
    expect(trained.state.book.lock).toBe('free');
  });

  it('stop while preparing: the data cancels and nothing starts; a run that starts anyway is stopped at once', () => {
    const held = play(ready(), [
      { type: 'train', at: 0, startId: 7 },
      { type: 'lock', held: true, at: 0 },
    ]).state;
    const stopped = play(held, [
      { type: 'stop' },
      { type: 'prepared', at: 10, vocabSize: 300, datasetId: 'brown', tokenizerJson: '{}' },
    ]);
    expect(stopped.effects).toEqual([{ type: 'cancel-data' }, { type: 'release-lock' }]);
    expect(stopped.state).toMatchObject({ phase: 'idle', error: null, started: null });

    // Stop before the lock answers: the lock comes back at once, the phase is what it was.
    const early = play(ready(), [
      { type: 'train', at: 0, startId: 8 },
      { type: 'stop' },
      { type: 'lock', held: true, at: 5 },
    ]);
    expect(early.effects.map((e) => e.type)).toEqual(['take-lock', 'cancel-data', 'release-lock']);
    expect(early.state.phase).toBe('idle');

    // Stop after the start went out: the worker's run is stopped as soon as it is named.
    const late = play(startSent().state, [{ type: 'stop' }, worker({ type: 'run', run: run() }, 500)]);
    expect(late.effects).toEqual([{ type: 'cancel-data' }, { type: 'post', request: { type: 'stop' } }]);
    expect(late.state).toMatchObject({ phase: 'stopping', started: { startId: 7, runId: 'run-1' } });
    expect(late.state.book.stopRequested).toBe(false);
  });

  it("a worker error for another store's request is ignored; ours is shown; one during preparing ends it", () => {
    const state = ready();
    const theirs = transition(
      state,
      worker({ type: 'error', kind: 'internal', message: 'probe failed', requestId: 55 }),
    );
    expect(theirs.state).toBe(state);
    const ours = transition(state, worker({ type: 'error', kind: 'data', message: 'list failed', requestId: 1 }));
    expect(ours.state.error).toEqual({ kind: 'data', message: 'list failed' });
    expect(ours.state.book.asked).toEqual([]);

    // Answered requests leave their ids behind: only the newest are kept, and a late error for one is still ours.
    let many = state;
    for (let id = 1000; id < 1000 + 3 * ASKED_KEPT; id++)
      many = ask(many, { type: 'list-runs', requestId: 0 }, id).state;
    expect(many.book.asked).toHaveLength(ASKED_KEPT);
    const newest = 999 + 3 * ASKED_KEPT;
    const late = transition(many, worker({ type: 'error', kind: 'data', message: 'late', requestId: newest }));
    expect(late.state.error).toEqual({ kind: 'data', message: 'late' });
    expect(late.state.book.asked).not.toContain(newest);

    const sent = startSent().state;
    const failed = transition(sent, worker({ type: 'error', kind: 'config', message: 'no such dataset' }));
    expect(failed.state).toMatchObject({ phase: 'idle', error: { message: 'no such dataset' } });
    expect(failed.effects).toEqual([{ type: 'release-lock' }]);
  });

  it('device lost: the error shows and the device is gone; recovering times its wait until the next step', () => {
    const running = play(startSent().state, [worker({ type: 'run', run: run() }, 400)]).state;
    const recovering = play(running, [
      worker({
        type: 'device-recovering',
        runId: 'other',
        lostAtStep: 1,
        fromStep: 0,
        attempt: 1,
        maxTries: 3,
        message: 'x',
      }),
      worker(
        {
          type: 'device-recovering',
          runId: 'run-1',
          lostAtStep: 3,
          fromStep: 2,
          attempt: 1,
          maxTries: 3,
          message: 'lost',
        },
        900,
      ),
      worker({ type: 'step', runId: 'run-1', point: step(3, 4) }, 1200),
    ]);
    expect(recovering.states[0]).toBe(running);
    expect(recovering.states[1]).toMatchObject({ stage: 'lost', stepStartedAt: 900 });
    expect(recovering.state).toMatchObject({ stage: null, stepStartedAt: 1200, phase: 'running' });

    const lost = transition(
      running,
      worker({ type: 'error', kind: 'device-lost', message: 'GPU gone', runId: 'run-1' }),
    );
    expect(lost.state.device).toEqual({ status: 'unavailable', report: { ok: false, reason: 'GPU gone' } });
    expect(lost.state.error).toEqual({ kind: 'device-lost', message: 'GPU gone' });
  });

  it("an import is answered by the run it created, which then shows its curve; another store's answer is not ours", () => {
    const files = [{ name: 'config.json', bytes: new Uint8Array([123, 125]) }];
    const asked = transition(ready(), { type: 'import-run', files, source: 'folder', requestId: 20 });
    expect(asked.effects).toEqual([
      { type: 'post', request: { type: 'import-run', files, source: 'folder', requestId: 20 } },
    ]);
    const other = transition(asked.state, worker({ type: 'run', run: run({ id: 'theirs' }), requestId: 21 }));
    expect(other.state).toBe(asked.state);
    const imported = run({ id: 'imp', status: 'paused', checkpointStep: 40 });
    const answered = transition(asked.state, worker({ type: 'run', run: imported, requestId: 20 }, 0, 22));
    expect(answered.state).toMatchObject({ run: imported, phase: 'paused', checkpointStep: 40 });
    expect(answered.state.book.importing).toBeNull();
    expect(answered.effects).toEqual([{ type: 'post', request: { type: 'load-run', runId: 'imp', requestId: 22 } }]);
    // The load-run answer is ours: its history becomes the curve.
    const history = transition(
      answered.state,
      worker({ type: 'history', runId: 'imp', steps: [step(40, 3)], evals: [], requestId: 22 }),
    );
    expect(history.state.steps.map((p) => p.step)).toEqual([40]);
  });

  it('a sample queue is served in order: initial weights first, then current; an error ends both', () => {
    const options = { prompt: 'the', maxTokens: 4, temperature: 1, compare: true };
    const asked = transition(ready(), { type: 'generate', options, requestIds: [31, 32] });
    expect(asked.effects).toEqual([
      {
        type: 'post',
        request: {
          type: 'sample',
          requestId: 31,
          prompt: 'the',
          maxTokens: 4,
          temperature: 1,
          weights: 'initial',
          runId: undefined,
        },
      },
    ]);
    const served = play(asked.state, [
      worker({ type: 'sample-token', requestId: 31, text: ' a' }),
      worker({ type: 'sample-done', requestId: 31, text: 'the a', tokens: 1, seconds: 1 }),
      worker({ type: 'sample-token', requestId: 32, text: ' b' }),
      worker({ type: 'sample-done', requestId: 32, text: 'the b', tokens: 1, seconds: 2 }),
    ]);
    expect(
      served.effects.map((e) => (e.type === 'post' && e.request.type === 'sample' ? e.request.requestId : e.type)),
    ).toEqual([32]);
    expect(served.states[0]!.samples.initial.text).toBe(' a');
    expect(served.state.samples.initial).toMatchObject({ status: 'done', text: 'the a' });
    expect(served.state.samples.current).toMatchObject({ status: 'done', text: 'the b', seconds: 2 });
    expect(served.state.book.sampling).toEqual([]);

    const failed = transition(
      asked.state,
      worker({ type: 'error', kind: 'internal', message: 'no model', requestId: 31 }),
    );
    expect(failed.effects).toEqual([]);
    expect([failed.state.samples.initial.status, failed.state.samples.current.status]).toEqual(['error', 'error']);
    expect(failed.state.book.queued).toEqual([]);
  });

  it("a download answers only its own request, under the run's name", () => {
    const listed = transition(ready(), worker({ type: 'runs', runs: [run({ name: '1L 32w on Brown' })] })).state;
    const asked = transition(listed, { type: 'export-run', runId: 'run-1', full: true, requestId: 40 });
    const files = [{ name: 'config.json', bytes: new Uint8Array([1]) }];
    const stray = transition(asked.state, worker({ type: 'export', runId: 'run-1', files, requestId: 41 }));
    expect(stray.state).toBe(asked.state);
    const answer = transition(
      asked.state,
      worker({ type: 'export', runId: 'run-1', files, full: true, requestId: 40 }),
    );
    expect(answer.effects).toEqual([{ type: 'download', folderName: '1L-32w-on-Brown-full-state', files }]);
    expect(answer.state.book.exports).toEqual([]);
  });

  it('the lock refused: the phase is what it was and the page says another tab trains', () => {
    const refused = play(ready(), [
      { type: 'train', at: 0, startId: 7 },
      { type: 'lock', held: false, at: 1 },
    ]);
    expect(refused.state).toMatchObject({ phase: 'idle', error: { message: ANOTHER_TAB_TRAINS }, started: null });
    expect(refused.effects).toEqual([{ type: 'take-lock' }]);
  });

  it('illegal events leave the very same state and do nothing', () => {
    const idle = ready();
    const running = play(startSent().state, [worker({ type: 'run', run: run() })]).state;
    const cases: [LabMachineState, LabMachineEvent][] = [
      [idle, { type: 'pause' }],
      [idle, { type: 'stop' }],
      [idle, { type: 'lock', held: true, at: 0 }],
      [idle, { type: 'prepared', at: 0, vocabSize: 300, datasetId: 'd', tokenizerJson: '{}' }],
      [idle, worker({ type: 'step', runId: 'run-1', point: step(1, 5) })],
      [running, { type: 'train', at: 0, startId: 9 }],
      [running, { type: 'resume', at: 0 }],
      [running, { type: 'open', runId: 'run-1', requestId: 9 }],
      [running, { type: 'import-run', files: [], source: 'x', requestId: 9 }],
    ];
    for (const [state, event] of cases) {
      const next = transition(state, event);
      expect(next.state, event.type).toBe(state);
      expect(next.effects, event.type).toEqual([]);
    }
  });

  it('the state is plain data: a structured clone drives the machine the same way', () => {
    const state = startSent().state;
    const clone = structuredClone(state);
    expect(clone).toEqual(state);
    const event = worker({ type: 'run', run: run() }, 400);
    expect(transition(clone, event)).toEqual(transition(state, event));
  });
});
