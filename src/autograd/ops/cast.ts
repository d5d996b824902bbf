/**
 * Cast between f32 and f16: how mixed precision makes the f16 copies of the f32 master weights
 * each step. The gradient passes straight through (gradients are f32 whatever a tensor's dtype), so
 * a weight's gradient still lands in its f32 slot.
 */
import source from '../../../shaders/cast.wgsl?raw';
import { grid1d, u32Params } from '../../gpu/uniforms';
import { roundHalf } from '../../util/half';
import type { OpDef } from '../op';
import { assertShape, numel } from '../op';
import type { Tensor } from '../tensor';

/** Threads per workgroup; passed to shaders/cast.wgsl as the override WG. */
const CAST_WG = 256;

export type CastAttrs = { to: 'f32' | 'f16' };

export const castOp: OpDef<CastAttrs> = {
  name: 'cast',
  outputs: ([x], attrs) => {
    assertShape(x!.dtype !== 'i32', 'cast', 'casts only between f32 and f16');
    return [{ shape: x!.shape, dtype: attrs.to }];
  },
  encode: ([x], attrs) => {
    const n = numel(x!.shape);
    // Same dtype: a plain copy through the f32 path would be wrong for f16, so the shape rule's caller avoids it.
    assertShape(x!.dtype !== attrs.to, 'cast', `input is already ${attrs.to}`);
    const threads = attrs.to === 'f16' ? Math.ceil(n / 2) : n;
    return [
      {
        label: 'cast',
        code: source,
        entryPoint: attrs.to === 'f16' ? 'cast_to_f16' : 'cast_to_f32',
        constants: { WG: CAST_WG },
        buffers: [{ in: 0 }, { out: 0 }],
        params: u32Params(n),
        workgroups: grid1d(Math.ceil(threads / CAST_WG)),
      },
    ];
  },
  backward: (_inputs, _outputs, [dy]) => [dy!],
  reference: {
    forward: ([x], _specs, attrs) => [Float64Array.from(x!, (v) => (attrs.to === 'f16' ? roundHalf(v) : v))],
    // Straight through: rounding's derivative is taken as 1 (its finite differences are not; see the test).
    backward: (_inputs, _specs, [dy]) => [dy!.slice()],
  },
};

/** x as `to`; x itself when it already is. */
export function cast(x: Tensor, to: CastAttrs['to']): Tensor {
  return x.dtype === to ? x : x.graph.apply1(castOp, [x], { to }, `${x.label}:${to}`);
}
