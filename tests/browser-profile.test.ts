/**
 * "Profile one step" in headless Chromium (SwiftShader WebGPU, the dev server): the worker answers
 * with the per-op table of the form's model, drawn under Sample with the wall time beside the total.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserEnv, startBrowserEnv } from './helpers/browser';

let env: BrowserEnv;
beforeAll(async () => {
  env = await startBrowserEnv();
}, 120_000);
afterAll(async () => {
  await env?.close();
});

describe('Profile one step in the lab', () => {
  it('shows one row per op and direction, matmul among them, and the total beside the wall time', async () => {
    const page = await (await env.browser.newContext()).newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(env.base);
    const button = page.getByRole('button', { name: 'Profile one step' });
    await expect.poll(() => button.isEnabled(), { timeout: 120_000 }).toBe(true);
    await button.click();
    const table = page.getByRole('table', { name: 'Profile of one step' });
    await table.waitFor({ timeout: 240_000 });
    const rows = await table.locator('tbody tr').allTextContents();
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.some((r) => r.startsWith('matmulforward'))).toBe(true);
    expect(rows.some((r) => r.startsWith('adamwoptimizer'))).toBe(true);
    // Shares as printed add up to 100% (each rounded to 0.1%).
    const shares = (await table.locator('tbody tr td:nth-child(5)').allTextContents()).map((t) =>
      Number(t.replace('%', '')),
    );
    expect(shares.length).toBe(rows.length);
    console.log(
      (
        await table
          .locator('tr')
          .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent).join(' | ')))
      ).join('\n'),
    );
    expect(Math.abs(shares.reduce((s, v) => s + v, 0) - 100)).toBeLessThan(0.05 * rows.length + 0.01);
    expect(await table.locator('tfoot').textContent()).toMatch(/ms wall: \d+%/);
    expect(errors).toEqual([]);
  }, 400_000);
});
