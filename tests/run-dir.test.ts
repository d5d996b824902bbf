/**
 * The run directory format (no GPU): a checkpoint written as a run directory reads back bit for
 * bit, its HF part is what RunStore.exportHf writes, and every malformed file is named.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../src/data/fingerprint';
import { DataError } from '../src/data/types';
import { parseSafetensors, writeSafetensors } from '../src/model/safetensors';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import { importHfRun } from '../src/train/import-run';
import type { RunSettings } from '../src/train/protocol';
import {
  hfFolderFiles,
  isRunDir,
  paramArenaLength,
  paramLayout,
  readRunDir,
  runDirFiles,
  type RunDataset,
  type RunDirFile,
} from '../src/train/run-dir';
import type { CheckpointData, RunRecord } from '../src/train/run-store';
import { testSettings } from './helpers/settings';

const text = readFileSync('public/corpus/brown-fiction.txt', 'utf8').split('\n').slice(0, 200);
const tokenizerJson = toTokenizerJson(
  await trainBpe(text, { vocabSize: 280, minFrequency: 2, specialTokens: [END_OF_TEXT] }),
);
const model = { vocabSize: 280, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 };
const settings = testSettings(model, { seed: 3, datasetId: 'brown' });

/** An arena of random floats (odd bit patterns included), zero in the padding between tensors. */
function arena(seed: number): Uint8Array {
  const out = new Float32Array(paramArenaLength(model));
  let s = seed;
  for (const e of paramLayout(model)) {
    for (let i = 0; i < e.numel; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[e.offset + i] = (s / 2 ** 32 - 0.5) * 3e-3 * (i % 7 === 0 ? 1e-30 : 1);
    }
  }
  return new Uint8Array(out.buffer);
}

const checkpoint: CheckpointData = {
  step: 5,
  adamStep: 4,
  samplerState: 0xdeadbeef,
  tokens: 80,
  elapsedSeconds: 1.2345678901234567,
  params: arena(1),
  adamM: arena(2),
  adamV: arena(3),
};
const record: RunRecord = {
  summary: {
    id: 'run-1',
    name: 'tiny',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    settings,
    status: 'paused',
    checkpointStep: 5,
    tokens: 80,
    tokenizer: { vocabSize: 280, fingerprint: fingerprint(tokenizerJson) },
  },
  tokenizerJson,
  steps: [1, 2, 3, 4, 5].map((step) => ({
    step,
    loss: 6 - step / 10,
    lr: 1e-3,
    gradNorm: 1,
    tokens: 16 * step,
    elapsedSeconds: step / 4,
    tokensPerSecond: 64,
    tflops: 1e-9,
  })),
  evals: [{ step: 5, valLoss: 5.7 }],
};
const dataset: RunDataset = {
  id: 'brown',
  name: 'Brown fiction',
  source: { kind: 'bundled', url: 'corpus/brown-fiction.txt' },
  tokenizerFingerprint: fingerprint(tokenizerJson),
  tokens: 326808,
  valFraction: 0.05,
};

function files(): RunDirFile[] {
  return runDirFiles(record, checkpoint, dataset).map((f) => ({ name: `my-run/${f.name}`, bytes: f.bytes }));
}

function edited(name: string, edit: (bytes: Uint8Array) => Uint8Array | null): RunDirFile[] {
  return files().flatMap((f) => {
    if (!f.name.endsWith(`/${name}`)) return [f];
    const bytes = edit(f.bytes);
    return bytes ? [{ name: f.name, bytes }] : [];
  });
}

function expectRefusal(input: RunDirFile[], message: RegExp): void {
  let error: unknown;
  try {
    readRunDir(input);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(DataError);
  expect((error as DataError).kind).toBe('format');
  expect((error as DataError).message).toMatch(message);
}

const json = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe('run directory', () => {
  it('round-trips a checkpoint bit for bit, with its record and dataset', () => {
    const written = files();
    expect(written.map((f) => f.name.split('/')[1])).toEqual([
      'model.safetensors',
      'config.json',
      'tokenizer.json',
      'training_state.safetensors',
      'run.json',
    ]);
    expect(isRunDir(written)).toBe(true);
    expect(isRunDir(written.slice(0, 3))).toBe(false);
    const back = readRunDir(written);
    expect(back.checkpoint).toEqual(checkpoint);
    for (const role of ['params', 'adamM', 'adamV'] as const)
      expect(Buffer.from(back.checkpoint[role]).equals(Buffer.from(checkpoint[role]))).toBe(true);
    expect(Object.is(back.checkpoint.elapsedSeconds, checkpoint.elapsedSeconds)).toBe(true);
    expect(back.record).toEqual(record);
    expect(back.dataset).toEqual(dataset);
    const state = parseSafetensors(written[3]!.bytes);
    expect(state.metadata).toEqual({
      format: 'gpt-garden-state',
      step: '5',
      adam_step: '4',
      sampler_state: String(0xdeadbeef),
      tokens: '80',
      elapsed_seconds: '1.2345678901234567',
    });
    expect([...state.tensors.keys()].filter((k) => k.startsWith('adam_m.')).length).toBe(paramLayout(model).length);
  });

  it('keeps the micro-batch a run chose automatically: resume reads the same numbers, nothing re-chooses', () => {
    const chosen: RunRecord = {
      ...record,
      summary: { ...record.summary, settings: { ...settings, batchSize: 2, accumSteps: 3, autoMicroBatch: true } },
    };
    const back = readRunDir(runDirFiles(chosen, checkpoint, dataset));
    expect(back.record.summary.settings).toMatchObject({ batchSize: 2, accumSteps: 3, autoMicroBatch: true });
  });

  it('its Hugging Face part is the bare folder, which the HF import reads back to the same weights', () => {
    const hf = hfFolderFiles(model, checkpoint.params, tokenizerJson);
    expect(
      files()
        .slice(0, 3)
        .map((f) => f.bytes),
    ).toEqual(hf.map((f) => f.bytes));
    expect(parseSafetensors(hf[0]!.bytes).metadata).toEqual({ format: 'pt' });
    const imported = importHfRun(files());
    expect(Buffer.from(imported.checkpoint.params).equals(Buffer.from(checkpoint.params))).toBe(true);
    expect(imported.settings.model).toEqual(model);
  });

  it('names a missing file', () => {
    for (const name of [
      'run.json',
      'training_state.safetensors',
      'model.safetensors',
      'config.json',
      'tokenizer.json',
    ]) {
      expectRefusal(
        edited(name, () => null),
        new RegExp(`^${name.replace('.', '\\.')}: missing from the run directory`),
      );
    }
  });

  it('names a truncated or wrongly shaped safetensors file', () => {
    expectRefusal(
      edited('model.safetensors', (b) => b.slice(0, b.length - 100)),
      /^model\.safetensors: file truncated/,
    );
    expectRefusal(
      edited('training_state.safetensors', (b) => b.slice(0, 4)),
      /^training_state\.safetensors: file is 4 bytes/,
    );
    const reshaped = (prefix: string, meta: Record<string, string>) => () => {
      const tensors = paramLayout(model).map((e) => ({
        name: prefix + e.name,
        dtype: 'F32' as const,
        shape: e.name === 'transformer.wte.weight' ? [e.shape[1]!, e.shape[0]!] : e.shape,
        data: new Float32Array(e.numel),
      }));
      return writeSafetensors(tensors, meta);
    };
    expectRefusal(
      edited('model.safetensors', reshaped('', {})),
      /^model\.safetensors: tensor transformer\.wte\.weight has shape \[8,280\], expected \[280,8\]/,
    );
    const state = parseSafetensors(files()[3]!.bytes).metadata;
    expectRefusal(
      edited('training_state.safetensors', reshaped('adam_m.', state)),
      /^training_state\.safetensors: tensor adam_m\.transformer\.wte\.weight has shape \[8,280\], expected \[280,8\]/,
    );
    expectRefusal(
      edited('training_state.safetensors', reshaped('', state)),
      /^training_state\.safetensors: missing tensor adam_m\.transformer\.wte\.weight/,
    );
  });

  it('names an invalid run.json, a state from another step, a foreign tokenizer, a config from another model', () => {
    expectRefusal(
      edited('run.json', (b) => b.slice(0, 50)),
      /^run\.json: not valid JSON/,
    );
    expectRefusal(
      edited('run.json', (b) => encode({ ...json(b), format: 'x' })),
      /^run\.json: not a GPT Garden run/,
    );
    expectRefusal(
      edited('run.json', (b) => encode({ ...json(b), steps: [{ step: 1 }] })),
      /^run\.json: "steps" is not a list/,
    );
    expectRefusal(
      edited('run.json', (b) =>
        encode({ ...json(b), summary: { ...(json(b).summary as object), checkpointStep: 10 } }),
      ),
      /^run\.json: it is for step 10 but training_state\.safetensors is at step 5/,
    );
    expectRefusal(
      edited('run.json', (b) => {
        const run = json(b) as { summary: { settings: RunSettings } };
        run.summary.settings.batchSize = 0;
        return encode(run);
      }),
      /^run\.json: its settings cannot train: The batch size must be/,
    );
    expectRefusal(
      edited('tokenizer.json', (b) =>
        new TextEncoder().encode(new TextDecoder().decode(b).replace('"ByteLevel"', '"ByteLevel" ')),
      ),
      /^tokenizer\.json: not the tokenizer this run was trained with/,
    );
    expectRefusal(
      edited('tokenizer.json', () => encode({ model: {} })),
      /^tokenizer\.json: /,
    );
    expectRefusal(
      edited('config.json', (b) => encode({ ...json(b), n_layer: 2 })),
      /^config\.json: the model .* is not run\.json's/,
    );
    expectRefusal(
      edited('config.json', () => new TextEncoder().encode('{')),
      /^config\.json: /,
    );
  });

  it('names NaN weights or moments', () => {
    const nan = (b: Uint8Array) => {
      const copy = b.slice();
      const header = Number(new DataView(copy.buffer).getBigUint64(0, true));
      new DataView(copy.buffer).setFloat32(8 + header + 4, NaN, true);
      return copy;
    };
    expectRefusal(edited('model.safetensors', nan), /^model\.safetensors: some weights are NaN or infinite/);
    expectRefusal(
      edited('training_state.safetensors', nan),
      /^training_state\.safetensors: some AdamW first moments are NaN or infinite/,
    );
  });
});
