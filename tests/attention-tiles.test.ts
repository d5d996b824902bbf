import { describe, expect, it } from 'vitest';
import type { EncodeDevice } from '../src/autograd/op';
import { attentionBackwardOp, attentionOp, attentionShader, attentionTiles } from '../src/autograd/ops/attention';
import { attentionDecodeOp } from '../src/autograd/ops/attention-decode';

/** The backward's input specs [qkv, y, lse, dy] for qkv [B, T, 3C] (y in yType). */
function backwardSpecs(B: number, T: number, C: number, NH: number, qkv: 'f32' | 'f16' = 'f32', yType = qkv) {
  return [
    { shape: [B, T, 3 * C], dtype: qkv },
    { shape: [B, T, C], dtype: yType },
    { shape: [B, NH, T], dtype: 'f32' as const },
    { shape: [B, T, C], dtype: 'f32' as const },
  ];
}

/** A device as encode sees it: features and the two limits the tiles follow. */
function device(features: string[], workgroupBytes: number, invocations = 256): EncodeDevice {
  return {
    features: new Set(features),
    limits: { maxComputeWorkgroupStorageSize: workgroupBytes, maxComputeInvocationsPerWorkgroup: invocations },
  };
}

/** Bytes of workgroup memory an entry point's arrays take, from the tile sizes (as attention.wgsl declares them). */
function workgroupBytes(
  HS: number,
  kernel: 'subgroups' | 'workgroup',
  d: EncodeDevice,
): { forward: number; dkv: number } {
  const { consts, overrides } = attentionTiles(HS, kernel, d);
  return {
    forward: 2 * overrides.FW_BK * consts.HS4 * 16,
    dkv:
      2 * overrides.KV_BQ * consts.HS4 * 16 +
      2 * overrides.KV_BQ * 4 +
      (kernel === 'workgroup' ? 2 * overrides.WG * 16 : 0),
  };
}

describe('attention tiles', () => {
  it('fit the workgroup memory the device offers, and grow with it', () => {
    for (const HS of [8, 20, 24, 64, 128])
      for (const kernel of ['subgroups', 'workgroup'] as const)
        for (const limit of [16384, 32768, 49152]) {
          const used = workgroupBytes(HS, kernel, device(['subgroups'], limit));
          expect(Math.max(used.forward, used.dkv), `HS=${HS} ${kernel} limit ${limit}`).toBeLessThanOrEqual(limit);
        }
    // HS = 64: 32 keys per K/V tile in 16 KiB, 64 in 32 KiB (the old kernel staged 32).
    expect(attentionTiles(64, 'subgroups', device([], 16384)).overrides.FW_BK).toBe(32);
    expect(attentionTiles(64, 'subgroups', device([], 32768)).overrides.FW_BK).toBe(64);
    expect(attentionTiles(128, 'workgroup', device([], 16384)).overrides.KV_BQ).toBe(13);
  });

  it('registers: several query rows per thread within 32 vec4 of head rows; split rows hold 4 at HS = 64', () => {
    // A thread owning whole rows fits one at HS 64 (q + acc = 32 vec4); 4 lanes sharing rows fit 4.
    expect(attentionTiles(64, 'subgroups').consts).toEqual({
      HS4: 16,
      FW_RQ: 1,
      DQ_RQ: 1,
      FS_RQ: 4,
      DS_RQ: 2,
      KV_TPK: 4,
      KV_RK: 2,
      KV_H4: 4,
    });
    expect(attentionTiles(128, 'subgroups').consts).toMatchObject({ HS4: 32, FW_RQ: 1, DQ_RQ: 1, FS_RQ: 2, KV_H4: 8 });
    expect(attentionTiles(24, 'subgroups').consts).toMatchObject({
      HS4: 6,
      FW_RQ: 2,
      DQ_RQ: 1,
      FS_RQ: 4,
      KV_TPK: 4,
      KV_H4: 2,
    });
    expect(attentionTiles(8, 'workgroup').consts).toMatchObject({ HS4: 2, FW_RQ: 4, DQ_RQ: 4, KV_TPK: 2, KV_H4: 1 });
  });

  it('reach the WGSL as override constants and generated consts, never as literals in the shader file', () => {
    const d = device(['subgroups'], 32768);
    const spec = { shape: [2, 50, 3 * 192], dtype: 'f32' as const };
    const calls = [
      ...attentionOp.encode([spec], { nHead: 3 }, d),
      ...attentionBackwardOp.encode(backwardSpecs(2, 50, 192, 3), { nHead: 3 }, d),
    ];
    const tiles = attentionTiles(64, 'subgroups', d);
    for (const call of calls) {
      expect(call.constants).toEqual(tiles.overrides);
      expect(call.code).toBe(attentionShader(tiles));
    }
    const code = calls[0]!.code;
    expect(code).toMatch(/^enable subgroups;\nconst HS4: u32 = 16u;\nconst FW_RQ: u32 = 1u;/);
    expect(code).toContain('override FW_BK: u32;'); // no default: TypeScript always gives it
    expect(code).toContain('var<workgroup> tileK: array<vec4f, FW_BK * HS4>;');
    expect(code).not.toMatch(/@workgroup_size\(\d/);
    expect(code).not.toMatch(/\/\/ unroll$/m); // every marked loop expanded
    // Grids follow the tiles: split-forward blocks of WG / KV_TPK * FS_RQ rows, dK/dV blocks of WG / KV_TPK * KV_RK keys.
    expect(calls[0]!.entryPoint).toBe('attention_forward_split');
    expect(calls[0]!.workgroups).toEqual([Math.ceil(50 / 64), 6, 1]);
    expect(calls.find((c) => c.entryPoint === 'attention_backward_dkv')!.workgroups).toEqual([
      Math.ceil(50 / 32),
      6,
      1,
    ]);
  });

  it('pick subgroup sums where offered, workgroup memory otherwise; either can be forced', () => {
    const spec = { shape: [1, 8, 3 * 32], dtype: 'f32' as const };
    const codeOf = (features: string[], kernel?: 'subgroups' | 'workgroup') =>
      attentionOp.encode([spec], kernel ? { nHead: 2, kernel } : { nHead: 2 }, device(features, 16384))[0]!.code;
    expect(codeOf(['subgroups'])).toContain('subgroupShuffleXor');
    expect(codeOf([])).not.toContain('enable subgroups');
    expect(codeOf([])).toContain('var<workgroup> kvX');
    expect(codeOf(['subgroups'], 'workgroup')).not.toContain('enable subgroups');
    expect(attentionOp.encode([spec], { nHead: 2 }, device([], 16384))[0]!.entryPoint).toBe('attention_forward');
    // HS 16: whole rows already hold 4 per thread in the forward, so even with subgroups it keeps them;
    // dQ (3 vectors a row) holds 2 whole rows but 4 split ones, so it splits.
    expect(attentionOp.encode([spec], { nHead: 2 }, device(['subgroups'], 16384))[0]!.entryPoint).toBe(
      'attention_forward',
    );
    expect(
      attentionBackwardOp
        .encode(backwardSpecs(1, 8, 32, 2), { nHead: 2 }, device(['subgroups'], 16384))
        .map((c) => c.entryPoint),
    ).toEqual(['attention_backward_d', 'attention_backward_dkv', 'attention_backward_dq_split']);
    expect(() => codeOf([], 'subgroups')).toThrow(
      "attention: kernel 'subgroups' forced, but this device has no 'subgroups' feature",
    );
  });
});

describe('attention over f16 storage', () => {
  const d = device(['subgroups'], 32768);
  const tiles = attentionTiles(64, 'subgroups', d);

  it('declares qkv and y per dtype ahead of the shader file; the f32 variant reads and writes plain floats', () => {
    const f32 = attentionShader(tiles);
    expect(f32).toContain('@group(0) @binding(1) var<storage, read> qkv: array<f32>;');
    expect(f32).toContain('fn qkv_at(i: u32) -> f32 { return qkv[i]; }');
    expect(f32).toContain('@group(0) @binding(2) var<storage, read_write> fw_y: array<f32>;');
    expect(f32).not.toContain('unpack2x16float');
    expect(f32).not.toContain('pack2x16float');
    const f16 = attentionShader(tiles, { qkv: 'f16', y: 'f16' });
    expect(f16).toContain('@group(0) @binding(1) var<storage, read> qkv: array<u32>;');
    expect(f16).toContain('fn fw_y_put2(i: u32, v: vec2f, n: u32) { fw_y[i >> 1u] = pack2x16float(v); }');
    expect(f16).toContain('fn bd_y_at(i: u32) -> f32 { return unpack2x16float(bd_y[i >> 1u])[i & 1u]; }');
    // The shader file declares none of them itself: one declaration each per module.
    expect(f16.match(/var<storage, read> qkv:/g)).toHaveLength(1);
    expect(f16.match(/ fw_y:/g)).toHaveLength(1);
  });

  it("forward follows qkv's dtype and `out`; backward follows its inputs' dtypes", () => {
    const code = (qkv: 'f32' | 'f16', out?: 'f32' | 'f16') =>
      attentionOp.encode([{ shape: [2, 50, 3 * 192], dtype: qkv }], out ? { nHead: 3, out } : { nHead: 3 }, d)[0]!.code;
    expect(code('f32')).toBe(attentionShader(tiles));
    expect(code('f16')).toBe(attentionShader(tiles, { qkv: 'f16', y: 'f32' }));
    expect(code('f32', 'f16')).toBe(attentionShader(tiles, { qkv: 'f32', y: 'f16' }));
    for (const call of attentionBackwardOp.encode(backwardSpecs(2, 50, 192, 3, 'f16', 'f32'), { nHead: 3 }, d))
      expect(call.code).toBe(attentionShader(tiles, { qkv: 'f16', y: 'f32' }));
    expect(attentionOp.outputs([{ shape: [2, 50, 3 * 192], dtype: 'f16' }], { nHead: 3, out: 'f16' })).toEqual([
      { shape: [2, 50, 192], dtype: 'f16' },
      { shape: [2, 3, 50], dtype: 'f32' },
    ]);
  });

  it('packs an f16 y of odd head size in a second pass (its words straddle rows); refuses an i32 qkv', () => {
    const odd = { shape: [2, 5, 3 * 21], dtype: 'f16' as const };
    const calls = attentionOp.encode([odd], { nHead: 3, out: 'f16', kernel: 'workgroup' }, d);
    expect(attentionOp.scratch!([odd], { nHead: 3, out: 'f16' })).toEqual([2 * 5 * 21]);
    expect(calls.map((c) => c.entryPoint)).toEqual(['attention_forward', 'cast_to_f16']);
    expect(calls[0]!.buffers).toEqual([{ in: 0 }, { scratch: 0 }, { out: 1 }]);
    expect(calls[0]!.code).toBe(attentionShader(attentionTiles(7, 'workgroup', d), { qkv: 'f16', y: 'f32' }));
    expect(calls[1]!.buffers).toEqual([{ scratch: 0 }, { out: 0 }]);
    // Even head sizes write the halves directly; f32 y never packs.
    expect(attentionOp.encode([odd], { nHead: 3 }, d)).toHaveLength(1);
    expect(attentionOp.scratch!([odd], { nHead: 3 })).toEqual([]);
    const even = { shape: [2, 5, 3 * 24], dtype: 'f16' as const };
    expect(attentionOp.encode([even], { nHead: 3, out: 'f16' }, d)).toHaveLength(1);
    expect(attentionOp.scratch!([even], { nHead: 3, out: 'f16' })).toEqual([]);
    expect(() => attentionOp.outputs([{ shape: [1, 4, 24], dtype: 'i32' }], { nHead: 2 })).toThrow(
      'qkv must be f32 or f16, got i32',
    );
    // KV-cache decoding (sampling) reads f32 qkv only.
    const cache = { shape: [2, 8, 4], dtype: 'f32' as const };
    const pos = { shape: [1], dtype: 'i32' as const };
    expect(() =>
      attentionDecodeOp.outputs([{ shape: [1, 3, 24], dtype: 'f16' }, cache, cache, pos], { nHead: 2 }),
    ).toThrow('attention_decode: qkv must be f32 (sampling runs in f32), got f16');
  });
});
