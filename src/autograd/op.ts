/**
 * What an op is. Each op defines, in one file under ops/: its shape rule, the kernel dispatches of
 * its forward, its backward rule (built from other graph nodes), and a float64 CPU reference of
 * forward and backward. Kernel-only ops (a backward kernel) have no backward and no reference of
 * their own: they are checked through the op whose backward uses them.
 */
import type { SubgroupMatrixConfig } from '../gpu/context';
import type { Tensor } from './tensor';

/**
 * Element types. f16 tensors are stored as IEEE halves, two to a 32-bit word (pack2x16float's
 * layout), so kernels without the shader-f16 feature read and write them as u32; their gradients
 * are f32.
 */
export type DType = 'f32' | 'f16' | 'i32';
export type Shape = readonly number[];

export interface TensorSpec {
  shape: Shape;
  dtype: DType;
}

/** A kernel dispatch as an op describes it; the plan binds real buffers to `buffers`. */
export interface KernelCall {
  label: string;
  /** WGSL source (one file per family, from shaders/). */
  code: string;
  entryPoint: string;
  /** WGSL `override` values (workgroup and tile sizes); each set of values is its own pipeline. */
  constants?: Readonly<Record<string, number>>;
  /**
   * Storage buffers bound at @binding(1..n) of @group(0), in order. A number is an index into the
   * node's inputs, `out: k` is the node's k-th output, `scratch: k` a temporary owned by the node.
   * Binding 0 is the uniform `params` block when `params` is given.
   */
  buffers: BufferRef[];
  /** Packed uniform struct (see gpu/uniforms.ts); 16-byte aligned. */
  params?: ArrayBuffer;
  /** When true, binding 0 is the plan's per-step uniforms (learning rate, step) instead of params. */
  stepUniforms?: boolean;
  workgroups: readonly [number, number, number];
}

/** What an op may know of the device when it encodes: its optional features and its limits. */
export interface EncodeDevice {
  features: ReadonlySet<string>;
  limits: Pick<GPUSupportedLimits, 'maxComputeWorkgroupStorageSize' | 'maxComputeInvocationsPerWorkgroup'>;
  /** The adapter's subgroup sizes, where it has subgroups. */
  subgroupSizes?: { min: number; max: number };
  /** Tensor-core shapes (chromium-experimental-subgroup-matrix), where offered. */
  subgroupMatrixConfigs?: readonly SubgroupMatrixConfig[];
}

export type BufferRef = { in: number } | { out: number } | { scratch: number };

export type Attrs = Record<string, unknown>;

/** Inputs to float64 references: f32 and f16 tensors as Float64Array (the stored values), i32 as Int32Array. */
export type RefArray = Float64Array | Int32Array;

export interface OpDef<A extends Attrs = Attrs> {
  name: string;
  /** Output specs from input specs; throws a readable error on a shape mismatch. */
  outputs(inputs: readonly TensorSpec[], attrs: A): TensorSpec[];
  /** Extra temporary buffers (in elements of f32) the kernels need, freed right after the node. */
  scratch?(inputs: readonly TensorSpec[], attrs: A): number[];
  /** The dispatches that compute the outputs; `device` (absent outside a plan) lets an op pick a kernel by feature and limit. */
  encode(inputs: readonly TensorSpec[], attrs: A, device?: EncodeDevice): KernelCall[];
  /**
   * Reverse mode: given the node's inputs, outputs (saved state included) and the gradients of its
   * outputs (null when an output has none), return the gradient of each input (null = none).
   */
  backward?(
    inputs: readonly Tensor[],
    outputs: readonly Tensor[],
    gradOutputs: readonly (Tensor | null)[],
    attrs: A,
  ): (Tensor | null)[];
  /**
   * The op's single output can be added into instead of overwritten (attrs.accumulate = true):
   * lets a parameter's gradient be written straight into its slot.
   */
  canAccumulate?: boolean;
  /** Which outputs are differentiable (default: all f32 and f16 outputs). Saved-state outputs say false. */
  differentiableOutputs?: readonly boolean[];
  reference?: {
    forward(inputs: readonly RefArray[], specs: readonly TensorSpec[], attrs: A): Float64Array[];
    /** Gradients of the inputs (null where none) given gradients of the differentiable outputs. */
    backward(
      inputs: readonly RefArray[],
      specs: readonly TensorSpec[],
      gradOutputs: readonly (Float64Array | null)[],
      attrs: A,
    ): (Float64Array | null)[];
  };
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes a tensor's buffer holds: 4 per f32/i32 element, 2 per f16 element rounded up to whole words. */
export function tensorBytes(spec: TensorSpec): number {
  const n = numel(spec.shape);
  return spec.dtype === 'f16' ? Math.ceil(n / 2) * 4 : n * 4;
}

export function shapeString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function assertShape(cond: boolean, op: string, message: string): asserts cond {
  if (!cond) throw new Error(`${op}: ${message}`);
}
