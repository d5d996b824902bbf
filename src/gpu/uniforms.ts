/**
 * Packs a WGSL uniform struct whose fields are all 4-byte scalars (u32, i32, f32), in order.
 * The size is rounded up to 16 bytes as uniform buffers require.
 */
export type UniformField = ['u32' | 'i32' | 'f32', number];

export function packUniforms(fields: UniformField[]): ArrayBuffer {
  const bytes = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  const buffer = new ArrayBuffer(bytes);
  const view = new DataView(buffer);
  fields.forEach(([type, value], i) => {
    if (type === 'f32') view.setFloat32(i * 4, value, true);
    else if (type === 'i32') view.setInt32(i * 4, value, true);
    else view.setUint32(i * 4, value, true);
  });
  return buffer;
}

/** Shorthand: all fields u32. */
export function u32Params(...values: number[]): ArrayBuffer {
  return packUniforms(values.map((v) => ['u32', v] as UniformField));
}

/** Max workgroups per grid dimension guaranteed by WebGPU; larger grids spill into y. */
export const MAX_GRID_DIM = 65535;

/**
 * A 1-D grid of `count` workgroups folded into (x, y) so each dimension stays within the limit.
 * Kernels recover the linear id as `wid.x + wid.y * nwg.x` and must bounds-check it.
 */
export function grid1d(count: number): [number, number, number] {
  const n = Math.max(1, Math.ceil(count));
  if (n <= MAX_GRID_DIM) return [n, 1, 1];
  const y = Math.ceil(n / MAX_GRID_DIM);
  return [Math.ceil(n / y), y, 1];
}
