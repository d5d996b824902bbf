/**
 * Headless Chromium (Debian's, WebGPU on SwiftShader) pointed at a Vite dev server of this repo:
 * the browser tests and the data benchmark share this start-up.
 */
import type { Server } from 'node:http';
import { chromium, type Browser } from 'playwright-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, createServer, preview, type PreviewServer, type ViteDevServer } from 'vite';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface BrowserEnv {
  /** http://127.0.0.1:<port> of the Vite dev server. */
  base: string;
  browser: Browser;
  close(): Promise<void>;
}

/** Chromium on a server that listens at `address`; close() stops both, then runs `cleanUp`. */
async function launchAt(
  address: ReturnType<Server['address']>,
  closeServer: () => Promise<void>,
  flags = CHROMIUM_FLAGS,
  cleanUp?: () => Promise<void>,
): Promise<BrowserEnv> {
  if (!address || typeof address === 'string') throw new Error('vite did not report a port');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: flags });
  return {
    base: `http://127.0.0.1:${address.port}`,
    browser,
    async close() {
      await browser.close();
      await closeServer();
      await cleanUp?.();
    },
  };
}

export async function startBrowserEnv(): Promise<BrowserEnv> {
  const server: ViteDevServer = await createServer({
    configFile: 'vite.config.ts',
    server: { host: '127.0.0.1', port: 0 },
    logLevel: 'error',
  });
  await server.listen();
  return launchAt(server.httpServer!.address(), () => server.close());
}

/**
 * The lab as a person gets it: `vite build` into a temporary folder, served by `vite preview`
 * (what `npm start` serves in development, bundled and minified).
 */
export async function startBuiltAppEnv(flags: string[] = CHROMIUM_FLAGS): Promise<BrowserEnv> {
  const outDir = await mkdtemp(join(tmpdir(), 'gpt-garden-web-'));
  await build({ configFile: 'vite.config.ts', logLevel: 'error', build: { outDir, emptyOutDir: true } });
  const server: PreviewServer = await preview({
    configFile: 'vite.config.ts',
    logLevel: 'error',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0 },
  });
  return launchAt(
    server.httpServer.address(),
    () => server.close(),
    flags,
    () => rm(outDir, { recursive: true, force: true }),
  );
}
