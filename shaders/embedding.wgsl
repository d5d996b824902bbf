// Token + position embedding: x[b, t, :] = wte[idx[b, t], :] + wpe[offset + t, :], offset = pos[0]
// (KV-cache decoding) or 0. Out-of-range token ids or positions contribute a zero row (never read out
// of bounds) and receive no gradient. Grids fold into (x, y): id = wid.x + wid.y * nwg.x.

struct Params {
  rows: u32,       // B * T
  T: u32,
  C: u32,
  V: u32,
  maxT: u32,
  accumulate: u32, // backward: 1: out += result (gradient slots), 0: out = result
}

@group(0) @binding(0) var<uniform> p: Params;

// Sizes are set by src/autograd/ops/embedding.ts (EMBEDDING_SIZES): overrides, and WTE_PER (it sizes
// a private array, so it is a const) in a const block placed before this source.
override WG: u32; // threads per workgroup
override WTE_VB: u32; // dwte: vocab rows per workgroup
override WTE_CHUNK: u32 = WG * WTE_PER; // dwte: idx rows scanned per chunk

// ---- forward, flat over B * T * C ----
@group(0) @binding(1) var<storage, read> emb_idx: array<i32>;  // [B, T]
@group(0) @binding(2) var<storage, read> emb_wte: array<f32>;  // [V, C]
@group(0) @binding(3) var<storage, read> emb_wpe: array<f32>;  // [maxT, C]
@group(0) @binding(4) var<storage, read_write> emb_out: array<f32>;   // [B, T, C] (no pos input)
@group(0) @binding(4) var<storage, read> emb_pos: array<i32>;         // [1] (with pos input)
@group(0) @binding(5) var<storage, read_write> emb_out_p: array<f32>; // [B, T, C] (with pos input)

fn emb_value(i: u32, offset: i32) -> f32 {
  let row = i / p.C;
  let c = i % p.C;
  let tok = emb_idx[row];
  let t = offset + i32(row % p.T);
  var v = 0.0;
  if (tok >= 0 && u32(tok) < p.V) { v = emb_wte[u32(tok) * p.C + c]; }
  if (t >= 0 && u32(t) < p.maxT) { v += emb_wpe[u32(t) * p.C + c]; }
  return v;
}

@compute @workgroup_size(WG)
fn embedding_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.rows * p.C) { return; }
  emb_out[i] = emb_value(i, 0);
}

@compute @workgroup_size(WG)
fn embedding_forward_pos(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.rows * p.C) { return; }
  emb_out_p[i] = emb_value(i, emb_pos[0]);
}

// ---- dwte: dwte[v, :] = sum of dx[r, :] over rows r (= b * T + t) with idx[r] == v, in increasing r.
// A workgroup owns WTE_VB vocab rows x WG columns and keeps their sums in workgroup memory. It scans
// idx in chunks of WTE_CHUNK rows (WTE_PER per thread); a prefix sum over the threads' match counts compacts the
// matches, in row order, into a list; then each thread adds the listed dx rows into its column. The
// scan is cheap (idx is small and cached); the adds total B*T*C over all workgroups. ----
@group(0) @binding(1) var<storage, read> wteB_idx: array<i32>;        // [B, T]
@group(0) @binding(2) var<storage, read> wteB_dx: array<f32>;         // [B, T, C]
@group(0) @binding(3) var<storage, read_write> wteB_out: array<f32>;  // [V, C]

var<workgroup> wte_acc: array<f32, WTE_VB * WG>; // [WTE_VB, WG] column sums
var<workgroup> wte_list: array<u32, WTE_CHUNK>;  // matches of the chunk: row * WTE_VB + (v - v0)
var<workgroup> wte_scan: array<u32, WG>;         // inclusive prefix sum of per-thread match counts

@compute @workgroup_size(WG)
fn embedding_wte_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let tiles = (p.C + WG - 1u) / WG;
  let blocks = (p.V + WTE_VB - 1u) / WTE_VB;
  let g = wid.x + wid.y * nwg.x;
  if (g >= blocks * tiles) { return; }
  let v0 = (g / tiles) * WTE_VB;
  let c = (g % tiles) * WG + lid;
  let C = p.C;
  // Each thread only touches its own column of wte_acc, so no barrier is needed around these.
  for (var j = 0u; j < WTE_VB; j++) { wte_acc[j * WG + lid] = 0.0; }
  for (var start = 0u; start < p.rows; start += WTE_CHUNK) {
    var mine: array<u32, WTE_PER>;
    var n = 0u;
    for (var j = 0u; j < WTE_PER; j++) {
      let r = start + lid * WTE_PER + j;
      if (r < p.rows) {
        let tok = wteB_idx[r];
        if (tok >= i32(v0) && tok < i32(v0 + WTE_VB) && u32(tok) < p.V) {
          mine[n] = r * WTE_VB + (u32(tok) - v0);
          n++;
        }
      }
    }
    // Hillis-Steele inclusive scan of the counts (threads hold consecutive rows, so the list stays in row order).
    wte_scan[lid] = n;
    workgroupBarrier();
    for (var off = 1u; off < WG; off <<= 1u) {
      var add = 0u;
      if (lid >= off) { add = wte_scan[lid - off]; }
      workgroupBarrier();
      wte_scan[lid] += add;
      workgroupBarrier();
    }
    let first = wte_scan[lid] - n;
    let total = wte_scan[WG - 1u];
    for (var j = 0u; j < n; j++) { wte_list[first + j] = mine[j]; }
    workgroupBarrier();
    if (c < C) {
      // Loads four dx values before adding them (in list order) to overlap global-memory latency.
      var m = 0u;
      for (; m + 4u <= total; m += 4u) {
        let e0 = wte_list[m];
        let e1 = wte_list[m + 1u];
        let e2 = wte_list[m + 2u];
        let e3 = wte_list[m + 3u];
        let d0 = wteB_dx[(e0 / WTE_VB) * C + c];
        let d1 = wteB_dx[(e1 / WTE_VB) * C + c];
        let d2 = wteB_dx[(e2 / WTE_VB) * C + c];
        let d3 = wteB_dx[(e3 / WTE_VB) * C + c];
        wte_acc[(e0 % WTE_VB) * WG + lid] += d0;
        wte_acc[(e1 % WTE_VB) * WG + lid] += d1;
        wte_acc[(e2 % WTE_VB) * WG + lid] += d2;
        wte_acc[(e3 % WTE_VB) * WG + lid] += d3;
      }
      for (; m < total; m++) {
        let e = wte_list[m];
        wte_acc[(e % WTE_VB) * WG + lid] += wteB_dx[(e / WTE_VB) * C + c];
      }
    }
    workgroupBarrier(); // the next chunk rewrites wte_scan and wte_list
  }
  if (c < C) {
    for (var j = 0u; j < WTE_VB; j++) {
      let v = v0 + j;
      if (v < p.V) {
        if (p.accumulate == 1u) {
          wteB_out[v * C + c] = wteB_out[v * C + c] + wte_acc[j * WG + lid];
        } else {
          wteB_out[v * C + c] = wte_acc[j * WG + lid];
        }
      }
    }
  }
}

// ---- dwpe: dwpe[offset + t, :] = sum over b (in order) of dx[b, t, :]; other rows get zero. Flat
// over maxT * C ----
@group(0) @binding(1) var<storage, read> wpeB_dx: array<f32>;          // [B, T, C]
@group(0) @binding(2) var<storage, read_write> wpeB_out: array<f32>;   // [maxT, C] (no pos input)
@group(0) @binding(2) var<storage, read> wpeB_pos: array<i32>;         // [1] (with pos input)
@group(0) @binding(3) var<storage, read_write> wpeB_out_p: array<f32>; // [maxT, C] (with pos input)

// Zero for rows no position maps to (adding it leaves an accumulated slot unchanged).
fn wpe_grad(i: u32, offset: i32) -> f32 {
  let C = p.C;
  let t = i32(i / C) - offset;
  if (t < 0 || u32(t) >= p.T) { return 0.0; }
  let B = p.rows / p.T;
  var s = 0.0;
  for (var b = 0u; b < B; b++) { s += wpeB_dx[(b * p.T + u32(t)) * C + i % C]; }
  return s;
}

@compute @workgroup_size(WG)
fn embedding_wpe_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.maxT * p.C) { return; }
  let g = wpe_grad(i, 0);
  if (p.accumulate == 1u) { wpeB_out[i] = wpeB_out[i] + g; } else { wpeB_out[i] = g; }
}

@compute @workgroup_size(WG)
fn embedding_wpe_backward_pos(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.maxT * p.C) { return; }
  let g = wpe_grad(i, wpeB_pos[0]);
  if (p.accumulate == 1u) { wpeB_out_p[i] = wpeB_out_p[i] + g; } else { wpeB_out_p[i] = g; }
}
