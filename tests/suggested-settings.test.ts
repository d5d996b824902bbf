/**
 * The settings a run is offered and the checks it must pass before any GPU work: suggestions by
 * adapter speed, the GPU memory estimate, and the refusals worded as sentences.
 */
import { describe, expect, it } from 'vitest';
import { SEED_CONFIG } from '../src/model/config';
import { estimateGpuBytes, settingsProblems, suggestSettings } from '../src/train/defaults';

describe('suggested settings and the checks before a run', () => {
  it('suggests tiny settings for software or slow adapters and larger ones for fast GPUs', () => {
    expect(suggestSettings({ isSoftware: true, probeGflops: 5000 }).model).toMatchObject({
      nLayer: 2,
      nHead: 2,
      nEmbd: 64,
      blockSize: 64,
    });
    expect(suggestSettings({ isSoftware: false, probeGflops: 20 }).batchSize).toBe(4);
    expect(suggestSettings({ isSoftware: false, probeGflops: 500 }).model).toMatchObject({
      nLayer: 4,
      nHead: 4,
      nEmbd: 256,
      blockSize: 256,
    });
    expect(suggestSettings({ isSoftware: false, probeGflops: 500 }).batchSize).toBe(16);
  });

  it('estimates GPU memory from the weights, optimizer state and one micro-batch', () => {
    // The post's 51.5M-parameter model: 16 bytes per parameter is 824 MB before activations.
    const seed = { model: SEED_CONFIG, batchSize: 8 };
    const bytes = estimateGpuBytes(seed);
    expect(bytes).toBeGreaterThan(16 * 51_500_032 + 2 * 8 * 1024 * 50304 * 4);
    expect(bytes).toBeLessThan(8 * 2 ** 30);
    expect(estimateGpuBytes({ ...seed, batchSize: 16 })).toBeGreaterThan(bytes);
  });

  it('names what does not fit the device, in sentences', () => {
    const base = { ...suggestSettings({ isSoftware: true }), model: { ...SEED_CONFIG } };
    const limits = { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 };
    expect(settingsProblems({ ...base, batchSize: 4 }, limits)).toEqual([]);
    const problems = settingsProblems({ ...base, batchSize: 16 }, limits);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(
      /^One micro-batch's logits \(16 × 1024 tokens × 50304 vocabulary × 4 bytes = 3\.1 GiB\) are more than this GPU can bind at once \(1\.0 GiB\): lower the batch size/,
    );
    expect(problems[1]).toMatch(/^Training would need about \d+\.\d GiB of GPU memory/);
    const small = { maxBufferSize: 128 * 2 ** 20, maxStorageBufferBindingSize: 128 * 2 ** 20 };
    expect(settingsProblems({ ...base, batchSize: 1 }, small).join(' ')).toMatch(
      /The model's 51,500,032 parameters \(196 MiB\) do not fit in one GPU buffer here \(128 MiB\)/,
    );
    expect(settingsProblems({ ...base, batchSize: 40000, model: { ...SEED_CONFIG, blockSize: 1 } })).toEqual([
      "Batch size 40000 × 8 heads is over the GPU's limit of 65535: lower the batch size and raise the accumulation steps.",
    ]);
    expect(settingsProblems({ ...base, accumSteps: 0, lr: { maxLr: 1e-3, minLr: 1e-2, warmupSteps: 0 } })).toEqual([
      'The number of accumulation steps must be a whole number of at least 1 (it is 0).',
      'The final learning rate must be between 0 and the peak learning rate 0.001 (it is 0.01).',
    ]);
  });
});
