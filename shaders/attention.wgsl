// Fused causal self-attention, HF GPT-2 layout, flash-attention style (no T x T matrix in memory).
// Shapes: qkv [B, T, 3C] = q | k | v along the last dim, head h owns channels [h*HS, (h+1)*HS) of each;
// y, dy [B, T, C] (merged heads); lse, D [B, NH, T]; dqkv [B, T, 3C]. Scale 1/sqrt(HS).
// Workgroups of 64 threads, one thread per query row (forward, dQ) or two per key row (dK/dV): a row's
// head vector lives in registers as HS4 vec4 chunks, and the tiles of the other side are staged in
// workgroup memory, where all threads read the same element at once (a broadcast: no bank conflicts).
// Every entry point stays within 16 KiB of workgroup storage for any HS <= 128.
//
// Specialisation (attention.ts, attentionShader): HS4 below is rewritten per head size, and each
// one-line loop marked `// unroll` is expanded into its iterations. Per-thread arrays are then only
// indexed by constants, so GPU compilers keep them in registers (a dynamically indexed array goes to
// slow local memory). Unexpanded, this file is valid WGSL and computes the same thing.

const HS4: u32 = 16u; // ceil(HS / 4): rewritten per head size
const WG: u32 = 64u;
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

// Shared by the forward, dK/dV and dQ kernels.
@group(0) @binding(1) var<storage, read> qkv: array<f32>; // [B, T, 3C]
@group(0) @binding(2) var<storage, read> dy: array<f32>; // [B, T, C] (backward kernels)

// Chunk j (dims 4j..4j+3, zero past HS) of the head row starting at qkv[o].
fn qkv4(o: u32, j: u32) -> vec4f {
  let d = o + j * 4u;
  let n = p.HS - min(j * 4u, p.HS); // dims left in this chunk
  if (n >= 4u) { return vec4f(qkv[d], qkv[d + 1u], qkv[d + 2u], qkv[d + 3u]); }
  var r = vec4f(0.0);
  if (n > 0u) { r.x = qkv[d]; }
  if (n > 1u) { r.y = qkv[d + 1u]; }
  if (n > 2u) { r.z = qkv[d + 2u]; }
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

// ============================== forward ==============================
// One workgroup per (block of 64 query rows, b * NH + h); loops over key tiles up to the block's last
// row (causal). Each thread keeps its row's running max m and sum l (online softmax, rescaling only
// when the max grows). lse = m + log(l) is saved for the backward.
const FW_BK: u32 = min(32u, 512u / HS4); // keys per tile: the K and V tiles fill <= 16 KiB

@group(0) @binding(2) var<storage, read_write> fw_y: array<f32>; // [B, T, C]
@group(0) @binding(3) var<storage, read_write> fw_lse: array<f32>; // [B, NH, T]

// Key and value tiles, shared by the forward and dQ kernels (each entry point gets its own copy).
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

fn store_y(o: u32, j: u32, v: vec4f) {
  let d = o + j * 4u;
  let n = p.HS - min(j * 4u, p.HS);
  if (n > 0u) { fw_y[d] = v.x; }
  if (n > 1u) { fw_y[d + 1u] = v.y; }
  if (n > 2u) { fw_y[d + 2u] = v.z; }
  if (n > 3u) { fw_y[d + 3u] = v.w; }
}

@compute @workgroup_size(64)
fn attention_forward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let C3 = 3u * p.C;
  let q0 = wid.x * WG;
  let bh = wid.y;
  let b = bh / p.NH;
  let base = b * p.T * C3 + (bh % p.NH) * p.HS; // qkv offset of (b, t = 0, q part, head h)
  let t = q0 + lid;
  let live = t < p.T;

  var q: array<vec4f, HS4>; // scale * q of row t
  var acc: array<vec4f, HS4>; // sum over keys of exp(s - m) v
  if (live) {
    let qo = base + t * C3;
    for (var j = 0u; j < HS4; j++) { q[j] = qkv4(qo, j) * p.scale; } // unroll
  }
  var m = NEG_BIG;
  var l = 0.0;

  let kEnd = min(q0 + WG, p.T);
  for (var k0 = 0u; k0 < kEnd; k0 += FW_BK) {
    stage_kv_tile(base, C3, k0, lid);
    for (var c = 0u; c < FW_BK; c++) {
      if (k0 + c <= t) { // causal; keys past T only meet padding rows, which write nothing
        let kc = c * HS4;
        var d4 = vec4f(0.0);
        for (var j = 0u; j < HS4; j++) { d4 = fma(q[j], tileK[kc + j], d4); } // unroll
        let x = hsum(d4);
        if (x > m) { // a new row max: rescale what has accumulated (to 0 on the first key)
          let a = exp(m - x);
          l *= a;
          for (var j = 0u; j < HS4; j++) { acc[j] *= a; } // unroll
          m = x;
        }
        let pr = exp(x - m);
        l += pr;
        for (var j = 0u; j < HS4; j++) { acc[j] = fma(vec4f(pr), tileV[kc + j], acc[j]); } // unroll
      }
    }
  }

  if (live) {
    let yo = (b * p.T + t) * p.C + (bh % p.NH) * p.HS;
    for (var j = 0u; j < HS4; j++) { store_y(yo, j, acc[j] / l); } // unroll
    fw_lse[bh * p.T + t] = m + log(l); // l >= 1: the row max contributes exp(0)
  }
}

// ============================== backward (FlashAttention-2, no atomics) ==============================
// P = exp(scale q.k - lse) is recomputed from q, k and the saved lse; dP = dy . v; dS = P * (dP - D).
// dV = P^T dy, dK = scale dS^T q (workgroups own key blocks), dQ = scale dS k (workgroups own query blocks).

// ---- D = rowsum(dy * y), one thread per (b, h, t) ----
@group(0) @binding(1) var<storage, read> bd_y: array<f32>; // [B, T, C]
@group(0) @binding(3) var<storage, read_write> bd_D: array<f32>; // [B, NH, T]

@compute @workgroup_size(64)
fn attention_backward_d(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid; // (b * NH + h) * T + t
  if (i >= p.B * p.NH * p.T) { return; }
  let t = i % p.T;
  let bh = i / p.T;
  let o = ((bh / p.NH) * p.T + t) * p.C + (bh % p.NH) * p.HS;
  var s = 0.0;
  for (var d = 0u; d < p.HS; d++) { s += bd_y[o + d] * dy[o + d]; }
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

// ---- dK, dV: one workgroup per (block of 32 keys, b * NH + h), looping over the query tiles that see
// it. Two threads per key, each holding the chunks j = half + 2i of k, v, dk, dv (half the registers);
// their partial dot products meet in workgroup memory.
const KV_H4: u32 = (HS4 + 1u) / 2u; // chunks per thread
const KV_BQ: u32 = min(16u, 16000u / (32u * HS4 + 520u)); // query rows per tile (fits 16 KiB)

var<workgroup> kvQ: array<vec4f, KV_BQ * HS4>; // [KV_BQ, HS4] query tile
var<workgroup> kvO: array<vec4f, KV_BQ * HS4>; // [KV_BQ, HS4] dy tile
var<workgroup> kvPS: array<f32, KV_BQ * WG>; // [KV_BQ, 64] partial q.k per thread
var<workgroup> kvPP: array<f32, KV_BQ * WG>; // [KV_BQ, 64] partial dy.v per thread
var<workgroup> kvLse: array<f32, KV_BQ>;
var<workgroup> kvD: array<f32, KV_BQ>;

@compute @workgroup_size(64)
fn attention_backward_dkv(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let C3 = 3u * p.C;
  let k0 = wid.x * (WG / 2u);
  let bh = wid.y;
  let b = bh / p.NH;
  let base = b * p.T * C3 + (bh % p.NH) * p.HS;
  let ybase = b * p.T * p.C + (bh % p.NH) * p.HS;
  let tk = k0 + lid / 2u;
  let half = lid % 2u;
  let live = tk < p.T;
  let ko = base + tk * C3 + p.C; // k row of this thread's key (its v row follows at + C)

  var k: array<vec4f, KV_H4>;
  var v: array<vec4f, KV_H4>;
  var dk: array<vec4f, KV_H4>;
  var dv: array<vec4f, KV_H4>;
  if (live) {
    for (var i = 0u; i < KV_H4; i++) { let j = half + 2u * i; if (j < HS4) { k[i] = qkv4(ko, j); v[i] = qkv4(ko + p.C, j); } } // unroll
  }

  // Causal: only queries t >= k0 see these keys.
  for (var q0 = (k0 / KV_BQ) * KV_BQ; q0 < p.T; q0 += KV_BQ) {
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
    if (lid < KV_BQ) {
      var ls = 0.0;
      var dd = 0.0;
      if (q0 + lid < p.T) {
        ls = lse[bh * p.T + q0 + lid];
        dd = D[bh * p.T + q0 + lid];
      }
      kvLse[lid] = ls;
      kvD[lid] = dd;
    }
    workgroupBarrier();
    for (var r = 0u; r < KV_BQ; r++) {
      var a4 = vec4f(0.0);
      var b4 = vec4f(0.0);
      if (tk <= q0 + r) {
        let ro = r * HS4;
        for (var i = 0u; i < KV_H4; i++) { let j = half + 2u * i; if (j < HS4) { a4 = fma(k[i], kvQ[ro + j], a4); b4 = fma(v[i], kvO[ro + j], b4); } } // unroll
      }
      kvPS[r * WG + lid] = hsum(a4);
      kvPP[r * WG + lid] = hsum(b4);
    }
    workgroupBarrier();
    for (var r = 0u; r < KV_BQ; r++) {
      if (tk <= q0 + r && q0 + r < p.T) {
        // a + b == b + a exactly, so both threads of a key see the same s and dp.
        let s = (kvPS[r * WG + lid] + kvPS[r * WG + (lid ^ 1u)]) * p.scale;
        let dp = kvPP[r * WG + lid] + kvPP[r * WG + (lid ^ 1u)];
        let pr = exp(s - kvLse[r]);
        let ds = pr * (dp - kvD[r]);
        let ro = r * HS4;
        for (var i = 0u; i < KV_H4; i++) { let j = half + 2u * i; if (j < HS4) { dv[i] = fma(vec4f(pr), kvO[ro + j], dv[i]); dk[i] = fma(vec4f(ds), kvQ[ro + j], dk[i]); } } // unroll
      }
    }
  }

  if (live) {
    for (var i = 0u; i < KV_H4; i++) { let j = half + 2u * i; if (j < HS4) { store_dqkv(ko, j, dk[i] * p.scale); store_dqkv(ko + p.C, j, dv[i]); } } // unroll
  }
}

// ---- dQ: one workgroup per (block of 64 query rows, b * NH + h), looping over key tiles up to the
// diagonal; one thread per query row holding scale * q, dy and dq in registers. ----

@compute @workgroup_size(64)
fn attention_backward_dq(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let C3 = 3u * p.C;
  let q0 = wid.x * WG;
  let bh = wid.y;
  let b = bh / p.NH;
  let base = b * p.T * C3 + (bh % p.NH) * p.HS;
  let t = q0 + lid;
  let live = t < p.T;
  let qo = base + t * C3;

  var q: array<vec4f, HS4>;
  var o: array<vec4f, HS4>;
  var dq: array<vec4f, HS4>;
  var ls = 0.0;
  var dd = 0.0;
  if (live) {
    let yo = (b * p.T + t) * p.C + (bh % p.NH) * p.HS;
    for (var j = 0u; j < HS4; j++) { q[j] = qkv4(qo, j) * p.scale; o[j] = dy4(yo, j); } // unroll
    ls = lse[bh * p.T + t];
    dd = D[bh * p.T + t];
  }

  let kEnd = min(q0 + WG, p.T);
  for (var k0 = 0u; k0 < kEnd; k0 += FW_BK) {
    stage_kv_tile(base, C3, k0, lid);
    for (var c = 0u; c < FW_BK; c++) {
      if (k0 + c <= t && live) {
        let kc = c * HS4;
        var a4 = vec4f(0.0);
        var b4 = vec4f(0.0);
        for (var j = 0u; j < HS4; j++) { a4 = fma(q[j], tileK[kc + j], a4); b4 = fma(o[j], tileV[kc + j], b4); } // unroll
        let ds = exp(hsum(a4) - ls) * (hsum(b4) - dd);
        for (var j = 0u; j < HS4; j++) { dq[j] = fma(vec4f(ds), tileK[kc + j], dq[j]); } // unroll
      }
    }
  }

  if (live) {
    for (var j = 0u; j < HS4; j++) { store_dqkv(qo, j, dq[j] * p.scale); } // unroll
  }
}

// ============================== KV-cache decoding (sampling) ==============================
// qkv [1, Tq, 3C] holds Tq new tokens at absolute positions pos..pos+Tq-1; kCache, vCache [NH, maxT, HS]
// are MUTATED: the first dispatch writes the new k, v rows, the second attends over positions [0, pos + i].

struct DecodeParams {
  Tq: u32,
  maxT: u32,
  C: u32,
  NH: u32,
  HS: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> pd: DecodeParams;

@group(0) @binding(1) var<storage, read> dw_qkv: array<f32>; // [1, Tq, 3C]
@group(0) @binding(2) var<storage, read_write> dw_k: array<f32>; // [NH, maxT, HS]
@group(0) @binding(3) var<storage, read_write> dw_v: array<f32>; // [NH, maxT, HS]
@group(0) @binding(4) var<storage, read> dw_pos: array<i32>; // [1]

@compute @workgroup_size(256)
fn attention_decode_write(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid; // (row, channel) of the new tokens
  if (i >= pd.Tq * pd.C) { return; }
  let row = i / pd.C;
  let ch = i % pd.C;
  let t = u32(max(dw_pos[0], 0)) + row;
  if (t >= pd.maxT) { return; } // past the cache: the caller keeps pos + Tq <= maxT
  let o = ((ch / pd.HS) * pd.maxT + t) * pd.HS + ch % pd.HS;
  dw_k[o] = dw_qkv[row * 3u * pd.C + pd.C + ch];
  dw_v[o] = dw_qkv[row * 3u * pd.C + 2u * pd.C + ch];
}

@group(0) @binding(1) var<storage, read> dc_qkv: array<f32>; // [1, Tq, 3C]
@group(0) @binding(2) var<storage, read> dc_k: array<f32>; // [NH, maxT, HS]
@group(0) @binding(3) var<storage, read> dc_v: array<f32>; // [NH, maxT, HS]
@group(0) @binding(4) var<storage, read> dc_pos: array<i32>; // [1]
@group(0) @binding(5) var<storage, read_write> dc_y: array<f32>; // [1, Tq, C]

var<workgroup> dcQ: array<f32, 128>; // [HS] this query
var<workgroup> dcS: array<f32, 128>; // scores of a chunk of 128 cache positions

// One workgroup per (head, query row): threads score one cache position each per chunk, then thread d
// accumulates output dim d with an online softmax over the chunk (every thread tracks the same max/sum).
@compute @workgroup_size(128)
fn attention_decode(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let row = wid.y;
  let HS = pd.HS;
  if (lid < HS) { dcQ[lid] = dc_qkv[row * 3u * pd.C + h * HS + lid]; }
  let last = min(u32(max(dc_pos[0], 0)) + row, pd.maxT - 1u); // attends to positions [0, last]
  let cache = h * pd.maxT * HS;
  var m = NEG_BIG;
  var l = 0.0;
  var acc = 0.0;
  for (var j0 = 0u; j0 <= last; j0 += 128u) {
    workgroupBarrier(); // dcQ stored; the previous chunk's readers are done
    let j = j0 + lid;
    var s = NEG_BIG;
    if (j <= last) {
      var dot = 0.0;
      for (var d = 0u; d < HS; d++) { dot += dcQ[d] * dc_k[cache + j * HS + d]; }
      s = dot * pd.scale;
    }
    dcS[lid] = s;
    workgroupBarrier();
    let n = min(128u, last + 1u - j0);
    var mNew = m;
    for (var c = 0u; c < n; c++) { mNew = max(mNew, dcS[c]); }
    let alpha = exp(m - mNew);
    var sum = 0.0;
    var a = acc * alpha;
    for (var c = 0u; c < n; c++) {
      let pr = exp(dcS[c] - mNew);
      sum += pr;
      if (lid < HS) { a += pr * dc_v[cache + (j0 + c) * HS + lid]; }
    }
    l = l * alpha + sum;
    acc = a;
    m = mNew;
  }
  if (lid < HS) { dc_y[row * pd.C + h * HS + lid] = acc / l; }
}
