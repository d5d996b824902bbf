// Global-norm gradient clipping + AdamW over the whole parameter arena (torch semantics).
// Every arena is viewed as vec4<f32>: arena lengths and decayEnd are multiples of 64 floats, so a
// vec4 never straddles the decay boundary. Padding is zero in every arena and stays zero.
// Grids fold into (x, y): workgroup id = wid.x + wid.y * nwg.x, bounds-checked.
// Shapes: param, grad, m, v: [N4] vec4 (N4 = arena length / 4); partials: [P]; record: NormRecord;
// scale: ScaleState. With a dynamic loss scale the gradients carry it: the norm divides it out on the
// fly (by 1/scale, exact for a power of two), the update's coefficient too, and grad_norm_final
// updates it (src/train/loss-scale.ts nextLossScale is the rule's reference).

struct Params {
  n4: u32,              // arena length / 4
  decay_end4: u32,      // decayEnd / 4: vec4s below it take weight decay
  num_partials: u32,    // P = workgroups of grad_norm_partial
  clip: f32,            // max global norm; 0 disables clipping
  decay_factor: f32,    // 1 - lr * weight_decay
  one_minus_beta1: f32, // lerp weight of m
  beta2: f32,
  one_minus_beta2: f32,
  step_size: f32,       // lr / (1 - beta1^step), from float64 on the host
  bc2_sqrt: f32,        // sqrt(1 - beta2^step), from float64 on the host
  eps: f32,
  nan_bits: u32,        // 0x7fc00000: NaN/Inf built at run time (a constant NaN is a WGSL compile error)
  inf_bits: u32,        // 0x7f800000
  dynamic_scale: u32,   // 1: update the loss scale after each step; 0: it stays 1
  growth_interval: u32, // clean steps after which the scale doubles
  seed_unit: f32,       // the backward's seed at scale 1 (1 / micro-batches)
  min_scale: f32,       // halving stops here
  max_scale: f32,       // doubling stops here
}

// The loss scale (32 bytes; TrainStep copies dloss into the backward's seed before each step).
struct ScaleState {
  dloss: f32,      // scale * seed_unit: what the next backward starts from
  scale: f32,      // a power of two
  inv_scale: f32,  // 1 / scale, kept exact by halving and doubling alongside scale
  clean: u32,      // clean steps since the scale last changed
  skipped: u32,    // steps skipped for non-finite (overflowed) gradients
  last_scale: f32, // the scale the last step's gradients carried
  pad0: u32,
  pad1: u32,
}

// The 16-byte norm buffer: the norm first (a trainer copies its first 4 bytes), then why a step skips.
struct NormRecord {
  norm: f32,     // global L2 norm before clipping; NaN/Inf when the gradients are not finite
  bad: u32,      // 0 finite, 1 some Inf (or the sum of squares overflowed), 2 some NaN
  coef: f32,     // what every gradient is multiplied by: the clip coefficient (1 when not clipping) / scale
  reserved: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// Sizes are override constants set by src/optim/adamw.ts (ADAMW_SIZES).
override WG: u32; // threads per workgroup, a power of two (the tree reduction halves it)
override NORM_VPT: u32; // vec4s per thread in the partial norm (4: 4096 floats per workgroup of 256)
override ADAM_VPT: u32; // vec4s per thread in the update (2: 2048 floats per workgroup of 256)

var<workgroup> red_sum: array<f32, WG>;
var<workgroup> red_bad: array<u32, WG>;

// Classified by bits, not by x != x, which fast-math compilers may fold away.
fn classify4(x: vec4f) -> u32 {
  let b = bitcast<vec4u>(x);
  let all_ones = (b & vec4u(0x7f800000u)) == vec4u(0x7f800000u);
  let mantissa = (b & vec4u(0x007fffffu)) != vec4u(0u);
  if (any(all_ones & mantissa)) { return 2u; }
  if (any(all_ones)) { return 1u; }
  return 0u;
}

fn classify(x: f32) -> u32 {
  return classify4(vec4f(x));
}

fn non_finite(bad: u32) -> f32 {
  return bitcast<f32>(select(p.inf_bits, p.nan_bits, bad == 2u));
}

// Fixed-shape tree reduction of red_sum / red_bad into slot 0 (deterministic order).
fn reduce_workgroup(lid: u32) {
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    workgroupBarrier();
    if (lid < s) {
      red_sum[lid] = red_sum[lid] + red_sum[lid + s];
      red_bad[lid] = max(red_bad[lid], red_bad[lid + s]);
    }
  }
  workgroupBarrier();
}

// ---- stage 1: each workgroup writes the sum of squares of its 4 * WG * NORM_VPT floats to partials[wg] ----
@group(0) @binding(1) var<storage, read> gn_grad: array<vec4f>;       // [N4]
@group(0) @binding(2) var<storage, read_write> gn_partials: array<f32>; // [P]
@group(0) @binding(3) var<storage, read> gn_scale: ScaleState;

@compute @workgroup_size(WG)
fn grad_norm_partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.x + wid.y * nwg.x;
  var acc = 0.0;
  var bad = 0u;
  let inv_scale = gn_scale.inv_scale; // 1 without a loss scale: g * 1 keeps every bit
  for (var k = 0u; k < NORM_VPT; k++) {
    let i = wg * (WG * NORM_VPT) + k * WG + lid; // coalesced: consecutive threads, consecutive vec4s
    if (i < p.n4) {
      let g = gn_grad[i] * inv_scale;
      acc += dot(g, g);
      bad = max(bad, classify4(g));
    }
  }
  red_sum[lid] = acc;
  red_bad[lid] = bad;
  reduce_workgroup(lid);
  if (lid == 0u && wg < p.num_partials) {
    gn_partials[wg] = select(red_sum[0], non_finite(red_bad[0]), red_bad[0] != 0u);
  }
}

// ---- stage 2: one workgroup sums the partials in a fixed order and writes the norm record ----
@group(0) @binding(1) var<storage, read> gf_partials: array<f32>; // [P]
@group(0) @binding(2) var<storage, read_write> gf_record: NormRecord;
@group(0) @binding(3) var<storage, read_write> gf_scale: ScaleState;

@compute @workgroup_size(WG)
fn grad_norm_final(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  var bad = 0u;
  for (var i = lid; i < p.num_partials; i += WG) {
    let x = gf_partials[i];
    acc += x;
    bad = max(bad, classify(x)); // a partial may also have overflowed to Inf
  }
  red_sum[lid] = acc;
  red_bad[lid] = bad;
  reduce_workgroup(lid);
  if (lid == 0u) {
    let total = red_sum[0];
    let cls = max(red_bad[0], classify(total));
    let norm = sqrt(total);
    // torch.nn.utils.clip_grad_norm_: coef = max_norm / (norm + 1e-6), clamped to at most 1.
    var coef = 1.0;
    if (p.clip > 0.0 && cls == 0u) { coef = min(p.clip / (norm + 1e-6), 1.0); }
    gf_record.norm = select(norm, non_finite(cls), cls != 0u);
    gf_record.bad = cls;
    gf_record.coef = coef * gf_scale.inv_scale; // the update unscales and clips in one multiply
    gf_record.reserved = 0u;
    update_scale(cls != 0u);
  }
}

// GradScaler's rule: non-finite gradients (an overflow) halve the scale and count a skipped step;
// growth_interval clean steps in a row double it. Halving and doubling keep 1/scale exact.
fn update_scale(overflow: bool) {
  var s = gf_scale;
  s.last_scale = s.scale;
  if (overflow) {
    s.skipped += 1u;
    s.clean = 0u;
    if (p.dynamic_scale != 0u && s.scale * 0.5 >= p.min_scale) {
      s.scale = s.scale * 0.5;
      s.inv_scale = s.inv_scale * 2.0;
    }
  } else if (p.dynamic_scale != 0u) {
    s.clean += 1u;
    if (s.clean >= p.growth_interval) {
      s.clean = 0u;
      if (s.scale * 2.0 <= p.max_scale) {
        s.scale = s.scale * 2.0;
        s.inv_scale = s.inv_scale * 0.5;
      }
    }
  }
  s.dloss = s.scale * p.seed_unit;
  gf_scale = s;
}

// ---- the fused update: clip, decoupled weight decay, moments, bias-corrected step ----
@group(0) @binding(1) var<storage, read> ad_record: NormRecord;
@group(0) @binding(2) var<storage, read_write> ad_param: array<vec4f>; // [N4]
@group(0) @binding(3) var<storage, read> ad_grad: array<vec4f>;        // [N4]
@group(0) @binding(4) var<storage, read_write> ad_m: array<vec4f>;     // [N4]
@group(0) @binding(5) var<storage, read_write> ad_v: array<vec4f>;     // [N4]

@compute @workgroup_size(WG)
fn adamw_update(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  // Non-finite gradients: skip the whole step so params, m and v stay as they were.
  if (ad_record.bad != 0u) { return; }
  let coef = ad_record.coef;
  let wg = wid.x + wid.y * nwg.x;
  for (var k = 0u; k < ADAM_VPT; k++) {
    let i = wg * (WG * ADAM_VPT) + k * WG + lid;
    if (i >= p.n4) { return; }
    let g = ad_grad[i] * coef; // torch multiplies by the clamped coefficient (exact when it is 1)
    var w = ad_param[i];
    if (i < p.decay_end4) { w = w * p.decay_factor; }
    let m0 = ad_m[i];
    let m = m0 + p.one_minus_beta1 * (g - m0); // torch lerp_ with weight < 0.5
    let v = ad_v[i] * p.beta2 + p.one_minus_beta2 * g * g; // mul_(beta2).addcmul_(g, g, 1 - beta2)
    let denom = sqrt(v) / p.bc2_sqrt + p.eps;
    w = w - p.step_size * (m / denom); // addcdiv_(m, denom, -step_size)
    ad_param[i] = w;
    ad_m[i] = m;
    ad_v[i] = v;
  }
}
