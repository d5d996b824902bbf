// Fused softmax + cross-entropy over rows of logits [N, V]. loss = mean over rows whose target is in
// [0, V) of lse[n] - logits[n, target[n]]; other rows (target < 0: ignore index) count for nothing.
// Every sum runs in a fixed order, so results are deterministic. Grids fold into (x, y).
// Logits and dlogits are f32, or f16 halves in mixed precision (the arithmetic stays f32): their
// bindings come from a prelude src/autograd/ops/cross-entropy.ts prepends (src/gpu/wgsl-storage.ts):
// fn ce_logits_at(i), fn ceB_logits_at(i) and fn ceB_dlogits_put2(i, v, n).

struct Params {
  N: u32,
  V: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

override WG: u32; // threads per workgroup, a power of two; set by src/autograd/ops/cross-entropy.ts (CROSS_ENTROPY_WG)

var<workgroup> ce_red: array<f32, WG>;

// Tree reductions over WG threads in a fixed order. Call from uniform control flow.
fn ce_max(lid: u32, v: f32) -> f32 {
  ce_red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { ce_red[lid] = max(ce_red[lid], ce_red[lid + s]); }
    workgroupBarrier();
  }
  let r = ce_red[0];
  workgroupBarrier(); // the next call overwrites ce_red
  return r;
}

fn ce_sum(lid: u32, v: f32) -> f32 {
  ce_red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { ce_red[lid] += ce_red[lid + s]; }
    workgroupBarrier();
  }
  let r = ce_red[0];
  workgroupBarrier();
  return r;
}

fn ce_valid(t: i32) -> bool {
  return t >= 0 && u32(t) < p.V;
}

// ---- forward, stage 1: one workgroup per row: max, sum of exp(x - max) (Kahan-compensated per
// thread, so V ~ 50k stays exact to float rounding), lse, and the row's loss ----
// binding 1: ce_logits [N, V] from the prelude
@group(0) @binding(2) var<storage, read> ce_targets: array<i32>;       // [N]
@group(0) @binding(3) var<storage, read_write> ce_lse: array<f32>;     // [N]
@group(0) @binding(4) var<storage, read_write> ce_rowloss: array<f32>; // [N] scratch

@compute @workgroup_size(WG)
fn cross_entropy_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.N) { return; }
  let base = row * p.V;
  var m = -3.402823e38;
  for (var v = lid; v < p.V; v += WG) { m = max(m, ce_logits_at(base + v)); }
  m = ce_max(lid, m);
  var s = 0.0;
  var comp = 0.0;
  for (var v = lid; v < p.V; v += WG) {
    let y = exp(ce_logits_at(base + v) - m) - comp;
    let t = s + y;
    comp = (t - s) - y;
    s = t;
  }
  let lse = m + log(ce_sum(lid, s));
  if (lid == 0u) {
    ce_lse[row] = lse;
    let t = ce_targets[row];
    var loss = 0.0;
    if (ce_valid(t)) { loss = lse - ce_logits_at(base + u32(t)); }
    ce_rowloss[row] = loss;
  }
}

// ---- forward, stage 2: one workgroup: loss = (sum of row losses) / (number of valid rows), or 0
// when no row is valid. Thread k sums rows k, k + WG, ... in order, then a tree sum ----
@group(0) @binding(1) var<storage, read> ceM_targets: array<i32>;   // [N]
@group(0) @binding(2) var<storage, read> ceM_rowloss: array<f32>;   // [N] scratch
@group(0) @binding(3) var<storage, read_write> ceM_loss: array<f32>; // [1]

@compute @workgroup_size(WG)
fn cross_entropy_mean(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  var comp = 0.0;
  var count = 0.0;
  for (var n = lid; n < p.N; n += WG) {
    if (ce_valid(ceM_targets[n])) {
      let y = ceM_rowloss[n] - comp;
      let t = s + y;
      comp = (t - s) - y;
      s = t;
      count += 1.0;
    }
  }
  let total = ce_sum(lid, s);
  let rows = ce_sum(lid, count);
  if (lid == 0u) {
    ceM_loss[0] = select(0.0, total / rows, rows > 0.0);
  }
}

// ---- backward, stage 1: one workgroup: scale = dloss / (number of valid rows), read on the GPU ----
@group(0) @binding(1) var<storage, read> ceS_targets: array<i32>;     // [N]
@group(0) @binding(2) var<storage, read> ceS_dloss: array<f32>;       // [1]
@group(0) @binding(3) var<storage, read_write> ceS_scale: array<f32>; // [1] scratch

@compute @workgroup_size(WG)
fn cross_entropy_scale(@builtin(local_invocation_index) lid: u32) {
  var count = 0.0;
  for (var n = lid; n < p.N; n += WG) {
    if (ce_valid(ceS_targets[n])) { count += 1.0; }
  }
  let rows = ce_sum(lid, count);
  if (lid == 0u) {
    ceS_scale[0] = select(0.0, ceS_dloss[0] / rows, rows > 0.0);
  }
}

// ---- backward, stage 2, flat over N * V, two logits a thread (one f16 word; the pair may span
// two rows): dlogits = scale * (softmax - onehot(target)); zero on ignored rows ----
// binding 1: ceB_logits [N, V] and binding 5: ceB_dlogits [N, V] from the prelude
@group(0) @binding(2) var<storage, read> ceB_targets: array<i32>;       // [N]
@group(0) @binding(3) var<storage, read> ceB_lse: array<f32>;           // [N]
@group(0) @binding(4) var<storage, read> ceB_scale: array<f32>;         // [1] scratch

fn ce_grad(i: u32) -> f32 {
  let row = i / p.V;
  let t = ceB_targets[row];
  if (!ce_valid(t)) { return 0.0; }
  var g = exp(ceB_logits_at(i) - ceB_lse[row]);
  if (u32(t) == i % p.V) { g -= 1.0; }
  return g * ceB_scale[0];
}

@compute @workgroup_size(WG)
fn cross_entropy_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = 2u * ((wid.x + wid.y * nwg.x) * WG + lid);
  let total = p.N * p.V;
  if (i >= total) { return; }
  var g = vec2f(ce_grad(i), 0.0);
  if (i + 1u < total) { g.y = ce_grad(i + 1u); }
  ceB_dlogits_put2(i, g, total);
}
