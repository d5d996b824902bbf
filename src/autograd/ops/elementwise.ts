/**
 * Elementwise ops: residual add, gradient copy/accumulate (f32), GELU (tanh form) whose x and y may
 * each be f16 (mixed precision: the fc output comes in as f16 and gelu's feeds a half matmul); its
 * gradient is f32 either way.
 */
import shader from '../../../shaders/elementwise.wgsl?raw';
import { grid1d, u32Params } from '../../gpu/uniforms';
import type { StorageDType } from '../../gpu/wgsl-storage';
import { wgslReader, wgslWriter } from '../../gpu/wgsl-storage';
import type { KernelCall, OpDef, TensorSpec } from '../op';
import { assertShape, numel, shapeString } from '../op';
import type { Tensor } from '../tensor';

/** One thread per element; passed to shaders/elementwise.wgsl as the override WG. */
const ELEMENTWISE_WG = 256;

/**
 * The shader for GELU's x and y dtypes (add and copy use the f32 one). An f16 y is written a word
 * per thread (GELU_PER = 2 elements); an f32 y one element per thread, as before f16 existed.
 */
function source(x: StorageDType, y: StorageDType): string {
  const put =
    y === 'f16'
      ? `const GELU_PER: u32 = 2u;\nfn gelu_y_put(i: u32, v: vec2f) { gelu_y_put2(i, v, p.n); }\n`
      : `const GELU_PER: u32 = 1u;\nfn gelu_y_put(i: u32, v: vec2f) { gelu_y[i] = v.x; }\n`;
  return wgslReader('gelu_x', 1, x) + wgslWriter('gelu_y', 2, y) + put + wgslReader('geluB_x', 1, x) + shader;
}
const SOURCES = {
  f32: { f32: source('f32', 'f32'), f16: source('f32', 'f16') },
  f16: { f32: source('f16', 'f32'), f16: source('f16', 'f16') },
} as const;

function flatCall(
  entryPoint: string,
  n: number,
  buffers: KernelCall['buffers'],
  opts: { accumulate?: boolean; code?: string; perThread?: number } = {},
): KernelCall {
  const params = u32Params(n, opts.accumulate ? 1 : 0);
  return {
    label: 'elementwise',
    code: opts.code ?? SOURCES.f32.f32,
    entryPoint,
    constants: { WG: ELEMENTWISE_WG },
    buffers,
    params,
    workgroups: grid1d(Math.ceil(Math.ceil(n / (opts.perThread ?? 1)) / ELEMENTWISE_WG)),
  };
}

/** GELU's x must be f32 or f16. */
function floatDType(name: string, x: TensorSpec): StorageDType {
  assertShape(x.dtype !== 'i32', name, 'x must be f32 or f16, got i32');
  return x.dtype;
}

const sameShape = (name: string, a: TensorSpec, b: TensorSpec) =>
  assertShape(
    a.shape.join() === b.shape.join(),
    name,
    `shapes differ: ${shapeString(a.shape)} vs ${shapeString(b.shape)}`,
  );

/** out = a + b. */
export const addOp: OpDef = {
  name: 'add',
  outputs: ([a, b]) => {
    sameShape('add', a!, b!);
    return [{ shape: a!.shape, dtype: 'f32' }];
  },
  encode: ([a]) => [flatCall('add_forward', numel(a!.shape), [{ in: 0 }, { in: 1 }, { out: 0 }])],
  backward: (_inputs, _outputs, [dy]) => [dy!, dy!],
  reference: {
    forward: ([a, b]) => [Float64Array.from(a!, (v, i) => v + b![i]!)],
    backward: (_inputs, _specs, [dy]) => [dy!.slice(), dy!.slice()],
  },
};

/** out = x, or out += x with attrs.accumulate (how gradients reach parameter slots). */
export const copyOp: OpDef<{ accumulate?: boolean }> = {
  name: 'copy',
  canAccumulate: true,
  outputs: ([x]) => [{ shape: x!.shape, dtype: 'f32' }],
  encode: ([x], attrs) => [
    flatCall('copy_forward', numel(x!.shape), [{ in: 0 }, { out: 0 }], { accumulate: attrs.accumulate }),
  ],
  backward: (_inputs, _outputs, [dy]) => [dy!],
  reference: { forward: ([x]) => [Float64Array.from(x!)], backward: (_i, _s, [dy]) => [dy!.slice()] },
};

const GELU_K = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

/** out: y's dtype (default f32). */
export type GeluAttrs = { out?: 'f32' | 'f16' };

/** y = gelu(x); x f32 or f16, y stored as attrs.out. */
export const geluOp: OpDef<GeluAttrs> = {
  name: 'gelu',
  outputs: ([x], attrs) => {
    floatDType('gelu', x!);
    return [{ shape: x!.shape, dtype: attrs.out ?? 'f32' }];
  },
  encode: ([x], attrs) => {
    const y = attrs.out ?? 'f32';
    const code = SOURCES[floatDType('gelu', x!)][y];
    return [
      flatCall('gelu_forward', numel(x!.shape), [{ in: 0 }, { out: 0 }], { code, perThread: y === 'f16' ? 2 : 1 }),
    ];
  },
  backward: ([x], _outputs, [dy]) => [x!.graph.apply1(geluBackwardOp, [x!, dy!], {})],
  reference: {
    forward: ([x]) => [Float64Array.from(x!, (v) => 0.5 * v * (1 + Math.tanh(GELU_K * (v + GELU_C * v ** 3))))],
    backward: ([x], _specs, [dy]) => [
      Float64Array.from(x!, (v, i) => {
        const t = Math.tanh(GELU_K * (v + GELU_C * v ** 3));
        return dy![i]! * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_K * (1 + 3 * GELU_C * v * v));
      }),
    ],
  },
};

/** Kernel-only: dx = dy * gelu'(x), x f32 or f16, dy and dx f32. Checked through geluOp's backward. */
export const geluBackwardOp: OpDef = {
  name: 'gelu_backward',
  outputs: ([x]) => [{ shape: x!.shape, dtype: 'f32' }],
  encode: ([x]) => [
    flatCall('gelu_backward', numel(x!.shape), [{ in: 0 }, { in: 1 }, { out: 0 }], {
      code: SOURCES[floatDType('gelu_backward', x!)].f32,
    }),
  ],
};

export const add = (a: Tensor, b: Tensor): Tensor => a.graph.apply1(addOp, [a, b], {});
export const gelu = (x: Tensor, opts: GeluAttrs = {}): Tensor =>
  x.graph.apply1(geluOp, [x], { out: opts.out ?? 'f32' });

/** Adds `g` into the gradient slot of `param` via a copy node in accumulate mode. */
export function copyIntoGradSlot(g: Tensor, param: Tensor): void {
  const out = g.graph.apply1(copyOp, [g], { accumulate: true }, `grad(${param.label})`);
  out.kind = 'paramGrad';
  out.paramName = param.paramName;
}
