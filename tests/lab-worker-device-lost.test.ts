/**
 * A GPU device lost mid-run, for real: the test destroys the lab worker's Dawn device (SwiftShader)
 * while it trains. The worker gets a new device and continues from the last checkpoint, so the run
 * ends with the same bits as one never interrupted; past the bound on tries it stops with a clear
 * error and the checkpoint kept. Each context here is its own device (the shared test device must
 * not be destroyed).
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { createStore } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { IdbShardStore } from '../src/data/idb-store';
import { fingerprint, ingest } from '../src/data/ingest';
import type { GpuContext } from '../src/gpu/context';
import { createNodeContext } from '../src/gpu/node';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import { RecoveryBudget } from '../src/train/device-recovery';
import { createLabHandler } from '../src/train/lab-worker';
import type { LabEvent, LabRequest, RunSettings } from '../src/train/protocol';
import { RunStore, type CheckpointData } from '../src/train/run-store';

const LINES = readFileSync('public/corpus/brown-fiction.txt', 'utf8').split('\n').filter(Boolean).slice(0, 120);
const bpe = await trainBpe(LINES, { vocabSize: 280, minFrequency: 2, specialTokens: [END_OF_TEXT] });
const tokenizerJson = toTokenizerJson(bpe);
const tokenizer = new Tokenizer(bpe);
const shardStore = new IdbShardStore(createStore('lost-data', 'kv'));
await ingest({
  store: shardStore,
  tokenizer,
  tokenizerFingerprint: fingerprint(tokenizerJson),
  id: 'brown',
  spec: { kind: 'bundled', url: '/corpus/brown-fiction.txt' },
  source: {
    description: 'bundled lines',
    rowKind: 'line',
    async *read(from) {
      yield { rows: LINES.slice(from.row), cursor: { file: 0, row: LINES.length }, bytesRead: 0, endOfFile: true };
    },
  },
  valFraction: 0.1,
});

const SETTINGS: RunSettings = {
  model: { vocabSize: tokenizer.vocabSize, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32 },
  batchSize: 2,
  accumSteps: 1,
  maxSteps: 6,
  lr: { maxLr: 3e-3, minLr: 3e-4, warmupSteps: 2 },
  weightDecay: 0.1,
  gradClip: 1,
  evalEvery: 3,
  evalBatches: 1,
  checkpointEvery: 3,
  seed: 5,
  datasetId: 'brown',
};

const NO_WAIT = { maxTries: 3, windowMs: 60_000, backoffMs: () => 0 };

let dbCount = 0;
/**
 * The device a test's handler starts on: the last one of the test before, its kernels compiled
 * (compiling them is most of a tiny run's time on SwiftShader).
 */
let warm: GpuContext | undefined;

/**
 * A lab handler whose every new device is its own; `react` sees each event and may destroy the
 * device in use; `later` makes the devices after the first.
 */
function lab(
  react: (event: LabEvent, device: GPUDevice) => void = () => undefined,
  later: () => Promise<GpuContext> = createNodeContext,
  wrapFirst = (ctx: GpuContext) => ctx,
) {
  const events: LabEvent[] = [];
  const devices: GpuContext[] = [];
  const runStore = new RunStore(createStore(`lost-runs-${dbCount++}`, 'kv'));
  const handle: (m: LabRequest) => Promise<void> = createLabHandler(
    (event) => {
      events.push(event);
      react(event, devices.at(-1)!.device);
    },
    {
      createContext: async () => {
        const made = devices.length === 0 ? (warm && !warm.isLost() ? warm : await createNodeContext()) : await later();
        warm = made;
        const handed = devices.length === 0 ? wrapFirst(made) : made;
        devices.push(handed);
        return handed;
      },
      shardStore,
      runStore,
      recovery: NO_WAIT,
    },
  );
  const of = <T extends LabEvent['type']>(type: T) =>
    events.filter((e): e is Extract<LabEvent, { type: T }> => e.type === type);
  return { handle, events, of, runStore, devices };
}

const bits = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

describe('a GPU device lost mid-run', () => {
  let reference: { losses: number[]; evals: number[]; final: CheckpointData; atStep3: CheckpointData } | undefined;

  it('an uninterrupted run (the reference)', async () => {
    let atStep3: Promise<CheckpointData | undefined> | undefined;
    const ref = lab((event) => {
      // Saved before the event is sent; the next save is three steps away.
      if (event.type === 'checkpoint' && event.step === 3) atStep3 = ref.runStore.latestCheckpoint(event.runId);
    });
    await ref.handle({ type: 'start', settings: SETTINGS, tokenizerJson });
    expect(ref.of('error')).toEqual([]);
    const runId = ref.of('run')[0]!.run.id;
    const record = (await ref.runStore.get(runId))!;
    expect(record.summary.status).toBe('done');
    reference = {
      losses: record.steps.map((p) => p.loss),
      evals: record.evals.map((p) => p.valLoss),
      final: (await ref.runStore.latestCheckpoint(runId))!,
      atStep3: (await atStep3)!,
    };
    expect(reference.losses).toHaveLength(6);
    expect(reference.atStep3.step).toBe(3);
  }, 300_000); // compiling the kernels on SwiftShader takes most of it (minutes on a busy machine)

  it('destroyed at step 5, after the checkpoint at step 3: resumes by itself and ends bit for bit as the uninterrupted run', async () => {
    expect(reference).toBeDefined();
    const recovered = lab((event, device) => {
      if (event.type === 'step' && event.point.step === 5 && recovered.devices.length === 1) device.destroy();
    });
    const { handle, of, events, runStore, devices } = recovered;
    await handle({ type: 'start', settings: SETTINGS, tokenizerJson });
    expect(of('error')).toEqual([]);
    expect(devices).toHaveLength(2);
    const runId = of('run')[0]!.run.id;
    expect(of('device-recovering')).toEqual([
      {
        type: 'device-recovering',
        runId,
        lostAtStep: 5,
        fromStep: 3,
        attempt: 1,
        maxTries: 3,
        message: 'GPU device lost at step 5: resuming from the checkpoint at step 3 (try 1 of 3)…',
      },
    ]);
    // The recovery sends the curve cut back to its checkpoint; the steps after it (no more than
    // checkpointEvery) are trained again.
    expect(of('history').map((h) => [h.steps.map((p) => p.step), h.evals.map((p) => p.step)])).toEqual([
      [[], []],
      [[1, 2, 3], [3]],
    ]);
    expect(of('step').map((e) => e.point.step)).toEqual([1, 2, 3, 4, 5, 4, 5, 6]);
    expect(events.at(-1)).toMatchObject({ type: 'run', run: { id: runId, status: 'done', checkpointStep: 6 } });
    const record = (await runStore.get(runId))!;
    expect(record.steps.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(record.steps.map((p) => p.loss)).toEqual(reference!.losses);
    expect(record.evals.map((p) => p.valLoss)).toEqual(reference!.evals);
    const final = (await runStore.latestCheckpoint(runId))!;
    expect(final.step).toBe(6);
    expect(final.samplerState).toBe(reference!.final.samplerState);
    expect(bits(final.params)).toBe(bits(reference!.final.params));
    expect(bits(final.adamM)).toBe(bits(reference!.final.adamM));
    expect(bits(final.adamV)).toBe(bits(reference!.final.adamV));
  }, 300_000);

  it('lost just after Pause was pressed: the run ends paused at its last checkpoint, nothing after it kept', async () => {
    // A device that reports itself lost without dying (the next test still trains on it).
    let lose: (reason: string) => void = () => undefined;
    let lost = false;
    const wrap = (ctx: GpuContext): GpuContext => ({
      ...ctx,
      lost: new Promise((resolve) => (lose = resolve)),
      isLost: () => lost,
    });
    const paused = lab(
      (event) => {
        if (event.type !== 'step' || event.point.step !== 4) return;
        void paused.handle({ type: 'pause' });
        lost = true;
        lose('GPU device lost (unknown): the driver was reset');
      },
      createNodeContext,
      wrap,
    );
    const { handle, of, events, runStore } = paused;
    await handle({ type: 'start', settings: SETTINGS, tokenizerJson });
    expect(of('device-recovering')).toEqual([]);
    expect(of('error')).toEqual([]);
    const runId = of('run')[0]!.run.id;
    expect(events.at(-1)).toMatchObject({
      type: 'run',
      run: {
        id: runId,
        status: 'paused',
        checkpointStep: 3,
        message: 'GPU device lost at step 4; paused at the checkpoint at step 3',
      },
    });
    expect(
      of('history')
        .at(-1)!
        .steps.map((p) => p.step),
    ).toEqual([1, 2, 3]);
    const record = (await runStore.get(runId))!;
    expect(record.steps.map((p) => p.loss)).toEqual(reference!.losses.slice(0, 3));
    expect((await runStore.latestCheckpoint(runId))!.step).toBe(3);
  });

  it('lost on every try: after the bound a clear error, and the checkpoint at step 3 is kept intact', async () => {
    expect(reference).toBeDefined();
    // After the first loss every new device is dead on arrival (destroyed before it is handed over).
    const { handle, of, runStore, devices } = lab(
      (event, device) => {
        if (event.type === 'step' && event.point.step === 4) device.destroy();
      },
      async () => {
        const dead = await createNodeContext();
        dead.device.destroy();
        await dead.lost;
        return dead;
      },
    );
    await handle({ type: 'start', settings: SETTINGS, tokenizerJson });
    expect(devices).toHaveLength(4);
    expect(of('device-recovering').map((e) => [e.lostAtStep, e.fromStep, e.attempt])).toEqual([
      [4, 3, 1],
      [4, 3, 2],
      [4, 3, 3],
    ]);
    const errors = of('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.kind).toBe('device-lost');
    expect(errors[0]!.message).toBe(
      'GPU device lost at step 4: the new GPU device was lost before the run could continue. 3 tries to continue on a new device within 60 seconds failed. The checkpoint at step 3 is saved: reload the page and resume the run.',
    );
    const runId = of('run')[0]!.run.id;
    const record = (await runStore.get(runId))!;
    expect(record.summary).toMatchObject({ status: 'error', checkpointStep: 3 });
    expect(record.steps.map((p) => p.loss)).toEqual(reference!.losses.slice(0, 3));
    const kept = (await runStore.latestCheckpoint(runId))!;
    expect(kept.step).toBe(3);
    expect(bits(kept.params)).toBe(bits(reference!.atStep3.params));
    expect(bits(kept.adamV)).toBe(bits(reference!.atStep3.adamV));
  });

  it('lost while idle: nothing is reported, and the next request gets a new device', async () => {
    const { handle, of, devices } = lab();
    await handle({ type: 'probe' });
    devices[0]!.device.destroy();
    await devices[0]!.lost;
    await handle({ type: 'probe' });
    expect(devices).toHaveLength(2);
    expect(of('error')).toEqual([]);
    expect(of('device').map((e) => e.report.ok)).toEqual([true, true]);
  });
});

describe('the bound on tries', () => {
  it('counts losses in a sliding window', () => {
    let t = 0;
    const budget = new RecoveryBudget({ maxTries: 2, windowMs: 1000, backoffMs: () => 0 }, () => t);
    expect([budget.next(), budget.next(), budget.next()]).toEqual([1, 2, null]);
    t = 5000; // the old losses have left the window
    expect(budget.next()).toBe(1);
    expect(budget.window).toBe('1 second');
  });
});
