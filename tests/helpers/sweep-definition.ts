/** The small IsoFLOP sweep the sweep tests plan: 2 budgets × 3 widths of a 2-layer software-sized model. */
import { suggestSettings } from '../../src/train/defaults';
import type { RunSettings } from '../../src/train/protocol';
import type { SweepDefinition } from '../../src/ui/plan/sweep-plan';

export function sweepDefinition(base: Partial<RunSettings> = {}): SweepDefinition {
  return {
    id: 'abcdef123',
    createdAt: '2025-01-01T00:00:00Z',
    budgets: [2e9, 4e9],
    widths: [32, 48, 64],
    nLayer: 2,
    base: {
      ...suggestSettings({ isSoftware: true }),
      model: { vocabSize: 512, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 64 },
      batchSize: 4,
      accumSteps: 1,
      datasetId: '',
      ...base,
    },
  };
}
