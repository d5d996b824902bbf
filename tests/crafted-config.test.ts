/**
 * A crafted config (config.json, or a fixture's __metadata__ config) is bounded before anything is
 * sized from it: huge, zero, negative, fractional or string dimensions give one message naming the
 * file and the field, never "Invalid typed array length" or an out-of-memory crash. The files start
 * from a tiny valid model; only the config is edited. A seeded fuzz covers the rest of the space.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../src/data/fingerprint';
import { DataError } from '../src/data/types';
import { fixtureConfig } from '../src/train/fixture-check';
import { checkWeightsFit, configFromHfJson, formatBytes, paramCount } from '../src/model/hf';
import { parseSafetensors } from '../src/model/safetensors';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import { importHfRun } from '../src/train/import-run';
import { paramArenaLength, readRunDir, runDirFiles, type RunDirFile } from '../src/train/run-dir';
import type { CheckpointData, RunRecord } from '../src/train/run-store';
import { buildCli, removeCli } from './helpers/cli';
import { testSettings } from './helpers/settings';

const text = readFileSync('public/corpus/brown-fiction.txt', 'utf8').split('\n').slice(0, 200);
const tokenizerJson = toTokenizerJson(
  await trainBpe(text, { vocabSize: 280, minFrequency: 2, specialTokens: [END_OF_TEXT] }),
);
const model = { vocabSize: 280, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 };

function arena(seed: number): Uint8Array {
  const out = new Float32Array(paramArenaLength(model));
  for (let i = 0; i < out.length; i++) out[i] = Math.sin(seed * 1000 + i) * 0.02;
  return new Uint8Array(out.buffer);
}

const checkpoint: CheckpointData = {
  step: 2,
  adamStep: 2,
  samplerState: 7,
  tokens: 32,
  elapsedSeconds: 1,
  params: arena(1),
  adamM: arena(2),
  adamV: arena(3),
};
const record: RunRecord = {
  summary: {
    id: 'run-c',
    name: 'crafted',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    settings: testSettings(model, { datasetId: 'brown' }),
    status: 'paused',
    checkpointStep: 2,
    tokens: 32,
    tokenizer: { vocabSize: 280, fingerprint: fingerprint(tokenizerJson) },
  },
  tokenizerJson,
  steps: [],
  evals: [],
};
const runDir = runDirFiles(record, checkpoint);
const hfFolder = runDir.filter((f) => ['config.json', 'model.safetensors', 'tokenizer.json'].includes(f.name));
const modelBytes = runDir.find((f) => f.name === 'model.safetensors')!.bytes.byteLength;
const baseConfig = JSON.parse(new TextDecoder().decode(runDir.find((f) => f.name === 'config.json')!.bytes)) as Record<
  string,
  unknown
>;

function withConfig(files: RunDirFile[], patch: Record<string, unknown>): RunDirFile[] {
  const json = { ...baseConfig, ...patch };
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete json[k];
  return files.map((f) =>
    f.name === 'config.json' ? { name: f.name, bytes: new TextEncoder().encode(JSON.stringify(json)) } : f,
  );
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a refusal, got a result');
}

/** gpt-tiny.safetensors with its __metadata__ config patched (the header rewritten, the data kept). */
const fixtureBytes = new Uint8Array(readFileSync('tests/fixtures/gpt-tiny.safetensors'));
function craftedFixture(patch: Record<string, unknown>): Uint8Array {
  const headerLength = Number(new DataView(fixtureBytes.buffer, fixtureBytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(fixtureBytes.subarray(8, 8 + headerLength))) as {
    __metadata__: Record<string, string>;
  };
  header.__metadata__.config = JSON.stringify({ ...(JSON.parse(header.__metadata__.config!) as object), ...patch });
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - ((8 + text.length) % 8)) % 8);
  const encoded = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + encoded.length + fixtureBytes.length - 8 - headerLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(encoded.length), true);
  out.set(encoded, 8);
  out.set(fixtureBytes.subarray(8 + headerLength), 8 + encoded.length);
  return out;
}
const fixtureCheck = (bytes: Uint8Array) => fixtureConfig(parseSafetensors(bytes), bytes.byteLength);

// Each crafted value, the field it is in, and what the message must say about it.
const CASES: [string, Record<string, unknown>, RegExp][] = [
  ['n_layer 1e8', { n_layer: 100000000 }, /n_layer (is )?100000000/],
  [
    'n_layer 1000 (under the cap, past the file)',
    { n_layer: 1000 },
    /n_layer 1000 needs 3\.\d MB of weights but model\.safetensors holds \d+ KB/,
  ],
  ['n_embd 1e6', { n_embd: 1000000 }, /n_embd (is )?1000000/],
  [
    'n_embd 4096 (under the cap, past the file)',
    { n_embd: 4096, n_head: 2 },
    /n_embd 4096 needs .* but model\.safetensors holds/,
  ],
  ['vocab_size 1e9', { vocab_size: 1000000000 }, /vocab_size (is )?1000000000/],
  [
    'vocab_size 1e6 (under the cap, past the file)',
    { vocab_size: 1000000 },
    /vocab_size 1000000 needs 32 MB of weights/,
  ],
  ['n_positions 1e6', { n_positions: 1000000, n_ctx: 1000000 }, /n_positions 1000000 needs/],
  ['n_head 0', { n_head: 0 }, /n_head is 0, expected a positive integer/],
  ['n_embd not divisible by n_head', { n_head: 3 }, /n_embd 8 is not divisible by n_head 3/],
  ['negative n_layer', { n_layer: -2 }, /n_layer is -2, expected a positive integer/],
  ['float n_embd', { n_embd: 8.5 }, /n_embd is 8\.5, expected a positive integer/],
  ['string vocab_size', { vocab_size: '280' }, /vocab_size is "280", expected a positive integer/],
  ['missing n_layer', { n_layer: undefined }, /missing n_layer/],
];

describe('crafted config.json', () => {
  it('the tiny model itself imports and reads back (the crafted cases differ from it only in config.json)', () => {
    expect(importHfRun(hfFolder).settings.model).toEqual(model);
    expect(readRunDir(runDir).record.summary.settings.model).toEqual(model);
  });

  for (const [label, patch, message] of CASES) {
    it(`${label}: one message naming config.json and the field, from importHfRun and readRunDir`, () => {
      for (const read of [
        () => importHfRun(withConfig(hfFolder, patch)),
        () => readRunDir(withConfig(runDir, patch)),
      ]) {
        const started = performance.now();
        const error = errorOf(read);
        expect(performance.now() - started).toBeLessThan(500);
        expect(error).toBeInstanceOf(DataError);
        expect(error.message).toMatch(/^config\.json: /);
        expect(error.message).toMatch(message);
        expect(error.message).not.toMatch(/\n|typed array|Invalid array/i);
      }
    });
  }

  it('the size message reads as the issue asks, in decimal units', () => {
    expect(formatBytes(1.2e12)).toBe('1.2 TB');
    expect(formatBytes(730_000)).toBe('730 KB');
    expect(formatBytes(999)).toBe('999 bytes');
    // Exactly the bytes needed at 2 per weight fit; one fewer does not.
    const cfg = { vocabSize: 280, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 };
    expect(() => checkWeightsFit(cfg, paramCount(cfg) * 2)).not.toThrow();
    expect(() => checkWeightsFit(cfg, paramCount(cfg) * 2 - 1)).toThrow(/needs .* but model\.safetensors holds/);
    expect(() => checkWeightsFit(cfg, 1e9, 'model.safetensors', 1000)).toThrow(
      /this device's largest buffer is 1\.0 KB/,
    );
  });
});

describe('crafted fixture config (check-fixture)', () => {
  it('the fixture as shipped passes the pre-check', () => {
    expect(fixtureCheck(fixtureBytes).nLayer).toBeGreaterThan(0);
  });

  for (const [label, patch, message] of [
    ['n_layer 1e8', { n_layer: 100000000 }, /^fixture config: n_layer is 100000000, more than the 4096/],
    ['n_layer 1000', { n_layer: 1000 }, /^fixture config: n_layer 1000 needs .* but the fixture holds 1\.3 MB/],
    ['vocab_size 1e9', { vocab_size: 1000000000 }, /^fixture config: vocab_size is 1000000000/],
    ['n_head 0', { n_head: 0 }, /^fixture config n_head is 0, expected a positive integer/],
    ['float n_embd', { n_embd: 32.5 }, /^fixture config n_embd is 32\.5/],
    ['string n_layer', { n_layer: 'many' }, /^fixture config has no numeric "n_layer"/],
    ['n_embd not divisible by n_head', { n_head: 5 }, /^fixture config: n_embd \d+ is not divisible by n_head 5/],
  ] as [string, Record<string, unknown>, RegExp][]) {
    it(`${label}: refused before any model is made`, () => {
      expect(() => fixtureCheck(craftedFixture(patch))).toThrow(message);
    });
  }
});

describe('check-fixture on a crafted file, as a user runs it', () => {
  afterAll(() => removeCli());

  it('the bundle refuses n_layer 1e8 and n_layer 1000 in one line, exit 2, no heap crash', async () => {
    const script = resolve(await buildCli());
    const dir = await mkdtemp(join(tmpdir(), 'crafted-'));
    try {
      for (const [n, message] of [
        [100000000, 'gpt-garden: fixture config: n_layer is 100000000, more than the 4096 this engine allows'],
        [1000, /^gpt-garden: fixture config: n_layer 1000 needs 51 MB of weights but the fixture holds 1\.3 MB$/],
      ] as [number, string | RegExp][]) {
        const file = join(dir, `n${n}.safetensors`);
        await writeFile(file, craftedFixture({ n_layer: n }));
        const r = spawnSync(process.execPath, [script, 'check-fixture', file], { encoding: 'utf8', timeout: 60_000 });
        expect(r.status, r.stderr).toBe(2);
        expect(r.stderr.trim()).toMatch(message);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

/** mulberry32: a small seeded generator, so a failing case can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('seeded fuzz of config.json', () => {
  it('400 random configs: a clear error naming a file, or a valid result; never another throw, never past the file', () => {
    const random = rng(12);
    const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;
    // Mostly the right value, so that some whole configs are valid and must import.
    const value = (good: number): unknown =>
      random() < 0.7
        ? good
        : pick<unknown>([
            0,
            -1,
            good * 2,
            good + 0.5,
            2 ** 53,
            1e8,
            1e12,
            1e300,
            Infinity,
            NaN,
            `${good}`,
            null,
            undefined,
            [good],
            { v: good },
            true,
            Math.floor(random() * 5000),
          ]);
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      const patch: Record<string, unknown> = {
        vocab_size: value(280),
        n_positions: value(8),
        n_layer: value(1),
        n_head: value(2),
        n_embd: value(8),
      };
      patch.n_ctx = random() < 0.8 ? patch.n_positions : value(8);
      const files = i % 2 === 0 ? withConfig(hfFolder, patch) : withConfig(runDir, patch);
      const started = performance.now();
      let result: ReturnType<typeof importHfRun> | ReturnType<typeof readRunDir> | undefined;
      let message = '';
      try {
        result = i % 2 === 0 ? importHfRun(files) : readRunDir(files);
      } catch (error) {
        expect(error, `case ${i}: ${JSON.stringify(patch)}`).toBeInstanceOf(DataError);
        message = (error as Error).message;
        expect(message, `case ${i}`).toMatch(
          /^(config\.json|model\.safetensors|tokenizer\.json|run\.json|training_state\.safetensors): \S/,
        );
        expect(message).not.toMatch(/typed array|heap|Maximum call stack/i);
        refused++;
      }
      expect(performance.now() - started, `case ${i}`).toBeLessThan(500);
      if (result) {
        // Valid only when the config is the model the weights are for.
        const got = 'settings' in result ? result.settings.model : result.record.summary.settings.model;
        expect(got).toEqual(model);
        expect(result.checkpoint.params.byteLength).toBe(paramArenaLength(model) * 4);
        accepted++;
      } else if (!message.startsWith('config.json: ')) {
        // Past config.json's checks, so anything sized from it fits in the file it came with.
        const cfg = configFromHfJson({ ...baseConfig, ...patch });
        expect(paramCount(cfg) * 2, `case ${i}`).toBeLessThanOrEqual(modelBytes);
      }
    }
    expect(accepted).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(200);
  });
});
