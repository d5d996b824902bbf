// Elementwise kernels over flat f32 arrays. Grids fold into (x, y): i = (wid.x + wid.y * nwg.x) * WG + lid.
// Shapes: every buffer holds n = numel values.

override WG: u32; // threads per workgroup, set by src/autograd/ops/elementwise.ts (ELEMENTWISE_WG)

struct Params {
  n: u32,
  accumulate: u32, // 1: out += result (gradient slots), 0: out = result
}

@group(0) @binding(0) var<uniform> p: Params;

// ---- add: out = a + b (residual stream); backward passes the gradient to both inputs ----
@group(0) @binding(1) var<storage, read> add_a: array<f32>;
@group(0) @binding(2) var<storage, read> add_b: array<f32>;
@group(0) @binding(3) var<storage, read_write> add_out: array<f32>;

@compute @workgroup_size(WG)
fn add_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) { return; }
  add_out[i] = add_a[i] + add_b[i];
}

// ---- copy: out = x, or out += x (adds a gradient into a parameter's slot) ----
@group(0) @binding(1) var<storage, read> copy_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> copy_out: array<f32>;

@compute @workgroup_size(WG)
fn copy_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) { return; }
  if (p.accumulate == 1u) {
    copy_out[i] = copy_out[i] + copy_x[i];
  } else {
    copy_out[i] = copy_x[i];
  }
}

// ---- GELU, tanh form (HF gelu_new): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) ----
const GELU_K: f32 = 0.7978845608028654; // sqrt(2/pi)
const GELU_C: f32 = 0.044715;

// tanh via exp of a non-positive argument: exact at both tails, no overflow, no builtin-precision surprises.
fn stable_tanh(z: f32) -> f32 {
  let e = exp(-2.0 * abs(z));
  return sign(z) * (1.0 - e) / (1.0 + e);
}

@group(0) @binding(1) var<storage, read> gelu_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> gelu_y: array<f32>;

@compute @workgroup_size(WG)
fn gelu_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) { return; }
  let x = gelu_x[i];
  gelu_y[i] = 0.5 * x * (1.0 + stable_tanh(GELU_K * (x + GELU_C * x * x * x)));
}

// dx = dy * d/dx gelu(x), with x saved from the forward.
@group(0) @binding(1) var<storage, read> geluB_x: array<f32>;
@group(0) @binding(2) var<storage, read> geluB_dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> geluB_dx: array<f32>;

@compute @workgroup_size(WG)
fn gelu_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) { return; }
  let x = geluB_x[i];
  let t = stable_tanh(GELU_K * (x + GELU_C * x * x * x));
  let dinner = GELU_K * (1.0 + 3.0 * GELU_C * x * x);
  let grad = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * dinner;
  geluB_dx[i] = geluB_dy[i] * grad;
}
