// LayerNorm over the last axis, PyTorch semantics: y = (x - mean) / sqrt(var + eps) * w + b with the
// biased variance. Rows are N = numel / C. Grids fold into (x, y): id = wid.x + wid.y * nwg.x.
// A thread owns columns c = lid + k * LN_WG (k < LN_MAXK), so C <= LN_WG * LN_MAXK = 2048.
// y is f32 or f16 (halves two to a word): its binding `ln_y` (4) and its stores `ln_y_set` (one
// element) and `ln_y_flush` (after a row's stores) come from src/autograd/ops/layernorm.ts, placed
// before this source with the LN_MAXK const block.

struct Params {
  rows: u32,       // N
  C: u32,
  eps: f32,
  chunk_rows: u32, // backward: rows per partial-sum chunk
  chunks: u32,     // backward: number of chunks P
  col_offset: u32, // param-grad reduce: 0 (weight half of the partials) or C (bias half)
  accumulate: u32, // param-grad reduce: 1: out += result (gradient slots), 0: out = result
}

@group(0) @binding(0) var<uniform> p: Params;

// Sizes are set by src/autograd/ops/layernorm.ts (LAYERNORM_SIZES): overrides, and LN_MAXK (columns
// per thread, a const because it sizes private arrays) in a const block placed before this source.
override LN_WG: u32; // threads per row, a power of two (the tree sums halve it)
override LNR_WG: u32; // layernorm_param_grad: threads per workgroup
override LNR_COLS: u32; // layernorm_param_grad: columns per workgroup
override LNR_LANES: u32 = LNR_WG / LNR_COLS; // layernorm_param_grad: lanes per column

var<workgroup> ln_red: array<f32, LN_WG>;
var<workgroup> ln_red2: array<vec2<f32>, LN_WG>;

// Tree sum over the workgroup in a fixed order (deterministic). Call from uniform control flow.
fn ln_sum(lid: u32, v: f32) -> f32 {
  ln_red[lid] = v;
  workgroupBarrier();
  for (var s = LN_WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { ln_red[lid] += ln_red[lid + s]; }
    workgroupBarrier();
  }
  let total = ln_red[0];
  workgroupBarrier(); // the next call overwrites ln_red
  return total;
}

fn ln_sum2(lid: u32, v: vec2<f32>) -> vec2<f32> {
  ln_red2[lid] = v;
  workgroupBarrier();
  for (var s = LN_WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { ln_red2[lid] += ln_red2[lid + s]; }
    workgroupBarrier();
  }
  let total = ln_red2[0];
  workgroupBarrier();
  return total;
}

// ---- forward: one workgroup per row; two passes (mean, then squared deviations) over values held
// in registers. Values are first shifted by the row's first element, so the sums run at the scale
// of the spread rather than of the mean: accurate even when |mean| >> std ----
@group(0) @binding(1) var<storage, read> ln_x: array<f32>;        // [N, C]
@group(0) @binding(2) var<storage, read> ln_w: array<f32>;        // [C]
@group(0) @binding(3) var<storage, read> ln_b: array<f32>;        // [C]
// binding 4: ln_y [N, C], generated
@group(0) @binding(5) var<storage, read_write> ln_mean: array<f32>; // [N]
@group(0) @binding(6) var<storage, read_write> ln_rstd: array<f32>; // [N]

@compute @workgroup_size(LN_WG)
fn layernorm_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let C = p.C;
  let base = row * C;
  let pivot = ln_x[base];
  var xs: array<f32, LN_MAXK>; // x - pivot
  var s = 0.0;
  for (var k = 0u; k < LN_MAXK; k++) {
    let c = lid + k * LN_WG;
    xs[k] = 0.0;
    if (c < C) {
      xs[k] = ln_x[base + c] - pivot;
      s += xs[k];
    }
  }
  let mean = ln_sum(lid, s) / f32(C); // mean of x - pivot
  var ss = 0.0;
  for (var k = 0u; k < LN_MAXK; k++) {
    let c = lid + k * LN_WG;
    if (c < C) {
      let d = xs[k] - mean;
      ss += d * d;
    }
  }
  let rstd = 1.0 / sqrt(ln_sum(lid, ss) / f32(C) + p.eps);
  for (var k = 0u; k < LN_MAXK; k++) {
    let c = lid + k * LN_WG;
    if (c < C) {
      ln_y_set(base, c, (xs[k] - mean) * rstd * ln_w[c] + ln_b[c]);
    }
  }
  ln_y_flush(lid, base, C);
  if (lid == 0u) {
    ln_mean[row] = pivot + mean;
    ln_rstd[row] = rstd;
  }
}

// ---- backward, stage 1: one workgroup per chunk of rows. dx per row (row-owned):
//   xhat = (x - mean) * rstd, g = dy * w, dx = rstd * (g - mean_c(g) - xhat * mean_c(g * xhat));
// and per-chunk partial sums of dw = sum dy * xhat and db = sum dy, each column owned by one thread ----
@group(0) @binding(1) var<storage, read> lnB_x: array<f32>;          // [N, C]
@group(0) @binding(2) var<storage, read> lnB_w: array<f32>;          // [C]
@group(0) @binding(3) var<storage, read> lnB_mean: array<f32>;       // [N]
@group(0) @binding(4) var<storage, read> lnB_rstd: array<f32>;       // [N]
@group(0) @binding(5) var<storage, read> lnB_dy: array<f32>;         // [N, C]
@group(0) @binding(6) var<storage, read_write> lnB_dx: array<f32>;   // [N, C]
@group(0) @binding(7) var<storage, read_write> lnB_part: array<f32>; // [P, 2, C]: dw partials then db partials

@compute @workgroup_size(LN_WG)
fn layernorm_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let chunk = wid.x + wid.y * nwg.x;
  if (chunk >= p.chunks) { return; }
  let C = p.C;
  let invC = 1.0 / f32(C);
  var dw_acc: array<f32, LN_MAXK>;
  var db_acc: array<f32, LN_MAXK>;
  for (var k = 0u; k < LN_MAXK; k++) {
    dw_acc[k] = 0.0;
    db_acc[k] = 0.0;
  }
  let row0 = chunk * p.chunk_rows;
  let row1 = min(row0 + p.chunk_rows, p.rows);
  for (var row = row0; row < row1; row++) {
    let base = row * C;
    let mean = lnB_mean[row];
    let rstd = lnB_rstd[row];
    var xh: array<f32, LN_MAXK>;
    var g: array<f32, LN_MAXK>;
    var sums = vec2<f32>(0.0, 0.0);
    for (var k = 0u; k < LN_MAXK; k++) {
      let c = lid + k * LN_WG;
      xh[k] = 0.0;
      g[k] = 0.0;
      if (c < C) {
        let dy = lnB_dy[base + c];
        xh[k] = (lnB_x[base + c] - mean) * rstd;
        g[k] = dy * lnB_w[c];
        sums += vec2<f32>(g[k], g[k] * xh[k]);
        dw_acc[k] += dy * xh[k];
        db_acc[k] += dy;
      }
    }
    let m = ln_sum2(lid, sums) * invC;
    for (var k = 0u; k < LN_MAXK; k++) {
      let c = lid + k * LN_WG;
      if (c < C) {
        lnB_dx[base + c] = rstd * (g[k] - m.x - xh[k] * m.y);
      }
    }
  }
  let pbase = chunk * 2u * C;
  for (var k = 0u; k < LN_MAXK; k++) {
    let c = lid + k * LN_WG;
    if (c < C) {
      lnB_part[pbase + c] = dw_acc[k];
      lnB_part[pbase + C + c] = db_acc[k];
    }
  }
}

// ---- backward, stage 2: out[c] = sum over chunks of partials, in a fixed order. A workgroup takes
// LNR_COLS columns; LNR_LANES lanes per column sum strided chunks, then lane 0 adds the lane sums in order ----
@group(0) @binding(1) var<storage, read> lnR_part: array<f32>;       // [P, 2, C]
@group(0) @binding(2) var<storage, read_write> lnR_out: array<f32>;  // [C]

var<workgroup> lnR_red: array<f32, LNR_WG>;

@compute @workgroup_size(LNR_WG)
fn layernorm_param_grad(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let C = p.C;
  let col = (wid.x + wid.y * nwg.x) * LNR_COLS + lid % LNR_COLS;
  let lane = lid / LNR_COLS;
  var s = 0.0;
  if (col < C) {
    for (var k = lane; k < p.chunks; k += LNR_LANES) {
      s += lnR_part[k * 2u * C + p.col_offset + col];
    }
  }
  lnR_red[lid] = s;
  workgroupBarrier();
  if (lane == 0u && col < C) {
    var total = 0.0;
    for (var j = 0u; j < LNR_LANES; j++) { total += lnR_red[j * LNR_COLS + lid]; }
    if (p.accumulate == 1u) {
      lnR_out[col] = lnR_out[col] + total;
    } else {
      lnR_out[col] = total;
    }
  }
}
