// Fixed-order reductions for matmul: the split-K sum of partial products and the bias gradient
// (column sums of dy). WGSL has no float atomics; summing in a fixed order keeps results deterministic.
// Sizes are override constants set by src/autograd/ops/matmul.ts (REDUCE_WG, BIAS_GRAD).
// The split-K output red_out (binding 2: f32, or f16 halves two to a word) comes from a prelude
// src/autograd/ops/matmul-source.ts prepends (wgsl-storage.ts): fn red_out_at(i) and fn red_out_put2(i, v, n).

override WG: u32; // threads per workgroup
override BG_COLS: u32; // bias_grad_partial: columns per workgroup (WG / 4), 4 row lanes each
override PER: u32; // mm_reduce*: outputs per thread, 1 (f32) or 2 (f16: one packed word each)

// ---- split-K reduction: out[i] (+)= sum_z part[z, i] (+ bias[i % N]), z in order ----
struct ReduceParams {
  MN: u32, // M * N
  N: u32,
  splits: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<uniform> rp: ReduceParams;
@group(0) @binding(1) var<storage, read> red_part: array<f32>; // [splits, M, N]
// binding 2: red_out [M, N] from the prelude
@group(0) @binding(3) var<storage, read> red_bias: array<f32>; // [N]

fn reduce_sum(i: u32) -> f32 {
  var s = 0.0;
  for (var z = 0u; z < rp.splits; z++) { s += red_part[z * rp.MN + i]; }
  return s;
}

// Thread t's outputs are i = t * PER .. end - 1 (PER of them, fewer at the end).
fn reduce_end(i: u32) -> u32 { return min(rp.MN, i + PER); }

fn reduce_pair(i: u32, end: u32) -> vec2f {
  var v = vec2f(reduce_sum(i), 0.0);
  if (i + 1u < end) { v.y = reduce_sum(i + 1u); }
  return v;
}

fn reduce_put2(i: u32, v: vec2f, end: u32) {
  var s = v;
  if (rp.accumulate == 1u) { // f32 output only (matmul.ts refuses accumulating into f16)
    s.x += red_out_at(i);
    if (i + 1u < end) { s.y += red_out_at(i + 1u); }
  }
  red_out_put2(i, s, end);
}

@compute @workgroup_size(WG)
fn mm_reduce(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = ((wid.x + wid.y * nwg.x) * WG + lid) * PER;
  if (i >= rp.MN) { return; }
  let end = reduce_end(i);
  reduce_put2(i, reduce_pair(i, end), end);
}

@compute @workgroup_size(WG)
fn mm_reduce_bias(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = ((wid.x + wid.y * nwg.x) * WG + lid) * PER;
  if (i >= rp.MN) { return; }
  let end = reduce_end(i);
  var v = reduce_pair(i, end);
  v.x += red_bias[i % rp.N];
  if (i + 1u < end) { v.y += red_bias[(i + 1u) % rp.N]; }
  reduce_put2(i, v, end);
}

// ---- bias gradient: dbias[n] = sum over rows of dy[r, n] ----
// Two deterministic passes: bias_grad_partial sums a chunk of rows per workgroup (BG_COLS columns x
// 4 row lanes, coalesced along n) into part[chunk, n]; bias_grad_finish sums the chunks in order.
struct BiasGradParams {
  R: u32, // rows (all leading dims of dy)
  N: u32,
  rowsPerChunk: u32,
  chunks: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<uniform> bp: BiasGradParams;
@group(0) @binding(1) var<storage, read> bg_dy: array<f32>; // [R, N]
@group(0) @binding(2) var<storage, read_write> bg_part: array<f32>; // [chunks, N]

var<workgroup> bg_lanes: array<f32, WG>;

@compute @workgroup_size(WG)
fn bias_grad_partial(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let col = wid.x * BG_COLS + lid % BG_COLS;
  let lane = lid / BG_COLS;
  let r0 = wid.y * bp.rowsPerChunk;
  let r1 = min(bp.R, r0 + bp.rowsPerChunk);
  var s = 0.0;
  if (col < bp.N) {
    for (var r = r0 + lane; r < r1; r += 4u) { s += bg_dy[r * bp.N + col]; }
  }
  bg_lanes[lid] = s;
  workgroupBarrier();
  if (lane == 0u && col < bp.N) {
    let c = lid % BG_COLS;
    bg_part[wid.y * bp.N + col] = (bg_lanes[c] + bg_lanes[c + BG_COLS]) + (bg_lanes[c + 2u * BG_COLS] + bg_lanes[c + 3u * BG_COLS]);
  }
}

@group(0) @binding(1) var<storage, read> bgf_part: array<f32>; // [chunks, N]
@group(0) @binding(2) var<storage, read_write> bgf_out: array<f32>; // [N]

@compute @workgroup_size(WG)
fn bias_grad_finish(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = (wid.x + wid.y * nwg.x) * WG + lid;
  if (n >= bp.N) { return; }
  var s = 0.0;
  for (var z = 0u; z < bp.chunks; z++) { s += bgf_part[z * bp.N + n]; }
  if (bp.accumulate == 1u) {
    bgf_out[n] = bgf_out[n] + s;
  } else {
    bgf_out[n] = s;
  }
}
