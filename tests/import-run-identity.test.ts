/**
 * An import is blamed on the file at fault and recognised when it comes twice; the exported
 * config.json names <|endoftext|> as bos and eos. No GPU: crafted files through the worker's own
 * import function and a RunStore on fake-indexeddb.
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { createStore } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { IdbShardStore } from '../src/data/idb-store';
import { endOfTextId, hfConfigJson } from '../src/model/hf';
import { parseSafetensors, tensorAsFloat32, writeSafetensors } from '../src/model/safetensors';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { parseTokenizerJson, toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import { importHfRun, importKey, importRunFiles } from '../src/train/import-run';
import { createLabHandler } from '../src/train/lab-worker';
import type { LabEvent } from '../src/train/protocol';
import { hfFolderFiles, runDirFiles } from '../src/train/run-dir';
import { RunStore } from '../src/train/run-store';
import { fixtureHfTensors, fixtureModel } from './helpers/fixture-model';

const { fixture, config } = fixtureModel();
const encoder = new TextEncoder();
const text = readFileSync('public/corpus/brown-fiction.txt', 'utf8').split('\n').slice(0, 300);
const tokenizerJson = toTokenizerJson(
  await trainBpe(text, { vocabSize: 290, minFrequency: 2, specialTokens: [END_OF_TEXT] }),
);

function weights(edit: (data: Map<string, Float32Array>) => void = () => undefined): Uint8Array {
  const tensors = fixtureHfTensors(fixture);
  edit(new Map(tensors.map((t) => [t.name, t.data])));
  return writeSafetensors(tensors, { format: 'pt' });
}

function folder(configJson: Record<string, unknown> = hfConfigJson(config), model = weights()) {
  return [
    { name: 'config.json', bytes: encoder.encode(JSON.stringify(configJson)) },
    { name: 'model.safetensors', bytes: model },
    { name: 'tokenizer.json', bytes: encoder.encode(tokenizerJson) },
  ];
}

let dbCount = 0;
function stores() {
  dbCount++;
  return {
    runStore: new RunStore(createStore(`identity-runs-${dbCount}`, 'kv')),
    shardStore: new IdbShardStore(createStore(`identity-data-${dbCount}`, 'kv')),
  };
}

describe('an import names the file at fault', () => {
  it('blames config.json, naming the field and both values, when its dimensions disagree with whole weights', () => {
    expect(config.nEmbd).toBe(64);
    const narrow = folder({ ...hfConfigJson(config), n_embd: 32 });
    expect(() => importHfRun(narrow)).toThrow(
      'config.json: n_embd is 32 but model.safetensors was saved with n_embd 64 (transformer.wte.weight is [300, 64])',
    );
    const deeper = folder({ ...hfConfigJson(config), n_layer: 3 });
    expect(() => importHfRun(deeper)).toThrow(
      /^config\.json: n_layer is 3 but model\.safetensors was saved with n_layer 2 \(it has blocks transformer\.h\.0 to transformer\.h\.1\)/,
    );
    const shorter = folder({ ...hfConfigJson(config), n_positions: 20, n_ctx: 20 });
    expect(() => importHfRun(shorter)).toThrow(
      /^config\.json: n_positions is 20 but model\.safetensors was saved with n_positions 40/,
    );
  });

  it('still blames model.safetensors for a tensor that is wrong on its own', () => {
    const tensors = [...parseSafetensors(weights()).tensors.values()]
      .filter((t) => t.name !== 'transformer.h.1.mlp.c_fc.bias')
      .map((t) => ({ name: t.name, dtype: 'F32' as const, shape: t.shape, data: tensorAsFloat32(t) }));
    expect(() => importHfRun(folder(undefined, writeSafetensors(tensors)))).toThrow(
      /^model\.safetensors: .*transformer\.h\.1\.mlp\.c_fc\.bias/,
    );
  });
});

describe('the same files imported twice', () => {
  it('makes one run; the second import names it; other weights make a second run', async () => {
    const { runStore, shardStore } = stores();
    const first = await importRunFiles(runStore, shardStore, folder(), 'run-a.zip');
    expect(first.name).toBe('2L 64w imported from run-a.zip');
    expect(first.importKey).toBe(importKey(folder(), importHfRun(folder())));
    const shown: string[] = [];
    await expect(
      importRunFiles(runStore, shardStore, folder(), 'run-a (1).zip', (run) => shown.push(run.id)),
    ).rejects.toThrow(
      'run-a (1).zip is already imported as "2L 64w imported from run-a.zip": that run is shown instead of a copy (delete it in Runs in this browser to import it again)',
    );
    expect(shown).toEqual([first.id]);
    expect((await runStore.list()).length).toBe(1);

    // One weight one ulp away is another model.
    const other = weights(
      (data) =>
        (data.get('transformer.ln_f.bias')![0] = Math.fround(data.get('transformer.ln_f.bias')![0]! * (1 + 2 ** -20))),
    );
    const second = await importRunFiles(runStore, shardStore, folder(undefined, other), 'run-b.zip');
    expect(second.importKey).not.toBe(first.importKey);
    expect((await runStore.list()).length).toBe(2);
  });

  it('through the lab worker: the second import answers the existing run (the page opens it), then the error', async () => {
    const events: LabEvent[] = [];
    const { runStore, shardStore } = stores();
    const handle = createLabHandler((event) => events.push(event), {
      createContext: () => Promise.reject(new Error('no GPU needed')),
      shardStore,
      runStore,
    });
    await handle({ type: 'import-run', files: folder(), source: 'a.zip', requestId: 1 });
    const first = events.find((e) => e.type === 'run')!;
    events.length = 0;
    await handle({ type: 'import-run', files: folder(), source: 'b.zip', requestId: 2 });
    expect(events.map((e) => [e.type, 'requestId' in e ? e.requestId : undefined])).toEqual([
      ['run', 2],
      ['error', 2],
    ]);
    expect(events[0]).toMatchObject({
      run: { id: first.type === 'run' ? first.run.id : '', name: '2L 64w imported from a.zip' },
    });
    expect(events[1]).toMatchObject({
      kind: 'config',
      message: expect.stringMatching(/^b\.zip is already imported as "2L 64w imported from a\.zip"/),
    });
    expect((await runStore.list()).length).toBe(1);
  });

  it("recognises the lab's own download of an imported run (same weights and tokenizer, new config.json)", async () => {
    const { runStore, shardStore } = stores();
    const first = await importRunFiles(runStore, shardStore, folder(), '3 files');
    const downloaded = await runStore.exportHf(first.id);
    expect(new TextDecoder().decode(downloaded.find((f) => f.name === 'config.json')!.bytes)).not.toBe(
      JSON.stringify(hfConfigJson(config)),
    );
    await expect(importRunFiles(runStore, shardStore, downloaded, 'gpt-garden.zip')).rejects.toThrow(
      /already imported as "2L 64w imported from 3 files"/,
    );
  });
});

describe('a run directory (full state)', () => {
  it('is blamed on config.json for a wrong n_embd, and recognised when imported twice', async () => {
    const { runStore, shardStore } = stores();
    const hf = await importRunFiles(runStore, shardStore, folder(), 'hf.zip');
    const record = (await runStore.get(hf.id))!;
    const dir = runDirFiles(
      { ...record, summary: { ...record.summary, imported: undefined, importKey: undefined } },
      (await runStore.latestCheckpoint(hf.id))!,
    );
    // config.json and run.json both say 32 wide (as if edited together); the weights are 64 wide.
    const narrow = { ...config, nEmbd: 32 };
    const edited = dir.map((f) => {
      if (f.name === 'config.json') return { ...f, bytes: encoder.encode(JSON.stringify(hfConfigJson(narrow))) };
      if (f.name !== 'run.json') return f;
      const run = JSON.parse(new TextDecoder().decode(f.bytes)) as { summary: { settings: { model: unknown } } };
      run.summary.settings.model = narrow;
      return { ...f, bytes: encoder.encode(JSON.stringify(run)) };
    });
    await expect(importRunFiles(runStore, shardStore, edited, 'edited.zip')).rejects.toThrow(
      /^config\.json: n_embd is 32 but model\.safetensors was saved with n_embd 64 \(transformer\.wte\.weight is \[300, 64\]\)/,
    );
    const first = await importRunFiles(runStore, shardStore, dir, 'full.zip');
    expect(first.importKey).toBe(importKey(dir));
    await expect(importRunFiles(runStore, shardStore, dir, 'full (1).zip')).rejects.toThrow(
      /^full \(1\)\.zip is already imported as "2L 64w imported from hf\.zip"/,
    );
    expect((await runStore.list()).length).toBe(2);
  });
});

describe('the exported config.json', () => {
  it('carries <|endoftext|> as bos_token_id and eos_token_id, the same in every export path', () => {
    const id = new Tokenizer(parseTokenizerJson(tokenizerJson)).endOfText;
    expect(id).toBe(0);
    expect(endOfTextId(tokenizerJson)).toBe(id);
    const run = importHfRun(folder());
    const files = hfFolderFiles(config, run.checkpoint.params, tokenizerJson);
    const written = JSON.parse(new TextDecoder().decode(files.find((f) => f.name === 'config.json')!.bytes)) as Record<
      string,
      unknown
    >;
    expect(written.bos_token_id).toBe(0);
    expect(written.eos_token_id).toBe(0);
  });

  it('says null only when the tokenizer has no <|endoftext|> (or its id is outside the model)', () => {
    const plain = toTokenizerJson({
      vocab: new Map([...Array(260).keys()].map((i) => [`t${i}`, i])),
      merges: [],
      specialTokens: [],
    });
    expect(endOfTextId(plain)).toBeUndefined();
    const files = hfFolderFiles(config, importHfRun(folder()).checkpoint.params, plain);
    const written = JSON.parse(new TextDecoder().decode(files.find((f) => f.name === 'config.json')!.bytes)) as Record<
      string,
      unknown
    >;
    expect(written.eos_token_id).toBeNull();
    expect(written.bos_token_id).toBeNull();
    // An id in model.vocab only (no added_tokens entry) counts too.
    const inVocab = JSON.stringify({ model: { vocab: { a: 0, [END_OF_TEXT]: 7 } } });
    expect(endOfTextId(inVocab)).toBe(7);
    expect(hfConfigJson(config, 7).eos_token_id).toBe(7);
    expect(hfConfigJson(config, config.vocabSize).eos_token_id).toBeNull();
    expect(endOfTextId('not json')).toBeUndefined();
  });
});
