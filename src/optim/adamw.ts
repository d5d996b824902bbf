/**
 * AdamW with global-norm gradient clipping, as torch.nn.utils.clip_grad_norm_ followed by
 * torch.optim.AdamW (single-tensor path), over the whole parameter arena in three dispatches:
 * two deterministic reduction stages for the gradient norm, then one fused update that reads the
 * norm on the GPU. Non-finite gradients skip the update on the GPU (params, m, v untouched).
 * The gradient arena is read, never modified (the clip coefficient is applied on the fly).
 * With a dynamic loss scale the gradients arrive multiplied by it: the norm pass divides it out on
 * the fly and the last norm stage updates it on the GPU (src/train/loss-scale.ts has the rule).
 */
import source from '../../shaders/adamw.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { grid1d, packUniforms } from '../gpu/uniforms';
import type { ParameterStore } from '../autograd/params';
import { readBytes } from '../autograd/params';

export interface AdamWOptions {
  lr: number;
  beta1?: number; // default 0.9
  beta2?: number; // default 0.95
  eps?: number; // default 1e-8
  weightDecay?: number; // default 0.1, applied to 2-D+ tensors only (index < store.decayEnd)
  /** Max global gradient norm; 0 or Infinity disables clipping. Default 1.0. */
  gradClip?: number;
}

export interface AdamWStepOptions {
  /** Learning rate of this step (default: options.lr). */
  lr?: number;
  /** Adam's 1-based step count used by the bias corrections (default: stepCount + 1). */
  step?: number;
}

/** What the norm buffer holds (16 bytes); the norm comes first so a 4-byte copy suffices. */
export interface NormRecord {
  /** Global L2 norm of the gradients before clipping; NaN or Infinity when they are not finite. */
  norm: number;
  /** True when the step was skipped because some gradient was NaN/Inf (or the norm overflowed). */
  skipped: boolean;
  /** The coefficient every gradient was multiplied by: clip (1 when not clipped) / loss scale. */
  clipCoef: number;
}

export const NORM_RECORD_BYTES = 16;

/** A dynamic loss scaler's state (src/train/loss-scale.ts: defaults, the rule's reference). */
export interface LossScaleState {
  /** The scale the next step's backward starts from, a power of two. */
  scale: number;
  /** Clean steps since the scale last changed. */
  cleanSteps: number;
  /** Steps skipped because the gradients overflowed (or were otherwise not finite). */
  skippedSteps: number;
}

/**
 * The GPU's ScaleState (shaders/adamw.wgsl), 32 bytes: dloss (scale × seedUnit: what the next
 * backward starts from), scale, 1/scale, clean steps, skipped steps, the scale the last step's
 * gradients carried, two words of padding.
 */
export const SCALE_STATE_BYTES = 32;

export interface DynamicLossScale {
  state: LossScaleState;
  /** Clean steps after which the scale doubles. */
  growthInterval: number;
  /** The backward's seed at scale 1 (1 / micro-batches); dloss = scale × seedUnit. */
  seedUnit: number;
  /** Halving stops at minScale, doubling at maxScale (powers of two). */
  minScale: number;
  maxScale: number;
}

export function encodeScaleState(state: LossScaleState, seedUnit: number): ArrayBuffer {
  const bytes = new ArrayBuffer(SCALE_STATE_BYTES);
  const view = new DataView(bytes);
  view.setFloat32(0, Math.fround(seedUnit) * state.scale, true);
  view.setFloat32(4, state.scale, true);
  view.setFloat32(8, 1 / state.scale, true); // exact: scales are powers of two
  view.setUint32(12, state.cleanSteps, true);
  view.setUint32(16, state.skippedSteps, true);
  view.setFloat32(20, state.scale, true);
  return bytes;
}

/** The state in a GPU record, and the scale the last step's gradients carried. */
export function decodeScaleState(bytes: ArrayBuffer, byteOffset = 0): { state: LossScaleState; lastScale: number } {
  const view = new DataView(bytes, byteOffset, SCALE_STATE_BYTES);
  return {
    state: {
      scale: view.getFloat32(4, true),
      cleanSteps: view.getUint32(12, true),
      skippedSteps: view.getUint32(16, true),
    },
    lastScale: view.getFloat32(20, true),
  };
}

/**
 * The kernels' sizes, written only here and passed to shaders/adamw.wgsl as override constants:
 * WG threads per workgroup, NORM_VPT vec4s per thread in the partial norm, ADAM_VPT in the update.
 */
const ADAMW_SIZES = { WG: 256, NORM_VPT: 4, ADAM_VPT: 2 } as const;
const { WG, NORM_VPT, ADAM_VPT } = ADAMW_SIZES;
const NAN_BITS = 0x7fc00000;
const INF_BITS = 0x7f800000;

interface RingSlot {
  uniforms: GPUBuffer;
  partial: GPUBindGroup;
  final: GPUBindGroup;
  update: GPUBindGroup;
}

export class AdamW {
  readonly options: Required<AdamWOptions>;
  /** Steps encoded so far (the last `step` used); save it in checkpoints, restore it by assignment. */
  stepCount = 0;
  /** The 16-byte NormRecord of the last encoded step; its first f32 is the gradient norm. */
  readonly normBuffer: GPUBuffer;
  /** The loss scale's 32-byte ScaleState (scale 1 and never changing without a dynamic scale). */
  readonly scaleBuffer: GPUBuffer;
  readonly lossScale: DynamicLossScale | undefined;
  private readonly partials: GPUBuffer; // f32 [P]
  private readonly slots: RingSlot[] = [];
  private readonly pipelines: { partial: GPUComputePipeline; final: GPUComputePipeline; update: GPUComputePipeline };
  private readonly n4: number;
  private readonly numPartials: number;
  private nextSlot = 0;

  /**
   * `ringSize` uniform buffers let that many steps be recorded into one command buffer before a
   * submit (queue.writeBuffer lands before the submit, so one buffer per step in flight).
   */
  constructor(
    private readonly ctx: GpuContext,
    private readonly store: ParameterStore,
    options: AdamWOptions,
    { ringSize = 4, lossScale }: { ringSize?: number; lossScale?: DynamicLossScale } = {},
  ) {
    this.lossScale = lossScale;
    if (lossScale && !(Number.isInteger(lossScale.growthInterval) && lossScale.growthInterval >= 1))
      throw new Error(
        `AdamW: the loss scale's growth interval must be a whole number >= 1, got ${lossScale.growthInterval}`,
      );
    this.options = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradClip: 1.0, ...options };
    const { beta1, beta2, gradClip } = this.options;
    if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1))
      throw new Error(`AdamW: betas must be in [0, 1), got (${beta1}, ${beta2})`);
    if (!(gradClip >= 0)) throw new Error(`AdamW: gradClip must be >= 0 (0 or Infinity disables), got ${gradClip}`);
    if (store.length % 4 !== 0 || store.decayEnd % 4 !== 0)
      throw new Error('AdamW: arena length and decayEnd must be multiples of 4');
    const device = ctx.device;
    this.n4 = store.length / 4;
    this.numPartials = Math.ceil(this.n4 / (WG * NORM_VPT));
    this.pipelines = {
      partial: ctx.pipelines.get('adamw', source, 'grad_norm_partial', ADAMW_SIZES),
      final: ctx.pipelines.get('adamw', source, 'grad_norm_final', ADAMW_SIZES),
      update: ctx.pipelines.get('adamw', source, 'adamw_update', ADAMW_SIZES),
    };
    this.normBuffer = device.createBuffer({
      label: 'adamw.norm',
      size: NORM_RECORD_BYTES,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.scaleBuffer = device.createBuffer({
      label: 'adamw.loss-scale',
      size: SCALE_STATE_BYTES,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.setLossScale(lossScale?.state ?? { scale: 1, cleanSteps: 0, skippedSteps: 0 });
    this.partials = device.createBuffer({
      label: 'adamw.partials',
      size: this.numPartials * 4,
      usage: GPUBufferUsage.STORAGE,
    });
    const param = store.arena('param');
    const grad = store.arena('grad');
    const m = store.arena('adamM');
    const v = store.arena('adamV');
    const bind = (pipeline: GPUComputePipeline, uniforms: GPUBuffer, buffers: GPUBuffer[], label: string) =>
      device.createBindGroup({
        label,
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: uniforms } },
          ...buffers.map((buffer, k) => ({ binding: k + 1, resource: { buffer } })),
        ],
      });
    for (let k = 0; k < Math.max(1, ringSize); k++) {
      const uniforms = device.createBuffer({
        label: `adamw.uniforms.${k}`,
        size: 80,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
      this.slots.push({
        uniforms,
        partial: bind(
          this.pipelines.partial,
          uniforms,
          [grad, this.partials, this.scaleBuffer],
          'adamw.grad_norm_partial',
        ),
        final: bind(
          this.pipelines.final,
          uniforms,
          [this.partials, this.normBuffer, this.scaleBuffer],
          'adamw.grad_norm_final',
        ),
        update: bind(this.pipelines.update, uniforms, [this.normBuffer, param, grad, m, v], 'adamw.update'),
      });
    }
  }

  /**
   * Sets the loss scale's state (before the next recorded step; a restored checkpoint's). Without a
   * dynamic scale only the skipped-step count may differ from scale 1.
   */
  setLossScale(state: LossScaleState): void {
    const { scale, cleanSteps, skippedSteps } = state;
    if (!(scale > 0 && Number.isFinite(scale) && 2 ** Math.round(Math.log2(scale)) === scale))
      throw new Error(`AdamW: the loss scale must be a power of two, got ${scale}`);
    if (!this.lossScale && scale !== 1) throw new Error(`AdamW: loss scale ${scale} without a dynamic loss scale`);
    if (![cleanSteps, skippedSteps].every((n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32))
      throw new Error(`AdamW: bad loss-scale counters ${cleanSteps}, ${skippedSteps}`);
    this.ctx.device.queue.writeBuffer(this.scaleBuffer, 0, encodeScaleState(state, this.lossScale?.seedUnit ?? 1));
  }

  /** How many steps may be recorded into one command buffer before it is submitted. */
  get ringSize(): number {
    return this.slots.length;
  }

  /**
   * Records one clip + AdamW step (one compute pass) and writes its uniforms to the queue. At most
   * `ringSize` steps may be recorded before the command buffer is submitted.
   */
  encodeStep(
    encoder: GPUCommandEncoder,
    { lr = this.options.lr, step = this.stepCount + 1 }: AdamWStepOptions = {},
    timestampWrites?: GPUComputePassTimestampWrites,
  ): void {
    if (!Number.isInteger(step) || step < 1)
      throw new Error(`AdamW: step must be a positive integer (Adam counts from 1), got ${step}`);
    if (!Number.isFinite(lr) || lr < 0) throw new Error(`AdamW: bad learning rate ${lr}`);
    const { beta1, beta2, eps, weightDecay, gradClip } = this.options;
    // Bias corrections in float64 like torch's Python scalars, rounded once to f32.
    const bc1 = 1 - beta1 ** step;
    const bc2 = 1 - beta2 ** step;
    const slot = this.slots[this.nextSlot]!;
    this.nextSlot = (this.nextSlot + 1) % this.slots.length;
    const params = packUniforms([
      ['u32', this.n4],
      ['u32', this.store.decayEnd / 4],
      ['u32', this.numPartials],
      ['f32', Number.isFinite(gradClip) ? gradClip : 0],
      ['f32', 1 - lr * weightDecay],
      ['f32', 1 - beta1],
      ['f32', beta2],
      ['f32', 1 - beta2],
      ['f32', lr / bc1],
      ['f32', Math.sqrt(bc2)],
      ['f32', eps],
      ['u32', NAN_BITS],
      ['u32', INF_BITS],
      ['u32', this.lossScale ? 1 : 0],
      ['u32', this.lossScale?.growthInterval ?? 0],
      ['f32', this.lossScale?.seedUnit ?? 1],
      ['f32', this.lossScale?.minScale ?? 1],
      ['f32', this.lossScale?.maxScale ?? 1],
    ]);
    this.ctx.device.queue.writeBuffer(slot.uniforms, 0, params);

    const pass = encoder.beginComputePass({ label: 'adamw', ...(timestampWrites ? { timestampWrites } : {}) });
    pass.setPipeline(this.pipelines.partial);
    pass.setBindGroup(0, slot.partial);
    pass.dispatchWorkgroups(...grid1d(this.numPartials));
    pass.setPipeline(this.pipelines.final);
    pass.setBindGroup(0, slot.final);
    pass.dispatchWorkgroups(1);
    pass.setPipeline(this.pipelines.update);
    pass.setBindGroup(0, slot.update);
    pass.dispatchWorkgroups(...grid1d(Math.ceil(this.n4 / (WG * ADAM_VPT))));
    pass.end();
    this.stepCount = step;
  }

  /** Records a copy of the norm (4 bytes; or the whole 16-byte record) into `dst` (outside any pass). */
  copyNormTo(encoder: GPUCommandEncoder, dst: GPUBuffer, dstOffset = 0, bytes: 4 | 16 = 4): void {
    encoder.copyBufferToBuffer(this.normBuffer, 0, dst, dstOffset, bytes);
  }

  /** The gradient norm of the last submitted step (NaN/Infinity when it was skipped). */
  async readGradNorm(): Promise<number> {
    return (await this.readNormRecord()).norm;
  }

  async readNormRecord(): Promise<NormRecord> {
    return decodeNormRecord(await readBytes(this.ctx.device, this.normBuffer, 0, NORM_RECORD_BYTES));
  }

  destroy(): void {
    this.normBuffer.destroy();
    this.scaleBuffer.destroy();
    this.partials.destroy();
    for (const s of this.slots) s.uniforms.destroy();
    this.slots.length = 0;
  }
}

/** Decodes the 16 bytes of a norm buffer (e.g. copied aside with copyNormTo(..., 16)). */
export function decodeNormRecord(bytes: ArrayBuffer, byteOffset = 0): NormRecord {
  const view = new DataView(bytes, byteOffset, NORM_RECORD_BYTES);
  const bad = view.getUint32(4, true);
  return { norm: view.getFloat32(0, true), skipped: bad !== 0, clipCoef: view.getFloat32(8, true) };
}
