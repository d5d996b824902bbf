/**
 * WGSL for storage bindings whose element type a kernel variant chooses: f32, or f16 stored as
 * IEEE halves two to a u32 word (pack2x16float's layout). f16 goes through unpack2x16float and
 * pack2x16float, core WGSL, so it works on every adapter; with `shader-f16` the same bytes are an
 * array<f16>. An op prepends these lines to its shader's source, so one shader serves each dtype.
 */
export type StorageDType = 'f32' | 'f16';

/** A tensor's storage for the generated bindings: f16, or f32 (ops refuse i32 in their shape rules first). */
export const storageOf = (tensor: { dtype: string }): StorageDType => (tensor.dtype === 'f16' ? 'f16' : 'f32');

/** `fn round_half(x: f32) -> f32` and `fn round_half4(v: vec4f) -> vec4f`: the nearest f16 values, as f32. */
export const WGSL_ROUND_HALF = `fn round_half(x: f32) -> f32 { return unpack2x16float(pack2x16float(vec2f(x, 0.0))).x; }
fn round_half4(v: vec4f) -> vec4f {
  return vec4f(unpack2x16float(pack2x16float(v.xy)), unpack2x16float(pack2x16float(v.zw)));
}
`;

/** A read-only binding `name` and `fn name_at(i: u32) -> f32`, element i of the tensor. */
export function wgslReader(name: string, binding: number, dtype: StorageDType): string {
  const decl = `@group(0) @binding(${binding}) var<storage, read> ${name}: array<${dtype === 'f16' ? 'u32' : 'f32'}>;\n`;
  return decl + readerFn(name, dtype);
}

/**
 * A read-write binding `name` with `fn name_at(i: u32) -> f32` and `fn name_put2(i: u32, v: vec2f, n: u32)`,
 * which writes elements i and i + 1 (i even; i + 1 only when below n). An f16 tensor's word holds
 * both halves, so its kernels write pairs: one invocation per word, never two racing on one.
 */
export function wgslWriter(name: string, binding: number, dtype: StorageDType): string {
  const decl = `@group(0) @binding(${binding}) var<storage, read_write> ${name}: array<${dtype === 'f16' ? 'u32' : 'f32'}>;\n`;
  const put2 =
    dtype === 'f16'
      ? `fn ${name}_put2(i: u32, v: vec2f, n: u32) { ${name}[i >> 1u] = pack2x16float(v); }\n`
      : `fn ${name}_put2(i: u32, v: vec2f, n: u32) {\n  ${name}[i] = v.x;\n  if (i + 1u < n) { ${name}[i + 1u] = v.y; }\n}\n`;
  return decl + readerFn(name, dtype) + put2;
}

function readerFn(name: string, dtype: StorageDType): string {
  return dtype === 'f16'
    ? `fn ${name}_at(i: u32) -> f32 { return unpack2x16float(${name}[i >> 1u])[i & 1u]; }\n`
    : `fn ${name}_at(i: u32) -> f32 { return ${name}[i]; }\n`;
}
