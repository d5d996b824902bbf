// Matrix products C[M,N] = op(A) @ op(B) (+ bias[N]), summed in f32. Reductions: matmul_reduce.wgsl.
// Shapes (row-major): A [M,K] or [K,M] (transA), B [K,N] or [N,K] (transB), C [M,N], bias [N].
// Leading batch dims are already folded into rows by the caller (e.g. [B,T,C] is [B*T, C]).
// A, B and C may each be f32 or f16 (halves two to a u32 word): src/autograd/ops/matmul-source.ts prepends
// their bindings (1-3) with fn mm_a_at / mm_a_at4 (element i, or elements i..i+3), mm_b_*, and
// mm_c_at / mm_c_put2 (wgsl-storage.ts), plus round_half4. For f32 these are the plain array reads
// and writes. HALF_A / HALF_B round f32 operands to f16 as they are loaded (what tensor cores take).
//
// Main kernel (sizes as MATMUL_TILE sets them today): a 128x128 tile of C per workgroup of 256
// threads, 8x8 outputs per thread held in registers, K staged 8 at a time through double-buffered
// workgroup memory (2 x 8 KiB = 16 KiB).
// Global loads run two stages ahead in registers (one barrier per stage), which hides DRAM latency
// when an operand streams from memory. Each thread's 8x8 block is split in 4x4 quarters BM / 2 (BN / 2) apart
// so its workgroup-memory reads are vec4s, conflict-free across a warp. Measured on an H200
// (Dawn/Vulkan): ~28-30 TFLOP/s on the model's shapes, ~0.6x cuBLAS fp32.
// Split-K (grid z > 1): workgroup z covers K in [z*kChunk, (z+1)*kChunk) and writes its partial
// product to scratch [splits, M, N]; mm_reduce (matmul_reduce.wgsl) sums them in a fixed order.

// Sizes and the variant are override constants set by src/autograd/ops/matmul.ts (MATMUL_TILE and
// matmulConstants), the one place they are written; everything below derives from them.
override WG: u32; // threads per workgroup: one 8x8 block of C each, (BM / 8) * (BN / 8)
override BM: u32; // tile rows (M)
override BN: u32; // tile cols (N)
override BK: u32; // K per stage; BM * BK / 4 = BN * BK / 4 = WG, so each thread loads one vec4 of each
override GROUP_M: u32; // tiles along M visited together (keeps B tiles hot in L2)
override TRANS_A: bool; // A is stored [K, M]
override TRANS_B: bool; // B is stored [N, K]
override BIAS: bool; // add bias[N] (binding 4 is a stand-in buffer, never read, when false)
override ACCUMULATE: bool; // C += result instead of C = result (f32 C only)
override HALF_A: bool; // round A's (f32) values to f16 on load
override HALF_B: bool; // round B's (f32) values to f16 on load
override A_ROW4: u32 = BM / 4u; // vec4s per k-row of a stage buffer (of a_tile)
override B_ROW4: u32 = BN / 4u; // vec4s per k-row of b_tile
override K4: u32 = BK / 4u; // vec4s per row of K in a stage
override STAGE: u32 = BK * A_ROW4; // vec4s per stage buffer (= BK * B_ROW4)
override TX: u32 = BN / 8u; // threads across a tile's columns

struct Params {
  M: u32,
  N: u32,
  K: u32,
  kChunk: u32, // K per split (a multiple of BK; >= K when there is no split)
  tilesM: u32,
  tilesN: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// Bindings 1-3 come from the prelude: mm_a [M, K] or [K, M], mm_b [K, N] or [N, K], mm_c [M, N] or
// scratch [splits, M, N] (f32; an f16 C is written here only when N is even and K is not split).
@group(0) @binding(4) var<storage, read> mm_bias: array<f32>; // [N]

// Stage buffers, K-major: a_tile[buf * STAGE + k * A_ROW4 + m / 4][m % 4] holds op(A)[m0 + m, k0 + k].
var<workgroup> a_tile: array<vec4f, 2u * STAGE>; // [2][BK][BM / 4]
var<workgroup> b_tile: array<vec4f, 2u * STAGE>; // [2][BK][BN / 4]

// Per-thread accumulators: acc[2 r + h] = C rows (r < 4 ? 4 ty + r : BM / 2 + 4 ty + r - 4),
// cols BN / 2 * h + 4 tx .. +3. Only ever indexed by constants so they stay in registers.
var<private> acc: array<vec4f, 16>;

// Where this workgroup's tile sits; set by mm_main, read by the stores.
var<private> tile_m0: u32;
var<private> tile_n0: u32;
var<private> out_base: u32;

fn load_a(m0: u32, k0: u32, k_end: u32, lid: u32) -> vec4f {
  var v = vec4f(0.0);
  if (TRANS_A) {
    // A [K, M]: BK rows of k, BM contiguous m; each thread takes 4 consecutive m.
    let k = k0 + lid / A_ROW4;
    let m = m0 + (lid % A_ROW4) * 4u;
    let base = k * p.M + m;
    if (m0 + BM <= p.M && k0 + BK <= k_end) { // whole stage in bounds: no per-element checks
      v = mm_a_at4(base);
    } else if (k < k_end) {
      if (m < p.M) { v.x = mm_a_at(base); }
      if (m + 1u < p.M) { v.y = mm_a_at(base + 1u); }
      if (m + 2u < p.M) { v.z = mm_a_at(base + 2u); }
      if (m + 3u < p.M) { v.w = mm_a_at(base + 3u); }
    }
  } else {
    // A [M, K]: BM rows of m, BK contiguous k; each thread takes 4 consecutive k of one row.
    let m = m0 + lid / K4;
    let k = k0 + (lid % K4) * 4u;
    let base = m * p.K + k;
    if (m0 + BM <= p.M && k0 + BK <= k_end) { // whole stage in bounds: no per-element checks
      v = mm_a_at4(base);
    } else if (m < p.M) {
      if (k < k_end) { v.x = mm_a_at(base); }
      if (k + 1u < k_end) { v.y = mm_a_at(base + 1u); }
      if (k + 2u < k_end) { v.z = mm_a_at(base + 2u); }
      if (k + 3u < k_end) { v.w = mm_a_at(base + 3u); }
    }
  }
  if (HALF_A) { v = round_half4(v); }
  return v;
}

fn store_a(buf: u32, lid: u32, v: vec4f) {
  let s = buf * STAGE;
  if (TRANS_A) {
    a_tile[s + lid] = v; // k = lid / A_ROW4, m = 4 (lid % A_ROW4): already K-major
  } else {
    let m = lid / K4;
    let k = (lid % K4) * 4u;
    let i = s + k * A_ROW4 + m / 4u;
    let c = m % 4u;
    a_tile[i][c] = v.x;
    a_tile[i + A_ROW4][c] = v.y;
    a_tile[i + 2u * A_ROW4][c] = v.z;
    a_tile[i + 3u * A_ROW4][c] = v.w;
  }
}

fn load_b(n0: u32, k0: u32, k_end: u32, lid: u32) -> vec4f {
  var v = vec4f(0.0);
  if (TRANS_B) {
    // B [N, K]: BN rows of n, BK contiguous k.
    let n = n0 + lid / K4;
    let k = k0 + (lid % K4) * 4u;
    let base = n * p.K + k;
    if (n0 + BN <= p.N && k0 + BK <= k_end) { // whole stage in bounds
      v = mm_b_at4(base);
    } else if (n < p.N) {
      if (k < k_end) { v.x = mm_b_at(base); }
      if (k + 1u < k_end) { v.y = mm_b_at(base + 1u); }
      if (k + 2u < k_end) { v.z = mm_b_at(base + 2u); }
      if (k + 3u < k_end) { v.w = mm_b_at(base + 3u); }
    }
  } else {
    // B [K, N]: BK rows of k, BN contiguous n.
    let k = k0 + lid / B_ROW4;
    let n = n0 + (lid % B_ROW4) * 4u;
    let base = k * p.N + n;
    if (n0 + BN <= p.N && k0 + BK <= k_end) { // whole stage in bounds
      v = mm_b_at4(base);
    } else if (k < k_end) {
      if (n < p.N) { v.x = mm_b_at(base); }
      if (n + 1u < p.N) { v.y = mm_b_at(base + 1u); }
      if (n + 2u < p.N) { v.z = mm_b_at(base + 2u); }
      if (n + 3u < p.N) { v.w = mm_b_at(base + 3u); }
    }
  }
  if (HALF_B) { v = round_half4(v); }
  return v;
}

fn store_b(buf: u32, lid: u32, v: vec4f) {
  let s = buf * STAGE;
  if (TRANS_B) {
    let n = lid / K4;
    let k = (lid % K4) * 4u;
    let i = s + k * B_ROW4 + n / 4u;
    let c = n % 4u;
    b_tile[i][c] = v.x;
    b_tile[i + B_ROW4][c] = v.y;
    b_tile[i + 2u * B_ROW4][c] = v.z;
    b_tile[i + 3u * B_ROW4][c] = v.w;
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
// A thread's rows are 4 ty .. +3 and BM / 2 + 4 ty .. +3: vec4s ty and BM / 8 + ty of a k-row.
fn compute_stage(buf: u32, lid: u32) {
  let tx = lid % TX;
  let ty = lid / TX;
  let s = buf * STAGE;
  for (var k = 0u; k < BK; k++) {
    let row_a = s + k * A_ROW4;
    let row_b = s + k * B_ROW4;
    fma_block(a_tile[row_a + ty], a_tile[row_a + A_ROW4 / 2u + ty], b_tile[row_b + tx], b_tile[row_b + B_ROW4 / 2u + tx]);
  }
}

// Computes this workgroup's tile into `acc`. Returns false when the workgroup has no tile
// (the tile grid is folded into x/y and may overshoot).
fn mm_main(wid: vec3u, nwg: vec3u, lid: u32) -> bool {
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
    store_a(0u, lid, load_a(tile_m0, k_start, k_end, lid));
    store_b(0u, lid, load_b(tile_n0, k_start, k_end, lid));
  }
  if (steps > 1u) {
    a_odd = load_a(tile_m0, k_start + BK, k_end, lid);
    b_odd = load_b(tile_n0, k_start + BK, k_end, lid);
  }
  workgroupBarrier();
  for (var step = 0u; step < steps; step += 2u) {
    // Even phase: compute buffer 0, fetch stage step+2, then publish stage step+1 into buffer 1.
    if (step + 2u < steps) {
      a_even = load_a(tile_m0, k_start + (step + 2u) * BK, k_end, lid);
      b_even = load_b(tile_n0, k_start + (step + 2u) * BK, k_end, lid);
    }
    compute_stage(0u, lid);
    if (step + 1u < steps) {
      store_a(1u, lid, a_odd);
      store_b(1u, lid, b_odd);
    }
    workgroupBarrier();
    if (step + 1u < steps) {
      // Odd phase: compute buffer 1, fetch stage step+3, publish stage step+2 into buffer 0.
      if (step + 3u < steps) {
        a_odd = load_a(tile_m0, k_start + (step + 3u) * BK, k_end, lid);
        b_odd = load_b(tile_n0, k_start + (step + 3u) * BK, k_end, lid);
      }
      compute_stage(1u, lid);
      if (step + 2u < steps) {
        store_a(0u, lid, a_even);
        store_b(0u, lid, b_even);
      }
      workgroupBarrier();
    }
  }
  return true;
}

// Writes outputs i and i + 1 (i + 1 only below `end`, its row's end). An f16 C holds the pair in one
// word, so this thread writes the whole word (i is even there: N is even and n a multiple of 4).
fn put2(i: u32, v: vec2f, end: u32) {
  if (ACCUMULATE) {
    var old = vec2f(mm_c_at(i), 0.0);
    if (i + 1u < end) { old.y = mm_c_at(i + 1u); }
    mm_c_put2(i, old + v, end);
  } else {
    mm_c_put2(i, v, end);
  }
}

// Writes 4 consecutive outputs of one row (bounds-checked), with `bias` already added.
fn put4(m: u32, n: u32, v: vec4f) {
  if (m >= p.M) { return; }
  let i = out_base + m * p.N + n;
  let end = i - n + p.N;
  if (n < p.N) { put2(i, v.xy, end); }
  if (n + 2u < p.N) { put2(i + 2u, v.zw, end); }
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
  let m = tile_m0 + (lid / TX) * 4u;
  let n0 = tile_n0 + (lid % TX) * 4u;
  let n1 = n0 + BN / 2u;
  let m1 = m + BM / 2u;
  put4(m, n0, acc[0] + bias0);
  put4(m, n1, acc[1] + bias1);
  put4(m + 1u, n0, acc[2] + bias0);
  put4(m + 1u, n1, acc[3] + bias1);
  put4(m + 2u, n0, acc[4] + bias0);
  put4(m + 2u, n1, acc[5] + bias1);
  put4(m + 3u, n0, acc[6] + bias0);
  put4(m + 3u, n1, acc[7] + bias1);
  put4(m1, n0, acc[8] + bias0);
  put4(m1, n1, acc[9] + bias1);
  put4(m1 + 1u, n0, acc[10] + bias0);
  put4(m1 + 1u, n1, acc[11] + bias1);
  put4(m1 + 2u, n0, acc[12] + bias0);
  put4(m1 + 2u, n1, acc[13] + bias1);
  put4(m1 + 3u, n0, acc[14] + bias0);
  put4(m1 + 3u, n1, acc[15] + bias1);
}

// The one entry point; TRANS_A, TRANS_B, BIAS and ACCUMULATE pick the variant at pipeline creation.
@compute @workgroup_size(WG)
fn mm(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  if (!mm_main(wid, nwg, lid)) { return; }
  if (BIAS) {
    let n0 = tile_n0 + (lid % TX) * 4u;
    store_tile(lid, bias4(n0), bias4(n0 + BN / 2u));
  } else {
    store_tile(lid, vec4f(0.0), vec4f(0.0));
  }
}
