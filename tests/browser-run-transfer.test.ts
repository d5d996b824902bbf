/**
 * Runs move between the lab (its training worker in headless Chromium, WebGPU on SwiftShader, the
 * real IndexedDB) and the command line (Dawn in Node), both ways, and end with identical weights:
 * - the lab pauses a run near step 5 and downloads its full state; `train --resume` finishes it to
 *   the weights the lab reaches when it finishes the run itself;
 * - `train` is interrupted (SIGINT) part way; the lab imports the run directory, finds its own
 *   copy of the dataset (tokenized in the browser from the bundled corpus) and finishes it, again
 *   to those same weights.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { IngestResponse } from '../src/data/ingest-worker';
import type { DatasetManifest } from '../src/data/types';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import type { LabEvent, RunSettings } from '../src/train/protocol';
import { startBrowserEnv, type BrowserEnv } from './helpers/browser';
import { buildCli, removeCli, runCli } from './helpers/cli';
import { tinyModelFlags } from './helpers/tiny-run';

const CORPUS = 'public/corpus/brown-fiction.txt';
const LINES = (await readFile(CORPUS, 'utf8')).split('\n').filter(Boolean).slice(0, 400);
const tokenizerJson = toTokenizerJson(
  await trainBpe(LINES, { vocabSize: 300, minFrequency: 2, specialTokens: [END_OF_TEXT] }),
);

const SETTINGS: RunSettings = {
  model: { vocabSize: 300, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32 },
  batchSize: 2,
  accumSteps: 1,
  maxSteps: 16,
  lr: { maxLr: 3e-3, minLr: 3e-4, warmupSteps: 2 },
  weightDecay: 0.1,
  gradClip: 1,
  evalEvery: 8,
  evalBatches: 1,
  checkpointEvery: 100,
  seed: 5,
  datasetId: 'brown',
};
/** The same settings as `train` flags. */
const FLAGS = [
  ...tinyModelFlags(2),
  ...['--accum', '1', '--steps', '16'],
  ...['--lr', '3e-3', '--min-lr', '3e-4', '--warmup', '2', '--weight-decay', '0.1', '--grad-clip', '1'],
  ...['--eval-every', '8', '--eval-batches', '1', '--checkpoint-every', '100', '--seed', '5'],
];

let env: BrowserEnv;
let browser: Browser;
let page: Page;
let dir: string;
let data: string;

beforeAll(async () => {
  await buildCli();
  dir = await mkdtemp(join(tmpdir(), 'garden-transfer-'));
  data = join(dir, 'data');
  await writeFile(join(dir, 'tokenizer.json'), tokenizerJson);
  const prepared = await runCli([
    'prepare',
    '--source',
    'bundled',
    '--tokenizer',
    join(dir, 'tokenizer.json'),
    '--out',
    data,
  ]);
  expect(prepared.code, prepared.stderr).toBe(0);
  env = await startBrowserEnv();
  browser = env.browser;
  page = await browser.newPage();
  await page.goto(`${env.base}/tests/browser/lab.html`);
  await page.locator('#result[data-status="ready"]').waitFor({ timeout: 60_000 });
}, 300_000);

afterAll(async () => {
  await env?.close();
  await removeCli();
  if (dir) await rm(dir, { recursive: true, force: true });
});

type Files = { name: string; bytes: number[] }[];

/** Sends one lab message in the page; its events, with exported bytes as plain arrays. */
async function lab(
  request: unknown,
  expect: 'run-ended' | 'export' | 'run',
  pauseAtStep?: number,
): Promise<LabEvent[]> {
  return page.evaluate(
    async ([request, expect, pauseAtStep]) => {
      // Files go in as number arrays (evaluate's arguments are JSON) and become bytes here.
      const message = request as { files?: { name: string; bytes: number[] | Uint8Array }[] };
      if (message.files) message.files = message.files.map((f) => ({ name: f.name, bytes: Uint8Array.from(f.bytes) }));
      const events = await window.gardenLab.send(message as never, expect, { pauseAtStep: pauseAtStep });
      // Uint8Arrays do not survive evaluate's JSON: send numbers.
      return events.map((e) =>
        e.type === 'export' ? { ...e, files: e.files.map((f) => ({ name: f.name, bytes: Array.from(f.bytes) })) } : e,
      ) as never;
    },
    [request, expect, pauseAtStep] as const,
  );
}

function exported(events: LabEvent[]): Files {
  const event = events.find((e) => e.type === 'export');
  expect(event, JSON.stringify(events.filter((e) => e.type === 'error'))).toBeDefined();
  return (event as unknown as { files: Files }).files;
}

function lastRun(events: LabEvent[]) {
  const errors = events.filter((e) => e.type === 'error');
  expect(errors).toEqual([]);
  return events.filter((e): e is Extract<LabEvent, { type: 'run' }> => e.type === 'run').at(-1)!.run;
}

async function writeFolder(path: string, files: Files): Promise<void> {
  await mkdir(path, { recursive: true });
  for (const f of files) await writeFile(join(path, f.name), Uint8Array.from(f.bytes));
}

const weightsOf = (files: Files) =>
  Buffer.from(Uint8Array.from(files.find((f) => f.name === 'model.safetensors')!.bytes));

describe('runs between the lab and the command line', () => {
  let labFinal: Buffer;
  let labRunId: string;

  it('the browser tokenizes the bundled corpus into the same tokens as prepare', { timeout: 120_000 }, async () => {
    const answer = await page.evaluate(
      ([json]) =>
        window.gardenLab.ingest({
          type: 'ingest',
          id: 'brown',
          name: 'Brown fiction',
          spec: { kind: 'bundled', url: window.gardenLab.bundledUrl },
          tokenizerJson: json!,
        }),
      [tokenizerJson],
    );
    expect(answer.type, JSON.stringify(answer)).toBe('done');
    const browserManifest = (answer as Extract<IngestResponse, { type: 'done' }>).manifest;
    const cliManifest = JSON.parse(await readFile(join(data, 'manifest.json'), 'utf8')) as DatasetManifest;
    expect(browserManifest.tokens).toBe(cliManifest.tokens);
    expect(browserManifest.shards.map((s) => s.tokens)).toEqual(cliManifest.shards.map((s) => s.tokens));
    expect(browserManifest.tokenizer.fingerprint).toBe(cliManifest.tokenizer.fingerprint);
  });

  it(
    'lab -> CLI: paused in the lab near step 5, finished by train --resume, equals the lab finishing it',
    { timeout: 300_000 },
    async () => {
      const started = await lab({ type: 'start', settings: SETTINGS, tokenizerJson }, 'run-ended', 5);
      const paused = lastRun(started);
      // The pause lands between steps: at 5, or one later if the next step had already begun.
      expect(paused.status).toBe('paused');
      expect(paused.checkpointStep).toBeGreaterThanOrEqual(5);
      expect(paused.checkpointStep).toBeLessThan(16);
      labRunId = paused.id;
      const full = exported(await lab({ type: 'export-run', runId: paused.id, full: true }, 'export'));
      expect(full.map((f) => f.name).sort()).toEqual([
        'config.json',
        'model.safetensors',
        'run.json',
        'tokenizer.json',
        'training_state.safetensors',
      ]);

      expect(lastRun(await lab({ type: 'resume', runId: paused.id }, 'run-ended'))).toMatchObject({
        status: 'done',
        checkpointStep: 16,
      });
      labFinal = weightsOf(exported(await lab({ type: 'export-run', runId: paused.id }, 'export')));

      const fromLab = join(dir, 'from-lab');
      await writeFolder(fromLab, full);
      const resumed = await runCli(['train', '--resume', fromLab, '--data', data]);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(JSON.parse(resumed.stdout.trim().split('\n').at(-1)!)).toMatchObject({ step: 16 });
      expect((await readFile(join(fromLab, 'model.safetensors'))).equals(labFinal)).toBe(true);
    },
  );

  it(
    'CLI -> lab: train interrupted by SIGINT, imported and finished in the lab, equals the same weights',
    { timeout: 300_000 },
    async () => {
      expect(labRunId).toBeDefined();
      const out = join(dir, 'cli-run');
      const interrupted = await runCli(['train', '--data', data, '--out', out, ...FLAGS], { interruptAfterSteps: 3 });
      expect(interrupted.code, interrupted.stderr).toBe(0);
      const files: Files = [];
      for (const name of await readdir(out))
        if (!name.endsWith('.jsonl')) files.push({ name, bytes: Array.from(await readFile(join(out, name))) });
      const state = JSON.parse(interrupted.stdout.trim().split('\n').at(-1)!) as { step: number };
      expect(state.step).toBeGreaterThanOrEqual(3);
      expect(state.step).toBeLessThan(16);

      const imported = lastRun(await lab({ type: 'import-run', files, source: 'cli-run' }, 'run'));
      expect(imported).toMatchObject({ status: 'paused', checkpointStep: state.step });
      expect(imported.settings.datasetId).toBe('brown'); // the browser's own copy, found by content
      expect(lastRun(await lab({ type: 'resume', runId: imported.id }, 'run-ended'))).toMatchObject({
        status: 'done',
        checkpointStep: 16,
      });
      expect(
        weightsOf(exported(await lab({ type: 'export-run', runId: imported.id }, 'export'))).equals(labFinal),
      ).toBe(true);
    },
  );
});
