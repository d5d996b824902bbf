/**
 * The loss scaler's state and the run's precision in stored records (no GPU): a run directory and an
 * IndexedDB checkpoint keep them exactly, older ones without them still load (the run's default),
 * damaged ones are named; the overflow line of the training log.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { Progress } from '../src/cli/train-progress';
import { fingerprint } from '../src/data/fingerprint';
import { DataError } from '../src/data/types';
import { parseSafetensors, writeSafetensors } from '../src/model/safetensors';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import type { RunSettings, StepPoint } from '../src/train/protocol';
import { logLines } from '../src/train/train-log';
import { checkCheckpoint, checkRunRecord } from '../src/train/run-records';
import { paramArenaLength, readRunDir, runDirFiles, type RunDirFile } from '../src/train/run-dir';
import type { CheckpointData, RunRecord } from '../src/train/run-store';
import { testSettings } from './helpers/settings';

const text = readFileSync('public/corpus/brown-fiction.txt', 'utf8').split('\n').slice(0, 100);
const tokenizerJson = toTokenizerJson(
  await trainBpe(text, { vocabSize: 270, minFrequency: 2, specialTokens: [END_OF_TEXT] }),
);
const model = { vocabSize: 270, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 };

function arena(seed: number): Uint8Array {
  const out = new Float32Array(paramArenaLength(model)).map((_, i) => Math.sin(seed * 1000 + i) * 1e-2);
  return new Uint8Array(out.buffer);
}

const checkpoint: CheckpointData = {
  step: 7,
  adamStep: 5,
  samplerState: 12345,
  tokens: 112,
  elapsedSeconds: 2.5,
  params: arena(1),
  adamM: arena(2),
  adamV: arena(3),
  lossScale: { scale: 2 ** 13, cleanSteps: 3, skippedSteps: 2 },
};

function record(settings: RunSettings): RunRecord {
  return {
    summary: {
      id: 'run-1',
      name: 'tiny',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      settings,
      status: 'paused',
      checkpointStep: 7,
      tokens: 112,
      tokenizer: { vocabSize: 270, fingerprint: fingerprint(tokenizerJson) },
    },
    tokenizerJson,
    steps: [],
    evals: [],
  };
}
const mixed = testSettings(model, { precision: 'mixed' });

/** The files with training_state.safetensors' metadata edited. */
function withMeta(files: RunDirFile[], edit: (meta: Record<string, string>) => void): RunDirFile[] {
  return files.map((f) => {
    if (f.name !== 'training_state.safetensors') return f;
    const { tensors, metadata } = parseSafetensors(f.bytes);
    const meta = { ...metadata };
    edit(meta);
    // The moments are F32: their bytes as floats again.
    const list = [...tensors].map(([name, t]) => ({
      name,
      dtype: 'F32' as const,
      shape: t.shape,
      data: new Float32Array(t.data.slice().buffer),
    }));
    return { name: f.name, bytes: writeSafetensors(list, meta) };
  });
}

function refusal(files: RunDirFile[]): string {
  try {
    readRunDir(files);
  } catch (error) {
    expect(error).toBeInstanceOf(DataError);
    return (error as Error).message;
  }
  return 'not refused';
}

describe('the loss scale and precision in a run directory', () => {
  it('round-trips exactly; a state from before loss scaling reads with none (the run default applies)', () => {
    const files = runDirFiles(record(mixed), checkpoint);
    const back = readRunDir(files);
    expect(back.checkpoint.lossScale).toEqual(checkpoint.lossScale);
    expect(back.record.summary.settings.precision).toBe('mixed');
    const meta = parseSafetensors(files.find((f) => f.name === 'training_state.safetensors')!.bytes).metadata;
    expect([meta.loss_scale, meta.loss_scale_clean_steps, meta.loss_scale_skipped_steps]).toEqual(['8192', '3', '2']);
    const old = withMeta(files, (m) => {
      delete m.loss_scale;
      delete m.loss_scale_clean_steps;
      delete m.loss_scale_skipped_steps;
    });
    expect(readRunDir(old).checkpoint.lossScale).toBeUndefined();
  });

  it('names a damaged scale or precision', () => {
    const files = runDirFiles(record(mixed), checkpoint);
    expect(refusal(withMeta(files, (m) => (m.loss_scale = '3000')))).toMatch(
      /^training_state\.safetensors: __metadata__ loss scale 3000 is not a power of two/,
    );
    expect(refusal(withMeta(files, (m) => delete m.loss_scale_clean_steps))).toMatch(
      /__metadata__ loss_scale_clean_steps is undefined, not a whole number/,
    );
    const bad = runDirFiles(record({ ...mixed, precision: 'f8' as 'f32' }), checkpoint);
    expect(refusal(bad)).toMatch(/^run\.json: its precision "f8" is not one of f32, mixed/);
  });
});

describe('the loss scale and precision in IndexedDB records', () => {
  it('checks a checkpoint with or without the scaler state, and the precision of a run record', () => {
    expect(checkCheckpoint(checkpoint).ok).toBe(true);
    const { lossScale: _dropped, ...old } = checkpoint;
    expect(checkCheckpoint(old).ok).toBe(true);
    const bad = checkCheckpoint({ ...checkpoint, lossScale: { scale: 2 ** 13, cleanSteps: 1.5, skippedSteps: 0 } });
    expect(bad.ok ? [] : bad.problems).toEqual(['lossScale.cleanSteps is 1.5, expected an integer ≥ 0']);
    const odd = checkCheckpoint({ ...checkpoint, lossScale: { scale: 5, cleanSteps: 1, skippedSteps: 0 } });
    expect(odd.ok ? [] : odd.problems).toEqual(['lossScale: loss scale 5 is not a power of two from 2^-24 to 2^64']);
    expect(checkRunRecord(record(mixed)).ok).toBe(true);
    expect(checkRunRecord(record(testSettings(model))).ok).toBe(true); // before precision: f32
    const wrong = checkRunRecord(record({ ...mixed, precision: 'half' as 'f32' }));
    expect(wrong.ok ? [] : wrong.problems).toEqual([
      'summary.settings.precision is a string, expected one of f32, mixed',
    ]);
  });
});

describe('the overflow line of the training log', () => {
  const settings = testSettings(model, { maxSteps: 300, precision: 'mixed' });
  const point = (step: number, patch: Partial<StepPoint> = {}): StepPoint => ({
    step,
    loss: 3,
    lr: 1e-3,
    gradNorm: 0.5,
    tokens: step * 16,
    elapsedSeconds: step,
    tokensPerSecond: 16,
    tflops: 1e-9,
    lossScale: 65536,
    ...patch,
  });
  const overflowed = point(120, { skipped: true, gradNorm: Infinity });

  it('follows the skipped step in the Log card, only where a scaled step overflowed', () => {
    const lines = logLines([point(119), overflowed, point(121, { lossScale: 32768 })], [], [], settings);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^step 120\/300: loss 3\.0000, .*\(skipped: gradients overflowed\)$/);
    expect(lines[2]).toBe('step 120/300: overflow: step skipped, loss scale 65536 → 32768');
    // Unscaled (f32) skips keep their old words and no overflow line.
    const f32 = logLines([{ ...overflowed, lossScale: undefined }], [], [], settings);
    expect(f32).toHaveLength(1);
    expect(f32[0]).toMatch(/\(skipped: gradients not finite\)$/);
  });

  it('is printed by train whatever --print-every', () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const progress = new Progress(settings, 1000, 119);
      progress.step(point(119));
      progress.step(overflowed);
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toContain('step 120/300: overflow: step skipped, loss scale 65536 → 32768\n');
    expect(new Progress(settings, 1, 0).describe()).toContain('parameters, mixed); 300 steps');
    expect(new Progress(testSettings(model), 1, 0).describe()).toContain('parameters, f32)');
  });
});
