/**
 * Damaged IndexedDB records in headless Chromium (built app): run records set to a string, `{}` or
 * without summary.settings, and manifests set to a string or with `shards: null`, written beside a
 * healthy run and dataset; after a reload the page renders, the healthy ones are listed, each
 * damaged one is listed by key and what is wrong, Download raw gives its stored JSON, and Delete
 * removes it.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';
import { useBuiltApp } from './helpers/built-app';
import { emptyManifest, putRawInPage } from './helpers/page-idb';
import { testSettings } from './helpers/settings';

vi.setConfig({ testTimeout: 120_000 });

const app = useBuiltApp();

const settings = testSettings(
  { vocabSize: 300, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32 },
  { datasetId: 'good-data' },
);
const summary = {
  id: 'good',
  name: 'the healthy run',
  createdAt: '2026-12-01T00:00:00Z',
  updatedAt: '2026-12-01T00:00:00Z',
  settings,
  status: 'paused',
  checkpointStep: 0,
  tokens: 0,
  tokenizer: { vocabSize: 300, fingerprint: 'f' },
};
const manifest = emptyManifest('good-data', 'the healthy dataset');
const { settings: _dropped, ...noSettings } = summary;

describe('damaged records in the built app', () => {
  it('renders after a reload, lists the healthy and the damaged, and deletes the damaged', async () => {
    const page = await (await app().browser.newContext()).newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(app().base);
    await page.getByRole('heading', { name: 'Runs in this browser' }).waitFor({ timeout: 60_000 });
    const runs: [string, unknown][] = [
      ['run:good', { summary, tokenizerJson: '{}', steps: [], evals: [] }],
      ['run:str', 'not a record'],
      ['run:empty', {}],
      ['run:nosettings', { summary: { ...noSettings, id: 'nosettings' }, tokenizerJson: '{}', steps: [], evals: [] }],
    ];
    const data: [string, unknown][] = [
      ['manifest:good-data', manifest],
      ['manifest:str', 'oops'],
      ['manifest:noshards', { ...manifest, id: 'noshards', shards: null }],
    ];
    await putRawInPage(page, 'gpt-garden-runs', runs);
    await putRawInPage(page, 'gpt-garden-data', data);
    await page.reload();

    const damagedRuns = page.getByRole('list', { name: 'Damaged runs' });
    await expect
      .poll(() => damagedRuns.textContent(), { timeout: 60_000 })
      .toContain('damaged: run:nosettings — summary.settings is missing');
    expect(await damagedRuns.textContent()).toContain('damaged: run:str — the record is a string, expected an object');
    expect(await damagedRuns.textContent()).toContain('damaged: run:empty — summary is missing');
    await expect
      .poll(() => page.getByRole('list', { name: 'Runs', exact: true }).textContent())
      .toContain('the healthy run');

    // Download raw: the stored value as JSON, as it is (here the record without its settings).
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download the damaged run:nosettings as JSON' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('run-nosettings.json');
    const raw = JSON.parse(await readFile(await download.path(), 'utf8')) as { summary: Record<string, unknown> };
    expect(raw.summary).toMatchObject({ id: 'nosettings', name: 'the healthy run', checkpointStep: 0 });
    expect(raw.summary.settings).toBeUndefined();

    await page.getByRole('button', { name: 'Delete the damaged run:str' }).click();
    await expect.poll(() => damagedRuns.locator('li').count()).toBe(2);
    await page.getByRole('button', { name: 'Delete the damaged run:empty' }).click();
    await page.getByRole('button', { name: 'Delete the damaged run:nosettings' }).click();
    await expect.poll(() => damagedRuns.count()).toBe(0);
    expect(await page.getByRole('list', { name: 'Runs', exact: true }).textContent()).toContain('the healthy run');

    await page.getByRole('tab', { name: 'Data' }).click();
    const damagedData = page.getByRole('list', { name: 'Damaged datasets' });
    await expect
      .poll(() => damagedData.textContent(), { timeout: 30_000 })
      .toContain('damaged: manifest:noshards — shards is null, expected an array');
    expect(await damagedData.textContent()).toContain(
      'damaged: manifest:str — the record is a string, expected an object',
    );
    expect(await page.getByText('the healthy dataset').count()).toBe(1);
    await page.getByRole('button', { name: 'Delete the damaged manifest:noshards' }).click();
    await page.getByRole('button', { name: 'Delete the damaged manifest:str' }).click();
    await expect.poll(() => damagedData.count()).toBe(0);
    expect(await page.getByText('the healthy dataset').count()).toBe(1);

    // Deleted for good: a reload lists only the healthy ones.
    await page.reload();
    await expect
      .poll(() => page.getByRole('list', { name: 'Runs', exact: true }).textContent(), { timeout: 60_000 })
      .toContain('the healthy run');
    expect(await page.getByRole('list', { name: 'Damaged runs' }).count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
