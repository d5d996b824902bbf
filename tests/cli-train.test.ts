/**
 * Headless training on SwiftShader, the bundled CLI in child processes where signals matter and the
 * commands in-process elsewhere (each new process compiles every kernel again): a tiny
 * model's loss falls and log.jsonl is well formed; Ctrl-C, then --resume, then kill -9, then
 * --resume again ends on the uninterrupted run's weights bit for bit; the run directory is a
 * Hugging Face folder the HF import reads, `sample` is the lab's greedy text, `export` gives the bare
 * folder; every refusal is one line, exit 2, with nothing written or overwritten.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportCommand } from '../src/cli/export';
import { prepareCommand } from '../src/cli/prepare';
import { sampleCommand } from '../src/cli/sample';
import { trainCommand } from '../src/cli/train';
import { GPTModel } from '../src/model/gpt';
import { Sampler } from '../src/model/sample';
import { parseSafetensors, writeSafetensors } from '../src/model/safetensors';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { parseTokenizerJson, toTokenizerJson } from '../src/tokenizer/tokenizer-json';
import { trainBpe } from '../src/tokenizer/trainer';
import { END_OF_TEXT } from '../src/tokenizer/types';
import { importHfRun } from '../src/train/import-run';
import { readRunDir } from '../src/train/run-dir';
import { sampleText, writeArena } from '../src/train/sampling';
import { buildCli, inProcess, removeCli, runCli } from './helpers/cli';
import { gpu } from './helpers/gpu';
import { tinyModelFlags } from './helpers/tiny-run';

const STEPS = 8;
const MODEL = [...tinyModelFlags(4), '--lr', '1e-2', '--seed', '5'];
const RUN = [
  ...MODEL,
  '--steps',
  String(STEPS),
  '--checkpoint-every',
  '3',
  '--eval-every',
  '4',
  '--eval-batches',
  '2',
  '--print-every',
  '1',
];
const FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'training_state.safetensors', 'run.json'];

let dir: string;
let data: string;
let otherData: string;
let full: string;

// A line per step on stderr, unless the arguments already say how often.
const train = (args: string[]) =>
  inProcess(
    (a) => trainCommand(a, { context: gpu }),
    args.includes('--print-every') ? args : ['--print-every', '1', ...args],
  );

async function digest(folder: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(folder)).sort())
    out[name] = createHash('sha256')
      .update(await readFile(join(folder, name)))
      .digest('hex');
  return out;
}

async function runFiles(folder: string) {
  return Promise.all(FILES.map(async (name) => ({ name, bytes: new Uint8Array(await readFile(join(folder, name))) })));
}

/** The optimizer state's tensors (its metadata holds the wall-clock time, which differs run to run). */
function stateTensors(bytes: Uint8Array): Record<string, Buffer> {
  return Object.fromEntries([...parseSafetensors(bytes).tensors].map(([name, t]) => [name, Buffer.from(t.data)]));
}

async function prepare(tokenizerJson: string, out: string): Promise<void> {
  await writeFile(join(dir, 'tok.json'), tokenizerJson);
  const result = await inProcess(prepareCommand, [
    '--source',
    join(dir, 'corpus.txt'),
    '--tokenizer',
    join(dir, 'tok.json'),
    '--out',
    out,
  ]);
  expect(result.code).toBe(0);
}

beforeAll(async () => {
  await buildCli();
  dir = await mkdtemp(join(tmpdir(), 'garden-train-'));
  const text = (await readFile('public/corpus/brown-fiction.txt', 'utf8')).slice(0, 60_000);
  await writeFile(join(dir, 'corpus.txt'), text);
  const lines = text.split('\n');
  data = join(dir, 'data');
  await prepare(
    toTokenizerJson(await trainBpe(lines, { vocabSize: 400, minFrequency: 2, specialTokens: [END_OF_TEXT] })),
    data,
  );
  otherData = join(dir, 'other-data');
  await prepare(
    toTokenizerJson(await trainBpe(lines, { vocabSize: 350, minFrequency: 2, specialTokens: [END_OF_TEXT] })),
    otherData,
  );
  full = join(dir, 'full');
  // The uninterrupted run every other test compares with, in this process: its compiled kernels
  // (SwiftShader takes tens of seconds) serve the in-process commands after it.
  const result = await train(['--data', data, '--out', full, ...RUN]);
  if (result.code !== 0) throw new Error(result.stderr);
}, 240_000);

afterAll(async () => {
  await removeCli();
});

describe('train CLI', () => {
  it('trains: the loss falls, log.jsonl has every step once and each validation, stdout ends in a JSON summary', async () => {
    const lines = (await readFile(join(full, 'log.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>);
    const steps = lines.filter((l) => 'loss' in l);
    expect(steps.map((l) => l.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    for (const l of steps) {
      expect(Object.keys(l).sort()).toEqual(['elapsed_s', 'loss', 'lr', 'step', 'tokens', 'tokens_per_s']);
      expect(l.tokens).toBe(l.step! * 4 * 16);
      expect(l.tokens_per_s).toBeGreaterThan(0);
    }
    const vals = lines.filter((l) => 'val_loss' in l);
    expect(vals.map((l) => l.step)).toEqual([4, 8]);
    // Each validation with its set's size and standard error, as run.json's points have them.
    const evals = readRunDir(await runFiles(full)).record.evals;
    expect(vals).toEqual(
      evals.map((p) => ({ step: p.step, val_loss: p.valLoss, val_loss_se: p.standardError, val_tokens: p.tokens })),
    );
    expect(vals.every((l) => l.val_loss_se! > 0 && l.val_tokens! > 0)).toBe(true);
    const first = steps[0]!.loss!;
    const last = steps.slice(-3).reduce((s, l) => s + l.loss!, 0) / 3;
    expect(last).toBeLessThan(first - 0.3);
    const run = readRunDir(await runFiles(full));
    expect(run.checkpoint.step).toBe(STEPS);
    expect(run.record.summary.status).toBe('done');
    expect(run.record.steps.map((p) => p.loss)).toEqual(steps.map((l) => l.loss));
    expect(run.dataset?.path).toBe(data);
    expect(await readFile(join(full, 'tokenizer.json'), 'utf8')).toBe(
      await readFile(join(data, 'tokenizer.json'), 'utf8'),
    );
    expect(await readdir(full)).toEqual(expect.not.arrayContaining(['.next', '.next-tmp']));
  });

  it('Ctrl-C checkpoints and exits 0; --resume, kill -9, --resume again end on the same weights bit for bit', async () => {
    const out = join(dir, 'interrupted');
    const first = await runCli(['train', '--data', data, '--out', out, ...RUN], { interruptAfterSteps: 1 });
    expect(first.stderr).toMatch(/stopping after this step/);
    expect(first.code).toBe(0);
    const paused = readRunDir(await runFiles(out));
    expect(paused.record.summary.status).toBe('paused');
    expect(paused.checkpoint.step).toBeGreaterThanOrEqual(1);
    expect(paused.checkpoint.step).toBeLessThan(STEPS - 3); // room for a kill past the next checkpoint
    expect(JSON.parse(first.stdout.trim().split('\n').at(-1)!)).toMatchObject({
      run: out,
      step: paused.checkpoint.step,
    });
    // Killed mid-run: the log has steps past the last checkpoint, which the next resume drops.
    const killed = await runCli(['train', '--resume', out], { killAfterSteps: paused.checkpoint.step + 3 });
    expect(killed.code).toBe(null);
    const resumed = await train(['--resume', out]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/from step \d+/);
    expect(JSON.parse(resumed.stdout.trim().split('\n').at(-1)!)).toMatchObject({ step: STEPS, tokens: STEPS * 64 });
    expect(await readFile(join(out, 'model.safetensors'))).toEqual(await readFile(join(full, 'model.safetensors')));
    expect(stateTensors(await readFile(join(out, 'training_state.safetensors')))).toEqual(
      stateTensors(await readFile(join(full, 'training_state.safetensors'))),
    );
    const log = (await readFile(join(out, 'log.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>);
    const fullLog = (await readFile(join(full, 'log.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>);
    expect(log.filter((l) => 'loss' in l).map((l) => [l.step, l.loss])).toEqual(
      fullLog.filter((l) => 'loss' in l).map((l) => [l.step, l.loss]),
    );
  }, 240_000);

  it('the run directory is a Hugging Face folder; sample and export read it', async () => {
    const files = await runFiles(full);
    const run = readRunDir(files);
    const imported = importHfRun(files.slice(0, 3));
    expect(Buffer.from(imported.checkpoint.params).equals(Buffer.from(run.checkpoint.params))).toBe(true);
    const exported = join(dir, 'exported');
    expect((await inProcess(exportCommand, ['--run', full, '--out', exported])).code).toBe(0);
    for (const name of FILES.slice(0, 3))
      expect(await readFile(join(exported, name))).toEqual(await readFile(join(full, name)));
    expect((await readdir(exported)).sort()).toEqual(FILES.slice(0, 3).sort());

    // --init starts from the folder's weights (one step at a negligible learning rate leaves them).
    const initRun = join(dir, 'from-init');
    const init = await train([
      '--init',
      exported,
      '--data',
      data,
      '--out',
      initRun,
      '--steps',
      '1',
      '--lr',
      '1e-9',
      '--eval-batches',
      '0',
    ]);
    expect(init.code, init.stderr).toBe(0);
    const started = readRunDir(await runFiles(initRun));
    expect(started.record.summary.settings.model).toEqual(run.record.summary.settings.model);
    expect(started.record.summary.imported).toBe('exported');
    const [a, b] = [new Float32Array(started.checkpoint.params.buffer), new Float32Array(run.checkpoint.params.buffer)];
    expect(Math.max(...a.map((x, i) => Math.abs(x - b[i]!)))).toBeLessThan(1e-7);
    expect(a.some((x, i) => x !== b[i])).toBe(true); // it did train a step
    expect(
      (await train(['--init', exported, '--data', data, '--out', join(dir, 'x'), '--layers', '2'])).stderr,
    ).toMatch(/--init takes the model's shape from its config\.json: drop --layers/);

    // A run directory without log.jsonl (as the lab downloads one), extended by a step: the log is
    // rebuilt from run.json's curve, then continues.
    const moved = join(dir, 'moved');
    await cp(full, moved, { recursive: true });
    await rm(join(moved, 'log.jsonl'));
    expect((await train(['--resume', moved, '--steps', String(STEPS + 1)])).code).toBe(0);
    const movedLog = (await readFile(join(moved, 'log.jsonl'), 'utf8')).trim().split('\n');
    const fullLog = (await readFile(join(full, 'log.jsonl'), 'utf8')).trim().split('\n');
    expect(movedLog.slice(0, fullLog.length)).toEqual(fullLog);
    expect(movedLog.slice(fullLog.length).map((l) => Object.keys(JSON.parse(l) as object).join())).toEqual([
      'step,loss,lr,tokens,tokens_per_s,elapsed_s',
      'step,val_loss,val_loss_se,val_tokens',
    ]);
    expect(readRunDir(await runFiles(moved)).checkpoint.step).toBe(STEPS + 1);

    const prompt = 'life is about';
    const sampled = await inProcess(
      (a) => sampleCommand(a, { context: gpu }),
      ['--run', full, '--prompt', prompt, '--tokens', '12', '--temperature', '0'],
    );
    expect(sampled.code).toBe(0);
    // The lab's sampling on the same weights, in this process.
    const model = new GPTModel(await gpu(), run.record.summary.settings.model);
    writeArena(model, 'param', run.checkpoint.params);
    const sampler = new Sampler(model);
    const lab = await sampleText(
      sampler,
      new Tokenizer(parseTokenizerJson(run.record.tokenizerJson)),
      { prompt, maxTokens: 12, temperature: 0 },
      () => undefined,
    );
    sampler.destroy();
    model.destroy();
    expect(lab.tokens).toBe(12);
    expect(sampled.stdout).toBe(`${prompt}${lab.text}\n`);
    // The bare folder samples the same.
    const fromHf = await inProcess(
      (a) => sampleCommand(a, { context: gpu }),
      ['--run', exported, '--prompt', prompt, '--tokens', '12', '--temperature', '0'],
    );
    expect(fromHf.stdout).toBe(sampled.stdout);
  }, 120_000);

  it('refuses with one line and exit 2, writing nothing: another tokenizer, a block longer than the data, an --out in use, bad flags', async () => {
    const before = await digest(full);
    const refusals: [string[], RegExp][] = [
      [
        ['--resume', full, '--data', otherData],
        /was tokenized with another tokenizer \(fingerprint \w+\) than the run's/,
      ],
      [['--data', data, '--out', full, ...MODEL], /holds another run: continue it with `train --resume/],
      [['--data', data, '--out', dir, ...MODEL], /is not empty/],
      [
        ['--data', data, '--out', join(dir, 'x'), '--layers', '0'],
        /--layers must be a whole number of at least 1, got "0"/,
      ],
      [['--data', data, '--out', join(dir, 'x'), '--lr', 'fast'], /--lr must be a number above 0/],
      [
        ['--data', data, '--out', join(dir, 'x'), '--steps', '-5'],
        /--steps must be a whole number of at least 1, got "-5"/,
      ],
      [
        ['--data', data, '--out', join(dir, 'x'), '--steps', '5', '--tokens', '1e6'],
        /give --steps or --tokens, not both/,
      ],
      [
        ['--data', data, '--out', join(dir, 'x'), '--width', '30', '--heads', '4'],
        /width 30 is not divisible by 4 heads/,
      ],
      [['--resume', full, '--layers', '2'], /--resume continues a run with its own settings: drop --layers/],
      [['--data', join(dir, 'nowhere'), '--out', join(dir, 'x')], /holds no manifest\.json/],
      [
        ['--data', data, '--out', join(dir, 'x'), ...MODEL.map((v, i) => (MODEL[i - 1] === '--block' ? '2048' : v))],
        /split of "data" has \d+ tokens .* one window needs 2049/,
      ],
    ];
    for (const [args, message] of refusals) {
      const result = await train(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.trim()).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(await readdir(dir)).not.toContain('x');
    expect(await digest(full)).toEqual(before);

    // sample and export: bad flags, a folder that is not a model, an --out in use.
    const sample = (args: string[]) => inProcess((a) => sampleCommand(a, { context: gpu }), args);
    for (const [result, message] of [
      [await sample(['--run', full, '--temperature', '-1']), /--temperature must be a number of at least 0/],
      [await sample(['--run', full, '--top-p', '2']), /--top-p must be a number above 0 and at most 1/],
      [await sample(['--run', full, '--tokens', 'many']), /--tokens must be a whole number/],
      [
        await sample(['--run', data, '--prompt', 'x']),
        /a Hugging Face model folder needs config\.json, model\.safetensors, tokenizer\.json/,
      ],
      [await sample(['--prompt', 'x']), /usage: sample --run/],
      [await inProcess(exportCommand, ['--run', full, '--out', data]), /is not empty: give a new or empty folder/],
      [
        await inProcess(exportCommand, ['--run', data, '--out', join(dir, 'x')]),
        /config\.json: missing from the run directory/,
      ],
    ] as const) {
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1);
    }
    expect(await readdir(dir)).not.toContain('x');

    // Data whose tokenizer.json is not the one its manifest names.
    const mixed = join(dir, 'mixed');
    await cp(data, mixed, { recursive: true });
    await cp(join(otherData, 'tokenizer.json'), join(mixed, 'tokenizer.json'));
    expect((await train(['--data', mixed, '--out', join(dir, 'x')])).stderr).toMatch(
      /tokenizer\.json \(fingerprint \w+\) is not the tokenizer its tokens were made with/,
    );
  }, 120_000);

  it('refuses to resume a malformed run directory, naming the file, and changes nothing in it', async () => {
    const damaged = async (name: string, edit: (folder: string) => Promise<void>) => {
      const folder = join(dir, `damaged-${name}`);
      await mkdir(folder);
      await cp(full, folder, { recursive: true });
      await edit(folder);
      const before = await digest(folder);
      const result = await train(['--resume', folder]);
      expect(await digest(folder)).toEqual(before);
      return result;
    };
    const cases: [string, (folder: string) => Promise<void>, RegExp][] = [
      [
        'missing',
        (f) => rm(join(f, 'training_state.safetensors')),
        /^train: training_state\.safetensors: missing from the run directory/,
      ],
      [
        'truncated',
        async (f) =>
          writeFile(join(f, 'model.safetensors'), (await readFile(join(f, 'model.safetensors'))).subarray(0, 5000)),
        /^train: model\.safetensors: file truncated/,
      ],
      [
        'shape',
        async (f) => {
          const file = parseSafetensors(new Uint8Array(await readFile(join(f, 'model.safetensors'))));
          const tensors = [...file.tensors.values()].map((t) => ({
            name: t.name,
            dtype: 'F32' as const,
            shape: t.name === 'transformer.wpe.weight' ? [8, 64] : t.shape,
            data: new Float32Array(t.data.byteLength / 4),
          }));
          await writeFile(join(f, 'model.safetensors'), writeSafetensors(tensors));
        },
        /^train: model\.safetensors: tensor transformer\.wpe\.weight has shape \[8,64\], expected \[16,32\]/,
      ],
      [
        'json',
        (f) => writeFile(join(f, 'run.json'), '{"format": "gpt-garden-run", "version": 1, "summ'),
        /^train: run\.json: not valid JSON/,
      ],
    ];
    for (const [name, edit, message] of cases) {
      const result = await damaged(name, edit);
      expect(result.code, name).toBe(2);
      expect(result.stderr.trim()).toMatch(message);
    }
  }, 60_000);
});
