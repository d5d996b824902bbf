/**
 * Dynamic loss scaling on SwiftShader (f32 kernels, tiny model): a power-of-two scale without
 * overflow leaves every bit of the weights, Adam moments, losses and norms as the unscaled run's;
 * an overflowing backward is skipped on the GPU (weights untouched), halves the scale and is
 * counted; growth follows GradScaler's rule; mixed precision is refused without shader-f16.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainCommand } from '../src/cli/train';
import { buildSettings, parseTrainArgs } from '../src/cli/train-args';
import { readBytes } from '../src/autograd/params';
import type { GPTConfig } from '../src/model/config';
import { GPTModel } from '../src/model/gpt';
import {
  initialLossScale,
  lossScaleProblem,
  type LossScaleOptions,
  MIN_LOSS_SCALE,
  nextLossScale,
} from '../src/train/loss-scale';
import { TrainStep, type StepResult } from '../src/train/step';
import type { DatasetManifest, ShardStore, TokenArray } from '../src/data/types';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { trainBpe } from '../src/tokenizer/trainer';
import type { RunSettings, StepPoint } from '../src/train/protocol';
import type { CheckpointData } from '../src/train/run-store';
import { Trainer } from '../src/train/trainer';
import { randint, rng } from '../src/util/random';
import { inProcess } from './helpers/cli';
import { gpu } from './helpers/gpu';
import { testManifest } from './helpers/manifest';
import { preparedCorpus } from './helpers/prepare-env';
import { testSettings } from './helpers/settings';

const CONFIG: GPTConfig = { vocabSize: 300, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32 };
const B = 2;
const ACCUM = 2;
const LR = 3e-3;

function batches(seed: number) {
  const random = rng(seed);
  return Array.from({ length: ACCUM }, () => ({
    idx: randint(B * CONFIG.blockSize, CONFIG.vocabSize, random),
    targets: randint(B * CONFIG.blockSize, CONFIG.vocabSize, random),
  }));
}

async function makeStep(lossScale?: LossScaleOptions): Promise<TrainStep> {
  const model = new GPTModel(await gpu(), CONFIG);
  model.initialize(11);
  return new TrainStep(
    model,
    { batchSize: B, seqLen: CONFIG.blockSize, accumSteps: ACCUM },
    { lr: LR, gradClip: 1 },
    lossScale ? { lossScale } : {},
  );
}

/** The param, m and v arenas' bytes. */
async function arenas(step: TrainStep): Promise<Uint8Array[]> {
  const { store, ctx } = step.model;
  return Promise.all(
    (['param', 'adamM', 'adamV'] as const).map(
      async (r) => new Uint8Array(await readBytes(ctx.device, store.arena(r), 0, store.length * 4)),
    ),
  );
}

function destroy(step: TrainStep): void {
  step.destroy();
  step.optimizer.destroy();
  step.model.destroy();
}

/** Loss and norm as bits, so "equal" means every bit. */
const bits = (r: StepResult) => [r.loss, r.gradNorm].map((x) => new Float64Array([x])[0]);

describe('the loss scale rule (float64 reference of the GPU update)', () => {
  it('halves on overflow and counts it, doubles after N clean steps, stays within its bounds', () => {
    let s = initialLossScale({ initScale: 2 ** 16 });
    s = nextLossScale(s, false, 3);
    s = nextLossScale(s, false, 3);
    expect(s).toEqual({ scale: 2 ** 16, cleanSteps: 2, skippedSteps: 0 });
    s = nextLossScale(s, true, 3);
    expect(s).toEqual({ scale: 2 ** 15, cleanSteps: 0, skippedSteps: 1 });
    for (let k = 0; k < 3; k++) s = nextLossScale(s, false, 3);
    expect(s).toEqual({ scale: 2 ** 16, cleanSteps: 0, skippedSteps: 1 });
    expect(nextLossScale({ scale: MIN_LOSS_SCALE, cleanSteps: 0, skippedSteps: 0 }, true, 3).scale).toBe(
      MIN_LOSS_SCALE,
    );
    expect(initialLossScale(undefined)).toEqual({ scale: 1, cleanSteps: 0, skippedSteps: 0 });
    expect(lossScaleProblem({ scale: 3, cleanSteps: 0, skippedSteps: 0 })).toMatch(/not a power of two/);
    expect(lossScaleProblem({ scale: 2 ** 16, cleanSteps: -1, skippedSteps: 0 })).toMatch(/clean steps/);
    expect(lossScaleProblem({ scale: 2 ** 16, cleanSteps: 0, skippedSteps: 0 })).toBeUndefined();
  });
});

describe('dynamic loss scaling on the GPU (f32, tiny model)', () => {
  it('a power-of-two scale with growth gives the unscaled run bit for bit: weights, moments, losses, norms', async () => {
    const plain = await makeStep();
    const scaled = await makeStep({ initScale: 2 ** 10, growthInterval: 2 });
    try {
      const a: StepResult[] = [];
      const b: StepResult[] = [];
      for (let k = 0; k < 3; k++) {
        a.push(await plain.step(batches(k), LR));
        b.push(await scaled.step(batches(k), LR));
      }
      expect(b.map(bits)).toEqual(a.map(bits));
      expect(a.every((r) => Number.isFinite(r.gradNorm) && r.lossScale === undefined)).toBe(true);
      // Doubled after every 2 clean steps: the scale each step's gradients carried, then the state.
      expect(b.map((r) => r.lossScale)).toEqual([2 ** 10, 2 ** 10, 2 ** 11]);
      expect(scaled.lossScaleState).toEqual({ scale: 2 ** 11, cleanSteps: 1, skippedSteps: 0 });
      let reference = initialLossScale({ initScale: 2 ** 10 });
      for (let k = 0; k < 3; k++) reference = nextLossScale(reference, false, 2);
      expect(scaled.lossScaleState).toEqual(reference);
      expect(plain.lossScaleState).toEqual({ scale: 1, cleanSteps: 0, skippedSteps: 0 });
      const [pa, pb] = [await arenas(plain), await arenas(scaled)];
      pa.forEach((arena, i) => expect(Buffer.from(pb[i]!).equals(Buffer.from(arena)), `arena ${i}`).toBe(true));
      expect(scaled.stepCount).toBe(3);
    } finally {
      destroy(plain);
      destroy(scaled);
    }
  });

  it('an overflow skips the step on the GPU, halves the scale and counts it; the next step trains as if it never happened', async () => {
    const plain = await makeStep();
    const scaled = await makeStep({ initScale: 2 ** 16, growthInterval: 1000 });
    try {
      const before = await arenas(scaled);
      await scaled.forwardBackward(batches(0));
      // One gradient overflowed (as an f16 backward would): the whole step must go.
      const { numel } = scaled.model.store.entry('transformer.ln_f.bias');
      scaled.model.store.write('transformer.ln_f.bias', new Float32Array(numel).fill(Infinity), 'grad');
      expect(await scaled.optimizerStep(LR)).toBe(Infinity);
      const after = await arenas(scaled);
      before.forEach((arena, i) => expect(Buffer.from(after[i]!).equals(Buffer.from(arena)), `arena ${i}`).toBe(true));
      expect(scaled.lossScaleState).toEqual({ scale: 2 ** 15, cleanSteps: 0, skippedSteps: 1 });
      expect(scaled.lossScaleState).toEqual(nextLossScale(initialLossScale({ initScale: 2 ** 16 }), true, 1000));
      expect(scaled.stepCount).toBe(0); // Adam's step count did not advance
      // Training continues at the halved scale, bit for bit the unscaled run's first step.
      const [a, b] = [await plain.step(batches(0), LR), await scaled.step(batches(0), LR)];
      expect(bits(b)).toEqual(bits(a));
      expect(b.lossScale).toBe(2 ** 15);
      expect(scaled.lossScaleState).toEqual({ scale: 2 ** 15, cleanSteps: 1, skippedSteps: 1 });
      const [pa, pb] = [await arenas(plain), await arenas(scaled)];
      pa.forEach((arena, i) => expect(Buffer.from(pb[i]!).equals(Buffer.from(arena)), `arena ${i}`).toBe(true));
    } finally {
      destroy(plain);
      destroy(scaled);
    }
  });
});

/** One shard of random token ids in memory (the Trainer reads only getShard). */
function memoryStore(tokens: TokenArray): ShardStore {
  return {
    getShard: async () => tokens,
    getManifest: async () => undefined,
    listManifests: async () => [],
    putManifest: async () => undefined,
    putShard: async () => undefined,
    deleteShard: async () => undefined,
    deleteDataset: async () => undefined,
  };
}

describe('a checkpoint carries the loss scale (Trainer, f32 with a forced dynamic scale)', () => {
  it('resumed mid-run, it continues bit for bit, the scale growing when the uninterrupted run does', async () => {
    const ctx = await gpu();
    const tokenizer = new Tokenizer(await trainBpe(['a garden of forking paths'], { vocabSize: 260 }));
    const ids = randint(4000, CONFIG.vocabSize, rng(3));
    const store = memoryStore(Uint16Array.from(ids));
    const manifest: DatasetManifest = testManifest('rand', {
      tokens: ids.length,
      shards: [{ key: 'rand/0', tokens: ids.length, rows: 10 }],
      tokenizer: { vocabSize: CONFIG.vocabSize, fingerprint: 'test' },
    });
    const settings = testSettings(CONFIG, {
      maxSteps: 3,
      evalBatches: 0,
      checkpointEvery: 100,
      datasetId: 'rand',
      lr: { maxLr: LR, minLr: LR / 10, warmupSteps: 1 },
    });
    const run = async (resume?: CheckpointData, pauseAt?: number) => {
      const points: StepPoint[] = [];
      const saved: CheckpointData[] = [];
      const trainer: Trainer = await Trainer.create({
        ctx,
        settings,
        store,
        manifest,
        tokenizer,
        resume,
        lossScale: { initScale: 2 ** 10, growthInterval: 2 },
        onEvent: (e) => {
          if (e.type !== 'step') return;
          points.push(e.point);
          if (e.point.step === pauseAt) trainer.pause();
        },
        saveCheckpoint: async (data) => {
          saved.push(data);
        },
      });
      await trainer.run();
      trainer.destroy();
      return { points, saved };
    };
    const straight = await run();
    expect(straight.points.map((p) => p.lossScale)).toEqual([2 ** 10, 2 ** 10, 2 ** 11]);
    const paused = await run(undefined, 1);
    const checkpoint = paused.saved[0]!;
    expect(checkpoint.step).toBe(1);
    expect(checkpoint.lossScale).toEqual({ scale: 2 ** 10, cleanSteps: 1, skippedSteps: 0 });
    const resumed = await run(checkpoint);
    // Losing the clean-step count would delay the growth to after step 3.
    expect(resumed.points.map((p) => [p.step, p.loss, p.gradNorm, p.lossScale])).toEqual(
      straight.points.slice(1).map((p) => [p.step, p.loss, p.gradNorm, p.lossScale]),
    );
    const [end, endResumed] = [straight.saved.at(-1)!, resumed.saved.at(-1)!];
    expect(endResumed.lossScale).toEqual({ scale: 2 ** 11, cleanSteps: 1, skippedSteps: 0 });
    expect(endResumed.lossScale).toEqual(end.lossScale);
    for (const k of ['params', 'adamM', 'adamV'] as const)
      expect(Buffer.from(endResumed[k]).equals(Buffer.from(end[k])), k).toBe(true);
    // A checkpoint from before loss scaling starts from the run's default (2^10 here, no clean steps):
    // the same weights (scaling is exact), the growth one step later.
    const { lossScale: _none, ...old } = checkpoint;
    const fromOld = await run(old);
    expect(fromOld.points.map((p) => [p.loss, p.lossScale])).toEqual([
      [straight.points[1]!.loss, 2 ** 10],
      [straight.points[2]!.loss, 2 ** 10],
    ]);
    expect(fromOld.saved.at(-1)!.lossScale).toEqual({ scale: 2 ** 11, cleanSteps: 0, skippedSteps: 0 });
  });
});

describe('--precision', () => {
  it('train --precision mixed runs on SwiftShader (no shader-f16) and records it; a bad value is named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'garden-precision-'));
    try {
      const text = (await readFile('public/corpus/brown-fiction.txt', 'utf8')).slice(0, 20_000);
      const data = await preparedCorpus(dir, text, 280);
      const out = join(dir, 'run');
      const args = ['--data', data, '--out', out, '--layers', '1', '--width', '32', '--heads', '2', '--block', '16'];
      const train = (a: string[]) => inProcess((x) => trainCommand(x, { context: gpu }), a);
      const mixed = await train([...args, '--precision', 'mixed', '--steps', '2', '--eval-batches', '1']);
      expect(mixed.code, mixed.stderr).toBe(0);
      const run = JSON.parse(await readFile(join(out, 'run.json'), 'utf8')) as { summary: { settings: RunSettings } };
      expect(run.summary.settings.precision).toBe('mixed');
      expect((await train([...args, '--precision', 'f16'])).stderr).toMatch(
        /--precision must be f32 or mixed, got "f16"/,
      );
      expect((await train(['--resume', out, '--precision', 'f32'])).stderr).toMatch(/drop --precision/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('f32 is written into the settings when asked, and absent (f32) otherwise', async () => {
    const ctx = await gpu();
    const options = { isSoftware: true, vocabSize: 300, datasetId: 'x', adapter: ctx };
    const base = ['--data', 'd', '--out', 'o'];
    expect(buildSettings(parseTrainArgs([...base, '--precision', 'f32']), options).precision).toBe('f32');
    expect(buildSettings(parseTrainArgs(base), options).precision).toBeUndefined();
    expect(buildSettings(parseTrainArgs([...base, '--precision', 'mixed']), options).precision).toBe('mixed');
  });
});
