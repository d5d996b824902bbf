/**
 * `bench --profile` on an adapter without timestamp-query: one line saying so, exit 2, nothing
 * written. The Dawn context is the real one with the feature taken out of its list.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { gpu } from './helpers/gpu';

vi.mock('../src/gpu/node', async (original) => {
  const real = await original<typeof import('../src/gpu/node')>();
  return {
    ...real,
    createNodeContext: async () => {
      const ctx = await real.createNodeContext();
      return { ...ctx, features: new Set([...ctx.features].filter((f) => f !== 'timestamp-query')) };
    },
  };
});

describe('bench --profile without timestamp-query', () => {
  it('says so in one line and exits 2', async () => {
    expect((await gpu()).features.has('timestamp-query')).toBe(false);
    const { benchCommand } = await import('../src/cli/bench');
    const dir = await mkdtemp(join(tmpdir(), 'gg-noprofile-'));
    const lines: string[] = [];
    const error = vi.spyOn(console, 'error').mockImplementation((line: string) => void lines.push(line));
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(await benchCommand(['--profile', '--out', join(dir, 'bench.json')])).toBe(2);
      expect(lines).toEqual([
        'bench --profile: this adapter has no timestamp-query feature, so single dispatches cannot be timed',
      ]);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      error.mockRestore();
      log.mockRestore();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
