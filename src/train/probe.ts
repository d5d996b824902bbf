/**
 * The lab's device check: which adapter, which limits and features, and how fast a matmul runs
 * (grown until one run takes long enough to time), then settings to suggest for a first run.
 */
import { Graph } from '../autograd/graph';
import { matmul } from '../autograd/ops/matmul';
import { tensorCoreRoute } from '../autograd/ops/matmul-tc';
import { Plan } from '../autograd/plan';
import type { GpuContext } from '../gpu/context';
import { suggestSettings } from './defaults';
import type { DeviceReport } from './protocol';

/** Time a probe size for at least this long before trusting its speed. */
const MIN_PROBE_MS = 20;
const MAX_PROBE_SIZE = 2048;

export function isSoftwareAdapter(ctx: GpuContext): boolean {
  const { vendor, architecture, description, device } = ctx.adapterInfo;
  const text = `${vendor} ${architecture} ${description} ${device}`.toLowerCase();
  const fallback = (ctx.adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return fallback || /swiftshader|llvmpipe|lavapipe|software|warp|basic render/.test(text);
}

/** Matmul GFLOP/s: N×N by N×N, N doubling from 128 until one run takes MIN_PROBE_MS. */
export async function probeMatmulGflops(ctx: GpuContext): Promise<number> {
  const device = ctx.device;
  let gflops = 0;
  for (let n = 128; n <= MAX_PROBE_SIZE; n *= 2) {
    const graph = new Graph();
    const a = graph.input('a', [n, n]);
    const b = graph.input('b', [n, n]);
    const c = matmul(a, b);
    const plan = new Plan(ctx, graph, { retain: [c], label: `probe.${n}` });
    try {
      plan.run(); // compiles the pipeline and touches the buffers
      await device.queue.onSubmittedWorkDone();
      const started = performance.now();
      plan.run();
      await device.queue.onSubmittedWorkDone();
      const ms = performance.now() - started;
      gflops = (2 * n ** 3) / (Math.max(ms, 1e-3) * 1e6);
      if (ms >= MIN_PROBE_MS) break;
    } finally {
      plan.destroy();
    }
  }
  return gflops;
}

/** A DeviceReport for a context that was created (failures to create one are reported by the caller). */
export async function describeDevice(ctx: GpuContext): Promise<DeviceReport> {
  const { vendor, architecture, description, device } = ctx.adapterInfo;
  const adapter = [description || device, vendor, architecture].filter(Boolean).join(' · ') || 'unknown adapter';
  const isSoftware = isSoftwareAdapter(ctx);
  const probeGflops = await probeMatmulGflops(ctx);
  const tc = tensorCoreRoute(ctx)?.config;
  return {
    ok: true,
    adapter,
    isSoftware,
    limits: {
      maxBufferSize: ctx.limits.maxBufferSize,
      maxStorageBufferBindingSize: ctx.limits.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: ctx.limits.maxComputeWorkgroupStorageSize,
    },
    features: [...ctx.features].sort(),
    ...(tc ? { tensorCores: `${tc.M}×${tc.N}×${tc.K} f16 → f32` } : {}),
    probeGflops,
    suggested: suggestSettings({ isSoftware, probeGflops }),
  };
}
