/**
 * The Data tab in headless Chromium (the app on a Vite dev server, real Web Workers and IndexedDB):
 * the tokenizer card trains on the first N MB of a parquet URL picked in the source picker (the
 * worker streams it from a local server); the downloaded tokenizer.json equals trainBpe on those
 * bytes; a vocabulary the sample cannot reach replaces nothing and offers the size it reaches; a
 * cancel keeps the current tokenizer; a dataset of the previous tokenizer is marked and
 * re-tokenized into one of the current tokenizer.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Page } from 'playwright-core';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { startBrowserEnv, type BrowserEnv } from './helpers/browser';
import { startDataServer, type DataServer } from './helpers/data-server';
import { makeParquet } from './helpers/parquet';
import { bookRows, docsUpTo } from './helpers/text';

vi.setConfig({ testTimeout: 300_000 });

const ROWS = bookRows(2500, 9);

let env: BrowserEnv;
let server: DataServer;

beforeAll(async () => {
  server = await startDataServer();
  server.add('books.parquet', await makeParquet(ROWS, { rowGroupSize: 250 }));
  // Big enough that Cancel lands while it is read: ~60 MB of sentences.
  server.add('big.txt', bookRows(100_000, 3).join('\n').repeat(8));
  env = await startBrowserEnv();
});

afterAll(async () => {
  await env?.close();
  await server?.close();
});

const card = (page: Page) =>
  page.locator('section', { has: page.getByRole('heading', { name: 'Tokenizer', exact: true }) });
const datasets = (page: Page) =>
  page.locator('section', { has: page.getByRole('heading', { name: 'Datasets in this browser' }) });

async function pickUrl(page: Page, url: string): Promise<void> {
  await page.getByLabel('Hugging Face dataset or URL').check();
  await page.getByLabel(/Dataset id \(owner\/name\) or http\(s\) URL/).fill(url);
}

async function train(page: Page, sampleMb: string, vocab: string): Promise<void> {
  await page.getByLabel('Sample (MB)').fill(sampleMb);
  await page.getByLabel('Tokenizer vocabulary', { exact: true }).fill(vocab);
  await page.getByRole('button', { name: 'Train tokenizer', exact: true }).click();
}

async function readyWith(page: Page, vocab: string): Promise<void> {
  await expect
    .poll(() => card(page).textContent(), { timeout: 120_000 })
    .toMatch(new RegExp(`^Tokenizer\\s*Ready: a byte-level BPE tokenizer with a vocabulary of ${vocab} tokens`));
}

async function downloadTokenizer(page: Page): Promise<string> {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download tokenizer.json' }).click(),
  ]);
  return readFile(await download.path(), 'utf8');
}

describe('the Data tab in headless Chromium', () => {
  it('trains the tokenizer on a sample of the picked source; short vocabulary, cancel, re-tokenize', async () => {
    const context = await env.browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(env.base);
    await page.getByRole('tab', { name: 'Data' }).click();
    const url = `${server.url}/files/books.parquet`;
    await pickUrl(page, url);
    await expect
      .poll(() => page.getByTestId('tokenizer-sample').textContent())
      .toBe('Trains on the first 100 MB of books.parquet.');

    // 1. The first 0.05 MB of the parquet URL, streamed by the worker.
    await train(page, '0.05', '600');
    await readyWith(page, '600');
    const expected600 = toTokenizerJson(await trainBpe(docsUpTo(ROWS, 50_000), { vocabSize: 600, minFrequency: 2 }));
    expect(await downloadTokenizer(page)).toBe(expected600);

    // A dataset of this tokenizer.
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect
      .poll(() => datasets(page).textContent(), { timeout: 120_000 })
      .toMatch(/books\.parquet.*vocabulary 600.*complete/);
    expect(await datasets(page).textContent()).not.toMatch(/another tokenizer/);

    // 2. A vocabulary the sample cannot reach: said with the size reached; nothing replaced.
    await train(page, '0.01', '50000');
    const short = page.getByRole('group', { name: 'Smaller vocabulary' });
    await short.waitFor({ timeout: 120_000 });
    const reached = (await trainBpe(docsUpTo(ROWS, 10_000), { vocabSize: 50_000, minFrequency: 2 })).vocab.size;
    expect(await short.textContent()).toContain(
      `The first 0.01 MB of books.parquet reaches only ${reached.toLocaleString('en-US')} tokens, not 50,000. Nothing was replaced.`,
    );
    await readyWith(page, '600');
    expect(await downloadTokenizer(page)).toBe(expected600);
    await page.getByRole('button', { name: 'Keep the current tokenizer' }).click();
    await expect.poll(() => short.count()).toBe(0);
    await readyWith(page, '600');

    // 3. Cancel while the sample is read: the current tokenizer stays.
    await pickUrl(page, `${server.url}/files/big.txt`);
    await train(page, '100', '50000');
    await expect
      .poll(() => card(page).textContent(), { timeout: 60_000 })
      .toMatch(/Reading the first 100 MB of big\.txt: [\d.]+ MB read/);
    expect(await card(page).textContent()).toMatch(
      /In use until the new one is ready: a byte-level BPE tokenizer with a vocabulary of 600/,
    );
    await page.getByRole('button', { name: 'Cancel training' }).click();
    await readyWith(page, '600');
    expect(await downloadTokenizer(page)).toBe(expected600);

    // 4. A new tokenizer marks the dataset; Re-tokenize makes a new one beside it (the old one stays for the runs on its tokens).
    await pickUrl(page, url);
    await train(page, '0.05', '620');
    await readyWith(page, '620');
    await expect.poll(() => datasets(page).textContent()).toMatch(/tokenized with another tokenizer \(600 tokens\)/);
    await page.getByRole('button', { name: 'Re-tokenize books.parquet' }).click();
    await expect.poll(() => datasets(page).locator('li').count(), { timeout: 120_000 }).toBe(2);
    await expect
      .poll(() => datasets(page).textContent(), { timeout: 30_000 })
      .toMatch(/books\.parquet.*vocabulary 620.*complete/);
    expect(await datasets(page).textContent()).toMatch(
      /vocabulary 600.*tokenized with another tokenizer \(600 tokens\)/,
    );
    // Its source has a copy for this tokenizer now: nothing to re-tokenize.
    expect(await page.getByRole('button', { name: 'Re-tokenize books.parquet' }).count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });
});
