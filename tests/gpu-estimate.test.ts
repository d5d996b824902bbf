/**
 * The automatic micro-batch on SwiftShader, against the engine itself: the GPU memory estimate
 * against every buffer the engine really creates for a tiny model's training step, and a run whose
 * batch is split into micro-batches (auto, under tight limits) against the same batch at once.
 */
import { describe, expect, it } from 'vitest';
import { BufferPool } from '../src/gpu/pool';
import type { GPTConfig } from '../src/model/config';
import { GPTModel } from '../src/model/gpt';
import { gpuBytesTerms } from '../src/train/defaults';
import { chooseMicroBatch, withMicroBatch } from '../src/train/micro-batch';
import type { Precision, RunSettings, StepPoint } from '../src/train/protocol';
import { TrainStep } from '../src/train/step';
import { Trainer } from '../src/train/trainer';
import { gpu } from './helpers/gpu';
import { repetitiveDataset } from './helpers/tiny-run';
import { testSettings } from './helpers/settings';

/** Bytes of the GPU buffers `body` creates and leaves alive. */
function allocated(device: GPUDevice, body: () => void): number {
  const sizes = new Map<GPUBuffer, number>();
  const create = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = create(descriptor);
    sizes.set(buffer, descriptor.size);
    return buffer;
  };
  try {
    body();
  } finally {
    device.createBuffer = create;
  }
  return [...sizes.values()].reduce((a, b) => a + b, 0);
}

const { tokenizer, store, manifest } = await repetitiveDataset();
const CONFIG: GPTConfig = { vocabSize: tokenizer.vocabSize, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32 };

describe('the GPU memory estimate', () => {
  // The model's arenas and the step's buffers (its pool of temporaries included) are all created
  // when the step is built; running it allocates nothing more.
  async function realBytes(B: number, precision: Precision = 'f32', config = CONFIG): Promise<number> {
    const ctx = await gpu();
    const pool = new BufferPool(ctx.device);
    let model: GPTModel | undefined;
    let step: TrainStep | undefined;
    const bytes = allocated(ctx.device, () => {
      model = new GPTModel(ctx, config);
      const shape = { batchSize: B, seqLen: config.blockSize, accumSteps: 1 };
      step = new TrainStep(model, shape, { lr: 1e-3 }, { pool, precision });
    });
    step!.destroy();
    pool.destroy();
    return bytes;
  }

  it('is within 10% of what the engine allocates, per run and per sequence of the micro-batch', async () => {
    const [small, large] = [await realBytes(2), await realBytes(8)];
    const [e2, e8] = [gpuBytesTerms({ model: CONFIG, batchSize: 2 }), gpuBytesTerms({ model: CONFIG, batchSize: 8 })];
    for (const [real, est] of [
      [small, e2.total],
      [large, e8.total],
    ] as const)
      expect(Math.abs(est - real) / real).toBeLessThan(0.1);
    // What each further sequence costs: the activation and logits terms.
    const perSequence = (large - small) / 6;
    const estimated = (e8.total - e2.total) / 6;
    expect(Math.abs(estimated - perSequence) / perSequence).toBeLessThan(0.1);
    // Mixed precision stores activations and logits as halves.
    const mixed = gpuBytesTerms({ model: CONFIG, batchSize: 8, precision: 'mixed' });
    expect(mixed.activations).toBeLessThan(e8.activations);
    expect(mixed.logits).toBe(e8.logits / 2);
  });

  it('follows mixed precision: within 10% of the allocation, on a model whose activations outweigh its logits', async () => {
    // Head size 16, as the other shared-device tests' models: the attention kernels compile once.
    const wide: GPTConfig = { vocabSize: 64, blockSize: 32, nLayer: 2, nHead: 4, nEmbd: 64 };
    const perSequence = async (precision: Precision) =>
      ((await realBytes(8, precision, wide)) - (await realBytes(2, precision, wide))) / 6;
    const estimated = (precision: Precision) => {
      const [e2, e8] = [2, 8].map((batchSize) => gpuBytesTerms({ model: wide, batchSize, precision }).total);
      return (e8! - e2!) / 6;
    };
    const [f32, mixed] = [await perSequence('f32'), await perSequence('mixed')];
    expect(mixed).toBeLessThan(0.85 * f32);
    expect(Math.abs(estimated('mixed') - mixed) / mixed).toBeLessThan(0.1);
    expect(Math.abs(estimated('f32') - f32) / f32).toBeLessThan(0.1);
    const total = await realBytes(8, 'mixed', wide);
    expect(
      Math.abs(gpuBytesTerms({ model: wide, batchSize: 8, precision: 'mixed' }).total - total) / total,
    ).toBeLessThan(0.1);
  });
});

describe('an automatic micro-batch', () => {
  async function train(settings: RunSettings): Promise<{ points: StepPoint[]; params: Float32Array }> {
    const points: StepPoint[] = [];
    const trainer = await Trainer.create({
      ctx: await gpu(),
      settings,
      store,
      manifest,
      tokenizer,
      onEvent: (e) => e.type === 'step' && points.push(e.point),
    });
    expect(await trainer.run()).toBe('done');
    const { params } = await trainer.snapshot();
    return { points, params: new Float32Array(params.buffer, params.byteOffset, params.byteLength / 4) };
  }

  it('trains the same steps as the whole batch at once: the loss and the weights after 2 steps agree', async () => {
    const base = testSettings(CONFIG, {
      batchSize: 4,
      accumSteps: 1,
      maxSteps: 2,
      evalBatches: 0,
      lr: { maxLr: 1e-2, minLr: 1e-3, warmupSteps: 0 },
      seed: 7,
    });
    // Limits under which 4 sequences' logits (4 × 16 × V × 4 bytes) do not bind at once, but 2 do.
    const binding = 3 * CONFIG.blockSize * CONFIG.vocabSize * 4;
    const choice = chooseMicroBatch(base, 4, 'auto', { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: binding });
    expect(choice).toMatchObject({ ok: true, microBatch: 2, accumSteps: 2 });
    if (!choice.ok) return;
    const split = await train(withMicroBatch(base, choice));
    const whole = await train(base);
    expect(split.points.map((p) => p.tokens)).toEqual(whole.points.map((p) => p.tokens));
    for (let i = 0; i < 2; i++)
      expect(Math.abs(split.points[i]!.loss - whole.points[i]!.loss) / whole.points[i]!.loss).toBeLessThan(1e-6);
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < whole.params.length; i++) {
      diff = Math.max(diff, Math.abs(split.params[i]! - whole.params[i]!));
      norm = Math.max(norm, Math.abs(whole.params[i]!));
    }
    // Measured 4e-6: the micro-batches' gradients are summed in another order than one batch's.
    expect(diff / norm).toBeLessThan(1e-5);
  });
});
