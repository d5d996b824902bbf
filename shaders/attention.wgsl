// Fused causal self-attention, HF GPT-2 layout, flash-attention style (no T x T matrix in memory).
// Shapes: qkv [B, T, 3C] = q | k | v along the last dim, head h owns channels [h*HS, (h+1)*HS) of each;
// y, dy [B, T, C] (merged heads); lse, D [B, NH, T]; dqkv [B, T, 3C]. Scale 1/sqrt(HS).
//
// Sizes come from attention.ts (attentionTiles), defined there once:
// - workgroup and tile sizes are `override` constants: WG threads per workgroup, FW_BK keys per staged
//   K/V tile (forward, dQ), KV_BQ query rows per staged tile (dK/dV); workgroup arrays are sized by them.
// - register extents are `const`s that attention.ts writes ahead of this file, because WGSL sizes
//   function-scope arrays by constants only: HS4 = ceil(HS / 4) vec4 chunks per head row; FW_RQ and
//   DQ_RQ query rows per thread (forward, dQ); KV_TPK threads share a key (each holds KV_H4 of its
//   chunks), KV_RK keys per thread (dK/dV, at most 2); FS_RQ rows per lane group in the split forward.
// One of attention_sg.wgsl (subgroup shuffles; it also holds attention_forward_split, the forward used
// with subgroups) or attention_wg.wgsl (workgroup memory) follows this file and defines group_sum4.
// The bindings whose element type depends on the variant (qkv, and y in the forward and in D) are
// written ahead of this file by attention.ts (src/gpu/wgsl-storage.ts): f32, or f16 as halves two to
// a u32 word; kernels touch them only through qkv_at, fw_y_put2 and bd_y_at, and compute in f32.
// Arrays declared inside loops are zeroed explicitly (`array<T, N>()`): SwiftShader was seen keeping
// the previous iteration's values otherwise.
// Each one-line loop marked `// unroll` is expanded by attention.ts into its iterations (nested ones
// too), so per-thread arrays are only indexed by constants and GPU compilers keep them in registers.

override WG: u32;
override FW_BK: u32;
override KV_BQ: u32;

const NEG_BIG: f32 = -3.0e38; // "minus infinity" that stays finite through exp(a - b)

struct Params {
  B: u32,
  T: u32,
  C: u32,
  NH: u32,
  HS: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;

// Shared by the forward, dK/dV and dQ kernels: qkv [B, T, 3C] at binding 1 (generated, f32 or f16).
@group(0) @binding(2) var<storage, read> dy: array<f32>; // [B, T, C] (backward kernels)

// Chunk j (dims 4j..4j+3, zero past HS) of the head row starting at qkv[o].
fn qkv4(o: u32, j: u32) -> vec4f {
  let d = o + j * 4u;
  let n = p.HS - min(j * 4u, p.HS); // dims left in this chunk
  if (n >= 4u) { return vec4f(qkv_at(d), qkv_at(d + 1u), qkv_at(d + 2u), qkv_at(d + 3u)); }
  var r = vec4f(0.0);
  if (n > 0u) { r.x = qkv_at(d); }
  if (n > 1u) { r.y = qkv_at(d + 1u); }
  if (n > 2u) { r.z = qkv_at(d + 2u); }
  return r;
}

fn dy4(o: u32, j: u32) -> vec4f {
  let d = o + j * 4u;
  let n = p.HS - min(j * 4u, p.HS);
  if (n >= 4u) { return vec4f(dy[d], dy[d + 1u], dy[d + 2u], dy[d + 3u]); }
  var r = vec4f(0.0);
  if (n > 0u) { r.x = dy[d]; }
  if (n > 1u) { r.y = dy[d + 1u]; }
  if (n > 2u) { r.z = dy[d + 2u]; }
  return r;
}

fn hsum(v: vec4f) -> f32 {
  return (v.x + v.y) + (v.z + v.w);
}

// Key and value tiles of the forward and dQ kernels (each entry point gets its own copy). All threads
// read the same element at once: a broadcast, no bank conflicts.
var<workgroup> tileK: array<vec4f, FW_BK * HS4>; // [FW_BK, HS4]
var<workgroup> tileV: array<vec4f, FW_BK * HS4>; // [FW_BK, HS4]

// Stages keys and values k0 .. k0 + FW_BK - 1 of one (b, h) into tileK / tileV (zeros past T).
fn stage_kv_tile(base: u32, C3: u32, k0: u32, lid: u32) {
  workgroupBarrier(); // the previous tile's readers are done
  for (var e = lid; e < FW_BK * HS4; e += WG) {
    let tk = k0 + e / HS4;
    var kv = vec4f(0.0);
    var vv = vec4f(0.0);
    if (tk < p.T) {
      kv = qkv4(base + tk * C3 + p.C, e % HS4);
      vv = qkv4(base + tk * C3 + 2u * p.C, e % HS4);
    }
    tileK[e] = kv;
    tileV[e] = vv;
  }
  workgroupBarrier();
}

// ============================== forward ==============================
// One workgroup per (block of WG * FW_RQ query rows, b * NH + h). Thread lid owns rows q0 + lid * FW_RQ + i
// (i < FW_RQ): each K or V chunk read from workgroup memory feeds FW_RQ rows (register blocking). Keys
// stop at the block's last row (causal), and a thread skips the keys past its own last row, so only
// the diagonal costs masked work. Each row keeps its running max m and sum l (online softmax,
// rescaling only when the max grows). lse = m + log(l) is saved for the backward.

// fw_y [B, T, C] at binding 2 (generated, f32 or f16).
@group(0) @binding(3) var<storage, read_write> fw_lse: array<f32>; // [B, NH, T]

// Chunk j of the output row starting at fw_y[o], in pairs: an f16 pair is one word, and a row and its
// chunks start at even offsets when HS is even, so each word is written whole by the one thread that
// owns its chunk (with odd HS, attention.ts binds an f32 scratch here and packs it afterwards).
fn store_y(o: u32, j: u32, v: vec4f) {
  let d = o + j * 4u;
  let n = p.HS - min(j * 4u, p.HS);
  if (n > 0u) { fw_y_put2(d, v.xy, d + n); }
  if (n > 2u) { fw_y_put2(d + 2u, v.zw, d + n); }
}

@compute @workgroup_size(WG)
fn attention_forward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let C3 = 3u * p.C;
  let q0 = wid.x * WG * FW_RQ;
  let bh = wid.y;
  let b = bh / p.NH;
  let h = bh % p.NH;
  let base = b * p.T * C3 + h * p.HS; // qkv offset of (b, t = 0, q part, head h)

  var t: array<u32, FW_RQ>; // this thread's rows
  var q: array<vec4f, FW_RQ * HS4>; // [FW_RQ, HS4] scale * q
  var acc: array<vec4f, FW_RQ * HS4>; // [FW_RQ, HS4] sum over keys of exp(s - m) v
  var m: array<f32, FW_RQ>;
  var l: array<f32, FW_RQ>;
  for (var i = 0u; i < FW_RQ; i++) { t[i] = q0 + lid * FW_RQ + i; m[i] = NEG_BIG; } // unroll
  for (var i = 0u; i < FW_RQ; i++) { if (t[i] < p.T) { let qo = base + t[i] * C3; for (var j = 0u; j < HS4; j++) { q[i * HS4 + j] = qkv4(qo, j) * p.scale; } } } // unroll

  let kEnd = min(q0 + WG * FW_RQ, p.T);
  for (var k0 = 0u; k0 < kEnd; k0 += FW_BK) {
    stage_kv_tile(base, C3, k0, lid);
    let cEnd = min(FW_BK, kEnd - k0);
    let cMine = min(cEnd, select(0u, t[FW_RQ - 1u] + 1u - min(k0, t[FW_RQ - 1u] + 1u), t[0] < p.T)); // keys this thread sees
    for (var c = 0u; c < cMine; c++) {
      let kc = c * HS4;
      var d = array<vec4f, FW_RQ>();
      for (var j = 0u; j < HS4; j++) { let kv = tileK[kc + j]; for (var i = 0u; i < FW_RQ; i++) { d[i] = fma(q[i * HS4 + j], kv, d[i]); } } // unroll
      var pr = array<f32, FW_RQ>(); // 0 for keys a row must not see (past it, or padding past T)
      for (var i = 0u; i < FW_RQ; i++) { if (k0 + c <= t[i]) { let x = hsum(d[i]); if (x > m[i]) { let a = exp(m[i] - x); l[i] *= a; for (var j = 0u; j < HS4; j++) { acc[i * HS4 + j] *= a; } m[i] = x; } pr[i] = exp(x - m[i]); l[i] += pr[i]; } } // unroll
      for (var j = 0u; j < HS4; j++) { let vv = tileV[kc + j]; for (var i = 0u; i < FW_RQ; i++) { acc[i * HS4 + j] = fma(vec4f(pr[i]), vv, acc[i * HS4 + j]); } } // unroll
    }
  }

  // l >= 1: the row max contributes exp(0).
  for (var i = 0u; i < FW_RQ; i++) { if (t[i] < p.T) { let yo = (b * p.T + t[i]) * p.C + h * p.HS; for (var j = 0u; j < HS4; j++) { store_y(yo, j, acc[i * HS4 + j] / l[i]); } fw_lse[bh * p.T + t[i]] = m[i] + log(l[i]); } } // unroll
}

// ============================== backward (FlashAttention-2, no atomics) ==============================
// P = exp(scale q.k - lse) is recomputed from q, k and the saved lse; dP = dy . v; dS = P * (dP - D).
// dV = P^T dy, dK = scale dS^T q (workgroups own key blocks), dQ = scale dS k (workgroups own query blocks).

// ---- D = rowsum(dy * y), one thread per (b, h, t) ----
// bd_y [B, T, C] at binding 1 (generated, f32 or f16).
@group(0) @binding(3) var<storage, read_write> bd_D: array<f32>; // [B, NH, T]

@compute @workgroup_size(WG)
fn attention_backward_d(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid; // (b * NH + h) * T + t
  if (i >= p.B * p.NH * p.T) { return; }
  let t = i % p.T;
  let bh = i / p.T;
  let o = ((bh / p.NH) * p.T + t) * p.C + (bh % p.NH) * p.HS;
  var s = 0.0;
  for (var d = 0u; d < p.HS; d++) { s += bd_y_at(o + d) * dy[o + d]; }
  bd_D[i] = s;
}

// Inputs of the dK/dV and dQ kernels (with qkv, dy above).
@group(0) @binding(3) var<storage, read> lse: array<f32>; // [B, NH, T]
@group(0) @binding(4) var<storage, read> D: array<f32>; // [B, NH, T]
@group(0) @binding(5) var<storage, read_write> dqkv: array<f32>; // [B, T, 3C]

fn store_dqkv(o: u32, j: u32, v: vec4f) {
  let d = o + j * 4u;
  let n = p.HS - min(j * 4u, p.HS);
  if (n > 0u) { dqkv[d] = v.x; }
  if (n > 1u) { dqkv[d + 1u] = v.y; }
  if (n > 2u) { dqkv[d + 2u] = v.z; }
  if (n > 3u) { dqkv[d + 3u] = v.w; }
}

// ---- dQ: one workgroup per (block of WG * DQ_RQ query rows, b * NH + h), looping over key tiles up to
// the block's last row; each thread holds scale * q, dy and dq of its DQ_RQ rows in registers. ----

@compute @workgroup_size(WG)
fn attention_backward_dq(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let C3 = 3u * p.C;
  let q0 = wid.x * WG * DQ_RQ;
  let bh = wid.y;
  let b = bh / p.NH;
  let h = bh % p.NH;
  let base = b * p.T * C3 + h * p.HS;

  var t: array<u32, DQ_RQ>;
  var q: array<vec4f, DQ_RQ * HS4>; // [DQ_RQ, HS4] scale * q
  var o: array<vec4f, DQ_RQ * HS4>; // [DQ_RQ, HS4] dy
  var dq: array<vec4f, DQ_RQ * HS4>; // [DQ_RQ, HS4]
  var ls: array<f32, DQ_RQ>;
  var dd: array<f32, DQ_RQ>;
  for (var i = 0u; i < DQ_RQ; i++) { t[i] = q0 + lid * DQ_RQ + i; if (t[i] < p.T) { let qo = base + t[i] * C3; let yo = (b * p.T + t[i]) * p.C + h * p.HS; for (var j = 0u; j < HS4; j++) { q[i * HS4 + j] = qkv4(qo, j) * p.scale; o[i * HS4 + j] = dy4(yo, j); } ls[i] = lse[bh * p.T + t[i]]; dd[i] = D[bh * p.T + t[i]]; } } // unroll

  let kEnd = min(q0 + WG * DQ_RQ, p.T);
  for (var k0 = 0u; k0 < kEnd; k0 += FW_BK) {
    stage_kv_tile(base, C3, k0, lid);
    let cEnd = min(FW_BK, kEnd - k0);
    let cMine = min(cEnd, select(0u, t[DQ_RQ - 1u] + 1u - min(k0, t[DQ_RQ - 1u] + 1u), t[0] < p.T)); // keys this thread sees
    for (var c = 0u; c < cMine; c++) {
      let kc = c * HS4;
      var sa = array<vec4f, DQ_RQ>(); // partial q.k
      var sb = array<vec4f, DQ_RQ>(); // partial dy.v
      for (var j = 0u; j < HS4; j++) { let kv = tileK[kc + j]; let vv = tileV[kc + j]; for (var i = 0u; i < DQ_RQ; i++) { sa[i] = fma(q[i * HS4 + j], kv, sa[i]); sb[i] = fma(o[i * HS4 + j], vv, sb[i]); } } // unroll
      var ds = array<f32, DQ_RQ>();
      for (var i = 0u; i < DQ_RQ; i++) { if (k0 + c <= t[i] && t[i] < p.T) { ds[i] = exp(hsum(sa[i]) - ls[i]) * (hsum(sb[i]) - dd[i]); } } // unroll
      for (var j = 0u; j < HS4; j++) { let kv = tileK[kc + j]; for (var i = 0u; i < DQ_RQ; i++) { dq[i * HS4 + j] = fma(vec4f(ds[i]), kv, dq[i * HS4 + j]); } } // unroll
    }
  }

  for (var i = 0u; i < DQ_RQ; i++) { if (t[i] < p.T) { let qo = base + t[i] * C3; for (var j = 0u; j < HS4; j++) { store_dqkv(qo, j, dq[i * HS4 + j] * p.scale); } } } // unroll
}

// ---- dK, dV: one workgroup per (block of WG / KV_TPK * KV_RK keys, b * NH + h), looping over the query
// tiles that see them. KV_TPK neighbouring threads share a key, each holding chunks part + KV_TPK * i of
// its k, v, dk, dv; each also owns KV_RK keys, so a staged q / dy chunk feeds KV_RK keys. The partial
// dot products of a key's threads meet through group_sum4 (subgroup shuffles, or workgroup memory). ----

var<workgroup> kvQ: array<vec4f, KV_BQ * HS4>; // [KV_BQ, HS4] query tile
var<workgroup> kvO: array<vec4f, KV_BQ * HS4>; // [KV_BQ, HS4] dy tile
var<workgroup> kvLse: array<f32, KV_BQ>;
var<workgroup> kvD: array<f32, KV_BQ>;

@compute @workgroup_size(WG)
fn attention_backward_dkv(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let C3 = 3u * p.C;
  let groups = WG / KV_TPK; // keys handled at once
  let k0 = wid.x * groups * KV_RK;
  let bh = wid.y;
  let b = bh / p.NH;
  let h = bh % p.NH;
  let base = b * p.T * C3 + h * p.HS;
  let ybase = b * p.T * p.C + h * p.HS;
  let g = lid / KV_TPK;
  let part = lid % KV_TPK;

  var tk: array<u32, KV_RK>; // this thread's keys
  var k: array<vec4f, KV_RK * KV_H4>; // [KV_RK, KV_H4]
  var v: array<vec4f, KV_RK * KV_H4>;
  var dk: array<vec4f, KV_RK * KV_H4>;
  var dv: array<vec4f, KV_RK * KV_H4>;
  for (var u = 0u; u < KV_RK; u++) { tk[u] = k0 + u * groups + g; if (tk[u] < p.T) { let ko = base + tk[u] * C3 + p.C; for (var i = 0u; i < KV_H4; i++) { let j = part + KV_TPK * i; if (j < HS4) { k[u * KV_H4 + i] = qkv4(ko, j); v[u * KV_H4 + i] = qkv4(ko + p.C, j); } } } } // unroll

  // Causal: only query rows t >= k0 see these keys.
  for (var q0 = k0; q0 < p.T; q0 += KV_BQ) {
    workgroupBarrier(); // the previous tile's readers are done
    for (var e = lid; e < KV_BQ * HS4; e += WG) {
      let tq = q0 + e / HS4;
      var qv = vec4f(0.0);
      var ov = vec4f(0.0);
      if (tq < p.T) {
        qv = qkv4(base + tq * C3, e % HS4);
        ov = dy4(ybase + tq * p.C, e % HS4);
      }
      kvQ[e] = qv;
      kvO[e] = ov;
    }
    for (var r = lid; r < KV_BQ; r += WG) {
      let tq = min(q0 + r, p.T - 1u); // rows past T are never used
      kvLse[r] = lse[bh * p.T + tq];
      kvD[r] = D[bh * p.T + tq];
    }
    workgroupBarrier();

    let rEnd = min(KV_BQ, p.T - q0);
    for (var n = 0u; n < rEnd; n++) {
      let ro = n * HS4;
      var sa = array<vec4f, KV_RK>(); // partial q.k
      var sb = array<vec4f, KV_RK>(); // partial dy.v
      for (var i = 0u; i < KV_H4; i++) { let j = part + KV_TPK * i; if (j < HS4) { let qv = kvQ[ro + j]; let ov = kvO[ro + j]; for (var u = 0u; u < KV_RK; u++) { sa[u] = fma(k[u * KV_H4 + i], qv, sa[u]); sb[u] = fma(v[u * KV_H4 + i], ov, sb[u]); } } } // unroll
      // (q.k, dy.v) of key 0 and of key 1, summed over the key's threads (the same sum in each).
      var part4 = vec4f(hsum(sa[0]), hsum(sb[0]), 0.0, 0.0);
      if (KV_RK > 1u) { part4 = vec4f(part4.xy, hsum(sa[KV_RK - 1u]), hsum(sb[KV_RK - 1u])); }
      let sum4 = group_sum4(part4, lid, n);
      let tq = q0 + n;
      var pr = array<f32, KV_RK>(); // 0 where the key is past the row
      var ds = array<f32, KV_RK>();
      for (var u = 0u; u < KV_RK; u++) { if (tk[u] <= tq) { pr[u] = exp(sum4[2u * u] * p.scale - kvLse[n]); ds[u] = pr[u] * (sum4[2u * u + 1u] - kvD[n]); } } // unroll
      for (var i = 0u; i < KV_H4; i++) { let j = part + KV_TPK * i; if (j < HS4) { let qv = kvQ[ro + j]; let ov = kvO[ro + j]; for (var u = 0u; u < KV_RK; u++) { dv[u * KV_H4 + i] = fma(vec4f(pr[u]), ov, dv[u * KV_H4 + i]); dk[u * KV_H4 + i] = fma(vec4f(ds[u]), qv, dk[u * KV_H4 + i]); } } } // unroll
    }
  }

  for (var u = 0u; u < KV_RK; u++) { if (tk[u] < p.T) { let ko = base + tk[u] * C3 + p.C; for (var i = 0u; i < KV_H4; i++) { let j = part + KV_TPK * i; if (j < HS4) { store_dqkv(ko, j, dk[u * KV_H4 + i] * p.scale); store_dqkv(ko + p.C, j, dv[u * KV_H4 + i]); } } } } // unroll
}
