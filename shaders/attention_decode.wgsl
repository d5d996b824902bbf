// KV-cache decoding for sampling (forward only): attention of Tq new tokens over a growing cache.
// Kept apart from attention.wgsl (its tiles are for training's long sequences). Sizes are override
// constants set from attention-decode.ts (ATTENTION_DECODE_SIZES).

override WRITE_WG: u32; // threads per workgroup writing the new k, v rows
override CHUNK: u32; // threads per (head, query) workgroup = cache positions scored per chunk; also the largest HS

const NEG_BIG: f32 = -3.0e38; // "minus infinity" that stays finite through exp(a - b)

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

@compute @workgroup_size(WRITE_WG)
fn attention_decode_write(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WRITE_WG + lid; // (row, channel) of the new tokens
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

var<workgroup> dcQ: array<f32, CHUNK>; // [HS] this query
var<workgroup> dcS: array<f32, CHUNK>; // scores of a chunk of CHUNK cache positions

// One workgroup per (head, query row): threads score one cache position each per chunk, then thread d
// accumulates output dim d with an online softmax over the chunk (every thread tracks the same max/sum).
@compute @workgroup_size(CHUNK)
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
  for (var j0 = 0u; j0 <= last; j0 += CHUNK) {
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
    let n = min(CHUNK, last + 1u - j0);
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
