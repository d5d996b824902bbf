/**
 * `npm run screenshot`: the README's pictures of the lab mid-training. Builds the app, trains a
 * small model in headless Chromium (SwiftShader), samples "life is about" on the current weights
 * while it trains, and saves a full-page PNG at desktop width (default public/screenshot-lab.png)
 * and the same page at phone width as a 390×844 screen shows it, from the Train button through
 * the loss chart (default public/screenshot-lab-phone.png); a page that scrolls sideways there is
 * an error, not a picture.
 * With `pngquant` installed (apt-get install pngquant) each picture is cut to a 256-colour palette,
 * about a third of the bytes, so the README's pictures stay under 200 KB.
 */
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { startBuiltAppEnv } from '../tests/helpers/browser';
import { trainTokenizerInData } from '../tests/helpers/lab-page';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '60' },
    out: { type: 'string', default: 'public/screenshot-lab.png' },
    'phone-out': { type: 'string', default: 'public/screenshot-lab-phone.png' },
  },
});
const target = Number(values.steps);
if (!Number.isInteger(target) || target < 1)
  throw new Error(`--steps must be a positive whole number (got ${values.steps})`);

/** Saves the PNG, palette-reduced when pngquant is there, and says its size (the README's pictures stay small). */
async function save(page: Page, path: string, options: Parameters<Page['screenshot']>[0] = {}): Promise<void> {
  await page.screenshot({ ...options, path });
  const quant = spawnSync('pngquant', [
    '--quality=70-95',
    '--speed',
    '1',
    '--strip',
    '--force',
    '--output',
    path,
    path,
  ]);
  if (quant.error) console.log(`pngquant not found (${quant.error.message}): ${path} keeps all its colours`);
  else if (quant.status === 99)
    console.log(`pngquant could not keep ${path} above its quality floor: it keeps all its colours`);
  else if (quant.status !== 0) throw new Error(`pngquant failed on ${path}: ${quant.stderr.toString().trim()}`);
  console.log(`saved ${path} (${Math.round(statSync(path).size / 1024)} KB)`);
}

const env = await startBuiltAppEnv();
try {
  const page = await (await env.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await page.goto(env.base);
  const status = page.getByRole('status', { name: 'Training status' });
  while (!((await status.textContent()) ?? '').includes('press Train')) await page.waitForTimeout(200);
  await trainTokenizerInData(page, 1024);
  const small: [string, string][] = [
    ['Width', '48'],
    ['Block size', '32'],
    ['Steps', '300'],
    ['Peak learning rate', '0.006'],
    ['Validate every', '10'],
    ['Checkpoint every', '50'],
  ];
  for (const [label, value] of small) await page.getByLabel(label, { exact: true }).fill(value);
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  for (;;) {
    const step = Number(/step (\d+) of/.exec((await status.textContent()) ?? '')?.[1] ?? 0);
    if (step >= target) break;
    await page.waitForTimeout(500);
  }
  await page.getByLabel('Compare with the untrained model (before / after)').check();
  await page.getByRole('button', { name: 'Generate' }).click();
  while (!(await page.getByRole('button', { name: 'Generate' }).isEnabled())) await page.waitForTimeout(200);
  await save(page, values.out, { fullPage: true });
  const shownAt = await status.textContent();

  // The same page on a phone, as its screen shows it: from the Train button through the loss chart.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(1000);
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  if (scrollWidth > innerWidth) throw new Error(`at 390 px the page is ${scrollWidth} px wide: it scrolls sideways`);
  const top = await page
    .getByRole('button', { name: 'Train', exact: true })
    .evaluate((el) => el.getBoundingClientRect().top + window.scrollY);
  await page.evaluate((y) => window.scrollTo(0, y - 12), top);
  await page.waitForTimeout(300);
  await save(page, values['phone-out']);
  console.log(`taken at: ${shownAt}`);
} finally {
  await env.close();
}
