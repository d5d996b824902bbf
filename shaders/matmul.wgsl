// Matrix products C[M,N] = op(A) @ op(B) (+ bias[N]), f32. Reductions live in matmul_reduce.wgsl.
// Shapes (row-major): A [M,K] or [K,M] (transA), B [K,N] or [N,K] (transB), C [M,N], bias [N].
// Leading batch dims are already folded into rows by the caller (e.g. [B,T,C] is [B*T, C]).
//
// Main kernel: a 128x128 tile of C per workgroup of 256 threads, 8x8 outputs per thread held in
// registers, K staged 8 at a time through double-buffered workgroup memory (2 x 8 KiB = 16 KiB).
// Global loads run two stages ahead in registers (one barrier per stage), which hides DRAM latency
// when an operand streams from memory. Each thread's 8x8 block is split in 4x4 quarters 64 apart
// so its workgroup-memory reads are vec4s, conflict-free across a warp. Measured on an H200
// (Dawn/Vulkan): ~28-30 TFLOP/s on the model's shapes, ~0.6x cuBLAS fp32.
// Split-K (grid z > 1): workgroup z covers K in [z*kChunk, (z+1)*kChunk) and writes its partial
// product to scratch [splits, M, N]; mm_reduce (matmul_reduce.wgsl) sums them in a fixed order.

const BM: u32 = 128u; // tile rows (M)
const BN: u32 = 128u; // tile cols (N)
const BK: u32 = 8u; // K per stage
const STAGE: u32 = 256u; // vec4s per stage buffer: BK * BM / 4 (= BK * BN / 4)
const GROUP_M: u32 = 8u; // tiles along M visited together (keeps B tiles hot in L2)

struct Params {
  M: u32,
  N: u32,
  K: u32,
  kChunk: u32, // K per split (a multiple of BK; >= K when there is no split)
  tilesM: u32,
  tilesN: u32,
  accumulate: u32, // 1: C += result, 0: C = result
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> mm_a: array<f32>; // [M, K] or [K, M]
@group(0) @binding(2) var<storage, read> mm_b: array<f32>; // [K, N] or [N, K]
@group(0) @binding(3) var<storage, read_write> mm_c: array<f32>; // [M, N], or scratch [splits, M, N]
@group(0) @binding(4) var<storage, read> mm_bias: array<f32>; // [N]

// Stage buffers, K-major: a_tile[buf * STAGE + k * 32 + m / 4][m % 4] holds op(A)[m0 + m, k0 + k].
var<workgroup> a_tile: array<vec4f, 512>; // [2][BK][BM / 4]
var<workgroup> b_tile: array<vec4f, 512>; // [2][BK][BN / 4]

// Per-thread accumulators: acc[2 r + h] = C rows (r < 4 ? 4 ty + r : 64 + 4 ty + r - 4),
// cols 64 h + 4 tx .. +3. Only ever indexed by constants so they stay in registers.
var<private> acc: array<vec4f, 16>;

// Where this workgroup's tile sits; set by mm_main, read by the stores.
var<private> tile_m0: u32;
var<private> tile_n0: u32;
var<private> out_base: u32;

fn load_a(trans: bool, m0: u32, k0: u32, k_end: u32, lid: u32) -> vec4f {
  var v = vec4f(0.0);
  if (trans) {
    // A [K, M]: 8 rows of k, 128 contiguous m; each thread takes 4 consecutive m.
    let k = k0 + lid / 32u;
    let m = m0 + (lid % 32u) * 4u;
    let base = k * p.M + m;
    if (m0 + BM <= p.M && k0 + BK <= k_end) { // whole stage in bounds: no per-element checks
      v = vec4f(mm_a[base], mm_a[base + 1u], mm_a[base + 2u], mm_a[base + 3u]);
    } else if (k < k_end) {
      if (m < p.M) { v.x = mm_a[base]; }
      if (m + 1u < p.M) { v.y = mm_a[base + 1u]; }
      if (m + 2u < p.M) { v.z = mm_a[base + 2u]; }
      if (m + 3u < p.M) { v.w = mm_a[base + 3u]; }
    }
  } else {
    // A [M, K]: 128 rows of m, 8 contiguous k; each thread takes 4 consecutive k of one row.
    let m = m0 + lid / 2u;
    let k = k0 + (lid % 2u) * 4u;
    let base = m * p.K + k;
    if (m0 + BM <= p.M && k0 + BK <= k_end) { // whole stage in bounds: no per-element checks
      v = vec4f(mm_a[base], mm_a[base + 1u], mm_a[base + 2u], mm_a[base + 3u]);
    } else if (m < p.M) {
      if (k < k_end) { v.x = mm_a[base]; }
      if (k + 1u < k_end) { v.y = mm_a[base + 1u]; }
      if (k + 2u < k_end) { v.z = mm_a[base + 2u]; }
      if (k + 3u < k_end) { v.w = mm_a[base + 3u]; }
    }
  }
  return v;
}

fn store_a(trans: bool, buf: u32, lid: u32, v: vec4f) {
  let s = buf * STAGE;
  if (trans) {
    a_tile[s + lid] = v; // k = lid / 32, m = 4 (lid % 32): already K-major
  } else {
    let m = lid / 2u;
    let k = (lid % 2u) * 4u;
    let i = s + k * 32u + m / 4u;
    let c = m % 4u;
    a_tile[i][c] = v.x;
    a_tile[i + 32u][c] = v.y;
    a_tile[i + 64u][c] = v.z;
    a_tile[i + 96u][c] = v.w;
  }
}

fn load_b(trans: bool, n0: u32, k0: u32, k_end: u32, lid: u32) -> vec4f {
  var v = vec4f(0.0);
  if (trans) {
    // B [N, K]: 128 rows of n, 8 contiguous k.
    let n = n0 + lid / 2u;
    let k = k0 + (lid % 2u) * 4u;
    let base = n * p.K + k;
    if (n0 + BN <= p.N && k0 + BK <= k_end) { // whole stage in bounds
      v = vec4f(mm_b[base], mm_b[base + 1u], mm_b[base + 2u], mm_b[base + 3u]);
    } else if (n < p.N) {
      if (k < k_end) { v.x = mm_b[base]; }
      if (k + 1u < k_end) { v.y = mm_b[base + 1u]; }
      if (k + 2u < k_end) { v.z = mm_b[base + 2u]; }
      if (k + 3u < k_end) { v.w = mm_b[base + 3u]; }
    }
  } else {
    // B [K, N]: 8 rows of k, 128 contiguous n.
    let k = k0 + lid / 32u;
    let n = n0 + (lid % 32u) * 4u;
    let base = k * p.N + n;
    if (n0 + BN <= p.N && k0 + BK <= k_end) { // whole stage in bounds
      v = vec4f(mm_b[base], mm_b[base + 1u], mm_b[base + 2u], mm_b[base + 3u]);
    } else if (k < k_end) {
      if (n < p.N) { v.x = mm_b[base]; }
      if (n + 1u < p.N) { v.y = mm_b[base + 1u]; }
      if (n + 2u < p.N) { v.z = mm_b[base + 2u]; }
      if (n + 3u < p.N) { v.w = mm_b[base + 3u]; }
    }
  }
  return v;
}

fn store_b(trans: bool, buf: u32, lid: u32, v: vec4f) {
  let s = buf * STAGE;
  if (trans) {
    let n = lid / 2u;
    let k = (lid % 2u) * 4u;
    let i = s + k * 32u + n / 4u;
    let c = n % 4u;
    b_tile[i][c] = v.x;
    b_tile[i + 32u][c] = v.y;
    b_tile[i + 64u][c] = v.z;
    b_tile[i + 96u][c] = v.w;
  } else {
    b_tile[s + lid] = v;
  }
}

// One K-step of the 8x8 register block: 64 FMAs from 4 vec4 reads.
fn fma_block(a0: vec4f, a1: vec4f, b0: vec4f, b1: vec4f) {
  acc[0] = fma(vec4f(a0.x), b0, acc[0]);
  acc[1] = fma(vec4f(a0.x), b1, acc[1]);
  acc[2] = fma(vec4f(a0.y), b0, acc[2]);
  acc[3] = fma(vec4f(a0.y), b1, acc[3]);
  acc[4] = fma(vec4f(a0.z), b0, acc[4]);
  acc[5] = fma(vec4f(a0.z), b1, acc[5]);
  acc[6] = fma(vec4f(a0.w), b0, acc[6]);
  acc[7] = fma(vec4f(a0.w), b1, acc[7]);
  acc[8] = fma(vec4f(a1.x), b0, acc[8]);
  acc[9] = fma(vec4f(a1.x), b1, acc[9]);
  acc[10] = fma(vec4f(a1.y), b0, acc[10]);
  acc[11] = fma(vec4f(a1.y), b1, acc[11]);
  acc[12] = fma(vec4f(a1.z), b0, acc[12]);
  acc[13] = fma(vec4f(a1.z), b1, acc[13]);
  acc[14] = fma(vec4f(a1.w), b0, acc[14]);
  acc[15] = fma(vec4f(a1.w), b1, acc[15]);
}

// One K-stage from workgroup memory into the register block.
fn compute_stage(buf: u32, lid: u32) {
  let tx = lid % 16u;
  let ty = lid / 16u;
  let s = buf * STAGE;
  for (var k = 0u; k < BK; k++) {
    let row = s + k * 32u;
    fma_block(a_tile[row + ty], a_tile[row + 16u + ty], b_tile[row + tx], b_tile[row + 16u + tx]);
  }
}

// Computes this workgroup's tile into `acc`. Returns false when the workgroup has no tile
// (the tile grid is folded into x/y and may overshoot).
fn mm_main(trans_a: bool, trans_b: bool, wid: vec3u, nwg: vec3u, lid: u32) -> bool {
  let id = wid.x + wid.y * nwg.x;
  let tiles = p.tilesM * p.tilesN;
  if (id >= tiles) { return false; }
  // Grouped order: GROUP_M tiles down M, then across N, so concurrent workgroups share B tiles.
  let per_group = GROUP_M * p.tilesN;
  let first_m = (id / per_group) * GROUP_M;
  let group_rows = min(p.tilesM - first_m, GROUP_M);
  let in_group = id % per_group;
  tile_m0 = (first_m + in_group % group_rows) * BM;
  tile_n0 = (in_group / group_rows) * BN;
  out_base = wid.z * p.M * p.N;

  let k_start = wid.z * p.kChunk;
  let k_end = min(p.K, k_start + p.kChunk);
  var steps = 0u;
  if (k_end > k_start) { steps = (k_end - k_start + BK - 1u) / BK; }

  // Two-deep pipeline: stage s+2 is fetched from global memory into registers while stage s is
  // consumed and stage s+1 (fetched one phase earlier) is written to the other buffer. Two compute
  // phases of latency hiding matter when operands stream from DRAM (the LM head's gradients).
  var a_even = vec4f(0.0); // stages 0, 2, 4, ... (buffer 0)
  var b_even = vec4f(0.0);
  var a_odd = vec4f(0.0); // stages 1, 3, 5, ... (buffer 1)
  var b_odd = vec4f(0.0);
  if (steps > 0u) {
    store_a(trans_a, 0u, lid, load_a(trans_a, tile_m0, k_start, k_end, lid));
    store_b(trans_b, 0u, lid, load_b(trans_b, tile_n0, k_start, k_end, lid));
  }
  if (steps > 1u) {
    a_odd = load_a(trans_a, tile_m0, k_start + BK, k_end, lid);
    b_odd = load_b(trans_b, tile_n0, k_start + BK, k_end, lid);
  }
  workgroupBarrier();
  for (var step = 0u; step < steps; step += 2u) {
    // Even phase: compute buffer 0, fetch stage step+2, then publish stage step+1 into buffer 1.
    if (step + 2u < steps) {
      a_even = load_a(trans_a, tile_m0, k_start + (step + 2u) * BK, k_end, lid);
      b_even = load_b(trans_b, tile_n0, k_start + (step + 2u) * BK, k_end, lid);
    }
    compute_stage(0u, lid);
    if (step + 1u < steps) {
      store_a(trans_a, 1u, lid, a_odd);
      store_b(trans_b, 1u, lid, b_odd);
    }
    workgroupBarrier();
    if (step + 1u < steps) {
      // Odd phase: compute buffer 1, fetch stage step+3, publish stage step+2 into buffer 0.
      if (step + 3u < steps) {
        a_odd = load_a(trans_a, tile_m0, k_start + (step + 3u) * BK, k_end, lid);
        b_odd = load_b(trans_b, tile_n0, k_start + (step + 3u) * BK, k_end, lid);
      }
      compute_stage(1u, lid);
      if (step + 2u < steps) {
        store_a(trans_a, 0u, lid, a_even);
        store_b(trans_b, 0u, lid, b_even);
      }
      workgroupBarrier();
    }
  }
  return true;
}

fn put(i: u32, v: f32) {
  if (p.accumulate == 1u) {
    mm_c[i] = mm_c[i] + v;
  } else {
    mm_c[i] = v;
  }
}

// Writes 4 consecutive outputs of one row (bounds-checked), with `bias` already added.
fn put4(m: u32, n: u32, v: vec4f) {
  if (m >= p.M) { return; }
  let i = out_base + m * p.N + n;
  if (n < p.N) { put(i, v.x); }
  if (n + 1u < p.N) { put(i + 1u, v.y); }
  if (n + 2u < p.N) { put(i + 2u, v.z); }
  if (n + 3u < p.N) { put(i + 3u, v.w); }
}

fn bias4(n: u32) -> vec4f {
  var v = vec4f(0.0);
  if (n < p.N) { v.x = mm_bias[n]; }
  if (n + 1u < p.N) { v.y = mm_bias[n + 1u]; }
  if (n + 2u < p.N) { v.z = mm_bias[n + 2u]; }
  if (n + 3u < p.N) { v.w = mm_bias[n + 3u]; }
  return v;
}

fn store_tile(lid: u32, bias0: vec4f, bias1: vec4f) {
  let m = tile_m0 + (lid / 16u) * 4u;
  let n0 = tile_n0 + (lid % 16u) * 4u;
  let n1 = n0 + 64u;
  put4(m, n0, acc[0] + bias0);
  put4(m, n1, acc[1] + bias1);
  put4(m + 1u, n0, acc[2] + bias0);
  put4(m + 1u, n1, acc[3] + bias1);
  put4(m + 2u, n0, acc[4] + bias0);
  put4(m + 2u, n1, acc[5] + bias1);
  put4(m + 3u, n0, acc[6] + bias0);
  put4(m + 3u, n1, acc[7] + bias1);
  put4(m + 64u, n0, acc[8] + bias0);
  put4(m + 64u, n1, acc[9] + bias1);
  put4(m + 65u, n0, acc[10] + bias0);
  put4(m + 65u, n1, acc[11] + bias1);
  put4(m + 66u, n0, acc[12] + bias0);
  put4(m + 66u, n1, acc[13] + bias1);
  put4(m + 67u, n0, acc[14] + bias0);
  put4(m + 67u, n1, acc[15] + bias1);
}

fn mm_run(trans_a: bool, trans_b: bool, wid: vec3u, nwg: vec3u, lid: u32) {
  if (mm_main(trans_a, trans_b, wid, nwg, lid)) { store_tile(lid, vec4f(0.0), vec4f(0.0)); }
}

fn mm_run_bias(trans_a: bool, trans_b: bool, wid: vec3u, nwg: vec3u, lid: u32) {
  if (mm_main(trans_a, trans_b, wid, nwg, lid)) {
    let n0 = tile_n0 + (lid % 16u) * 4u;
    store_tile(lid, bias4(n0), bias4(n0 + 64u));
  }
}

// Entry points: mm_<op(A)><op(B)>[_bias], n = as stored, t = transposed.
@compute @workgroup_size(256)
fn mm_nn(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  mm_run(false, false, wid, nwg, lid);
}
@compute @workgroup_size(256)
fn mm_nt(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  mm_run(false, true, wid, nwg, lid);
}
@compute @workgroup_size(256)
fn mm_tn(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  mm_run(true, false, wid, nwg, lid);
}
@compute @workgroup_size(256)
fn mm_tt(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  mm_run(true, true, wid, nwg, lid);
}
@compute @workgroup_size(256)
fn mm_nn_bias(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  mm_run_bias(false, false, wid, nwg, lid);
}
@compute @workgroup_size(256)
fn mm_nt_bias(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  mm_run_bias(false, true, wid, nwg, lid);
}
@compute @workgroup_size(256)
fn mm_tn_bias(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  mm_run_bias(true, false, wid, nwg, lid);
}
@compute @workgroup_size(256)
fn mm_tt_bias(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  mm_run_bias(true, true, wid, nwg, lid);
}
