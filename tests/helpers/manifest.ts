/** A dataset manifest for the UI stores' tests: one shard of `tokens` tokens, 10 rows, complete. */
import type { DatasetManifest } from '../../src/data/types';

export function testManifest(id: string, patch: Partial<DatasetManifest> = {}): DatasetManifest {
  const tokens = patch.tokens ?? 5000;
  return {
    format: 'gpt-garden-tokens',
    version: 1,
    id,
    name: `${id} name`,
    source: { kind: 'bundled', url: 'http://localhost/corpus/brown-fiction.txt' },
    tokenizer: { vocabSize: 4, fingerprint: 'f00d' },
    dtype: 'uint16',
    shards: [{ key: `${id}/shard-00000`, tokens, rows: 10 }],
    tokens,
    rows: 10,
    textBytes: tokens * 4,
    cursor: { file: 0, row: 10 },
    complete: true,
    valFraction: 0.05,
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
    ...patch,
  };
}
