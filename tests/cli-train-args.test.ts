/**
 * `train`'s settings from flags, a plan and the device's defaults (no GPU): the plan `plan` prints
 * gives the model and the steps, explicit flags win, the vocabulary is always the tokenizer's.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { planCommand } from '../src/cli/plan';
import { buildSettings, parseTrainArgs, readPlan } from '../src/cli/train-args';
import { suggestSettings } from '../src/train/defaults';

async function planOutput(...args: string[]): Promise<string> {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
  try {
    expect(await planCommand(args)).toBe(0);
  } finally {
    spy.mockRestore();
  }
  return out.join('');
}

const base = ['--data', 'd', '--out', 'o'];

describe('train settings', () => {
  it("take the post's plan (as printed, or its file): model and steps from its tokens, the tokenizer's vocabulary", async () => {
    const printed = await planOutput('--flops', '3.2e17');
    const file = join(await mkdtemp(join(tmpdir(), 'garden-plan-')), 'plan.txt');
    await writeFile(file, printed);
    for (const arg of [printed.trim().split('\n').at(-1)!, file]) {
      const args = parseTrainArgs([...base, '--plan', arg, '--batch', '16', '--accum', '2']);
      const plan = await readPlan(args.plan!);
      expect(plan.model).toMatchObject({ nLayer: 7, nHead: 8, nEmbd: 512, blockSize: 1024, vocabSize: 50304 });
      const settings = buildSettings(args, { isSoftware: false, vocabSize: 32000, datasetId: 'books', plan });
      expect(settings.model).toEqual({ vocabSize: 32000, blockSize: 1024, nLayer: 7, nHead: 8, nEmbd: 512 });
      expect(settings.maxSteps).toBe(Math.ceil(plan.tokens! / (16 * 2 * 1024)));
      expect(settings.datasetId).toBe('books');
    }
  });

  it('explicit flags over the plan over the device defaults; --tokens sets the steps', async () => {
    const plan = await readPlan('{"model":{"nLayer":7,"nHead":8,"nEmbd":512,"blockSize":1024},"tokens":1e9}');
    const args = parseTrainArgs([
      ...base,
      '--layers',
      '2',
      '--block',
      '64',
      '--tokens',
      '1_000_000',
      '--lr',
      '3e-3',
      '--seed',
      '9',
    ]);
    const settings = buildSettings(args, { isSoftware: true, vocabSize: 400, datasetId: 'x', plan });
    const soft = suggestSettings({ isSoftware: true });
    expect(settings.model).toEqual({ vocabSize: 400, blockSize: 64, nLayer: 2, nHead: 8, nEmbd: 512 });
    expect(settings.maxSteps).toBe(Math.ceil(1e6 / (soft.batchSize * 64)));
    expect(settings.lr).toEqual({ maxLr: 3e-3, minLr: 3e-3 / 10, warmupSteps: soft.lr.warmupSteps });
    expect(settings.seed).toBe(9);
    const defaults = buildSettings(parseTrainArgs(base), { isSoftware: true, vocabSize: 400, datasetId: 'x' });
    expect(defaults).toEqual({
      ...soft,
      model: { ...soft.model, vocabSize: 400 },
      datasetId: 'x',
      autoMicroBatch: true,
    });
  });

  it('refuses a plan that is not one, naming what to pass', async () => {
    await expect(readPlan('{"N": 1}')).rejects.toThrow(/--plan has no model \{nLayer, nHead, nEmbd, blockSize\}/);
    await expect(readPlan('{nope')).rejects.toThrow(/--plan is not valid JSON/);
    await expect(readPlan('/no/such/file')).rejects.toThrow(/neither plan's JSON nor a file/);
  });
});
