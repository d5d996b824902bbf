/**
 * The Data tab in headless Chromium (built app), two pages of one context sharing IndexedDB and Web
 * Locks: a dataset a saved run trains on is marked "used by run …" and its Delete asks first; while
 * page A holds the one-trainer lock, page B's tokenizer training is refused with a clear message,
 * and once A lets go it trains.
 */
import { describe, expect, it, vi } from 'vitest';
import { useBuiltApp } from './helpers/built-app';
import { emptyManifest, putRawInPage } from './helpers/page-idb';
import { testSettings } from './helpers/settings';

vi.setConfig({ testTimeout: 120_000 });

const app = useBuiltApp();

const at = '2026-12-01T00:00:00Z';
const settings = testSettings(
  { vocabSize: 300, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32 },
  { datasetId: 'used-data' },
);
const run = {
  summary: {
    id: 'paused',
    name: 'the paused run',
    createdAt: at,
    updatedAt: at,
    settings,
    status: 'paused',
    checkpointStep: 2,
    tokens: 64,
    tokenizer: { vocabSize: 300, fingerprint: 'f' },
  },
  tokenizerJson: '{}',
  steps: [],
  evals: [],
};

describe('Data tab: datasets in use, and the one-trainer lock across tabs', () => {
  it('asks before deleting a dataset a run uses; refuses tokenizer training while another tab holds the lock', async () => {
    const context = await app().browser.newContext();
    const a = await context.newPage();
    const errors: string[] = [];
    a.on('pageerror', (e) => errors.push(e.message));
    await a.goto(app().base);
    await a.getByRole('heading', { name: 'Runs in this browser' }).waitFor({ timeout: 60_000 });
    await putRawInPage(a, 'gpt-garden-runs', [['run:paused', run]]);
    await putRawInPage(a, 'gpt-garden-data', [
      ['manifest:used-data', emptyManifest('used-data', 'the used dataset', at)],
      ['manifest:free-data', emptyManifest('free-data', 'the free dataset', at)],
    ]);
    await a.reload();
    await expect
      .poll(() => a.getByRole('list', { name: 'Runs', exact: true }).textContent(), { timeout: 60_000 })
      .toContain('the paused run');

    await a.getByRole('tab', { name: 'Data' }).click();
    const used = a.locator('li[data-dataset-id="used-data"]');
    await expect.poll(() => used.textContent(), { timeout: 30_000 }).toContain('used by run the paused run');
    expect(await a.locator('li[data-dataset-id="free-data"]').textContent()).not.toContain('used by');
    // A dataset nobody trains on goes at once; the used one asks, and Keep keeps it.
    await a.getByRole('button', { name: 'Delete the free dataset', exact: true }).click();
    await expect.poll(() => a.locator('li[data-dataset-id="free-data"]').count()).toBe(0);
    await a.getByRole('button', { name: 'Delete the used dataset', exact: true }).click();
    expect(await used.getByRole('alert').textContent()).toMatch(
      /^Delete "the used dataset"\? The run the paused run trains on it/,
    );
    await a.getByRole('button', { name: 'Keep the used dataset' }).click();
    expect(await used.getByRole('alert').count()).toBe(0);
    await a.getByRole('button', { name: 'Delete the used dataset', exact: true }).click();
    await a.getByRole('button', { name: 'Delete the used dataset anyway' }).click();
    await expect.poll(() => used.count()).toBe(0);

    // Page A holds the lock (as a training tab does); page B's tokenizer training is refused.
    await a.evaluate(() => {
      void navigator.locks.request(
        'gpt-garden-training',
        () =>
          new Promise<void>((release) => ((window as unknown as { releaseLock: () => void }).releaseLock = release)),
      );
    });
    const b = await context.newPage();
    b.on('pageerror', (e) => errors.push(e.message));
    await b.goto(app().base);
    await b.getByRole('tab', { name: 'Data' }).click();
    await b.getByLabel('Tokenizer vocabulary', { exact: true }).fill('300');
    await b.getByRole('button', { name: 'Train tokenizer', exact: true }).click();
    await expect
      .poll(async () => (await b.getByRole('alert').allTextContents()).join(' '), { timeout: 30_000 })
      .toMatch(/Another tab is training \(or preparing data\): this tab cannot train the tokenizer/);
    const card = b.locator('section', { has: b.getByRole('heading', { name: 'Tokenizer', exact: true }) });
    expect(await card.getByText(/Ready: a byte-level BPE tokenizer/).count()).toBe(0);

    // Once A lets go, B trains it.
    await a.evaluate(() => (window as unknown as { releaseLock: () => void }).releaseLock());
    await b.getByRole('button', { name: 'Train tokenizer', exact: true }).click();
    await card.getByText(/Ready: a byte-level BPE tokenizer with a vocabulary of 300 /).waitFor({ timeout: 60_000 });
    expect(errors).toEqual([]);
    await context.close();
  });
});
