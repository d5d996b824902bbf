/**
 * The GPU context: one adapter + device, the features we asked for, the limits we got, and the
 * device-lost signal. Works with `navigator.gpu` in the browser and Dawn's `GPU` in Node.
 */
import { PipelineCache } from './pipelines';

/** Optional features the engine can use; each fast path has a fallback (see `without` to force one). */
export const OPTIONAL_FEATURES = [
  'shader-f16',
  'subgroups',
  'timestamp-query',
  // Tensor cores (Dawn exposes it with allow_unsafe_apis; f16 configurations also need shader-f16).
  'chromium-experimental-subgroup-matrix',
] as const;

/** One subgroup-matrix shape the adapter multiplies natively: an M×K by K×N product of componentType into resultComponentType. */
export interface SubgroupMatrixConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

/** Limits worth raising above the defaults (big models need big bindings). */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupsPerDimension',
] as const;

export interface GpuContext {
  /** Held so neither is garbage-collected while the device lives (Dawn in Node aborts if they are). */
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  adapterInfo: { vendor: string; architecture: string; description: string; device: string };
  features: ReadonlySet<string>;
  limits: GPUSupportedLimits;
  /** With subgroups: the adapter's subgroup sizes (a subgroup-matrix kernel needs them equal). */
  subgroupSizes?: { min: number; max: number };
  /** With chromium-experimental-subgroup-matrix: the shapes its tensor cores take. */
  subgroupMatrixConfigs: readonly SubgroupMatrixConfig[];
  pipelines: PipelineCache;
  /** Resolves once, with a readable reason, if the device is lost. */
  lost: Promise<string>;
  isLost(): boolean;
}

export class GpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuError';
  }
}

export async function createContext(
  gpu: GPU | undefined,
  options: {
    powerPreference?: GPUPowerPreference;
    /** Optional features not to use even where offered: forces their fallbacks (tests, comparisons). */
    without?: readonly string[];
  } = {},
): Promise<GpuContext> {
  if (!gpu)
    throw new GpuError(
      'WebGPU is not available here (no navigator.gpu). Use a recent Chrome or Edge, or enable WebGPU.',
    );
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter)
    throw new GpuError('WebGPU is present but no GPU adapter was found (the GPU may be blocklisted or disabled).');
  const requiredFeatures = OPTIONAL_FEATURES.filter(
    (f) => adapter.features.has(f) && !options.without?.includes(f),
  ) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  let lostReason: string | null = null;
  const lost = device.lost.then((info) => {
    lostReason = `GPU device lost (${info.reason}): ${info.message || 'no details'}`;
    return lostReason;
  });
  // Errors outside an error scope would otherwise pass silently (a shader that fails to compile
  // just leaves its outputs at zero): say them loudly.
  device.addEventListener('uncapturederror', (event) => {
    console.error(`WebGPU error: ${event.error.message}`);
  });
  const info = adapter.info as GPUAdapterInfo & {
    subgroupMinSize?: number;
    subgroupMaxSize?: number;
    subgroupMatrixConfigs?: readonly SubgroupMatrixConfig[];
  };
  const features = new Set<string>([...device.features]);
  return {
    gpu,
    adapter,
    device,
    adapterInfo: {
      vendor: info.vendor,
      architecture: info.architecture,
      description: info.description,
      device: info.device,
    },
    features,
    limits: device.limits,
    ...(features.has('subgroups') && info.subgroupMinSize && info.subgroupMaxSize
      ? { subgroupSizes: { min: info.subgroupMinSize, max: info.subgroupMaxSize } }
      : {}),
    subgroupMatrixConfigs: features.has('chromium-experimental-subgroup-matrix')
      ? (info.subgroupMatrixConfigs ?? []).map(({ componentType, resultComponentType, M, N, K }) => ({
          componentType,
          resultComponentType,
          M,
          N,
          K,
        }))
      : [],
    pipelines: new PipelineCache(device),
    lost,
    isLost: () => lostReason !== null,
  };
}

/**
 * Runs `body` inside validation + out-of-memory error scopes and turns any captured error into a
 * GpuError that names what was being done. Use around allocation and plan compilation.
 */
export async function withErrorScopes<T>(device: GPUDevice, what: string, body: () => T): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T | undefined;
  // Boxed so a falsy throw (`throw 0`) is still rethrown.
  let thrown: { error: unknown } | null = null;
  try {
    result = body();
  } catch (e) {
    thrown = { error: e };
  }
  const validation = await device.popErrorScope();
  const oom = await device.popErrorScope();
  if (oom) throw new GpuError(`Out of GPU memory while ${what}: ${oom.message}. Try a smaller model or micro-batch.`);
  if (validation) throw new GpuError(`WebGPU validation error while ${what}: ${validation.message}`);
  if (thrown) throw thrown.error;
  return result as T;
}
