/**
 * The Log card in headless Chromium against the built app: a tiny mixed-precision run of 4 steps
 * (validation and checkpoint every 2) shows its start, step lines, a validation line with its size
 * and checkpoint lines; Copy puts exactly that text on the clipboard and Download saves it.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';
import { useBuiltApp } from './helpers/built-app';
import { trainTokenizerInData } from './helpers/lab-page';

vi.setConfig({ testTimeout: 180_000 });

const app = useBuiltApp();

describe('the training log (built app in headless Chromium)', () => {
  it('shows step, validation and checkpoint lines, copied and downloaded as shown', async () => {
    const context = await app().browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
    const page = await context.newPage();
    await page.goto(app().base);
    await expect
      .poll(() => page.getByRole('status', { name: 'Training status' }).textContent(), { timeout: 60_000 })
      .toMatch(/press Train to start/);
    await trainTokenizerInData(page, 300);
    for (const [label, value] of [
      ['Layers', '1'],
      ['Width', '32'],
      ['Block size', '16'],
      ['Steps', '4'],
      ['Warmup steps', '1'],
      ['Validate every', '2'],
      ['Checkpoint every', '2'],
    ] as const) {
      await page.getByLabel(label, { exact: true }).fill(value);
    }
    // Mixed precision in Chromium's own WebGPU (SwiftShader, no shader-f16): f16 stored as packed halves.
    await page.getByLabel('Precision', { exact: true }).selectOption('mixed');
    await page.getByRole('button', { name: 'Train', exact: true }).click();
    const card = page.locator('section', { has: page.getByRole('heading', { name: 'Log', exact: true }) });
    const log = card.getByRole('log', { name: 'Training log' });
    await expect.poll(() => log.textContent(), { timeout: 120_000 }).toMatch(/step 4\/4: done/);
    const text = (await log.textContent())!;
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^step 0\/4: started: .+; mixed precision; validation on [\d,]+ tokens \(\d+ batches\)$/);
    expect(
      lines.filter((l) =>
        /^step \d\/4: loss \d+\.\d{4}, lr \d\.\d\de-\d, [\d.]+ ms, [\d,]+ tok\/s, [\d.e-]+ TFLOP\/s$/.test(l),
      ),
    ).toHaveLength(4);
    const val = lines.filter((l) => l.startsWith('step 2/4: val loss'));
    expect(val).toHaveLength(1);
    const tokens = /on ([\d,]+) tokens$/.exec(val[0]!)![1]!;
    // The stat beside the chart names the same size.
    expect(await page.locator('dl.stats').textContent()).toContain(`on ${tokens} tokens`);
    expect(lines.filter((l) => /^step [24]\/4: checkpoint saved \([\d.]+ (KB|MB)\)$/.test(l))).toHaveLength(2);

    await card.getByRole('button', { name: 'Copy', exact: true }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(text);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      card.getByRole('button', { name: 'Download', exact: true }).click(),
    ]);
    expect(await readFile(await download.path(), 'utf8')).toBe(`${text}\n`);

    // After a reload, Show brings the stored log back with the run's curve.
    await page.reload();
    await page.getByRole('tab', { name: 'Train' }).click();
    await page.getByRole('list', { name: 'Runs' }).getByRole('button', { name: 'Show', exact: true }).click();
    await expect
      .poll(() => page.getByRole('log', { name: 'Training log' }).textContent(), { timeout: 60_000 })
      .toBe(text);
    await context.close();
  });
});
