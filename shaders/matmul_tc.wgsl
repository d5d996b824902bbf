// Matrix products on tensor cores: C[M,N] = op(A) @ op(B) (+ bias[N]) with f16 operands and f32
// accumulation, through subgroup matrices (chromium_experimental_subgroup_matrix). The shapes and
// the variant match shaders/matmul.wgsl (same params, bindings and split-K scratch), so
// src/autograd/ops/matmul-tc.ts can route any `half` product here where the adapter offers an
// f16 → f32 configuration.
//
// Workgroup: SG_ROWS × SG_COLS subgroups of SG_SIZE invocations. Each subgroup owns TM × TN result
// matrices of MAT_M × MAT_N, so a workgroup's tile is BM = SG_ROWS·TM·MAT_M by BN = SG_COLS·TN·MAT_N.
// K is staged BK at a time through workgroup memory as f16: every invocation converts its share of
// op(A) and op(B) from their storage (f32 rounded to f16, or f16 halves) with the bounds checked,
// so edges and odd sizes need no special case. The results go through a small per-subgroup f32
// tile in workgroup memory to the epilogue (bias, accumulate, f16 output, split-K scratch).
//
// Prepended by matmul-tc.ts: the enables and diagnostic, the const sizes (SG_ROWS, SG_COLS,
// SG_SIZE, TM, TN, MAT_M, MAT_N, MAT_K, BK, A_STRIDE, B_STRIDE), the bindings mm_a, mm_b
// (readers: fn mm_a_at(i) -> f32) and mm_c, and fn c_put_pair(i, w, more, accumulate), which
// stores C[i] (and C[i + 1] when `more`) as f32, or as one f16 word (N even, no accumulate).

override TRANS_A: bool; // A is stored [K, M]
override TRANS_B: bool; // B is stored [N, K]
override BIAS: bool; // add bias[N]
override ACCUMULATE: bool; // C += result (f32 C only)
override SPLIT: bool; // write the partial product to scratch [splits, M, N] (no bias, no accumulate)

const WG: u32 = SG_ROWS * SG_COLS * SG_SIZE;
const BM: u32 = SG_ROWS * TM * MAT_M;
const BN: u32 = SG_COLS * TN * MAT_N;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  kChunk: u32, // K per split (>= K when there is no split)
  tilesM: u32,
  tilesN: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(4) var<storage, read> mm_bias: array<f32>; // [N] (B stands in when there is none)

var<workgroup> a_s: array<f16, BM * A_STRIDE>; // op(A) tile, row-major [BM][A_STRIDE] (BK used)
var<workgroup> b_s: array<f16, BN * B_STRIDE>; // op(B) tile, column-major: [BN][B_STRIDE] holds B[k, n] at n·B_STRIDE + k
var<workgroup> c_s: array<f32, SG_ROWS * SG_COLS * MAT_M * MAT_N>; // one result matrix per subgroup

// Stages K [k0, k0 + BK) of the tile (zeros outside [0, M) × [k0, k_end) and [0, N)); reads run
// along each operand's contiguous axis so neighbouring invocations read neighbouring elements.
fn stage(m0: u32, n0: u32, k0: u32, k_end: u32, lid: u32) {
  for (var i = lid; i < BM * BK; i += WG) {
    var r: u32;
    var kk: u32;
    if (TRANS_A) { kk = i / BM; r = i % BM; } else { r = i / BK; kk = i % BK; }
    let m = m0 + r;
    let k = k0 + kk;
    var v = 0.0;
    if (m < p.M && k < k_end) { v = mm_a_at(select(m * p.K + k, k * p.M + m, TRANS_A)); }
    a_s[r * A_STRIDE + kk] = f16(v);
  }
  for (var i = lid; i < BN * BK; i += WG) {
    var c: u32;
    var kk: u32;
    if (TRANS_B) { c = i / BK; kk = i % BK; } else { kk = i / BN; c = i % BN; }
    let n = n0 + c;
    let k = k0 + kk;
    var v = 0.0;
    if (n < p.N && k < k_end) { v = mm_b_at(select(k * p.N + n, n * p.K + k, TRANS_B)); }
    b_s[c * B_STRIDE + kk] = f16(v);
  }
}

// Writes C[m, n .. n + 1] (n even) from v: to scratch, or to the output with bias / accumulate.
// c_put_pair (prepended: f32 element stores, or one f16 word) does the store.
fn write_pair(m: u32, n: u32, v: vec2f, z: u32) {
  if (m >= p.M || n >= p.N) { return; }
  let more = n + 1u < p.N;
  if (SPLIT) {
    c_put_pair(z * p.M * p.N + m * p.N + n, v, more, false);
    return;
  }
  var w = v;
  if (BIAS) {
    w.x += mm_bias[n];
    if (more) { w.y += mm_bias[n + 1u]; } // no read past the bias (select would read both)
  }
  c_put_pair(m * p.N + n, w, more, ACCUMULATE);
}

@compute @workgroup_size(WG)
fn mm_tc(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_id) sg: u32,
  @builtin(subgroup_invocation_id) lane: u32,
) {
  let tile = wid.x + wid.y * nwg.x;
  if (tile >= p.tilesM * p.tilesN) { return; } // the whole workgroup: still uniform
  let m0 = (tile % p.tilesM) * BM; // tiles down M first: neighbours share B's columns
  let n0 = (tile / p.tilesM) * BN;
  let z = wid.z;
  let k_begin = z * p.kChunk;
  let k_end = min(p.K, k_begin + p.kChunk);
  let sg_row = sg / SG_COLS;
  let sg_col = sg % SG_COLS;

  var acc: array<array<subgroup_matrix_result<f32, MAT_N, MAT_M>, TN>, TM>; // zero-initialised
  for (var k0 = k_begin; k0 < k_end; k0 += BK) {
    stage(m0, n0, k0, k_end, lid);
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk += MAT_K) {
      var left: array<subgroup_matrix_left<f16, MAT_K, MAT_M>, TM>;
      for (var i = 0u; i < TM; i++) {
        let row = (sg_row * TM + i) * MAT_M;
        left[i] = subgroupMatrixLoad<subgroup_matrix_left<f16, MAT_K, MAT_M>>(&a_s, row * A_STRIDE + kk, false, A_STRIDE);
      }
      for (var j = 0u; j < TN; j++) {
        let col = (sg_col * TN + j) * MAT_N;
        let right = subgroupMatrixLoad<subgroup_matrix_right<f16, MAT_N, MAT_K>>(&b_s, col * B_STRIDE + kk, true, B_STRIDE);
        for (var i = 0u; i < TM; i++) {
          acc[i][j] = subgroupMatrixMultiplyAccumulate(left[i], right, acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }

  // Epilogue, one result matrix at a time per subgroup: store it to this subgroup's slice of c_s,
  // then its lanes write column pairs (MAT_N is even, so each pair is one f16 word).
  let base = sg * MAT_M * MAT_N;
  for (var i = 0u; i < TM; i++) {
    for (var j = 0u; j < TN; j++) {
      subgroupMatrixStore(&c_s, base, acc[i][j], false, MAT_N);
      workgroupBarrier();
      for (var e = 2u * lane; e < MAT_M * MAT_N; e += 2u * SG_SIZE) {
        let m = m0 + (sg_row * TM + i) * MAT_M + e / MAT_N;
        let n = n0 + (sg_col * TN + j) * MAT_N + e % MAT_N;
        write_pair(m, n, vec2f(c_s[base + e], c_s[base + e + 1u]), z);
      }
      workgroupBarrier();
    }
  }
}
