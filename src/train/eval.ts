/**
 * Validation loss: a forward-only plan (no backward, so gradients and optimizer state are never
 * touched) sharing the training step's pool of temporaries. Each batch is its own submit, its loss
 * copied aside; the mean is read back once at the end.
 */
import { Graph } from '../autograd/graph';
import { Plan } from '../autograd/plan';
import type { Tensor } from '../autograd/tensor';
import type { BufferPool } from '../gpu/pool';
import type { GPTModel } from '../model/gpt';
import type { MicroBatch } from '../data/types';
import type { Precision } from './protocol';

export class EvalPlan {
  private readonly plan: Plan;
  private readonly idx: Tensor;
  private readonly targets: Tensor;
  private readonly loss: Tensor;
  private losses: GPUBuffer | null = null;

  constructor(
    private readonly model: GPTModel,
    shape: { batchSize: number; seqLen: number },
    pool?: BufferPool,
    precision: Precision = 'f32',
  ) {
    const graph = new Graph();
    this.idx = graph.input('idx', [shape.batchSize, shape.seqLen], 'i32');
    this.targets = graph.input('targets', [shape.batchSize, shape.seqLen], 'i32');
    this.loss = model.loss(graph, this.idx, this.targets, precision === 'mixed').loss; // as the run trains
    this.plan = new Plan(model.ctx, graph, { store: model.store, retain: [this.loss], pool, label: 'eval' });
  }

  /** Mean loss over the batches (NaN when there are none). */
  async meanLoss(batches: AsyncIterable<MicroBatch>): Promise<number> {
    return summarize(await this.batchLosses(batches)).mean;
  }

  /** Each batch's mean loss, in order (their spread gives the validation loss's standard error). */
  async batchLosses(batches: AsyncIterable<MicroBatch>): Promise<Float32Array> {
    const device = this.model.ctx.device;
    const collected: MicroBatch[] = [];
    for await (const batch of batches) collected.push(batch);
    if (collected.length === 0) return new Float32Array(0);
    if (!this.losses || this.losses.size < collected.length * 4) {
      this.losses?.destroy();
      this.losses = device.createBuffer({
        label: 'eval-losses',
        size: collected.length * 4,
        usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
    }
    const loss = this.plan.slice(this.loss);
    collected.forEach((batch, k) => {
      // writeBuffer is ordered with submits, so batch k's tokens land after batch k-1 has run.
      this.plan.write(this.idx, batch.idx);
      this.plan.write(this.targets, batch.targets);
      const encoder = device.createCommandEncoder({ label: 'eval' });
      this.plan.encode(encoder);
      encoder.copyBufferToBuffer(loss.buffer, loss.offset, this.losses!, k * 4, 4);
      device.queue.submit([encoder.finish()]);
    });
    const staging = device.createBuffer({
      size: collected.length * 4,
      usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
    });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(this.losses, 0, staging, 0, collected.length * 4);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const values = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    return values;
  }

  destroy(): void {
    this.plan.destroy();
    this.losses?.destroy();
  }
}

/**
 * The mean of per-batch losses and its standard error (sample standard deviation / √n; NaN with
 * fewer than 2 batches). Batches hold equally many windows, so this is the mean over windows too.
 */
export function summarize(losses: ArrayLike<number>): { mean: number; standardError: number } {
  const n = losses.length;
  if (n === 0) return { mean: NaN, standardError: NaN };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += losses[i]!;
  const mean = sum / n;
  if (n < 2) return { mean, standardError: NaN };
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (losses[i]! - mean) ** 2;
  return { mean, standardError: Math.sqrt(squares / (n - 1) / n) };
}
