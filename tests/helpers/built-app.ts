/** The built app for a whole test file (kept out of browser.ts, which scripts import outside vitest). */
import { afterAll, beforeAll } from 'vitest';
import { startBuiltAppEnv, type BrowserEnv } from './browser';

/**
 * For a test file: the built app in Chromium for all its tests (started before the first, closed
 * after the last). Call at the top level; the returned function gives the running env.
 */
export function useBuiltApp(): () => BrowserEnv {
  let env: BrowserEnv | undefined;
  beforeAll(async () => {
    env = await startBuiltAppEnv();
  });
  afterAll(async () => {
    await env?.close();
  });
  return () => {
    if (!env)
      throw new Error('the built app is not running (useBuiltApp must be called at the top level of a test file)');
    return env;
  };
}
