/**
 * One optimizer step over several micro-batches, recorded into one command buffer: zero the
 * gradient arena, then per micro-batch copy its tokens into the plan's inputs and replay the
 * forward+backward plan (gradients add up in the arena), then clip + AdamW. Losses, the
 * gradient norm and the loss scale are copied aside and read back asynchronously, so the step never
 * waits on the CPU. With a dynamic loss scale (mixed precision) the backward's seed is copied from
 * the scale AdamW keeps on the GPU at the start of each step (see loss-scale.ts).
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
import {
  AdamW,
  type AdamWOptions,
  decodeNormRecord,
  decodeScaleState,
  NORM_RECORD_BYTES,
  SCALE_STATE_BYTES,
} from '../optim/adamw';
import {
  DEFAULT_GROWTH_INTERVAL,
  initialLossScale,
  MAX_LOSS_SCALE,
  MIN_LOSS_SCALE,
  lossScaleFor,
  lossScaleProblem,
  type LossScaleOptions,
  type LossScaleState,
} from './loss-scale';
import type { Precision } from './protocol';

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
  /** With a dynamic loss scale: the scale this step's gradients carried. */
  lossScale?: number;
}

export interface TrainStepOptions {
  pool?: BufferPool;
  retainLogits?: boolean;
  /** 'mixed': f16 weight copies and activations into the matmuls and attention, loss scaled dynamically (GradScaler's defaults). */
  precision?: Precision;
  /** A dynamic loss scale with these settings (overrides the precision's; tests force it in f32). */
  lossScale?: LossScaleOptions;
}

export class TrainStep {
  readonly graph = new Graph();
  readonly plan: Plan;
  readonly optimizer: AdamW;
  readonly idx: Tensor; // i32 [B, T]
  readonly targets: Tensor; // i32 [B, T]
  readonly logits: Tensor; // [B, T, V]
  readonly loss: Tensor; // [1]
  /** The backward's seed dLoss [1]: 1 / accum, times the loss scale when there is one. */
  readonly seed: Tensor;
  private readonly upload: GPUBuffer; // i32 [accum, 2, B, T]: idx then targets per micro-batch
  // [accum + 12] words: micro-batch losses (f32), the NormRecord (4 words), the ScaleState (8 words)
  private readonly stats: GPUBuffer;
  stepCount = 0;
  /** The loss scale after the last step read back (or as set); scale 1 without a dynamic scale. */
  lossScaleState: LossScaleState;

  constructor(
    readonly model: GPTModel,
    readonly shape: StepShape,
    optimizer: AdamWOptions,
    options: TrainStepOptions = {},
  ) {
    const { batchSize: B, seqLen: T, accumSteps } = shape;
    if (T > model.config.blockSize)
      throw new Error(`sequence length ${T} exceeds the block size ${model.config.blockSize}`);
    const lossScale = options.lossScale ?? lossScaleFor(options.precision);
    this.lossScaleState = initialLossScale(lossScale);
    const scaleProblem = lossScaleProblem(this.lossScaleState);
    if (scaleProblem) throw new Error(scaleProblem);
    const device = model.ctx.device;
    this.idx = this.graph.input('idx', [B, T], 'i32');
    this.targets = this.graph.input('targets', [B, T], 'i32');
    const { logits, loss } = model.loss(this.graph, this.idx, this.targets, options.precision === 'mixed');
    this.logits = logits;
    this.loss = loss;
    // d(mean over micro-batches)/d(micro-batch loss)
    const seedUnit = Math.fround(1 / accumSteps);
    this.seed = this.graph.constant('dloss', Float32Array.of(seedUnit), [1]);
    const backwardFrom = this.graph.nodes.length;
    backward(this.graph, [{ tensor: loss, grad: this.seed }]);
    this.plan = new Plan(model.ctx, this.graph, {
      store: model.store,
      retain: options.retainLogits ? [loss, logits] : [loss],
      pool: options.pool,
      label: 'train-step',
      backwardFrom,
    });
    this.optimizer = new AdamW(model.ctx, model.store, optimizer, {
      ...(lossScale
        ? {
            lossScale: {
              state: this.lossScaleState,
              growthInterval: lossScale.growthInterval ?? DEFAULT_GROWTH_INTERVAL,
              seedUnit,
              minScale: MIN_LOSS_SCALE,
              maxScale: MAX_LOSS_SCALE,
            },
          }
        : {}),
    });
    this.upload = device.createBuffer({
      label: 'batch-upload',
      size: accumSteps * 2 * B * T * 4,
      usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.stats = device.createBuffer({
      label: 'step-stats',
      size: accumSteps * 4 + NORM_RECORD_BYTES + SCALE_STATE_BYTES,
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
    if (this.optimizer.lossScale) {
      const seed = this.plan.slice(this.seed);
      encoder.copyBufferToBuffer(this.optimizer.scaleBuffer, 0, seed.buffer, seed.offset, 4); // ScaleState.dloss
    }
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
    const at = this.shape.accumSteps * 4;
    encoder.copyBufferToBuffer(this.optimizer.normBuffer, 0, this.stats, at, NORM_RECORD_BYTES);
    encoder.copyBufferToBuffer(this.optimizer.scaleBuffer, 0, this.stats, at + NORM_RECORD_BYTES, SCALE_STATE_BYTES);
  }

  /** Sets the loss scale's state on the GPU (a restored checkpoint's) before the next step. */
  setLossScale(state: LossScaleState): void {
    const problem = lossScaleProblem(state);
    if (problem) throw new Error(problem);
    this.optimizer.setLossScale(state);
    this.lossScaleState = { ...state };
  }

  /** One whole optimizer step in one submit; resolves when its loss has been read back. */
  step(batches: readonly MicroBatch[], lr: number): Promise<StepResult> {
    return this.submit('train-step', true, (encoder) => {
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
      const result = await this.submit('train-step.profile', true, (encoder) => {
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
    return (await this.submit('forward-backward', false, (encoder) => this.encodeForwardBackward(encoder, batches)))
      .loss;
  }

  /** Clip + AdamW on the gradients already in the arena; resolves with the gradient norm. */
  async optimizerStep(lr: number): Promise<number> {
    const result = await this.submit('optimizer', true, (encoder) => this.encodeOptimizer(encoder, lr));
    if (!Number.isFinite(result.gradNorm)) this.stepCount--;
    return result.gradNorm;
  }

  /**
   * Records `body`, then a copy of the step statistics to a mappable buffer, and submits once.
   * `optimizer`: the body ran AdamW, so the norm and loss scale read back are this step's.
   */
  private async submit(
    label: string,
    optimizer: boolean,
    body: (encoder: GPUCommandEncoder) => void,
  ): Promise<StepResult> {
    const device = this.model.ctx.device;
    const encoder = device.createCommandEncoder({ label });
    body(encoder);
    const staging = device.createBuffer({
      size: this.stats.size,
      usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
    });
    encoder.copyBufferToBuffer(this.stats, 0, staging, 0, this.stats.size);
    device.queue.submit([encoder.finish()]);
    const { accumSteps } = this.shape;
    const values = await readStats(staging);
    let loss = 0;
    for (let k = 0; k < accumSteps; k++) loss += new DataView(values).getFloat32(k * 4, true);
    if (!optimizer) return { loss: loss / accumSteps, gradNorm: NaN };
    const { norm } = decodeNormRecord(values, accumSteps * 4);
    const { state, lastScale } = decodeScaleState(values, accumSteps * 4 + NORM_RECORD_BYTES);
    this.lossScaleState = state;
    return {
      loss: loss / accumSteps,
      gradNorm: norm,
      ...(this.optimizer.lossScale ? { lossScale: lastScale } : {}),
    };
  }

  destroy(): void {
    this.plan.destroy();
    this.upload.destroy();
    this.stats.destroy();
  }
}

async function readStats(staging: GPUBuffer): Promise<ArrayBuffer> {
  await staging.mapAsync(GPUMapMode.READ);
  const values = staging.getMappedRange().slice(0);
  staging.unmap();
  staging.destroy();
  return values;
}
