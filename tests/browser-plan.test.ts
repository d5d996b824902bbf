/**
 * The Plan tab in headless Chromium on SwiftShader against the built app: the measured device
 * speed, the IsoFLOP chart, a budget change that changes the plan, "Use this plan" filling the
 * Train form and the data token limit; "The post's recipe" filling Data and Train and saying its
 * time here; the question before a run of more than three hours; and a short IsoFLOP sweep of tiny
 * models that trains every point, plots them and reports the fit next to Chinchilla's optimum.
 */
import { describe, expect, it, vi } from 'vitest';
import type { Page } from 'playwright-core';
import { useBuiltApp } from './helpers/built-app';
import { trainTokenizerInData } from './helpers/lab-page';

// SwiftShader on two shared cores: a sweep trains several models in a row, several minutes when the suite runs beside it.
vi.setConfig({ testTimeout: 360_000 });

const app = useBuiltApp();

async function openLab(page: Page): Promise<void> {
  await page.goto(app().base);
  const status = page.getByRole('status', { name: 'Training status' });
  await expect.poll(() => status.textContent(), { timeout: 60_000 }).toMatch(/press Train to start/);
}

/** The Suggested model list as term -> value. */
async function suggested(page: Page): Promise<Record<string, string>> {
  const list = page.getByRole('definition').locator('xpath=..').locator('xpath=..');
  const terms = await list.locator('dt').allTextContents();
  const values = await list.locator('dd').allTextContents();
  return Object.fromEntries(terms.map((t, i) => [t, values[i]!]));
}

describe('the Plan tab in headless Chromium (built app, WebGPU on SwiftShader)', () => {
  it('measures the device, draws the curves, follows the budget and applies the plan to the Train form', async () => {
    const context = await app().browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await openLab(page);
    const tabs = await page.getByRole('tab').allTextContents();
    expect(tabs[0]).toBe('Train');
    expect(tabs).toContain('Plan');
    await page.getByRole('tab', { name: 'Plan' }).click();

    const chart = page.getByRole('figure', { name: /Predicted loss against model size/ });
    await expect
      .poll(() => chart.locator('svg .recharts-line path').count(), { timeout: 30_000 })
      .toBeGreaterThanOrEqual(5);

    const speed = page.getByRole('status', { name: 'Device speed' });
    const started = Date.now();
    // About 25 s on an idle machine (SwiftShader compiles the training kernels first); twice that under load.
    await expect.poll(() => speed.textContent(), { timeout: 120_000 }).toMatch(/tokens\/s, about .* FLOP\/s/);
    console.log(
      `speed probe in the browser: ${await speed.textContent()} (seen after ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    // With a measured speed, hours become a budget unit and the plan has a wall-clock estimate.
    expect(await page.getByRole('option', { name: 'hours on this device' }).isDisabled()).toBe(false);
    expect((await suggested(page))['Wall-clock estimate']).toMatch(/^about /);

    // The post's point: 3.2e17 FLOPs at GPT-2's vocabulary and 1024 context, Hoffmann's fit.
    await page.getByLabel('Vocabulary and context').selectOption('post');
    await expect.poll(async () => (await suggested(page))['Parameters']).toMatch(/^48,347,648 /);
    expect(await suggested(page)).toMatchObject({
      Layers: '7',
      Width: '512',
      'Block size': '1024',
      Vocabulary: '50,304',
    });
    expect((await suggested(page))['Training tokens']).toMatch(/^1\.1B /);
    await page.getByLabel('Vocabulary and context').selectOption('form');

    const before = await suggested(page);
    await page.getByLabel('Compute budget').fill('1e15');
    await expect.poll(async () => (await suggested(page))['Parameters']).not.toBe(before['Parameters']);
    const plan = await suggested(page);
    const params = Number(/^([\d,]+)/.exec(plan['Parameters']!)![1]!.replace(/,/g, ''));
    const tokens = Math.round(1e15 / (6 * params));
    expect(params).toBeLessThan(Number(/^([\d,]+)/.exec(before['Parameters']!)![1]!.replace(/,/g, '')));

    await page.getByRole('button', { name: 'Use this plan' }).click();
    expect(await page.getByRole('tab', { name: 'Train' }).getAttribute('aria-selected')).toBe('true');
    const field = (label: string) => page.getByLabel(label, { exact: true }).inputValue();
    expect(await field('Layers')).toBe(plan['Layers']);
    expect(await field('Heads')).toBe(/^(\d+)/.exec(plan['Heads']!)![1]);
    expect(await field('Width')).toBe(plan['Width']);
    expect(await field('Block size')).toBe(plan['Block size']);
    expect(Number(await field('Vocabulary'))).toBe(Number(plan['Vocabulary']!.replace(/,/g, '')));
    const perStep = Number(await field('Batch (sequences per step)')) * Number(plan['Block size']);
    expect(Number(await field('Steps'))).toBe(Math.ceil(tokens / perStep));

    await page.getByRole('tab', { name: 'Data' }).click();
    expect(await page.getByLabel('Token limit (empty: all)').inputValue()).toBe(String(tokens));

    // The post's recipe: one press fills Data and Train and says what the run costs here.
    await page.getByRole('tab', { name: 'Plan' }).click();
    await page.getByRole('button', { name: "The post's recipe" }).click();
    const recipe = (await page.getByRole('status', { name: 'Recipe' }).textContent()) ?? '';
    // The planner below now plans at the recipe's vocabulary and context too.
    expect(await page.getByLabel('Vocabulary and context').inputValue()).toBe('post');
    expect(recipe).toMatch(
      /^The post's recipe: 7 layers × 512 wide, 48,347,648 parameters, 1\.1B tokens of bookcorpus\/bookcorpus with a 50,304-token tokenizer from its first 100 MB: about \d+ (days|years) on this device \(software adapter; from the Plan tab's measured speed/,
    );
    await page.getByRole('tab', { name: 'Data' }).click();
    expect(await page.getByLabel('Token limit (empty: all)').inputValue()).toBe('1100000000');
    expect(await page.getByLabel(/^Dataset id/).inputValue()).toBe('bookcorpus/bookcorpus');
    expect(await page.getByLabel('Tokenizer vocabulary', { exact: true }).inputValue()).toBe('50304');
    expect(await page.getByLabel('Sample (MB)', { exact: true }).inputValue()).toBe('100');
    await page.getByRole('tab', { name: 'Train' }).click();
    expect([await field('Layers'), await field('Width'), await field('Block size')]).toEqual(['7', '512', '1024']);
    expect(await page.getByLabel('Dataset', { exact: true }).inputValue()).toBe('bookcorpus/bookcorpus');
    // No tokenizer of 50,304 yet: the model keeps the tokenizer's size, and the lab says why.
    expect(Number(await field('Vocabulary'))).toBe(Number(plan['Vocabulary']!.replace(/,/g, '')));
    expect(await page.getByRole('note', { name: 'Plan notes' }).textContent()).toMatch(
      /The recipe's tokenizer is not trained yet: in Data, train a 50,304-token BPE/,
    );

    // A run past three hours is asked about first; Cancel starts nothing.
    for (const [label, value] of [
      ['Layers', '1'],
      ['Width', '32'],
      ['Block size', '32'],
      ['Batch (sequences per step)', '2'],
      ['Steps', '100000000'],
    ]) {
      await page.getByLabel(label!, { exact: true }).fill(value!);
    }
    expect(await page.getByLabel('Time on this device').textContent()).toMatch(
      /^About \d+ (days|years) on this device \(software adapter\), from the Plan tab's measured speed/,
    );
    await page.getByRole('button', { name: 'Train', exact: true }).click();
    const confirm = page.getByRole('group', { name: 'Confirm a long run' });
    expect(await confirm.textContent()).toMatch(
      /^This run would take about \d+ (days|years) on this device \(software adapter\)\. Train anyway\?/,
    );
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    expect(await confirm.count()).toBe(0);
    expect(await page.getByRole('status', { name: 'Training status' }).textContent()).toMatch(/press Train to start/);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('runs a short IsoFLOP sweep of tiny models, plots it and fits it', async () => {
    const context = await app().browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await openLab(page);
    await trainTokenizerInData(page, 512);
    for (const [label, value] of [
      ['Block size', '32'],
      ['Peak learning rate', '0.01'],
    ]) {
      await page.getByLabel(label!, { exact: true }).fill(value!);
    }
    await page.getByRole('tab', { name: 'Plan' }).click();
    // 2 budgets × 2 widths keeps this test near a minute (each run costs ~10 s of set-up on
    // SwiftShader, whatever its steps); SWEEP_WIDTHS='16, 24, 32' runs the 6-point sweep that fits
    // a parabola per budget (about 75 s more or less on its own).
    const budgets = process.env.SWEEP_BUDGETS ?? '3e7, 6e7';
    const widths = process.env.SWEEP_WIDTHS ?? '16, 32';
    const n = budgets.split(',').length * widths.split(',').length;
    await page.getByLabel('Sweep budgets (FLOPs)').fill(budgets);
    await page.getByLabel('Model widths').fill(widths);
    await page.getByLabel('Sweep layers').fill('1');
    const size = (await page.getByLabel('Sweep size').textContent()) ?? '';
    console.log(`sweep: ${size}`);
    const started = Date.now();
    await page.getByRole('button', { name: 'Start sweep' }).click();
    const progress = page.getByRole('status', { name: 'Sweep progress' });
    await expect.poll(() => progress.textContent(), { timeout: 30_000 }).toMatch(new RegExp(`point 1 of ${n}`));
    await expect
      .poll(() => progress.textContent(), { timeout: 240_000, interval: 500 })
      .toMatch(new RegExp(`Sweep finished: ${n} of ${n} points`));
    console.log(`sweep of ${n} points took ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const rows = page.getByRole('table', { name: 'Sweep runs' }).locator('tbody tr');
    expect(await rows.count()).toBe(n);
    for (const row of await rows.all()) expect(await row.locator('td').nth(4).textContent()).toMatch(/^\d+\.\d{3}$/);
    // The runs are drawn over the curves (next to the five curves' optimum dots).
    const chart = page.getByRole('figure', { name: /Predicted loss against model size/ });
    expect(await chart.locator('.recharts-scatter-symbol').count()).toBeGreaterThanOrEqual(n + 5);
    const fit = page.getByRole('region', { name: 'Sweep fit' });
    const report = (await fit.textContent()) ?? '';
    console.log(`sweep fit: ${report}`);
    // Each budget gets its parabola's optimum next to Chinchilla's, or the reason it has none.
    expect(report).toMatch(/3e7 FLOPs: (your runs' optimum N ≈ .*Chinchilla \(Hoffmann\) says N\* ≈|no fit \()/);
    expect(report).toMatch(/6e7 FLOPs: (your runs' optimum N ≈ .*Chinchilla \(Hoffmann\) says N\* ≈|no fit \()/);
    expect(report).toMatch(/Across budgets: /);

    // The sweep is kept in IndexedDB: after a reload its results are still there.
    await page.reload();
    await page.getByRole('tab', { name: 'Plan' }).click();
    await expect
      .poll(() => page.getByRole('status', { name: 'Sweep progress' }).textContent(), { timeout: 30_000 })
      .toMatch(new RegExp(`Sweep finished: ${n} of ${n}`));
    expect(await page.getByRole('table', { name: 'Sweep runs' }).locator('tbody tr').count()).toBe(n);
    expect(errors).toEqual([]);
    await context.close();
  });
});
