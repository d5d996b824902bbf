/**
 * Run directories on disk (no GPU): a checkpoint interrupted at each point of its write reads back
 * as the previous checkpoint or the new one, never a mix, and the next writer finishes or drops it.
 */
import { mkdir, mkdtemp, readdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRunFolder, recoverRunFolder, writeRunCheckpoint } from '../src/cli/run-folder';
import { fingerprint } from '../src/data/fingerprint';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import type { RunSettings } from '../src/train/protocol';
import { paramArenaLength, readRunDir, runDirFiles, RUN_DIR_FILES } from '../src/train/run-dir';
import type { CheckpointData, RunRecord } from '../src/train/run-store';
import { testSettings } from './helpers/settings';

const tokenizerJson = toTokenizerJson(
  await trainBpe(['a garden of forking paths', 'the garden grows'], { vocabSize: 270, specialTokens: [END_OF_TEXT] }),
);
const model = { vocabSize: 270, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 };
const settings: RunSettings = testSettings(model, { seed: 3 });
const record: RunRecord = {
  summary: {
    id: 'r',
    name: 'tiny',
    createdAt: '',
    updatedAt: '',
    settings,
    status: 'running',
    checkpointStep: 0,
    tokens: 0,
    tokenizer: { vocabSize: 270, fingerprint: fingerprint(tokenizerJson) },
  },
  tokenizerJson,
  steps: [],
  evals: [],
};

/** A checkpoint whose every weight and moment is `step` (so a mix would show). */
function checkpoint(step: number): CheckpointData {
  const arena = () => new Uint8Array(new Float32Array(paramArenaLength(model)).fill(step).buffer);
  return {
    step,
    adamStep: step,
    samplerState: step,
    tokens: step * 16,
    elapsedSeconds: step,
    params: arena(),
    adamM: arena(),
    adamV: arena(),
  };
}

const files = (step: number) =>
  runDirFiles({ ...record, summary: { ...record.summary, checkpointStep: step } }, checkpoint(step));

async function stepOf(dir: string): Promise<number> {
  const run = readRunDir(await readRunFolder(dir));
  const weights = new Float32Array(run.checkpoint.params.buffer);
  expect(weights[0]).toBe(run.checkpoint.step);
  return run.checkpoint.step;
}

describe('run folder checkpoints', () => {
  it('a crash at each point of a checkpoint leaves the previous one or the new one, and the next write finishes cleanly', async () => {
    const root = await mkdtemp(join(tmpdir(), 'garden-run-folder-'));
    // Crash states of the write of step 10 over step 5: files half in .next-tmp, then .next with k files moved out.
    for (let moved = -1; moved <= RUN_DIR_FILES.length; moved++) {
      const dir = join(root, `crash-${moved}`);
      await writeRunCheckpoint(dir, files(5));
      const next = join(dir, moved < 0 ? '.next-tmp' : '.next');
      await mkdir(next);
      const newer = files(10);
      for (const f of moved < 0 ? newer.slice(0, 2) : newer) await writeFile(join(next, f.name), f.bytes);
      for (const name of moved < 0 ? [] : RUN_DIR_FILES.slice(0, moved))
        await rename(join(next, name), join(dir, name));
      expect(await stepOf(dir)).toBe(moved < 0 ? 5 : 10);
      await recoverRunFolder(dir);
      expect((await readdir(dir)).sort()).toEqual([...RUN_DIR_FILES].sort());
      expect(await stepOf(dir)).toBe(moved < 0 ? 5 : 10);
      await writeRunCheckpoint(dir, files(15));
      expect(await stepOf(dir)).toBe(15);
      expect((await readdir(dir)).sort()).toEqual([...RUN_DIR_FILES].sort());
    }
  });
});
