// Casts between f32 and f16 tensors (f16 stored as halves, two to a u32 word: pack2x16float's
// layout, so no shader-f16 is needed). Grids fold into (x, y): i = (wid.x + wid.y * nwg.x) * WG + lid.
// Shapes: x and y hold n = numel values; an f16 buffer holds ceil(n / 2) words.

override WG: u32; // threads per workgroup, set by src/autograd/ops/cast.ts (CAST_WG)

struct Params {
  n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// ---- f32 -> f16: one thread per output word (elements 2w and 2w + 1), rounded to nearest ----
@group(0) @binding(1) var<storage, read> to16_x: array<f32>; // [n]
@group(0) @binding(2) var<storage, read_write> to16_y: array<u32>; // [ceil(n / 2)] words of two halves

@compute @workgroup_size(WG)
fn cast_to_f16(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let w = (wid.x + wid.y * nwg.x) * WG + lid;
  let i = 2u * w;
  if (i >= p.n) { return; }
  let hi = select(0.0, to16_x[i + 1u], i + 1u < p.n); // an odd count's last word has a zero high half
  to16_y[w] = pack2x16float(vec2f(to16_x[i], hi));
}

// ---- f16 -> f32: one thread per element ----
@group(0) @binding(1) var<storage, read> to32_x: array<u32>; // [ceil(n / 2)] words of two halves
@group(0) @binding(2) var<storage, read_write> to32_y: array<f32>; // [n]

@compute @workgroup_size(WG)
fn cast_to_f32(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) { return; }
  to32_y[i] = unpack2x16float(to32_x[i >> 1u])[i & 1u];
}
