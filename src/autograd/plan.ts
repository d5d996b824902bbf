/**
 * Compiles a traced graph into a static plan: every tensor gets a buffer slice (temporaries reuse
 * buffers once their last reader has run), every kernel call gets its pipeline, uniform buffer and
 * bind group once. Replaying the plan is then only setPipeline/setBindGroup/dispatch in one pass.
 */
import { type GpuContext, withErrorScopes } from '../gpu/context';
import { BufferPool } from '../gpu/pool';
import type { DispatchTag, Profiler } from '../gpu/profiler';
import { nodeCost } from './cost';
import type { Graph } from './graph';
import type { KernelCall } from './op';
import { numel, tensorBytes } from './op';
import { packHalves, unpackHalves } from '../util/half';
import type { ParameterStore, Slice } from './params';
import { readBytes } from './params';
import type { Tensor } from './tensor';

interface CompiledDispatch {
  label: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: readonly [number, number, number];
  /** Op, direction and cost, for the profiler. */
  tag: DispatchTag;
}

export interface PlanOptions {
  store?: ParameterStore;
  /** Tensors whose values must survive the run (read back later): they get their own buffers. */
  retain?: readonly Tensor[];
  /** Shared temporaries; a fresh pool per plan when absent. */
  pool?: BufferPool;
  /** Uniform buffer bound by kernel calls that ask for step uniforms (lr, step, ...). */
  stepUniforms?: GPUBuffer;
  label?: string;
  /** Buffers supplied by the caller for some input tensors (state shared between plans, e.g. KV caches). */
  external?: ReadonlyMap<Tensor, Slice>;
  /** Index of the first backward node (the graph's length before backward() ran); none when absent. */
  backwardFrom?: number;
}

export class Plan {
  private readonly slices = new Map<number, Slice>();
  private readonly dispatches: CompiledDispatch[] = [];
  private readonly owned: GPUBuffer[] = [];
  readonly label: string;
  /** Bytes of temporaries this plan needs at its peak (for memory estimates). */
  peakTempBytes = 0;

  constructor(
    private readonly ctx: GpuContext,
    readonly graph: Graph,
    options: PlanOptions = {},
  ) {
    this.label = options.label ?? 'plan';
    const device = ctx.device;
    const pool = options.pool ?? new BufferPool(device);
    const retained = new Set((options.retain ?? []).map((t) => t.id));

    // Last node index reading each tensor.
    const lastUse = new Map<number, number>();
    graph.nodes.forEach((node, i) => node.inputs.forEach((t) => lastUse.set(t.id, i)));

    const ownBuffer = (t: Tensor): Slice => {
      const size = Math.max(4, tensorBytes(t));
      const buffer = device.createBuffer({
        label: `${this.label}.${t.label}`,
        size: Math.ceil(size / 4) * 4,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
      this.owned.push(buffer);
      return { buffer, offset: 0, size };
    };
    for (const t of graph.tensors) {
      const external = options.external?.get(t);
      if (external) {
        if (t.kind !== 'input')
          throw new Error(`${this.label}: only inputs can have external buffers, not ${t.toString()}`);
        if (external.size < tensorBytes(t))
          throw new Error(`${this.label}: external buffer for ${t.toString()} is too small`);
        this.slices.set(t.id, external);
      } else if (t.kind === 'param' || t.kind === 'paramGrad') {
        if (!options.store)
          throw new Error(`${this.label}: graph uses parameter ${t.paramName} but no parameter store was given`);
        this.slices.set(t.id, options.store.slice(t.paramName!, t.kind === 'param' ? 'param' : 'grad'));
      } else if (t.kind === 'input' || t.kind === 'const' || retained.has(t.id)) {
        const slice = ownBuffer(t);
        this.slices.set(t.id, slice);
        if (t.constData)
          device.queue.writeBuffer(slice.buffer, 0, t.constData.buffer, t.constData.byteOffset, t.constData.byteLength);
      }
    }

    // Liveness: ordinals in use per size class; a freed ordinal is reused by the next request.
    const inUse = new Map<number, Set<number>>();
    const ordinals = new Map<Slice, [number, number]>();
    let liveBytes = 0;
    const acquire = (bytes: number): Slice => {
      const cls = BufferPool.sizeClass(bytes);
      let used = inUse.get(cls);
      if (!used) inUse.set(cls, (used = new Set()));
      let ordinal = 0;
      while (used.has(ordinal)) ordinal++;
      used.add(ordinal);
      liveBytes += cls;
      this.peakTempBytes = Math.max(this.peakTempBytes, liveBytes);
      const slice = { buffer: pool.get(cls, ordinal), offset: 0, size: Math.max(4, bytes) };
      ordinals.set(slice, [cls, ordinal]);
      return slice;
    };
    const release = (slice: Slice) => {
      const [cls, ordinal] = ordinals.get(slice)!;
      inUse.get(cls)!.delete(ordinal);
      liveBytes -= cls;
    };

    graph.nodes.forEach((node, i) => {
      for (const t of node.outputs) if (!this.slices.has(t.id)) this.slices.set(t.id, acquire(tensorBytes(t)));
      const scratch = (
        node.op.scratch?.(
          node.inputs.map((t) => t.spec),
          node.attrs,
        ) ?? []
      ).map((n) => acquire(n * 4));
      const calls = node.op.encode(
        node.inputs.map((t) => t.spec),
        node.attrs,
        this.ctx,
      );
      const phase = options.backwardFrom !== undefined && i >= options.backwardFrom ? 'backward' : 'forward';
      const cost = nodeCost(node);
      calls.forEach((call, k) => {
        // The node's cost is charged to its first dispatch, so a call counts once.
        const tag: DispatchTag =
          k === 0
            ? { op: node.op.name, phase, first: true, ...cost }
            : { op: node.op.name, phase, first: false, bytes: 0, ...(cost.flops !== undefined ? { flops: 0 } : {}) };
        this.dispatches.push(this.compileCall(call, node.inputs, node.outputs, scratch, tag, options.stepUniforms));
      });
      scratch.forEach(release);
      // Free temporaries whose last reader is this node, and outputs nobody reads.
      const dying = new Set<Tensor>();
      for (const t of node.inputs) if (lastUse.get(t.id) === i) dying.add(t);
      for (const t of node.outputs) if (!lastUse.has(t.id)) dying.add(t);
      for (const t of dying) if (t.kind === 'temp' && !retained.has(t.id)) release(this.slices.get(t.id)!);
    });
  }

  private compileCall(
    call: KernelCall,
    inputs: Tensor[],
    outputs: Tensor[],
    scratch: Slice[],
    tag: DispatchTag,
    stepUniforms?: GPUBuffer,
  ): CompiledDispatch {
    const device = this.ctx.device;
    const pipeline = this.ctx.pipelines.get(call.label, call.code, call.entryPoint, call.constants);
    const entries: GPUBindGroupEntry[] = [];
    if (call.stepUniforms) {
      if (!stepUniforms) throw new Error(`${call.label}: needs step uniforms but the plan has none`);
      entries.push({ binding: 0, resource: { buffer: stepUniforms } });
    } else if (call.params) {
      const ubuf = device.createBuffer({
        label: `${call.label}.params`,
        size: call.params.byteLength,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
      device.queue.writeBuffer(ubuf, 0, call.params);
      this.owned.push(ubuf);
      entries.push({ binding: 0, resource: { buffer: ubuf } });
    }
    call.buffers.forEach((ref, k) => {
      let slice: Slice;
      if ('in' in ref) slice = this.slices.get(inputs[ref.in]!.id)!;
      else if ('out' in ref) slice = this.slices.get(outputs[ref.out]!.id)!;
      else slice = scratch[ref.scratch]!;
      if (!slice) throw new Error(`${call.label}: binding ${k + 1} has no buffer`);
      entries.push({
        binding: k + 1,
        resource: { buffer: slice.buffer, offset: slice.offset, size: Math.ceil(slice.size / 4) * 4 },
      });
    });
    const bindGroup = device.createBindGroup({ label: call.label, layout: pipeline.getBindGroupLayout(0), entries });
    return { label: `${call.label}.${call.entryPoint}`, pipeline, bindGroup, workgroups: call.workgroups, tag };
  }

  /** Compiles inside error scopes: shader, validation and out-of-memory errors become a GpuError. */
  static async create(ctx: GpuContext, graph: Graph, options: PlanOptions = {}): Promise<Plan> {
    return withErrorScopes(ctx.device, `compiling ${options.label ?? 'plan'}`, () => new Plan(ctx, graph, options));
  }

  /**
   * Records every dispatch of the plan into one compute pass; with a profiler, each dispatch into
   * its own pass with begin/end timestamps instead (profile mode only: passes cost time).
   */
  encode(encoder: GPUCommandEncoder, timestampWrites?: GPUComputePassTimestampWrites, profiler?: Profiler): void {
    if (profiler) {
      for (const d of this.dispatches) {
        const pass = encoder.beginComputePass({ label: d.label, timestampWrites: profiler.next(d.tag) });
        pass.setPipeline(d.pipeline);
        pass.setBindGroup(0, d.bindGroup);
        pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
        pass.end();
      }
      return;
    }
    const pass = encoder.beginComputePass({ label: this.label, ...(timestampWrites ? { timestampWrites } : {}) });
    for (const d of this.dispatches) {
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
    }
    pass.end();
  }

  /** Encodes and submits the plan alone. */
  run(): void {
    const encoder = this.ctx.device.createCommandEncoder({ label: this.label });
    this.encode(encoder);
    this.ctx.device.queue.submit([encoder.finish()]);
  }

  get dispatchCount(): number {
    return this.dispatches.length;
  }

  /** Each dispatch's op, direction and cost, in order. */
  get dispatchTags(): DispatchTag[] {
    return this.dispatches.map((d) => d.tag);
  }

  /** The dispatches' labels in order (for profiling and tests). */
  get dispatchLabels(): string[] {
    return this.dispatches.map((d) => d.label);
  }

  slice(t: Tensor): Slice {
    const s = this.slices.get(t.id);
    if (!s) throw new Error(`${this.label}: ${t.toString()} has no buffer in this plan`);
    return s;
  }

  write(t: Tensor, data: Float32Array | Int32Array): void {
    if (t.kind !== 'input') throw new Error(`${this.label}: ${t.toString()} is not an input`);
    if (data.length !== numel(t.shape))
      throw new Error(`${this.label}: ${t.toString()} takes ${numel(t.shape)} values, got ${data.length}`);
    if ((t.dtype === 'i32') !== data instanceof Int32Array)
      throw new Error(`${this.label}: ${t.toString()} is ${t.dtype}`);
    const s = this.slice(t);
    // An f16 input takes f32 values and stores them rounded to the nearest half.
    const bytes = t.dtype === 'f16' ? packHalves(data) : data;
    this.ctx.device.queue.writeBuffer(s.buffer, s.offset, bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Reads a tensor back (it must be retained, an input, or a parameter); f16 values come back as f32. */
  async read(t: Tensor): Promise<Float32Array> {
    const s = this.slice(t);
    const bytes = await readBytes(this.ctx.device, s.buffer, s.offset, tensorBytes(t));
    return t.dtype === 'f16' ? unpackHalves(new Uint32Array(bytes), t.numel) : new Float32Array(bytes);
  }

  async readInt(t: Tensor): Promise<Int32Array> {
    const s = this.slice(t);
    return new Int32Array(await readBytes(this.ctx.device, s.buffer, s.offset, t.numel * 4));
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }
}
