/**
 * The automatic micro-batch, without a GPU: the chooser against buffer limits (the largest divisor
 * of the batch that fits, a prime batch, a batch that fits at once, one that never fits), the
 * sentences the form and the CLI print, and `train`'s --batch / --micro-batch / --accum flags.
 */
import { describe, expect, it } from 'vitest';
import { buildSettings, microBatchLine, parseTrainArgs } from '../src/cli/train-args';
import { SEED_CONFIG } from '../src/model/config';
import { estimateGpuBytes, gpuBytesTerms, suggestSettings } from '../src/train/defaults';
import { chooseMicroBatch, microBatchNote } from '../src/train/micro-batch';

// 2 layers × 64 wide, block 64, vocabulary 2048: one sequence's logits are 64 × 2048 × 4 = 512 KiB.
const BASE = suggestSettings({ isSoftware: true });
const SEQUENCE_LOGITS = 64 * 2048 * 4;
/** Limits under which at most `n` sequences' logits bind at once (memory plentiful). */
const bindsUpTo = (n: number) => ({ maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: n * SEQUENCE_LOGITS });

describe('chooseMicroBatch', () => {
  it('takes the whole batch when it fits, or no limits are known', () => {
    expect(chooseMicroBatch(BASE, 16, 'auto', bindsUpTo(16))).toEqual({
      ok: true,
      batch: 16,
      microBatch: 16,
      accumSteps: 1,
      auto: true,
    });
    expect(chooseMicroBatch(BASE, 16, 'auto')).toMatchObject({ microBatch: 16, accumSteps: 1 });
  });

  it('takes the largest divisor of the batch that fits, accumulation making up the rest', () => {
    expect(chooseMicroBatch(BASE, 16, 'auto', bindsUpTo(5))).toEqual({
      ok: true,
      batch: 16,
      microBatch: 4,
      accumSteps: 4,
      auto: true,
    });
    expect(chooseMicroBatch(BASE, 12, 'auto', bindsUpTo(5))).toMatchObject({ microBatch: 4, accumSteps: 3 });
    expect(chooseMicroBatch(BASE, 12, 'auto', bindsUpTo(6))).toMatchObject({ microBatch: 6, accumSteps: 2 });
    // A prime batch has only itself and 1.
    expect(chooseMicroBatch(BASE, 7, 'auto', bindsUpTo(6))).toMatchObject({ microBatch: 1, accumSteps: 7 });
    expect(chooseMicroBatch(BASE, 7, 'auto', bindsUpTo(7))).toMatchObject({ microBatch: 7, accumSteps: 1 });
  });

  it('follows the memory estimate, which follows the precision', () => {
    // Binding is plentiful; the budget (4 × maxBufferSize) lies between the mixed and the f32 estimate at 16 sequences.
    const f32 = estimateGpuBytes({ model: BASE.model, batchSize: 16 });
    const f16 = estimateGpuBytes({ model: BASE.model, batchSize: 16, precision: 'mixed' });
    expect(f16).toBeLessThan(f32);
    const limits = { maxBufferSize: (f16 + f32) / 2 / 4, maxStorageBufferBindingSize: 2 ** 31 };
    expect(chooseMicroBatch(BASE, 16, 'auto', limits)).toMatchObject({ microBatch: 8, accumSteps: 2 });
    // Mixed precision's f16 activations: 16 sequences fit the same budget.
    expect(chooseMicroBatch({ ...BASE, precision: 'mixed' }, 16, 'auto', limits)).toMatchObject({
      microBatch: 16,
      accumSteps: 1,
    });
  });

  it('says which limit refuses even one sequence at a time', () => {
    const choice = chooseMicroBatch({ ...BASE, model: SEED_CONFIG }, 16, 'auto', {
      maxBufferSize: 2 ** 30,
      maxStorageBufferBindingSize: 64 * 2 ** 20,
    });
    expect(choice.ok).toBe(false);
    expect(microBatchNote(choice)).toMatch(
      /^Not even one sequence at a time fits this GPU: One micro-batch's logits \(1 × 1024 tokens × 50304 vocabulary × 4 bytes = 197 MiB\) are more than this GPU can bind at once \(64 MiB\)/,
    );
  });

  it('takes a micro-batch given by hand only when it divides the batch', () => {
    expect(chooseMicroBatch(BASE, 16, 4, bindsUpTo(1))).toEqual({
      ok: true,
      batch: 16,
      microBatch: 4,
      accumSteps: 4,
      auto: false,
    });
    const bad = chooseMicroBatch(BASE, 16, 5);
    expect(bad.ok).toBe(false);
    expect(microBatchNote(bad)).toBe(
      'The micro-batch 5 does not divide the batch of 16 into equal parts: use a divisor of 16, or auto.',
    );
    expect(microBatchNote(chooseMicroBatch(BASE, 0, 'auto'))).toBe(
      'The batch must be a whole number of sequences, at least 1 (it is 0).',
    );
  });

  it('says what it chose, and why', () => {
    expect(microBatchNote(chooseMicroBatch(BASE, 16, 'auto', bindsUpTo(4)))).toBe(
      'micro-batch 4 × 4 accumulation steps: the batch of 16 does not fit at once here',
    );
    expect(microBatchNote(chooseMicroBatch(BASE, 16, 'auto', bindsUpTo(16)))).toBe(
      'micro-batch 16 × 1 accumulation step: the batch of 16 fits at once here',
    );
    expect(microBatchNote(chooseMicroBatch(BASE, 16, 8))).toBe('micro-batch 8 × 2 accumulation steps (chosen by hand)');
  });
});

describe('the GPU memory estimate', () => {
  it('names its terms and adds them up; mixed shrinks the activations and halves the logits, plus an f16 weight copy', () => {
    const f32 = gpuBytesTerms({ model: SEED_CONFIG, batchSize: 8 });
    expect(f32.state).toBe(16 * 51_500_032);
    expect(f32.logits).toBe(4 * 2 * 8 * 1024 * 50304);
    expect(f32.total).toBe(f32.state + f32.activations + f32.logits);
    const f16 = gpuBytesTerms({ model: SEED_CONFIG, batchSize: 8, precision: 'mixed' });
    // Per layer and token: 20C f32 values against 8C f32 and 10C f16 ones.
    const { nLayer: L, nEmbd: C } = SEED_CONFIG;
    expect(f32.activations - f16.activations).toBe(8 * 1024 * L * (20 * 4 - 8 * 4 - 10 * 2) * C);
    expect(f16.logits).toBe(f32.logits / 2);
    expect(f16.state).toBe(f32.state + 2 * 51_500_032);
  });
});

describe('train --batch / --micro-batch / --accum', () => {
  const base = ['--data', 'd', '--out', 'o'];
  const build = (args: string[], limits?: { maxBufferSize: number; maxStorageBufferBindingSize: number }) =>
    buildSettings(parseTrainArgs([...base, ...args]), { isSoftware: true, vocabSize: 2048, datasetId: 'x', limits });

  it('default to auto: --batch is the sequences per step, split to fit the device', () => {
    expect(parseTrainArgs([...base, '--batch', '16']).microBatch).toBe('auto');
    expect(parseTrainArgs([...base, '--batch', '16', '--micro-batch', 'auto']).microBatch).toBe('auto');
    expect(parseTrainArgs([...base, '--micro-batch=4']).microBatch).toBe(4);
    const split = build(['--batch', '16', '--steps', '10'], bindsUpTo(5));
    expect(split).toMatchObject({ batchSize: 4, accumSteps: 4, autoMicroBatch: true, maxSteps: 10 });
    expect(microBatchLine(split)).toBe(
      'micro-batch 4 × 4 accumulation steps: the batch of 16 does not fit at once here',
    );
    expect(build(['--batch', '16'], bindsUpTo(16))).toMatchObject({
      batchSize: 16,
      accumSteps: 1,
      autoMicroBatch: true,
    });
    // Steps from a token budget count the whole batch, however it is split.
    expect(build(['--batch', '16', '--tokens', String(16 * 64 * 30)], bindsUpTo(5)).maxSteps).toBe(30);
  });

  it('take a micro-batch by hand, and --accum as before (--batch the micro-batch)', () => {
    expect(build(['--batch', '16', '--micro-batch', '8'])).toMatchObject({
      batchSize: 8,
      accumSteps: 2,
      autoMicroBatch: false,
    });
    const legacy = build(['--batch', '8', '--accum', '2']);
    expect(legacy).toMatchObject({ batchSize: 8, accumSteps: 2 });
    expect(legacy.autoMicroBatch).toBeUndefined();
  });

  it('refuse bad values in one line', () => {
    expect(() => parseTrainArgs([...base, '--micro-batch', 'big'])).toThrow(
      /^--micro-batch must be auto or a whole number of at least 1, got "big"$/,
    );
    expect(() => parseTrainArgs([...base, '--micro-batch', '0'])).toThrow(
      /--micro-batch must be auto or a whole number/,
    );
    expect(() => parseTrainArgs([...base, '--micro-batch', '4', '--accum', '2'])).toThrow(
      /give --micro-batch .* or --accum .*, not both/,
    );
    expect(() => parseTrainArgs(['--resume', 'r', '--micro-batch', '4'])).toThrow(/drop --micro-batch/);
    expect(() => build(['--batch', '16', '--micro-batch', '5'])).toThrow(
      'The micro-batch 5 does not divide the batch of 16 into equal parts: use a divisor of 16, or auto.',
    );
    expect(() => build(['--batch', '16'], { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 1000 })).toThrow(
      /^Not even one sequence at a time fits this GPU/,
    );
  });
});
