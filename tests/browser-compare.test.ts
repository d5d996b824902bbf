/**
 * Runs compared on the loss chart, in headless Chromium against the built app: two run folders made
 * here (a 32-wide and a 64-wide model with known curves) are imported through the runs list, one
 * is ticked to overlay the other, x switches to training FLOPs, the CSV download holds each run's
 * points with FLOPs = FLOPs per token × tokens, the chart's accessible summary names both runs'
 * latest numbers, its table shows the points, and with nothing picked a reload shows the latest run.
 */
import { readFile } from 'node:fs/promises';
import { zipSync } from 'fflate';
import { describe, expect, it, vi } from 'vitest';
import { fingerprint } from '../src/data/fingerprint';
import { trainingFlopsPerToken } from '../src/model/hf';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { parseTokenizerJson, toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import type { RunSettings, StepPoint } from '../src/train/protocol';
import { paramArenaLength, runDirFiles } from '../src/train/run-dir';
import { useBuiltApp } from './helpers/built-app';
import { testSettings } from './helpers/settings';

vi.setConfig({ testTimeout: 120_000 });

const app = useBuiltApp();

const LINES = (await readFile('public/corpus/brown-fiction.txt', 'utf8')).split('\n').filter(Boolean).slice(0, 200);
const tokenizerJson = toTokenizerJson(
  await trainBpe(LINES, { vocabSize: 300, minFrequency: 2, specialTokens: [END_OF_TEXT] }),
);
const vocabSize = new Tokenizer(parseTokenizerJson(tokenizerJson)).vocabSize;

/** A run folder as the lab's full-state download zips it: zero weights and moments, a made-up curve of `losses`. */
function runZip(
  name: string,
  nEmbd: number,
  losses: number[],
): { zip: Buffer; settings: RunSettings; steps: StepPoint[] } {
  const settings = testSettings(
    { vocabSize, blockSize: 16, nLayer: 1, nHead: 2, nEmbd },
    { maxSteps: 10, batchSize: 2, evalEvery: 2, checkpointEvery: 2, datasetId: 'none' },
  );
  const perStep = settings.batchSize * settings.accumSteps * settings.model.blockSize;
  const steps = losses.map((loss, i): StepPoint => ({
    step: i + 1,
    loss,
    lr: 1e-3,
    gradNorm: 1,
    tokens: (i + 1) * perStep,
    elapsedSeconds: i + 1,
    tokensPerSecond: 1,
    tflops: 0,
  }));
  const step = steps.length;
  const arena = () => new Uint8Array(paramArenaLength(settings.model) * 4);
  const summary = {
    id: name,
    name,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    settings,
    status: 'paused' as const,
    checkpointStep: step,
    tokens: step * perStep,
    tokenizer: { vocabSize, fingerprint: fingerprint(tokenizerJson) },
  };
  const files = runDirFiles(
    { summary, tokenizerJson, steps, evals: [{ step: 2, valLoss: losses[1]! + 0.25 }] },
    {
      step,
      adamStep: step,
      samplerState: 1,
      tokens: step * perStep,
      elapsedSeconds: step,
      params: arena(),
      adamM: arena(),
      adamV: arena(),
    },
  );
  return {
    zip: Buffer.from(zipSync(Object.fromEntries(files.map((f) => [`${name}/${f.name}`, f.bytes])), { level: 0 })),
    settings,
    steps,
  };
}

const SMALL = runZip('small-run', 32, [5.5, 5.0, 4.75]);
const WIDE = runZip('wide-run', 64, [5.25, 4.5, 4.0, 3.75]);

describe('runs compared on the loss chart (built app in headless Chromium)', () => {
  it('overlays two imported runs, plots them by FLOPs, downloads their CSV and reads its summary', async () => {
    const page = await app().browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(app().base);
    const runs = page.getByRole('list', { name: 'Runs', exact: true });
    for (const run of [SMALL, WIDE]) {
      const name = run === SMALL ? 'small-run' : 'wide-run';
      await page
        .getByLabel('Import a Hugging Face model')
        .setInputFiles({ name: `${name}.zip`, mimeType: 'application/zip', buffer: run.zip });
      await expect.poll(() => runs.textContent(), { timeout: 60_000 }).toContain(name);
    }
    // The last import is the current run; tick the first to draw it beside it.
    await page.getByRole('checkbox', { name: 'Compare small-run' }).check();
    const chart = page.getByRole('img', { name: /^Loss by step/ });
    await expect.poll(() => chart.getAttribute('aria-label'), { timeout: 30_000 }).toMatch(/for 2 runs/);
    await page.getByLabel('x-axis').selectOption('flops');
    const summary = page.getByRole('img', { name: /^Loss by training FLOPs/ });
    expect(await summary.getAttribute('aria-label')).toBe(
      'Loss by training FLOPs for 2 runs. wide-run: step 4, loss 3.7500, validation loss 4.7500. small-run: step 3, loss 4.7500, validation loss 5.2500.',
    );
    // Not a focus trap of axis ticks: the chart is one image, its svg out of the Tab order.
    expect(await page.locator('[role="application"]').count()).toBe(0);
    const legend = page.getByRole('list', { name: 'Chart legend' });
    expect(await legend.textContent()).toMatch(
      /wide-run.*no Chinchilla level: the fit predicts [\d.]+, above uniform guessing.*small-run/,
    );

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'CSV', exact: true }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('loss-curves.csv');
    const lines = (await readFile(await download.path(), 'utf8')).trimEnd().split('\n');
    expect(lines[0]).toBe('run,step,tokens,flops,loss,smoothed,val_loss,lr');
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows.map((r) => [r[0], Number(r[1])])).toEqual([
      ...[1, 2, 3, 4].map((s) => ['wide-run', s]),
      ...[1, 2, 3].map((s) => ['small-run', s]),
    ]);
    for (const [run, r] of rows.map((r) => [r[0] === 'wide-run' ? WIDE : SMALL, r] as const)) {
      const step = run.steps[Number(r[1]) - 1]!;
      expect(Number(r[2])).toBe(step.tokens);
      expect(Number(r[3])).toBe(trainingFlopsPerToken(run.settings.model) * step.tokens);
      expect(Number(r[4])).toBe(step.loss);
    }
    expect(rows.filter((r) => r[6] !== '').map((r) => [r[0], r[1], r[6]])).toEqual([
      ['wide-run', '2', '4.75'],
      ['small-run', '2', '5.25'],
    ]);

    // The same points as tables, one per run.
    await page.getByLabel('Show as table').check();
    expect(await page.locator('.compare-table caption').allTextContents()).toEqual(['wide-run', 'small-run']);
    expect(await page.locator('.compare-table tbody tr').count()).toBe(7);

    // A return visit with nothing picked shows the latest run (the second import) without pressing
    // Show. (Picks kept across a reload: tests/lab-compare-store.test.ts.)
    await page.getByRole('checkbox', { name: 'Compare small-run' }).uncheck();
    await page.reload();
    await expect
      .poll(() => page.getByRole('list', { name: 'Chart legend' }).textContent(), { timeout: 30_000 })
      .toMatch(/^wide-run/);
    expect(await page.locator('.compare-table caption').allTextContents()).toEqual(['wide-run']);
    expect(errors).toEqual([]);
    await page.close();
  });
});
