/**
 * Mixed precision end to end on SwiftShader (no shader-f16: f16 is stored as packed halves): the
 * model's mixed forward and backward against f32 (every parameter's gradient), the graph it builds
 * (f16 weight copies cast once, f16 activations and logits), the memory it saves, a short run's
 * loss curve against f32's with no overflow skips, and an f16 overflow in the forward stopping the
 * run with a message that says so.
 */
import { describe, expect, it } from 'vitest';
import { backward } from '../src/autograd/backward';
import { Graph } from '../src/autograd/graph';
import { Plan } from '../src/autograd/plan';
import { BufferPool } from '../src/gpu/pool';
import type { GPTConfig } from '../src/model/config';
import { GPTModel } from '../src/model/gpt';
import type { RunSettings, StepPoint } from '../src/train/protocol';
import { Trainer, type TrainerEvent } from '../src/train/trainer';
import { maxRelError } from '../src/util/compare';
import { randint, rng } from '../src/util/random';
import { gpu } from './helpers/gpu';
import { repetitiveDataset } from './helpers/tiny-run';

const CONFIG: GPTConfig = { vocabSize: 96, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32 };
const B = 2;

/** Loss, logits and every parameter's gradient after one forward and backward. */
async function gradients(mixed: boolean) {
  const ctx = await gpu();
  const model = new GPTModel(ctx, CONFIG);
  model.initialize(3);
  const graph = new Graph();
  const idx = graph.input('idx', [B, CONFIG.blockSize], 'i32');
  const targets = graph.input('targets', [B, CONFIG.blockSize], 'i32');
  const { logits, loss } = model.loss(graph, idx, targets, mixed);
  // A seed of 2^10 as loss scaling would give: f16-rounded gradients stay clear of underflow.
  backward(graph, [{ tensor: loss, grad: graph.constant('seed', Float32Array.of(1024), [1]) }]);
  const plan = new Plan(ctx, graph, { store: model.store, retain: [loss, logits] });
  const random = rng(11);
  plan.write(idx, randint(B * CONFIG.blockSize, CONFIG.vocabSize, random));
  plan.write(targets, randint(B * CONFIG.blockSize, CONFIG.vocabSize, random));
  plan.run();
  const result = {
    loss: (await plan.read(loss))[0]!,
    grads: await model.store.readAll('grad'),
    dtypes: graph.tensors.filter((t) => t.kind === 'temp').map((t) => `${t.label}:${t.dtype}`),
    logitsDtype: logits.dtype,
    casts: graph.nodes.filter((n) => n.op.name === 'cast').length,
  };
  plan.destroy();
  model.destroy();
  return result;
}

describe('mixed precision on the model', () => {
  it('gives the f32 loss and every parameter gradient within f16 precision, through f16 copies cast once', async () => {
    const f32 = await gradients(false);
    const mixed = await gradients(true);
    expect(f32.casts).toBe(0);
    // c_attn, attn.c_proj, c_fc, mlp.c_proj per layer, and the tied LM head's wte: one cast each.
    expect(mixed.casts).toBe(4 * CONFIG.nLayer + 1);
    expect(mixed.logitsDtype).toBe('f16'); // halves, as the LM head writes them; cross-entropy computes in f32
    expect(mixed.dtypes.filter((d) => d.endsWith(':f16')).length).toBeGreaterThanOrEqual(6 * CONFIG.nLayer + 1);
    expect(Math.abs(mixed.loss - f32.loss) / f32.loss).toBeLessThan(2e-3);
    for (const [name, g] of f32.grads) {
      const got = mixed.grads.get(name)!;
      expect(maxRelError(got, g), name).toBeLessThan(2e-2);
    }
  });

  it('keeps fewer bytes of activations than f32 at the same batch', async () => {
    const ctx = await gpu();
    const peak = (mixed: boolean) => {
      const model = new GPTModel(ctx, CONFIG);
      const graph = new Graph();
      const idx = graph.input('idx', [8, CONFIG.blockSize], 'i32');
      const targets = graph.input('targets', [8, CONFIG.blockSize], 'i32');
      const { loss } = model.loss(graph, idx, targets, mixed);
      backward(graph, [{ tensor: loss, grad: graph.constant('seed', Float32Array.of(1), [1]) }]);
      const pool = new BufferPool(ctx.device);
      const plan = new Plan(ctx, graph, { store: model.store, pool });
      const bytes = plan.peakTempBytes;
      plan.destroy();
      pool.destroy();
      model.destroy();
      return bytes;
    };
    expect(peak(true)).toBeLessThan(0.9 * peak(false));
  });
});

const { tokenizer, store, manifest } = await repetitiveDataset();

function settings(precision: RunSettings['precision'], maxSteps: number): RunSettings {
  return {
    model: { vocabSize: tokenizer.vocabSize, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32 },
    batchSize: 4,
    accumSteps: 1,
    maxSteps,
    lr: { maxLr: 1e-2, minLr: 1e-3, warmupSteps: 4 },
    weightDecay: 0.1,
    gradClip: 1,
    evalEvery: 100,
    evalBatches: 0,
    checkpointEvery: 100,
    seed: 7,
    datasetId: 'rep',
    precision,
  };
}

async function run(s: RunSettings, onStep?: (point: StepPoint, trainer: Trainer) => void) {
  const events: TrainerEvent[] = [];
  const trainer: Trainer = await Trainer.create({
    ctx: await gpu(),
    settings: s,
    store,
    manifest,
    tokenizer,
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'step') onStep?.(e.point, trainer);
    },
    saveCheckpoint: async () => {},
  });
  const outcome = await trainer.run();
  trainer.destroy();
  const points = events.flatMap((e) => (e.type === 'step' ? [e.point] : []));
  const error = events.find((e): e is Extract<TrainerEvent, { type: 'error' }> => e.type === 'error');
  return { outcome, points, error };
}

describe('a mixed-precision run', () => {
  it('follows the f32 run’s loss curve within 1% (5-step means) with no overflow skips', async () => {
    const f32 = await run(settings('f32', 30));
    const mixed = await run(settings('mixed', 30));
    expect(mixed.outcome).toBe('done');
    expect(mixed.points.filter((p) => p.skipped)).toEqual([]);
    expect(mixed.points.every((p) => p.lossScale === 2 ** 16)).toBe(true);
    const mean = (points: StepPoint[], k: number) => points.slice(k, k + 5).reduce((s, p) => s + p.loss, 0) / 5;
    for (let k = 0; k < 30; k += 5) {
      const a = mean(f32.points, k);
      expect(Math.abs(mean(mixed.points, k) - a) / a, `steps ${k + 1}-${k + 5}`).toBeLessThan(0.01);
    }
    // It learned: the last steps' loss is well below the first's.
    expect(mean(mixed.points, 25)).toBeLessThan(0.7 * mean(mixed.points, 0));
  });

  it('an f16 activation overflowing in the forward stops the run and says so (f32 survives the same weights)', async () => {
    // A final layernorm weight of 1e5 drives its f16 output past 65504: the loss is not finite in
    // mixed precision, while f32 (whose logits reach ~1e5) still computes a finite loss.
    const poison = (point: StepPoint, trainer: Trainer) => {
      if (point.step === 2) trainer.model.store.write('transformer.ln_f.weight', new Float32Array(32).fill(1e5));
    };
    const mixed = await run(settings('mixed', 4), poison);
    expect(mixed.outcome).toBe('error');
    expect(mixed.error?.message).toBe(
      'the loss became NaN at step 3 (in mixed precision an f16 activation may have overflowed: f32 avoids that); lower the learning rate and start the run again',
    );
    const f32 = await run(settings('f32', 3), poison);
    expect(f32.outcome).toBe('done');
    expect(Number.isFinite(f32.points.at(-1)!.loss)).toBe(true);
  });
});
