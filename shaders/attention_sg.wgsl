// group_sum4 for attention.wgsl's dK/dV kernel where the device has `subgroups` (attention.ts puts
// `enable subgroups;` first): a butterfly over the KV_TPK neighbouring lanes that share a key. Those
// lanes sit in one subgroup (KV_TPK <= 4, the smallest subgroup WebGPU allows; lanes follow
// local_invocation_index in a 1-D workgroup). a + b == b + a exactly, so every lane gets the same sum.
fn group_sum4(x: vec4f, lid: u32, n: u32) -> vec4f {
  var s = x;
  for (var w = 1u; w < KV_TPK; w <<= 1u) { s += subgroupShuffleXor(s, w); }
  return s;
}
