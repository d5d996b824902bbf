/**
 * One optimizer step over several micro-batches, recorded into one command buffer: zero the
 * gradient arena, then per micro-batch copy its tokens into the plan's inputs and replay the
 * forward+backward plan (gradients add up in the arena), then clip + AdamW. Losses and the
 * gradient norm are copied aside and read back asynchronously, so the step never waits on the CPU.
 */
import { backward } from '../autograd/backward';
import { adamwCost } from '../autograd/cost';
import { Graph } from '../autograd/graph';
import { Plan } from '../autograd/plan';
import type { Tensor } from '../autograd/tensor';
import type { MicroBatch } from '../data/types';
import type { BufferPool } from '../gpu/pool';
import { Profiler, type ProfileResult } from '../gpu/profiler';
import type { GPTModel } from '../model/gpt';
import { AdamW, type AdamWOptions } from '../optim/adamw';

export interface StepShape {
  batchSize: number; // B per micro-batch
  seqLen: number; // T
  accumSteps: number; // micro-batches per optimizer step
}

export interface StepResult {
  /** Mean loss over the step's micro-batches. */
  loss: number;
  /** Global gradient norm before clipping (NaN or Infinity when the step was skipped). */
  gradNorm: number;
}

export class TrainStep {
  readonly graph = new Graph();
  readonly plan: Plan;
  readonly optimizer: AdamW;
  readonly idx: Tensor; // i32 [B, T]
  readonly targets: Tensor; // i32 [B, T]
  readonly logits: Tensor; // [B, T, V]
  readonly loss: Tensor; // [1]
  private readonly upload: GPUBuffer; // i32 [accum, 2, B, T]: idx then targets per micro-batch
  private readonly stats: GPUBuffer; // f32 [accum + 1]: micro-batch losses, then the grad norm
  stepCount = 0;

  constructor(
    readonly model: GPTModel,
    readonly shape: StepShape,
    optimizer: AdamWOptions,
    options: { pool?: BufferPool; retainLogits?: boolean } = {},
  ) {
    const { batchSize: B, seqLen: T, accumSteps } = shape;
    if (T > model.config.blockSize)
      throw new Error(`sequence length ${T} exceeds the block size ${model.config.blockSize}`);
    const device = model.ctx.device;
    this.idx = this.graph.input('idx', [B, T], 'i32');
    this.targets = this.graph.input('targets', [B, T], 'i32');
    const { logits, loss } = model.loss(this.graph, this.idx, this.targets);
    this.logits = logits;
    this.loss = loss;
    // d(mean over micro-batches)/d(micro-batch loss)
    const seed = this.graph.constant('dloss', Float32Array.of(1 / accumSteps), [1]);
    const backwardFrom = this.graph.nodes.length;
    backward(this.graph, [{ tensor: loss, grad: seed }]);
    this.plan = new Plan(model.ctx, this.graph, {
      store: model.store,
      retain: options.retainLogits ? [loss, logits] : [loss],
      pool: options.pool,
      label: 'train-step',
      backwardFrom,
    });
    this.optimizer = new AdamW(model.ctx, model.store, optimizer);
    this.upload = device.createBuffer({
      label: 'batch-upload',
      size: accumSteps * 2 * B * T * 4,
      usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.stats = device.createBuffer({
      label: 'step-stats',
      size: (accumSteps + 1) * 4,
      usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
  }

  private writeBatches(batches: readonly MicroBatch[]): void {
    const { batchSize: B, seqLen: T, accumSteps } = this.shape;
    if (batches.length !== accumSteps) throw new Error(`expected ${accumSteps} micro-batches, got ${batches.length}`);
    const data = new Int32Array(accumSteps * 2 * B * T);
    const V = this.model.config.vocabSize;
    batches.forEach((b, k) => {
      if (b.idx.length !== B * T || b.targets.length !== B * T)
        throw new Error(`micro-batch ${k}: expected ${B}x${T} tokens`);
      for (const v of b.idx)
        if (v < 0 || v >= V) throw new Error(`micro-batch ${k}: token id ${v} is outside the vocabulary (0..${V - 1})`);
      data.set(b.idx, 2 * k * B * T);
      data.set(b.targets, (2 * k + 1) * B * T);
    });
    this.model.ctx.device.queue.writeBuffer(this.upload, 0, data);
  }

  /** Records zero-grad + forward/backward of every micro-batch. */
  encodeForwardBackward(encoder: GPUCommandEncoder, batches: readonly MicroBatch[], profiler?: Profiler): void {
    this.writeBatches(batches);
    const bytes = this.shape.batchSize * this.shape.seqLen * 4;
    const idx = this.plan.slice(this.idx);
    const targets = this.plan.slice(this.targets);
    const loss = this.plan.slice(this.loss);
    this.model.store.zero(encoder, 'grad');
    for (let k = 0; k < batches.length; k++) {
      encoder.copyBufferToBuffer(this.upload, 2 * k * bytes, idx.buffer, idx.offset, bytes);
      encoder.copyBufferToBuffer(this.upload, (2 * k + 1) * bytes, targets.buffer, targets.offset, bytes);
      this.plan.encode(encoder, undefined, profiler);
      encoder.copyBufferToBuffer(loss.buffer, loss.offset, this.stats, k * 4, 4);
    }
  }

  /** Records clipping + AdamW and keeps the gradient norm. */
  encodeOptimizer(encoder: GPUCommandEncoder, lr: number, profiler?: Profiler): void {
    this.stepCount++;
    const n = this.model.store.length;
    this.optimizer.encodeStep(
      encoder,
      { lr, step: this.stepCount },
      profiler?.next({ op: 'adamw', phase: 'optimizer', first: true, ...adamwCost(n) }),
    );
    encoder.copyBufferToBuffer(this.optimizer.normBuffer, 0, this.stats, this.shape.accumSteps * 4, 4);
  }

  /** One whole optimizer step in one submit; resolves when its loss has been read back. */
  step(batches: readonly MicroBatch[], lr: number): Promise<StepResult> {
    return this.submit('train-step', (encoder) => {
      this.encodeForwardBackward(encoder, batches);
      this.encodeOptimizer(encoder, lr);
    }).then((result) => {
      // A non-finite gradient norm made AdamW skip the update on the GPU: the step did not count.
      if (!Number.isFinite(result.gradNorm)) this.stepCount--;
      return result;
    });
  }

  /** Dispatches one profiled step records: the plan per micro-batch, and AdamW's pass. */
  get profiledDispatches(): number {
    return this.shape.accumSteps * this.plan.dispatchCount + 1;
  }

  /**
   * One real optimizer step (the weights move) with every dispatch in its own timestamped pass;
   * resolves with the per-op table. Throws ProfilerUnavailable without timestamp-query.
   */
  async profile(batches: readonly MicroBatch[], lr: number): Promise<ProfileResult & StepResult> {
    const ctx = this.model.ctx;
    const profiler = new Profiler(ctx.device, ctx.features, this.profiledDispatches);
    try {
      const result = await this.submit('train-step.profile', (encoder) => {
        this.encodeForwardBackward(encoder, batches, profiler);
        this.encodeOptimizer(encoder, lr, profiler);
        profiler.resolve(encoder);
      });
      if (!Number.isFinite(result.gradNorm)) this.stepCount--;
      return { ...(await profiler.read()), ...result };
    } finally {
      profiler.destroy();
    }
  }

  /** Forward and backward only (gradients stay in the arena): for checks against references. */
  async forwardBackward(batches: readonly MicroBatch[]): Promise<number> {
    return (await this.submit('forward-backward', (encoder) => this.encodeForwardBackward(encoder, batches))).loss;
  }

  /** Clip + AdamW on the gradients already in the arena; resolves with the gradient norm. */
  async optimizerStep(lr: number): Promise<number> {
    return (await this.submit('optimizer', (encoder) => this.encodeOptimizer(encoder, lr))).gradNorm;
  }

  /** Records `body`, then a copy of the step statistics to a mappable buffer, and submits once. */
  private submit(label: string, body: (encoder: GPUCommandEncoder) => void): Promise<StepResult> {
    const device = this.model.ctx.device;
    const encoder = device.createCommandEncoder({ label });
    body(encoder);
    const staging = device.createBuffer({
      size: this.stats.size,
      usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
    });
    encoder.copyBufferToBuffer(this.stats, 0, staging, 0, this.stats.size);
    device.queue.submit([encoder.finish()]);
    return readStats(staging, this.shape.accumSteps);
  }

  destroy(): void {
    this.plan.destroy();
    this.upload.destroy();
    this.stats.destroy();
  }
}

async function readStats(staging: GPUBuffer, accumSteps: number): Promise<StepResult> {
  await staging.mapAsync(GPUMapMode.READ);
  const values = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  staging.destroy();
  let loss = 0;
  for (let k = 0; k < accumSteps; k++) loss += values[k]!;
  return { loss: loss / accumSteps, gradNorm: values[accumSteps]! };
}
