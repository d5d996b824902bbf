// group_sum4 for attention.wgsl's dK/dV kernel where the device has `subgroups` (attention.ts puts
// `enable subgroups;` first): a butterfly over the KV_TPK neighbouring lanes that share a key. Those
// lanes sit in one subgroup (KV_TPK <= 4, the smallest subgroup WebGPU allows; lanes follow
// local_invocation_index in a 1-D workgroup). a + b == b + a exactly, so every lane gets the same sum.
fn group_sum4(x: vec4f, lid: u32, n: u32) -> vec4f {
  var s = x;
  for (var w = 1u; w < KV_TPK; w <<= 1u) { s += subgroupShuffleXor(s, w); }
  return s;
}

// ---- forward with split rows (subgroups only): KV_TPK neighbouring lanes share FS_RQ query rows, each
// lane holding chunks part + KV_TPK * u of their q and output, so a lane keeps FS_RQ rows in a quarter
// of the registers a whole row costs, and each K / V chunk it reads feeds FS_RQ rows. The row scores
// (a vec4: one row per component) meet through group_sum4 once per key. Same tiles and online
// softmax as attention_forward; every lane of a row tracks the same max and sum. ----

@compute @workgroup_size(WG)
fn attention_forward_split(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let C3 = 3u * p.C;
  let rows = (WG / KV_TPK) * FS_RQ; // query rows per workgroup
  let q0 = wid.x * rows;
  let bh = wid.y;
  let b = bh / p.NH;
  let h = bh % p.NH;
  let base = b * p.T * C3 + h * p.HS;
  let g = lid / KV_TPK;
  let part = lid % KV_TPK;

  var t: array<u32, FS_RQ>; // this lane group's rows
  var q: array<vec4f, FS_RQ * KV_H4>; // [FS_RQ, KV_H4] scale * q, this lane's chunks
  var acc: array<vec4f, FS_RQ * KV_H4>; // [FS_RQ, KV_H4]
  var m: array<f32, FS_RQ>;
  var l: array<f32, FS_RQ>;
  for (var i = 0u; i < FS_RQ; i++) { t[i] = q0 + g * FS_RQ + i; m[i] = NEG_BIG; if (t[i] < p.T) { let qo = base + t[i] * C3; for (var u = 0u; u < KV_H4; u++) { let j = part + KV_TPK * u; if (j < HS4) { q[i * KV_H4 + u] = qkv4(qo, j) * p.scale; } } } } // unroll

  let kEnd = min(q0 + rows, p.T);
  for (var k0 = 0u; k0 < kEnd; k0 += FW_BK) {
    stage_kv_tile(base, C3, k0, lid);
    let cEnd = min(FW_BK, kEnd - k0); // the same in every lane: group_sum4 needs them all
    for (var c = 0u; c < cEnd; c++) {
      let kc = c * HS4;
      var d = array<vec4f, FS_RQ>();
      for (var u = 0u; u < KV_H4; u++) { let j = part + KV_TPK * u; if (j < HS4) { let kv = tileK[kc + j]; for (var i = 0u; i < FS_RQ; i++) { d[i] = fma(q[i * KV_H4 + u], kv, d[i]); } } } // unroll
      var ps = vec4f(0.0);
      for (var i = 0u; i < FS_RQ; i++) { ps[i] = hsum(d[i]); } // unroll
      let s = group_sum4(ps, lid, c);
      var pr = array<f32, FS_RQ>(); // 0 for keys a row must not see
      for (var i = 0u; i < FS_RQ; i++) { if (k0 + c <= t[i]) { let x = s[i]; if (x > m[i]) { let a = exp(m[i] - x); l[i] *= a; for (var u = 0u; u < KV_H4; u++) { acc[i * KV_H4 + u] *= a; } m[i] = x; } pr[i] = exp(x - m[i]); l[i] += pr[i]; } } // unroll
      for (var u = 0u; u < KV_H4; u++) { let j = part + KV_TPK * u; if (j < HS4) { let vv = tileV[kc + j]; for (var i = 0u; i < FS_RQ; i++) { acc[i * KV_H4 + u] = fma(vec4f(pr[i]), vv, acc[i * KV_H4 + u]); } } } // unroll
    }
  }

  for (var i = 0u; i < FS_RQ; i++) { if (t[i] < p.T) { let yo = (b * p.T + t[i]) * p.C + h * p.HS; for (var u = 0u; u < KV_H4; u++) { let j = part + KV_TPK * u; if (j < HS4) { store_y(yo, j, acc[i * KV_H4 + u] / l[i]); } } if (part == 0u) { fw_lse[bh * p.T + t[i]] = m[i] + log(l[i]); } } } // unroll
}

// ---- dQ with split rows (subgroups only), as attention_forward_split: KV_TPK lanes share DS_RQ query
// rows, each lane holding its chunks of scale * q, dy and dq; q.k and dy.v meet through group_sum4. ----

@compute @workgroup_size(WG)
fn attention_backward_dq_split(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let C3 = 3u * p.C;
  let rows = (WG / KV_TPK) * DS_RQ;
  let q0 = wid.x * rows;
  let bh = wid.y;
  let b = bh / p.NH;
  let h = bh % p.NH;
  let base = b * p.T * C3 + h * p.HS;
  let g = lid / KV_TPK;
  let part = lid % KV_TPK;

  var t: array<u32, DS_RQ>;
  var q: array<vec4f, DS_RQ * KV_H4>; // [DS_RQ, KV_H4] scale * q, this lane's chunks
  var o: array<vec4f, DS_RQ * KV_H4>; // dy
  var dq: array<vec4f, DS_RQ * KV_H4>;
  var ls: array<f32, DS_RQ>;
  var dd: array<f32, DS_RQ>;
  for (var i = 0u; i < DS_RQ; i++) { t[i] = q0 + g * DS_RQ + i; if (t[i] < p.T) { let qo = base + t[i] * C3; let yo = (b * p.T + t[i]) * p.C + h * p.HS; for (var u = 0u; u < KV_H4; u++) { let j = part + KV_TPK * u; if (j < HS4) { q[i * KV_H4 + u] = qkv4(qo, j) * p.scale; o[i * KV_H4 + u] = dy4(yo, j); } } ls[i] = lse[bh * p.T + t[i]]; dd[i] = D[bh * p.T + t[i]]; } } // unroll

  let kEnd = min(q0 + rows, p.T);
  for (var k0 = 0u; k0 < kEnd; k0 += FW_BK) {
    stage_kv_tile(base, C3, k0, lid);
    let cEnd = min(FW_BK, kEnd - k0); // the same in every lane: group_sum4 needs them all
    for (var c = 0u; c < cEnd; c++) {
      let kc = c * HS4;
      var sa = array<vec4f, DS_RQ>(); // partial q.k
      var sb = array<vec4f, DS_RQ>(); // partial dy.v
      for (var u = 0u; u < KV_H4; u++) { let j = part + KV_TPK * u; if (j < HS4) { let kv = tileK[kc + j]; let vv = tileV[kc + j]; for (var i = 0u; i < DS_RQ; i++) { sa[i] = fma(q[i * KV_H4 + u], kv, sa[i]); sb[i] = fma(o[i * KV_H4 + u], vv, sb[i]); } } } // unroll
      var ps = vec4f(0.0);
      var pd = vec4f(0.0);
      for (var i = 0u; i < DS_RQ; i++) { ps[i] = hsum(sa[i]); pd[i] = hsum(sb[i]); } // unroll
      let s = group_sum4(ps, lid, c);
      let dp = group_sum4(pd, lid, c);
      var ds = array<f32, DS_RQ>();
      for (var i = 0u; i < DS_RQ; i++) { if (k0 + c <= t[i] && t[i] < p.T) { ds[i] = exp(s[i] - ls[i]) * (dp[i] - dd[i]); } } // unroll
      for (var u = 0u; u < KV_H4; u++) { let j = part + KV_TPK * u; if (j < HS4) { let kv = tileK[kc + j]; for (var i = 0u; i < DS_RQ; i++) { dq[i * KV_H4 + u] = fma(vec4f(ds[i]), kv, dq[i * KV_H4 + u]); } } } // unroll
    }
  }

  for (var i = 0u; i < DS_RQ; i++) { if (t[i] < p.T) { let qo = base + t[i] * C3; for (var u = 0u; u < KV_H4; u++) { let j = part + KV_TPK * u; if (j < HS4) { store_dqkv(qo, j, dq[i * KV_H4 + u] * p.scale); } } } } // unroll
}
