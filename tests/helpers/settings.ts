/** Run settings for tests: a small schedule around the model a test needs (no GPU work implied). */
import type { GPTConfig } from '../../src/model/config';
import type { RunSettings } from '../../src/train/protocol';

export function testSettings(model: GPTConfig, patch: Partial<RunSettings> = {}): RunSettings {
  return {
    model,
    batchSize: 2,
    accumSteps: 1,
    maxSteps: 10,
    lr: { maxLr: 1e-3, minLr: 1e-4, warmupSteps: 2 },
    weightDecay: 0.1,
    gradClip: 1,
    evalEvery: 5,
    evalBatches: 1,
    checkpointEvery: 5,
    seed: 1,
    datasetId: 'd',
    ...patch,
  };
}
