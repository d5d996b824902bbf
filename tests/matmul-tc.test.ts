/**
 * The tensor-core route's choices, on SwiftShader (which has no subgroup matrices, so the kernel
 * itself runs only on a GPU: `check-ops` there). Which configuration a device's tensor cores get,
 * when the tiled kernel runs instead (each fallback forced), what the route emits, and the Node
 * context's Dawn toggles and forced fallbacks.
 */
import { describe, expect, it } from 'vitest';
import type { EncodeDevice } from '../src/autograd/op';
import { attentionOp } from '../src/autograd/ops/attention';
import { matmulOp } from '../src/autograd/ops/matmul';
import { MATMUL_TC_TILE, tensorCoreRoute } from '../src/autograd/ops/matmul-tc';
import type { SubgroupMatrixConfig } from '../src/gpu/context';
import { createNodeContext, dawnOptions, featuresWithout } from '../src/gpu/node';
import { gpu } from './helpers/gpu';

const f16to32 = (M: number, N: number, K: number): SubgroupMatrixConfig => ({
  componentType: 'f16',
  resultComponentType: 'f32',
  M,
  N,
  K,
});
/** An NVIDIA-like device as Dawn describes it with vulkan_enable_f16_on_nvidia and allow_unsafe_apis. */
const NVIDIA: EncodeDevice = {
  features: new Set(['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix']),
  limits: { maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024 },
  subgroupSizes: { min: 32, max: 32 },
  subgroupMatrixConfigs: [
    { componentType: 'f16', resultComponentType: 'f16', M: 16, N: 16, K: 16 },
    f16to32(16, 8, 16),
    f16to32(16, 16, 16),
    { componentType: 'i8', resultComponentType: 'i32', M: 16, N: 16, K: 32 },
  ],
};
const without = (device: EncodeDevice, feature: string): EncodeDevice => ({
  ...device,
  features: new Set([...device.features].filter((f) => f !== feature)),
});
const spec = (shape: number[], dtype: 'f32' | 'f16' = 'f32') => ({ shape, dtype });

describe('the tensor-core route', () => {
  it('takes f16 → f32 at 16×16×16 where offered, with the adapter’s one subgroup size', () => {
    expect(tensorCoreRoute(NVIDIA)).toEqual({ config: f16to32(16, 16, 16), subgroupSize: 32 });
    // Only 16×8×16 offered: that one.
    expect(tensorCoreRoute({ ...NVIDIA, subgroupMatrixConfigs: [f16to32(16, 8, 16)] })?.config).toEqual(
      f16to32(16, 8, 16),
    );
  });

  it('falls back to the tiled kernel without each thing it needs', () => {
    for (const feature of ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix'])
      expect(tensorCoreRoute(without(NVIDIA, feature)), feature).toBeNull();
    // f16 → f16 only (Apple's configurations): accumulating in f16 is not mixed precision.
    expect(tensorCoreRoute({ ...NVIDIA, subgroupMatrixConfigs: [NVIDIA.subgroupMatrixConfigs![0]!] })).toBeNull();
    expect(tensorCoreRoute({ ...NVIDIA, subgroupSizes: { min: 16, max: 32 } })).toBeNull();
    // 16 KiB of workgroup memory holds the 16×8×16 tiles but not the 16×16×16 ones; 8 KiB neither.
    const storage = (bytes: number) => ({
      ...NVIDIA,
      limits: { ...NVIDIA.limits, maxComputeWorkgroupStorageSize: bytes },
    });
    expect(tensorCoreRoute(storage(16384))?.config).toEqual(f16to32(16, 8, 16));
    expect(tensorCoreRoute(storage(8192))).toBeNull();
    expect(tensorCoreRoute(undefined)).toBeNull();
  });

  it('routes half products there (the main call; split-K keeps its reduce), everything else to the tiled kernel', () => {
    const half = { half: true };
    const calls = matmulOp.encode([spec([256, 256], 'f16'), spec([256, 1536], 'f16'), spec([1536])], half, NVIDIA);
    expect(calls.map((c) => c.label)).toEqual(['matmul_tc']);
    const call = calls[0]!;
    expect(call.code).toMatch(/^enable f16;\nenable subgroups;\nenable chromium_experimental_subgroup_matrix;/);
    expect(call.code).toContain('const MAT_M: u32 = 16u;');
    expect(call.constants).toEqual({ TRANS_A: 0, TRANS_B: 0, BIAS: 1, ACCUMULATE: 0, SPLIT: 0 });
    const { SG_ROWS, SG_COLS, TM, TN } = MATMUL_TC_TILE;
    expect(call.workgroups).toEqual([(256 / (SG_ROWS * TM * 16)) * (1536 / (SG_COLS * TN * 16)), 1, 1]);
    // A weight gradient (long K, small output): split-K partials on tensor cores, then the ordered sum.
    const grad = matmulOp.encode([spec([4096, 64]), spec([4096, 64])], { half: true, transA: true }, NVIDIA);
    expect(grad.map((c) => c.label)).toEqual(['matmul_tc', 'matmul_reduce']);
    expect(grad[0]!.constants).toMatchObject({ TRANS_A: 1, SPLIT: 1 });
    expect(grad[0]!.workgroups[2]).toBeGreaterThan(1);
    // f32 products stay on the tiled kernel, as does everything on a device without the feature.
    expect(matmulOp.encode([spec([64, 64]), spec([64, 64])], {}, NVIDIA).map((c) => c.label)).toEqual(['matmul']);
    const plain = without(NVIDIA, 'chromium-experimental-subgroup-matrix');
    expect(matmulOp.encode([spec([64, 64]), spec([64, 64])], half, plain).map((c) => c.label)).toEqual(['matmul']);
  });

  it('SwiftShader (no subgroup matrices) runs half products on the tiled kernel', async () => {
    const ctx = await gpu();
    expect(ctx.features.has('chromium-experimental-subgroup-matrix')).toBe(false);
    expect(ctx.subgroupMatrixConfigs).toEqual([]);
    expect(tensorCoreRoute(ctx)).toBeNull();
    expect(matmulOp.encode([spec([8, 8], 'f16'), spec([8, 8], 'f16')], { half: true }, ctx)[0]!.label).toBe('matmul');
  });
});

describe('Dawn in Node', () => {
  it('asks for f16, subgroup matrices and the Vulkan memory model on a GPU, nothing on SwiftShader', () => {
    expect(dawnOptions({}, true)).toEqual([]);
    expect(dawnOptions({}, false)).toEqual([
      'enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia,use_vulkan_memory_model',
    ]);
    expect(dawnOptions({ GPT_GARDEN_DISABLE_ROBUSTNESS: '1' }, false)[0]).toMatch(/,disable_robustness$/);
    expect(featuresWithout({ GPT_GARDEN_WITHOUT: 'shader-f16, subgroups' })).toEqual(['shader-f16', 'subgroups']);
    expect(featuresWithout({})).toEqual([]);
  });

  it('GPT_GARDEN_WITHOUT forces a fallback: attention leaves its subgroup kernels for the workgroup ones', async () => {
    // The forward's kernel as the op picks it for a device.
    const forwardCode = (ctx: EncodeDevice) => attentionOp.encode([spec([1, 8, 24])], { nHead: 2 }, ctx)[0]!.code;
    const shared = await gpu();
    expect(shared.features.has('subgroups')).toBe(true); // SwiftShader offers them
    const previous = process.env.GPT_GARDEN_WITHOUT;
    process.env.GPT_GARDEN_WITHOUT = 'subgroups';
    try {
      const ctx = await createNodeContext();
      expect(ctx.features.has('subgroups')).toBe(false);
      expect(forwardCode(ctx)).not.toBe(forwardCode(shared));
      expect(forwardCode(shared)).toContain('enable subgroups;');
      expect(forwardCode(ctx)).not.toContain('enable subgroups;');
      ctx.device.destroy();
    } finally {
      if (previous === undefined) delete process.env.GPT_GARDEN_WITHOUT;
      else process.env.GPT_GARDEN_WITHOUT = previous;
    }
  });
});
