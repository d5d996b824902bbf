/**
 * The training loop on SwiftShader with a tiny model: the loss falls on a repetitive corpus,
 * a checkpoint resumed in a fresh Trainer reproduces the uninterrupted run bit for bit (sampling
 * between steps included), Stop ends a run 'stopped' that runs on to 'done', and a NaN loss stops the run without checkpointing broken weights.
 */
import { describe, expect, it } from 'vitest';
import { learningRate } from '../src/optim/schedule';
import type { RunSettings, StepPoint } from '../src/train/protocol';
import type { CheckpointData } from '../src/train/run-store';
import { Trainer, type TrainerEvent } from '../src/train/trainer';
import { gpu } from './helpers/gpu';
import { repetitiveDataset } from './helpers/tiny-run';

const { tokenizer, store, manifest } = await repetitiveDataset();

function settings(overrides: Partial<RunSettings> = {}): RunSettings {
  return {
    // One layer: every test shares its compiled kernels, and a step costs about half of two layers'.
    model: { vocabSize: tokenizer.vocabSize, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32 },
    batchSize: 4,
    accumSteps: 1,
    maxSteps: 40,
    lr: { maxLr: 1e-2, minLr: 1e-3, warmupSteps: 4 },
    weightDecay: 0.1,
    gradClip: 1,
    evalEvery: 20,
    evalBatches: 2,
    checkpointEvery: 20,
    seed: 7,
    datasetId: 'rep',
    ...overrides,
  };
}

async function makeTrainer(
  s: RunSettings,
  options: { resume?: CheckpointData; onEvent?: (e: TrainerEvent, t: Trainer) => void } = {},
) {
  const events: TrainerEvent[] = [];
  const saved: CheckpointData[] = [];
  const trainer: Trainer = await Trainer.create({
    ctx: await gpu(),
    settings: s,
    store,
    manifest,
    tokenizer,
    resume: options.resume,
    onEvent: (e) => {
      events.push(e);
      options.onEvent?.(e, trainer);
    },
    saveCheckpoint: async (data) => {
      saved.push(data);
    },
  });
  const steps = () =>
    events.filter((e): e is Extract<TrainerEvent, { type: 'step' }> => e.type === 'step').map((e) => e.point);
  return { trainer, events, saved, steps };
}

const losses = (points: StepPoint[]) => points.map((p) => p.loss);

describe('Trainer', () => {
  it('the loss falls over 20 steps on a repetitive corpus, with evals and checkpoints on schedule', async () => {
    const s = settings({ maxSteps: 20, evalEvery: 10, checkpointEvery: 10 });
    const { trainer, events, saved, steps } = await makeTrainer(s);
    expect(await trainer.run()).toBe('done');
    const points = steps();
    expect(points.map((p) => p.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const first = points[0]!.loss;
    // An untrained model predicts ~uniformly: ln(V).
    expect(first).toBeGreaterThan(Math.log(tokenizer.vocabSize) - 0.5);
    expect(first).toBeLessThan(Math.log(tokenizer.vocabSize) + 0.5);
    const lastFive = losses(points.slice(-5)).reduce((a, b) => a + b) / 5;
    expect(lastFive).toBeLessThan(first * 0.6); // from ln(V) ~ 5.7
    // Schedule, counters and speed figures.
    points.forEach((p) => expect(p.lr).toBeCloseTo(learningRate(p.step - 1, { ...s.lr, totalSteps: s.maxSteps }), 12));
    expect(points.at(-1)!.tokens).toBe(20 * 4 * 16);
    expect(
      points.every((p) => p.tokensPerSecond > 0 && p.tflops > 0 && Number.isFinite(p.gradNorm) && !p.skipped),
    ).toBe(true);
    const evals = events.filter((e) => e.type === 'eval').map((e) => e.point);
    expect(evals.map((e) => e.step)).toEqual([10, 20]);
    expect(evals[1]!.valLoss).toBeLessThan(evals[0]!.valLoss);
    expect(events.filter((e) => e.type === 'checkpoint').map((e) => (e as { step: number }).step)).toEqual([10, 20]);
    expect(saved.map((c) => c.step)).toEqual([10, 20]);
    expect(saved[1]!.params.byteLength).toBe(trainer.model.store.length * 4);
    expect(trainer.status).toBe('done');
    trainer.destroy();
  });

  it('a checkpoint resumed in a fresh Trainer gives bit-identical losses; sampling between steps changes nothing', async () => {
    // Two micro-batches per step cover gradient accumulation.
    const s = settings({
      maxSteps: 6,
      accumSteps: 2,
      evalEvery: 3,
      checkpointEvery: 100,
    });
    const straight = await makeTrainer(s);
    await straight.trainer.run();
    const expected = losses(straight.steps());
    const expectedEval = straight.events.filter((e) => e.type === 'eval').map((e) => e.point.valLoss);
    straight.trainer.destroy();

    let sampled: Promise<unknown> | undefined;
    const paused = await makeTrainer(s, {
      onEvent: (e, t) => {
        if (e.type !== 'step') return;
        if (e.point.step === 2)
          sampled = t.sample(
            { requestId: 1, prompt: 'the', maxTokens: 5, temperature: 1, weights: 'current' },
            () => undefined,
          );
        if (e.point.step === 3) t.pause();
      },
    });
    expect(await paused.trainer.run()).toBe('paused');
    await sampled;
    expect(paused.saved.map((c) => c.step)).toEqual([3]);
    const checkpoint = paused.saved[0]!;
    expect(checkpoint.adamStep).toBe(3);
    // Continuing the paused trainer itself reuses the batches it had drawn ahead.
    expect(await paused.trainer.run()).toBe('done');
    expect(losses(paused.steps())).toEqual(expected);
    paused.trainer.destroy();

    const resumed = await makeTrainer(s, { resume: checkpoint });
    expect(resumed.trainer.step).toBe(3);
    expect(await resumed.trainer.run()).toBe('done');
    expect(losses(resumed.steps())).toEqual(expected.slice(3));
    expect(resumed.steps()[0]!.tokens).toBe(4 * 2 * 4 * 16);
    const evals = resumed.events.filter((e) => e.type === 'eval').map((e) => e.point.valLoss);
    expect(evals).toEqual(expectedEval.slice(1));
    resumed.trainer.destroy();
  });

  it("Stop ends the run 'stopped' at the next step boundary (eval and checkpoint there); run() again continues to maxSteps, 'done'", async () => {
    const s = settings({
      maxSteps: 4,
      evalEvery: 100,
      checkpointEvery: 100,
    });
    let stopAt = 2;
    const { trainer, events, saved, steps } = await makeTrainer(s, {
      onEvent: (e, t) => {
        if (e.type === 'step' && e.point.step === stopAt) t.stop();
      },
    });
    expect(await trainer.run()).toBe('stopped');
    expect(trainer.status).toBe('stopped');
    expect(steps().map((p) => p.step)).toEqual([1, 2]);
    expect(saved.map((c) => c.step)).toEqual([2]);
    expect(events.filter((e) => e.type === 'eval').map((e) => e.point.step)).toEqual([2]);
    // A stop on the last step still reaches maxSteps: that run is done, not stopped.
    stopAt = 4;
    expect(await trainer.run()).toBe('done');
    expect(steps().map((p) => p.step)).toEqual([1, 2, 3, 4]);
    expect(saved.map((c) => c.step)).toEqual([2, 4]);
    trainer.destroy();
  });

  it('a NaN loss stops the run with a clear message and never checkpoints the broken weights', async () => {
    const s = settings({ maxSteps: 10, checkpointEvery: 2, evalEvery: 100 });
    const { trainer, events, saved } = await makeTrainer(s, {
      onEvent: (e, t) => {
        // Poison the weights after step 3: step 4's forward pass produces NaN.
        if (e.type === 'step' && e.point.step === 3)
          t.model.store.write('transformer.ln_f.weight', new Float32Array(32).fill(NaN));
      },
    });
    expect(await trainer.run()).toBe('error');
    const error = events.find((e) => e.type === 'error') as Extract<TrainerEvent, { type: 'error' }>;
    expect(error.kind).toBe('nan');
    expect(error.message).toBe(
      'the loss became NaN at step 4; lower the learning rate and resume from the checkpoint at step 2',
    );
    expect(saved.map((c) => c.step)).toEqual([2]);
    expect(events.filter((e) => e.type === 'step').length).toBe(3);
    expect(trainer.status).toBe('error');
    trainer.destroy();
  });

  it("samples stream text; the initial weights are the seed's, before and after training", async () => {
    const s = settings({ maxSteps: 6, evalEvery: 100, checkpointEvery: 100 });
    const { trainer } = await makeTrainer(s);
    const greedy = { requestId: 1, prompt: 'the quick', maxTokens: 6, temperature: 0 };
    const pieces: string[] = [];
    const before = await trainer.sample({ ...greedy, weights: 'current' }, (p) => pieces.push(p));
    expect(before.tokens).toBe(6);
    expect(pieces.join('')).toBe(before.text);
    expect(before.text.length).toBeGreaterThan(0);
    await trainer.run();
    const initial = await trainer.sample({ ...greedy, weights: 'initial' }, () => undefined);
    const after = await trainer.sample({ ...greedy, weights: 'current' }, () => undefined);
    expect(initial.text).toBe(before.text);
    expect(after.text).not.toBe(before.text);
    trainer.destroy();
  });

  it('rejects settings that cannot work, in words', async () => {
    await expect(
      makeTrainer(
        settings({ model: { vocabSize: tokenizer.vocabSize, blockSize: 16, nLayer: 2, nHead: 3, nEmbd: 32 } }),
      ),
    ).rejects.toThrow(/not divisible by 3 heads/);
    await expect(
      makeTrainer(settings({ model: { vocabSize: 100, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32 } })),
    ).rejects.toThrow(/set the vocabulary size to/);
  });
});
