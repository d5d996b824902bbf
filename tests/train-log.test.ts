/**
 * The training log: its exact lines, their order and cap, the log kept in a run's record (cut back
 * to the checkpoint, a damaged one named and dropped without costing the run), and the CLI's
 * stderr lines being the same as the lab's.
 */
import 'fake-indexeddb/auto';
import { createStore, get, set } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import type { EvalPoint, StepPoint } from '../src/train/protocol';
import { checkRunLog } from '../src/train/run-records';
import { RunStore, paramLayout, type CheckpointData } from '../src/train/run-store';
import {
  appendLog,
  formatEvalLine,
  formatEventLine,
  formatStepLine,
  logLines,
  logUpTo,
  MAX_LOG_LINES,
  type LogEvent,
} from '../src/train/train-log';
import { testSettings } from './helpers/settings';

const model = { vocabSize: 40, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 8 };
// 4 × 2 × 8 = 64 tokens per step.
const settings = testSettings(model, { batchSize: 4, accumSteps: 2, maxSteps: 200 });

function point(step: number, patch: Partial<StepPoint> = {}): StepPoint {
  return {
    step,
    loss: 4 - step / 10,
    lr: 6e-4,
    gradNorm: 0.5,
    tokens: step * 64,
    elapsedSeconds: step / 2,
    tokensPerSecond: 128,
    tflops: 0.0123,
    ...patch,
  };
}

describe('log lines', () => {
  it('formats a step, a validation, a checkpoint and events exactly', () => {
    expect(formatStepLine(point(25, { loss: 5.43214, tokensPerSecond: 1234.4 }), settings)).toBe(
      'step 25/200: loss 5.4321, lr 6.00e-4, 51.8 ms, 1,234 tok/s, 0.012 TFLOP/s',
    );
    expect(formatStepLine(point(3, { skipped: true }), settings)).toBe(
      'step 3/200: loss 3.7000, lr 6.00e-4, 500.0 ms, 128 tok/s, 0.012 TFLOP/s (skipped: gradients not finite)',
    );
    expect(formatEvalLine({ step: 25, valLoss: 5.51234, tokens: 17408, standardError: 0.00813 }, settings)).toBe(
      'step 25/200: val loss 5.5123 ± 0.0081 on 17,408 tokens',
    );
    // A run recorded before validations said their size.
    expect(formatEvalLine({ step: 25, valLoss: 5.5 }, settings)).toBe('step 25/200: val loss 5.5000');
    expect(formatEventLine({ step: 25, kind: 'checkpoint', bytes: 1_258_291 }, settings)).toBe(
      'step 25/200: checkpoint saved (1.2 MB)',
    );
    expect(formatEventLine({ step: 40, kind: 'pause' }, settings)).toBe('step 40/200: paused');
    expect(formatEventLine({ step: 7, kind: 'nan', message: 'the loss became NaN at step 7' }, settings)).toBe(
      'step 7/200: loss is NaN: the loss became NaN at step 7',
    );
  });

  it('orders each step line before its validation and its events, events as they happened', () => {
    const steps = [point(1), point(2)];
    const evals: EvalPoint[] = [{ step: 2, valLoss: 3.9, tokens: 64 }];
    const events: LogEvent[] = [
      { step: 0, kind: 'start' },
      { step: 2, kind: 'checkpoint', bytes: 100 },
      { step: 2, kind: 'pause' },
      { step: 2, kind: 'resume' },
    ];
    const lines = logLines(steps, evals, events, settings);
    expect(lines.map((l) => l.replace(/^step \d+\/200: /, '').split(/[ ,]/)[0])).toEqual([
      'started',
      'loss',
      'loss',
      'val',
      'checkpoint',
      'paused',
      'resumed',
    ]);
    // The cap keeps the newest lines.
    expect(logLines(steps, evals, events, settings, 2)).toEqual([
      formatEventLine(events[2]!, settings),
      formatEventLine(events[3]!, settings),
    ]);
  });

  it('keeps the newest MAX_LOG_LINES events and cuts a log back to a checkpoint', () => {
    const log: LogEvent[] = [];
    for (let i = 0; i <= MAX_LOG_LINES; i++) appendLog(log, { step: i, kind: 'checkpoint' });
    expect(log).toHaveLength(MAX_LOG_LINES);
    expect(log[0]!.step).toBe(1);
    expect(
      logUpTo(
        [
          { step: 5, kind: 'checkpoint' },
          { step: 5, kind: 'pause' },
          { step: 7, kind: 'nan' },
        ],
        5,
      ).map((e) => e.kind),
    ).toEqual(['checkpoint', 'pause']);
  });
});

describe('the stored log', () => {
  it('names the first damaged entry', () => {
    expect(checkRunLog(undefined)).toEqual({ log: [] });
    expect(checkRunLog('oops').problem).toBe('log is a string, expected an array');
    expect(
      checkRunLog([
        { step: 1, kind: 'pause' },
        { step: '2', kind: 'pause' },
      ]).problem,
    ).toBe('log[1].step is a string, expected a finite number');
    expect(checkRunLog([{ step: 1, kind: 'explode' }]).problem).toMatch(
      /^log\[0\]\.kind is a string, expected one of start, resume/,
    );
    expect(checkRunLog([{ step: 1, kind: 'checkpoint', bytes: -3 }]).problem).toBe(
      'log[0].bytes is -3, expected an integer ≥ 0',
    );
  });

  const arenaLength = paramLayout(model).reduce((end, e) => Math.max(end, e.offset + e.numel), 0);
  function checkpoint(step: number): CheckpointData {
    const bytes = () => new Uint8Array(arenaLength * 4);
    return {
      step,
      adamStep: step,
      samplerState: 1,
      tokens: step * 64,
      elapsedSeconds: step,
      params: bytes(),
      adamM: bytes(),
      adamV: bytes(),
    };
  }

  it('is kept with the checkpoint, cut back to it, and a damaged one is dropped with the run still readable', async () => {
    const db = createStore('log-runs', 'kv');
    const store = new RunStore(db);
    const record = await store.create({
      settings,
      tokenizerJson: '{}',
      tokenizer: { vocabSize: 40, fingerprint: 'f' },
    });
    const id = record.summary.id;
    const log: LogEvent[] = [
      { step: 0, kind: 'start' },
      { step: 2, kind: 'checkpoint', bytes: 10 },
      { step: 3, kind: 'nan', message: 'late' },
    ];
    await store.saveCheckpoint(id, checkpoint(2), { steps: [point(1), point(2)], evals: [], log });
    expect((await store.get(id))!.log).toEqual(log.slice(0, 2));
    // An end of the run (pause, error) adds its events past the checkpoint; a resume cuts them.
    await store.updateSummary(id, { status: 'paused' }, log);
    expect((await store.get(id))!.log).toEqual(log);

    const raw = (await get<Record<string, unknown>>(`run:${id}`, db))!;
    await set(`run:${id}`, { ...raw, log: [{ step: 1, kind: 'pause' }, { step: 'two' }] }, db);
    const read = (await store.get(id))!;
    expect(read.steps).toHaveLength(2);
    expect(read.log).toEqual([
      {
        step: 2,
        kind: 'error',
        message: 'the stored log was damaged (log[1].step is a string, expected a finite number) and was dropped',
      },
    ]);
    expect(logLines(read.steps, read.evals, read.log!, settings).at(-1)).toBe(
      'step 2/200: error: the stored log was damaged (log[1].step is a string, expected a finite number) and was dropped',
    );
  });
});
