/**
 * Importing a Hugging Face GPT-2 folder as a run (no GPU): weights land in the checkpoint arena
 * exactly, transformers' extra tensors are ignored, every malformed file is named, and the lab's
 * own zip imports as it was downloaded.
 */
import { readFileSync } from 'node:fs';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { hfConfigJson } from '../src/model/hf';
import { tensorAsFloat32, writeSafetensors } from '../src/model/safetensors';
import { toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import { importHfRun } from '../src/train/import-run';
import { paramArenaLength, paramLayout } from '../src/train/run-store';
import { importSource, readModelFiles } from '../src/ui/lab/import-files';
import { fixtureHfTensors, fixtureModel } from './helpers/fixture-model';

const { fixture, config } = fixtureModel();
const params = [...fixture.tensors.values()].filter((t) => t.name.startsWith('param.'));
const encoder = new TextEncoder();
const text = readFileSync('public/corpus/brown-fiction.txt', 'utf8').split('\n').slice(0, 300);
const tokenizerJson = toTokenizerJson(
  await trainBpe(text, { vocabSize: 290, minFrequency: 2, specialTokens: [END_OF_TEXT] }),
);

/** model.safetensors as transformers writes GPT-2: HF names plus the tied lm_head and mask buffers. */
function hfSafetensors(
  edit: (tensors: { name: string; dtype: 'F32'; shape: number[]; data: Float32Array }[]) => void = () => undefined,
): Uint8Array {
  const tensors = fixtureHfTensors(fixture);
  const wte = tensors.find((t) => t.name === 'transformer.wte.weight')!;
  tensors.push({ name: 'lm_head.weight', dtype: 'F32', shape: wte.shape, data: wte.data });
  tensors.push({
    name: 'transformer.h.0.attn.bias',
    dtype: 'F32',
    shape: [1, 1, 4, 4],
    data: new Float32Array(16).fill(1),
  });
  edit(tensors);
  return writeSafetensors(tensors, { format: 'pt' });
}

function folder(
  overrides: Partial<Record<'config.json' | 'model.safetensors' | 'tokenizer.json', Uint8Array | null>> = {},
) {
  const files: Record<string, Uint8Array | null> = {
    'config.json': encoder.encode(JSON.stringify(hfConfigJson(config))),
    'model.safetensors': hfSafetensors(),
    'tokenizer.json': encoder.encode(tokenizerJson),
    ...overrides,
  };
  return Object.entries(files)
    .filter((e): e is [string, Uint8Array] => e[1] !== null)
    .map(([name, bytes]) => ({ name: `run-1/${name}`, bytes }));
}

describe('importing a Hugging Face folder as a run', () => {
  it('puts every PyTorch-made weight in its arena slot, exactly, with fresh optimizer state', () => {
    const run = importHfRun(folder());
    expect(run.settings.model).toEqual(config);
    expect(run.settings.datasetId).toBe('');
    expect(run.tokenizerJson).toBe(tokenizerJson);
    expect(run.tokenizer.vocabSize).toBeLessThanOrEqual(290);
    const arena = new Float32Array(run.checkpoint.params.buffer);
    expect(arena.length).toBe(paramArenaLength(config));
    const layout = paramLayout(config);
    expect(layout.length).toBe(params.length);
    for (const e of layout) {
      expect(arena.subarray(e.offset, e.offset + e.numel)).toEqual(
        tensorAsFloat32(fixture.tensors.get(`param.${e.name}`)!),
      );
    }
    expect(run.checkpoint).toMatchObject({ step: 0, adamStep: 0, tokens: 0 });
    expect(new Float32Array(run.checkpoint.adamM.buffer).every((v) => v === 0)).toBe(true);
    expect(run.checkpoint.adamV.byteLength).toBe(run.checkpoint.params.byteLength);
  });

  it('names what is wrong with each file', () => {
    const fails = (files: ReturnType<typeof folder>) => () => importHfRun(files);
    expect(fails(folder({ 'tokenizer.json': null }))).toThrow(/missing: tokenizer\.json/);
    expect(fails(folder({ 'config.json': encoder.encode('{"model_type": ') }))).toThrow(/^config\.json: /);
    expect(
      fails(folder({ 'config.json': encoder.encode(JSON.stringify({ ...hfConfigJson(config), n_embd: 63 })) })),
    ).toThrow(/^config\.json: .*63/);
    const whole = hfSafetensors();
    expect(fails(folder({ 'model.safetensors': whole.slice(0, whole.length - 100) }))).toThrow(/^model\.safetensors: /);
    const noWpe = hfSafetensors((tensors) =>
      tensors.splice(
        tensors.findIndex((t) => t.name === 'transformer.wpe.weight'),
        1,
      ),
    );
    expect(fails(folder({ 'model.safetensors': noWpe }))).toThrow(/^model\.safetensors: .*transformer\.wpe\.weight/);
    const nan = hfSafetensors((tensors) => (tensors[0]!.data[3] = NaN));
    expect(fails(folder({ 'model.safetensors': nan }))).toThrow(/NaN or infinite/);
    expect(
      fails(folder({ 'tokenizer.json': encoder.encode('{"model": {"type": "WordPiece", "vocab": {}}}') })),
    ).toThrow(/^tokenizer\.json: .*WordPiece/);
    const big = toTokenizerJson({
      vocab: new Map([...Array(400).keys()].map((i) => [`t${i}`, i])),
      merges: [],
      specialTokens: [],
    });
    expect(fails(folder({ 'tokenizer.json': encoder.encode(big) }))).toThrow(
      /tokenizer\.json has 400 tokens but config\.json's vocab_size is 300/,
    );
  });

  it("reads the lab's downloaded zip (a folder inside) and loose files alike", async () => {
    const entries = Object.fromEntries(folder().map((f) => [f.name, f.bytes]));
    const zip = zipSync(entries, { level: 0 });
    const asFile = (name: string, bytes: Uint8Array) => ({ name, arrayBuffer: async () => bytes.slice().buffer });
    const fromZip = await readModelFiles([asFile('run-1.zip', zip)]);
    expect(fromZip.map((f) => f.name).sort()).toEqual([
      'run-1/config.json',
      'run-1/model.safetensors',
      'run-1/tokenizer.json',
    ]);
    expect(importHfRun(fromZip).settings.model).toEqual(config);
    expect(importSource([{ name: 'run-1.zip' }])).toBe('run-1.zip');
    const loose = await readModelFiles(folder().map((f) => asFile(f.name.split('/')[1]!, f.bytes)));
    expect(importHfRun(loose).checkpoint.params).toEqual(importHfRun(fromZip).checkpoint.params);
    expect(importSource(loose)).toBe('3 files');
    await expect(readModelFiles([asFile('broken.zip', zip.slice(0, 50))])).rejects.toThrow(
      /broken\.zip is not a readable zip/,
    );
  });
});
