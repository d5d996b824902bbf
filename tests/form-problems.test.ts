/**
 * The Train form's checks in a user's words: each problem names the field to change (shown beside
 * it) with the form's own name for it, never a config key; warmup as long as the run, a batch that
 * does not fit the device and a block size longer than the dataset's windows are flagged before Train.
 */
import { describe, expect, it } from 'vitest';
import {
  formProblems,
  longestPiece,
  settingsFieldProblems,
  settingsProblems,
  suggestSettings,
} from '../src/train/defaults';
import { blockedStatus, problemsByField } from '../src/ui/lab/form-problems';

const BASE = suggestSettings({ isSoftware: true }); // 2 layers × 64 wide, block 64, vocabulary 2048, 200 steps, warmup 20
const READY = { status: 'ready' as const, report: null };

describe('the Train form problems', () => {
  it('says each bad model number with the field the form shows, never the config key', () => {
    const problems = settingsFieldProblems({ ...BASE, model: { ...BASE.model, nLayer: 0, nEmbd: 2.5 } });
    expect(problems).toEqual([
      { field: 'nLayer', message: 'The number of layers must be a whole number of at least 1 (it is 0).' },
      { field: 'nEmbd', message: 'The width must be a whole number of at least 1 (it is 2.5).' },
    ]);
    for (const p of problems) expect(p.message).not.toMatch(/nLayer|nEmbd|Model:/);
    expect(settingsFieldProblems({ ...BASE, model: { ...BASE.model, nHead: 3 } })).toEqual([
      {
        field: 'nEmbd',
        message:
          'The width 64 is not divisible by 3 heads: each head takes an equal share of the width, so use a multiple of 3.',
      },
    ]);
    expect(settingsFieldProblems({ ...BASE, model: { ...BASE.model, nHead: 1, nEmbd: 512 } })).toEqual([
      {
        field: 'nHead',
        message:
          'Each head would be 512 wide (width ÷ heads), above the supported 128: use at least 4 heads, or a narrower width.',
      },
    ]);
    expect(settingsFieldProblems({ ...BASE, lr: { ...BASE.lr, minLr: 1 } })).toEqual([
      {
        field: 'minLr',
        message: 'The final learning rate must be between 0 and the peak learning rate 0.001 (it is 1).',
      },
    ]);
    // settingsProblems (the CLI's and the worker's) says the same sentences.
    expect(settingsProblems({ ...BASE, batchSize: NaN })).toEqual([
      'The batch size must be a whole number of at least 1 (it is NaN).',
    ]);
  });

  it('flags a warmup as long as the run, with a usual length to use instead', () => {
    expect(formProblems(BASE)).toEqual([]);
    const warm = { ...BASE, lr: { ...BASE.lr, warmupSteps: 500 } };
    expect(formProblems(warm)).toEqual([
      {
        field: 'warmupSteps',
        message:
          'Warmup (500 steps) must be shorter than the run (200 steps), or the learning rate never reaches its peak nor decays: about a tenth of the steps (20) is usual.',
      },
    ]);
    expect(formProblems({ ...BASE, lr: { ...BASE.lr, warmupSteps: 200 } })).toHaveLength(1);
    expect(formProblems({ ...BASE, lr: { ...BASE.lr, warmupSteps: 199 } })).toEqual([]);
    // The run's own checks stay as they were: the CLI and the worker still take a warmup past the end.
    expect(settingsProblems(warm)).toEqual([]);
  });

  it('flags a micro-batch that does not fit this device, beside the batch field', () => {
    const limits = { maxBufferSize: 2 ** 24, maxStorageBufferBindingSize: 2 ** 24 }; // 16 MiB
    // 64 × 64 tokens × 2048 × 4 bytes = 32 MiB of logits.
    const problems = formProblems({ ...BASE, batchSize: 64 }, limits);
    expect(problems.map((p) => p.field)).toEqual(['batchSize', 'batchSize']);
    expect(problems[0]!.message).toMatch(
      /^One micro-batch's logits \(64 × 64 tokens × 2048 vocabulary × 4 bytes = 32 MiB\) are more than this GPU can bind at once \(16 MiB\)/,
    );
    expect(problems.at(-1)!.message).toMatch(/^Training would need about \d+ MiB of GPU memory/);
    expect(formProblems({ ...BASE, batchSize: 4 }, limits)).toEqual([]);
  });

  it('flags a block size longer than the chosen dataset’s training or validation pieces', () => {
    // Two shards of 300 and 1000 tokens, 5% held out: train pieces 285 and 950, validation 15 and 50.
    const data = { name: 'Brown fiction', valFraction: 0.05, shards: [{ tokens: 300 }, { tokens: 1000 }] };
    expect(longestPiece(data, 'train')).toBe(950);
    expect(longestPiece(data, 'val')).toBe(50);
    const at = (blockSize: number, evalBatches = BASE.evalBatches) =>
      formProblems({ ...BASE, evalBatches, model: { ...BASE.model, blockSize } }, undefined, data);
    expect(at(49)).toEqual([]);
    expect(at(50)).toEqual([
      {
        field: 'blockSize',
        message:
          'The block size 50 is longer than the validation part of Brown fiction allows: its longest piece holds 50 tokens and a window needs 51. Use a block size of at most 49, or tokenize it again with a larger validation share.',
      },
    ]);
    expect(at(50, 0)).toEqual([]); // no validation, no validation windows
    expect(at(950, 0)).toEqual([
      {
        field: 'blockSize',
        message:
          'The block size 950 is longer than the training text of Brown fiction allows: its longest piece holds 950 tokens and a window needs 951. Use a block size of at most 949, or more data.',
      },
    ]);
    expect(formProblems(BASE, undefined, null)).toEqual([]); // the dataset is not made yet: nothing to check against
  });

  it('puts each problem beside its field, the rest under the form; the status says why Train is off', () => {
    const problems = [
      { field: 'warmupSteps' as const, message: 'a' },
      { field: 'warmupSteps' as const, message: 'b' },
      { field: 'seed' as const, message: 'c' },
      { field: null, message: 'd' },
    ];
    expect(problemsByField(problems, ['warmupSteps'])).toEqual({
      byField: { warmupSteps: 'a b' },
      general: ['c', 'd'],
    });
    expect(blockedStatus({ phase: 'idle', run: null, device: READY }, 1)).toBe(
      'Not ready: one setting needs fixing (marked in the form) before Train.',
    );
    expect(blockedStatus({ phase: 'done', run: null, device: READY }, 2)).toBe(
      'Not ready: 2 settings need fixing (marked in the form) before Train.',
    );
    expect(blockedStatus({ phase: 'idle', run: null, device: READY }, 0)).toBeNull();
    expect(blockedStatus({ phase: 'running', run: null, device: READY }, 1)).toBeNull();
    expect(blockedStatus({ phase: 'idle', run: null, device: { status: 'probing', report: null } }, 1)).toBeNull();
  });
});
