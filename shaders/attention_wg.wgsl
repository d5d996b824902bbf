// group_sum4 for attention.wgsl's dK/dV kernel without subgroups: the KV_TPK threads that share a key
// meet in workgroup memory. Two buffers alternate by row, so one barrier per row is enough (a thread
// writes buffer n % 2 again only after the next row's barrier, which every reader of row n has passed).
// Summed in the same order by every thread of the key, so all get the same sum.
var<workgroup> kvX: array<vec4f, 2u * WG>; // [2, WG] partial (q.k, dy.v) of two keys per thread

fn group_sum4(x: vec4f, lid: u32, n: u32) -> vec4f {
  let o = (n % 2u) * WG;
  kvX[o + lid] = x;
  workgroupBarrier();
  let g0 = o + lid - lid % KV_TPK;
  var s = kvX[g0];
  for (var w = 1u; w < KV_TPK; w++) { s += kvX[g0 + w]; }
  return s;
}
