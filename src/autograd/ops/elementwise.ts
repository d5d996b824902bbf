/** Elementwise ops: residual add, gradient copy/accumulate, GELU (tanh form). */
import source from '../../../shaders/elementwise.wgsl?raw';
import { grid1d, u32Params } from '../../gpu/uniforms';
import type { KernelCall, OpDef, TensorSpec } from '../op';
import { assertShape, numel, shapeString } from '../op';
import type { Tensor } from '../tensor';

/** One thread per element; passed to shaders/elementwise.wgsl as the override WG. */
const ELEMENTWISE_WG = 256;

function flatCall(entryPoint: string, n: number, buffers: KernelCall['buffers'], accumulate = false): KernelCall {
  const params = u32Params(n, accumulate ? 1 : 0);
  return {
    label: 'elementwise',
    code: source,
    entryPoint,
    constants: { WG: ELEMENTWISE_WG },
    buffers,
    params,
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WG)),
  };
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
  encode: ([x], attrs) => [flatCall('copy_forward', numel(x!.shape), [{ in: 0 }, { out: 0 }], attrs.accumulate)],
  backward: (_inputs, _outputs, [dy]) => [dy!],
  reference: { forward: ([x]) => [Float64Array.from(x!)], backward: (_i, _s, [dy]) => [dy!.slice()] },
};

const GELU_K = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

export const geluOp: OpDef = {
  name: 'gelu',
  outputs: ([x]) => [{ shape: x!.shape, dtype: 'f32' }],
  encode: ([x]) => [flatCall('gelu_forward', numel(x!.shape), [{ in: 0 }, { out: 0 }])],
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

/** Kernel-only: dx = dy * gelu'(x). Checked through geluOp's backward. */
export const geluBackwardOp: OpDef = {
  name: 'gelu_backward',
  outputs: ([x]) => [{ shape: x!.shape, dtype: 'f32' }],
  encode: ([x]) => [flatCall('gelu_backward', numel(x!.shape), [{ in: 0 }, { in: 1 }, { out: 0 }])],
};

export const add = (a: Tensor, b: Tensor): Tensor => a.graph.apply1(addOp, [a, b], {});
export const gelu = (x: Tensor): Tensor => x.graph.apply1(geluOp, [x], {});

/** Adds `g` into the gradient slot of `param` via a copy node in accumulate mode. */
export function copyIntoGradSlot(g: Tensor, param: Tensor): void {
  const out = g.graph.apply1(copyOp, [g], { accumulate: true }, `grad(${param.label})`);
  out.kind = 'paramGrad';
  out.paramName = param.paramName;
}
