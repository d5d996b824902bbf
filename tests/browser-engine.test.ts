/**
 * The engine in a real browser: headless Chromium on SwiftShader WebGPU loads the same modules
 * through Vite, checks the gpt-tiny PyTorch fixture, and trains a tokenizer in a Web Worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startBrowserEnv, type BrowserEnv } from './helpers/browser';

let env: BrowserEnv;
let browser: Browser;
let base: string;

beforeAll(async () => {
  env = await startBrowserEnv();
  ({ browser, base } = env);
});

afterAll(async () => {
  await env?.close();
});

describe('engine in headless Chromium (WebGPU on SwiftShader)', () => {
  it('passes the gpt-tiny PyTorch fixture', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${base}/tests/browser/engine.html?fixture=gpt-tiny`);
    const result = page.locator('#result');
    await result.and(page.locator('[data-status]')).waitFor({ timeout: 180_000 });
    const text = (await result.textContent()) ?? '';
    expect(await result.getAttribute('data-status'), `${text}\n${errors.join('\n')}`).toBe('ok');
    expect(text).toMatch(/gen10\.greedy .* ok/);
    await page.close();
  });

  it('trains a BPE tokenizer in a Web Worker with progress, and cancels a running training', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/tests/browser/tokenizer-worker.html`);
    const result = page.locator('#result');
    await result.and(page.locator('[data-status]')).waitFor({ timeout: 120_000 });
    const text = (await result.textContent()) ?? '';
    expect(await result.getAttribute('data-status'), text).toBe('done');
    const r = JSON.parse(text) as {
      progress: number;
      decoded: string;
      tokens: number;
      vocab: number;
      second: { type: string; cancelled?: boolean };
    };
    expect(r.progress).toBeGreaterThan(0);
    expect(r.decoded).toBe('the cat sat on the log.');
    expect(r.tokens).toBeLessThan(12); // merges learned: fewer tokens than the 23 bytes
    expect(r.vocab).toBeGreaterThan(257); // merges ran out before 300 on this small text
    expect(r.vocab).toBeLessThanOrEqual(300);
    expect(r.second).toMatchObject({ type: 'error', cancelled: true });
    await page.close();
  });
});
