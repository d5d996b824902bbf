/**
 * The engine in a real browser: headless Chromium on SwiftShader WebGPU loads the same modules
 * through Vite and checks the gpt-tiny PyTorch fixture.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

let server: ViteDevServer;
let browser: Browser;
let base: string;

beforeAll(async () => {
  server = await createServer({ configFile: 'vite.config.ts', server: { host: '127.0.0.1', port: 0 }, logLevel: 'error' });
  await server.listen();
  const address = server.httpServer!.address();
  if (!address || typeof address === 'string') throw new Error('vite did not report a port');
  base = `http://127.0.0.1:${address.port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
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
});
