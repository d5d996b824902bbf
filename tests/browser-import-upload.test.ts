/**
 * Uploads and imports in headless Chromium (the app on a Vite dev server, real workers and
 * IndexedDB, WebGPU on SwiftShader): an empty file is refused at once and a binary .txt flagged
 * with the choice to keep it; a config.json with the wrong n_embd is named in an alert; a zip that
 * is not one is an alert too; the same model imported twice is recognised; the imported model's
 * sample shows its tokens as chips with their ids.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Page } from 'playwright-core';
import { hfConfigJson } from '../src/model/hf';
import { writeSafetensors } from '../src/model/safetensors';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { parseTokenizerJson, toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import { tokenPieces } from '../src/train/sampling';
import { visibleToken } from '../src/ui/lab/token-view';
import { startBrowserEnv, type BrowserEnv } from './helpers/browser';
import { fixtureHfTensors, fixtureModel } from './helpers/fixture-model';
import { randomBytes } from './helpers/random-bytes';

// Generous: the worker answers an import after its device probe, which a busy machine slows.
vi.setConfig({ testTimeout: 240_000 });

const { fixture, config } = fixtureModel();
const lines = readFileSync('public/corpus/brown-fiction.txt', 'utf8').split('\n').slice(0, 300);
// As many tokens as the fixture model's vocabulary: every id it samples has a text.
const tokenizerJson = toTokenizerJson(
  await trainBpe(lines, { vocabSize: config.vocabSize, minFrequency: 2, specialTokens: [END_OF_TEXT] }),
);
const tokenizer = new Tokenizer(parseTokenizerJson(tokenizerJson));
const weights = Buffer.from(writeSafetensors(fixtureHfTensors(fixture), { format: 'pt' }));

function hfFiles(configJson: Record<string, unknown> = hfConfigJson(config)) {
  return [
    { name: 'config.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(configJson)) },
    { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: weights },
    { name: 'tokenizer.json', mimeType: 'application/json', buffer: Buffer.from(tokenizerJson) },
  ];
}

// The same bytes as before the generator moved to the helper (its seed).
const noise = (n: number) => Buffer.from(randomBytes(n, 2463534242));

let env: BrowserEnv;
let page: Page;

beforeAll(async () => {
  env = await startBrowserEnv();
  page = await env.browser.newPage();
  await page.goto(env.base);
});

afterAll(async () => {
  await env?.close();
});

const alerts = () => page.getByRole('alert');
const alertText = async () => (await alerts().allTextContents()).join('\n');

describe('uploads and imports in Chromium', () => {
  it('refuses an empty upload at once and flags a binary .txt with the choice to keep or remove it', async () => {
    await page.getByRole('tab', { name: 'Data' }).click();
    await page.getByLabel('Your files').check();
    const input = page.getByLabel('Drop .txt, .jsonl or .parquet files here, or pick them');
    await input.setInputFiles([
      { name: 'empty.txt', mimeType: 'text/plain', buffer: Buffer.alloc(0) },
      { name: 'story.txt', mimeType: 'text/plain', buffer: Buffer.from(lines.join('\n')) },
      { name: 'noise.txt', mimeType: 'text/plain', buffer: noise(50_000) },
    ]);
    await expect
      .poll(alertText)
      .toContain('"empty.txt" is empty (0 bytes): there is no text in it to train on, so it was not added.');
    const flag = alerts().filter({ hasText: '"noise.txt" does not look like text' });
    expect(await flag.textContent()).toMatch(/it holds \d+% bytes that are not UTF-8/);
    const fileList = page.locator('.file-list');
    expect(await fileList.textContent()).toMatch(/^story\.txt.*noise\.txt/);
    await flag.getByRole('button', { name: 'Remove noise.txt' }).click();
    await expect.poll(() => fileList.textContent()).not.toContain('noise.txt');
    expect(await alerts().filter({ hasText: 'noise.txt' }).count()).toBe(0);

    // Picked again, kept: the flag goes and the file stays.
    await input.setInputFiles([{ name: 'noise.txt', mimeType: 'text/plain', buffer: noise(50_000) }]);
    await page.getByRole('button', { name: 'Use noise.txt anyway' }).click();
    await expect.poll(() => alerts().filter({ hasText: 'does not look like text' }).count()).toBe(0);
    expect(await fileList.textContent()).toContain('noise.txt');
  });

  it('names config.json in an alert for a wrong n_embd, and a zip that is not one the same way', async () => {
    await page.getByRole('tab', { name: 'Train' }).click();
    const status = page.getByRole('status', { name: 'Training status' });
    const importInput = page.getByLabel('Import a Hugging Face model or run');
    await importInput.setInputFiles(hfFiles({ ...hfConfigJson(config), n_embd: 32 }));
    await expect
      .poll(alertText, { timeout: 150_000 })
      .toContain(
        'config.json: n_embd is 32 but model.safetensors was saved with n_embd 64 (transformer.wte.weight is [300, 64])',
      );
    await page.getByRole('alert').filter({ hasText: 'n_embd is 32' }).getByRole('button', { name: 'Dismiss' }).click();

    await importInput.setInputFiles([
      { name: 'notazip.zip', mimeType: 'application/zip', buffer: Buffer.from('not a zip at all') },
    ]);
    await expect.poll(alertText).toMatch(/notazip\.zip is not a readable zip/);
    expect(await status.textContent()).not.toMatch(/Finished: press Train/);
    await page.getByRole('alert').filter({ hasText: 'notazip.zip' }).getByRole('button', { name: 'Dismiss' }).click();
  });

  it('imports a model once, recognises it the second time, and shows its sample as token chips with ids', async () => {
    const importInput = page.getByLabel('Import a Hugging Face model or run');
    const runs = page.getByRole('list', { name: 'Runs' });
    await importInput.setInputFiles(hfFiles());
    await expect.poll(() => runs.textContent(), { timeout: 150_000 }).toMatch(/2L 64w imported from 3 files/);
    await importInput.setInputFiles(hfFiles());
    await expect
      .poll(alertText, { timeout: 150_000 })
      .toContain('3 files is already imported as "2L 64w imported from 3 files": that run is shown instead of a copy');
    expect(await runs.getByRole('listitem').filter({ hasText: 'imported from' }).count()).toBe(1);

    await page.getByLabel('Max tokens', { exact: true }).fill('4');
    await page.getByLabel('Temperature', { exact: true }).fill('0');
    await page.getByLabel(/Show tokens/).check();
    await page.getByRole('button', { name: 'Generate' }).click();
    const chips = page.getByRole('list', { name: 'Sample output as tokens' });
    await chips.waitFor({ timeout: 90_000 });
    const items = chips.getByRole('listitem');
    const prompt = tokenizer.encode('life is about');
    expect(await items.count()).toBe(prompt.length + 4);
    const first = items.first();
    expect(await first.getAttribute('title')).toBe(`id ${prompt[0]} (prompt)`);
    expect(await first.getAttribute('aria-label')).toBe(`${tokenizer.decode([prompt[0]!])}, id ${prompt[0]}, prompt`);
    // Each chip shows its own id's text (whitespace as ·, a piece of a character as <0xNN>).
    const ids = await items.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-id'))));
    const texts = await items.allTextContents();
    expect(ids.slice(0, prompt.length)).toEqual(prompt);
    expect(texts).toEqual(tokenPieces(tokenizer, ids).map((p) => visibleToken(p.text)));
    expect(texts.slice(0, prompt.length).join('')).toBe('life·is·about');
  });
});
