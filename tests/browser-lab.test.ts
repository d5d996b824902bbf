/**
 * The lab as a person meets it, in headless Chromium on SwiftShader against the built app: open the
 * page, train a small tokenizer in Data, press Train (bundled corpus and model made on the spot; the
 * time on this device shown first), watch the loss fall, pause (said at once), generate text, reload,
 * resume from the checkpoint, stop (said at once) and resume the stopped run; and the page a browser
 * without WebGPU gets.
 */
import { describe, expect, it, vi } from 'vitest';
import { readFile } from 'node:fs/promises';
import { unzipSync } from 'fflate';
import type { Page } from 'playwright-core';
import { parseSafetensors } from '../src/model/safetensors';
import { useBuiltApp } from './helpers/built-app';
import { recordStatus, trainTokenizerInData } from './helpers/lab-page';

// SwiftShader on two shared cores: the run trains dozens of steps, several minutes when the suite runs beside it.
vi.setConfig({ testTimeout: 360_000 });

const app = useBuiltApp();

/** The step and loss the status line shows, or null before the first step. */
async function statusStep(page: Page): Promise<{ step: number; loss: number; text: string } | null> {
  const text = (await page.getByRole('status', { name: 'Training status' }).textContent()) ?? '';
  const match = /step (\d+) of \d+ · loss ([\d.]+)/.exec(text);
  return match ? { step: Number(match[1]), loss: Number(match[2]), text } : null;
}

/** Polls the status line until `done` holds; returns every distinct step seen on the way. */
async function watchSteps(page: Page, done: (step: number, text: string) => boolean, timeoutMs = 240_000) {
  const seen = new Map<number, number>();
  const started = Date.now();
  for (;;) {
    const status = await statusStep(page);
    if (status) seen.set(status.step, status.loss);
    const text = (await page.getByRole('status', { name: 'Training status' }).textContent()) ?? '';
    if (done(status?.step ?? 0, text)) return seen;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out; status: ${text}`);
    const alert = page.getByRole('alert');
    if ((await alert.count()) > 0 && !(await alert.first().textContent())?.includes('WebGPU is available')) {
      throw new Error(`the lab shows an error: ${await alert.first().textContent()}`);
    }
    await page.waitForTimeout(200);
  }
}

async function setField(page: Page, label: string, value: string) {
  await page.getByLabel(label, { exact: true }).fill(value);
}

describe('the lab in headless Chromium (built app, WebGPU on SwiftShader)', () => {
  it('trains from one press of Train, samples, and resumes after a reload', async () => {
    const context = await app().browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(app().base);
    const status = page.getByRole('status', { name: 'Training status' });
    await expect.poll(() => status.textContent(), { timeout: 150_000 }).toMatch(/press Train to start/);

    // A model small enough for a CPU GPU: a 512-token tokenizer (made in Data: the vocabulary is the
    // tokenizer's), every other setting the lab's default.
    await trainTokenizerInData(page, 512);
    for (const [label, value] of [
      ['Width', '32'],
      ['Block size', '32'],
      ['Steps', '40'],
      ['Warmup steps', '2'],
      ['Peak learning rate', '0.01'],
      ['Validate every', '6'],
      ['Checkpoint every', '6'],
    ]) {
      await setField(page, label!, value!);
    }
    expect(await page.getByRole('list', { name: 'Problems with these settings' }).count()).toBe(0);
    expect(await page.getByLabel('Time on this device').textContent()).toMatch(
      /^About .+ on this device \(software adapter\), rough: from the device check's matmul speed/,
    );
    let statusLog = await recordStatus(page);
    await page.getByRole('button', { name: 'Train', exact: true }).click();

    // A second tab of the lab cannot train at the same time (Web Locks): it says why.
    const other = await context.newPage();
    await other.goto(app().base);
    const otherStatus = other.getByRole('status', { name: 'Training status' });
    await expect.poll(() => otherStatus.textContent(), { timeout: 150_000 }).toMatch(/press Train to start/);
    await other.getByRole('button', { name: 'Train', exact: true }).click();
    await expect
      .poll(async () => (await other.getByRole('alert').allTextContents()).join(' '), { timeout: 150_000 })
      .toMatch(/Another tab of the lab is training/);
    await other.close();

    const seen = await watchSteps(page, (step) => step >= 14);
    const first = seen.get(Math.min(...seen.keys()))!;
    expect(first).toBeGreaterThan(5.5); // about ln 512 = 6.24 at the start
    const latest = seen.get(Math.max(...seen.keys()))!;
    expect(latest).toBeLessThan(first - 0.3);

    // The first step's wait was shown with its time ("… 3 s"), as every long step's is.
    expect(await statusLog()).toContainEqual(
      expect.stringMatching(/^Compiling the kernels and running the first step… \d+ s/),
    );
    await page.getByRole('button', { name: 'Pause' }).click();
    await watchSteps(page, (_, text) => text.startsWith('Paused'));
    // Said the moment Pause was pressed, before the run reached its step boundary.
    const pausing = (await statusLog()).filter((t) => t.startsWith('Pausing after this step…'));
    expect(pausing.length).toBeGreaterThan(0);
    const paused = (await statusStep(page))!;
    await expect.poll(() => status.textContent()).toContain(`checkpoint at step ${paused.step}`);

    await page.getByRole('button', { name: 'Generate' }).click();
    const output = page.getByRole('status', { name: 'Sample output' });
    await expect
      .poll(async () => ((await output.textContent()) ?? '').length, { timeout: 150_000 })
      .toBeGreaterThan('life is about'.length + 5);
    await expect
      .poll(() => page.getByRole('button', { name: 'Generate' }).isEnabled(), { timeout: 150_000 })
      .toBe(true);
    // The continuation may open with a newline; any character after the prompt counts.
    expect(await output.textContent()).toMatch(/^life is about[\s\S]{5,}/);

    // Download the run as a Hugging Face folder (a zip of model.safetensors, config.json, tokenizer.json).
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page
        .getByRole('button', { name: /^Download / })
        .first()
        .click(),
    ]);
    const zip = unzipSync(new Uint8Array(await readFile(await download.path())));
    const names = Object.keys(zip).sort();
    expect(names).toHaveLength(3);
    const folder = names[0]!.split('/')[0]!;
    expect(names).toEqual([`${folder}/config.json`, `${folder}/model.safetensors`, `${folder}/tokenizer.json`]);
    const config = JSON.parse(new TextDecoder().decode(zip[`${folder}/config.json`]));
    expect(config).toMatchObject({
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      n_embd: 32,
      n_positions: 32,
      n_layer: 2,
    });
    const weights = parseSafetensors(zip[`${folder}/model.safetensors`]!);
    expect(weights.metadata).toEqual({ format: 'pt' });
    expect(weights.tensors.get('transformer.wte.weight')!.shape).toEqual([config.vocab_size, 32]);
    expect(JSON.parse(new TextDecoder().decode(zip[`${folder}/tokenizer.json`])).model.vocab).toBeDefined();
    // ... and the same zip imports back as a run of its own.
    await page.getByLabel('Import a Hugging Face model').setInputFiles(await download.path());
    const runs = page.getByRole('list', { name: 'Runs' });
    await expect.poll(() => runs.textContent(), { timeout: 150_000 }).toMatch(/imported from /);

    await page.reload();
    const offer = page.getByRole('region', { name: 'Unfinished run' });
    await expect
      .poll(async () => (await offer.count()) > 0 && (await offer.textContent()), { timeout: 150_000 })
      .toContain(`stopped at step ${paused.step} of 40`);
    await offer.getByRole('button', { name: 'Resume' }).click();
    const resumed = await watchSteps(page, (step) => step >= paused.step + 2);
    // The curve continues from the checkpoint: no step before it is shown (or trained) again.
    expect(Math.min(...resumed.keys())).toBeGreaterThanOrEqual(paused.step);
    expect(Math.max(...resumed.keys())).toBeGreaterThanOrEqual(paused.step + 2);
    statusLog = await recordStatus(page);
    await page.getByRole('button', { name: 'Stop' }).click();
    await watchSteps(page, (_, text) => text.startsWith('Stopped'));
    expect((await statusLog()).some((t) => t.startsWith('Stopping after this step…'))).toBe(true);
    // Stopped, not finished: short of its 40 steps, it resumes from the runs list or the Resume button.
    const stopped = (await statusStep(page))!;
    expect(stopped.step).toBeLessThan(40);
    expect(stopped.text).toMatch(/Resume continues it/);
    await expect.poll(() => runs.textContent()).toMatch(/stopped/);
    await expect.poll(() => page.getByRole('button', { name: 'Resume', exact: true }).isEnabled()).toBe(true);
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    const again = await watchSteps(page, (step) => step >= stopped.step + 1);
    expect(Math.min(...again.keys())).toBeGreaterThanOrEqual(stopped.step);
    await page.getByRole('button', { name: 'Stop' }).click();
    await watchSteps(page, (_, text) => text.startsWith('Stopped'));
    expect(errors).toEqual([]);
    await context.close();
  });

  it('explains what is missing when the browser has no WebGPU', async () => {
    const context = await app().browser.newContext();
    await context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
    });
    const page = await context.newPage();
    await page.goto(app().base);
    await page.getByText('Training needs WebGPU.').waitFor({ timeout: 30_000 });
    expect(await page.getByRole('alert').first().textContent()).toMatch(/WebGPU is not available here/);
    expect(await page.getByRole('alert').nth(1).textContent()).toMatch(
      /navigator\.gpu is missing\). Use a recent Chrome or Edge/,
    );
    expect(await page.getByRole('button', { name: 'Train', exact: true }).isDisabled()).toBe(true);
    expect(await page.getByRole('status', { name: 'Training status' }).textContent()).toMatch(/No GPU/);
    await context.close();
  });
});
