/**
 * `npm run bench:lab`: the lab as a person uses it, timed in headless Chromium on the built app.
 * (1) From pressing Train on a fresh profile (tokenizer training and the bundled corpus included)
 * to the first loss point; (2) the default model's steps/s and tokens/s over --seconds of training;
 * (3) Train again with the tokenizer and dataset already there (compile + first step only).
 * Uses the adapter Chromium picks: SwiftShader here, the real GPU where there is one
 * (--gpu drops the SwiftShader flag). Prints a table; --out file.json writes the numbers.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { CHROMIUM_FLAGS, startBuiltAppEnv } from '../tests/helpers/browser';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    out: { type: 'string' },
    gpu: { type: 'boolean', default: false },
  },
});
const flags = values.gpu ? CHROMIUM_FLAGS.filter((f) => !f.startsWith('--use-webgpu-adapter')) : CHROMIUM_FLAGS;
const env = await startBuiltAppEnv(flags);
const results: Record<string, number | string> = {};

async function statusText(page: Page): Promise<string> {
  return (await page.getByRole('status', { name: 'Training status' }).textContent()) ?? '';
}

async function stepOf(page: Page): Promise<number> {
  return Number(/step (\d+) of/.exec(await statusText(page))?.[1] ?? 0);
}

async function until(page: Page, done: (text: string) => boolean, timeoutMs = 600_000): Promise<void> {
  const started = Date.now();
  while (!done(await statusText(page))) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out: ${await statusText(page)}`);
    await page.waitForTimeout(50);
  }
}

try {
  const page = await (await env.browser.newContext()).newPage();
  await page.goto(env.base);
  await until(page, (t) => t.includes('press Train to start'));
  const settings = await page.getByLabel('Run size').textContent();
  results.adapter = (await page.locator('.gpu-status').textContent()) ?? '';
  results.model = settings ?? '';

  let pressed = Date.now();
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  await until(page, (t) => /step \d+ of/.test(t));
  results.coldFirstLossSeconds = (Date.now() - pressed) / 1000;

  const firstStep = await stepOf(page);
  const started = Date.now();
  await page.waitForTimeout(Number(values.seconds) * 1000);
  const steps = (await stepOf(page)) - firstStep;
  const seconds = (Date.now() - started) / 1000;
  results.stepsPerSecond = +(steps / seconds).toFixed(3);
  results.tokensPerSecond = (await page.locator('.stats dd').first().textContent()) ?? '';

  await page.getByRole('button', { name: 'Stop' }).click();
  await until(page, (t) => t.startsWith('Stopped'));
  pressed = Date.now();
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  await until(page, (t) => /step 1 of/.test(t) || /step [2-9]\d* of/.test(t));
  results.warmFirstLossSeconds = (Date.now() - pressed) / 1000;
} finally {
  await env.close();
}

for (const [key, value] of Object.entries(results)) console.log(`${key.padEnd(22)} ${value}`);
if (values.out) await writeFile(values.out, JSON.stringify(results, null, 2) + '\n');
