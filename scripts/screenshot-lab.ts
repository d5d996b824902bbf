/**
 * `npm run screenshot`: the README's picture of the lab mid-training. Builds the app, trains a
 * small model in headless Chromium (SwiftShader), samples "life is about" on the current weights
 * while it trains, and saves a full-page PNG (default public/screenshot-lab.png).
 */
import { parseArgs } from 'node:util';
import { startBuiltAppEnv } from '../tests/helpers/browser';
import { trainTokenizerInData } from '../tests/helpers/lab-page';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '60' }, out: { type: 'string', default: 'public/screenshot-lab.png' } } });
const env = await startBuiltAppEnv();
try {
  const page = await (await env.browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  await page.goto(env.base);
  const status = page.getByRole('status', { name: 'Training status' });
  while (!((await status.textContent()) ?? '').includes('press Train')) await page.waitForTimeout(200);
  await trainTokenizerInData(page, 1024);
  const small: [string, string][] = [['Width', '48'], ['Block size', '32'], ['Steps', '300'], ['Peak learning rate', '0.006'], ['Validate every', '10'], ['Checkpoint every', '50']];
  for (const [label, value] of small) await page.getByLabel(label, { exact: true }).fill(value);
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  const target = Number(values.steps);
  for (;;) {
    const step = Number(/step (\d+) of/.exec((await status.textContent()) ?? '')?.[1] ?? 0);
    if (step >= target) break;
    await page.waitForTimeout(500);
  }
  await page.getByLabel('Compare with the untrained model (before / after)').check();
  await page.getByRole('button', { name: 'Generate' }).click();
  while (!(await page.getByRole('button', { name: 'Generate' }).isEnabled())) await page.waitForTimeout(200);
  await page.screenshot({ path: values.out, fullPage: true });
  console.log(`saved ${values.out} at: ${await status.textContent()}`);
} finally {
  await env.close();
}
