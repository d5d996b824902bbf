/** Dawn in Node (npm `webgpu`). Kept apart so the browser bundle never pulls in the native module. */
import { existsSync } from 'node:fs';
import { createContext, type GpuContext } from './context';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * Dawn options for a real GPU: f16 on NVIDIA is hidden without vulkan_enable_f16_on_nvidia, and
 * subgroup matrices (tensor cores) need allow_unsafe_apis and the Vulkan memory model.
 * GPT_GARDEN_DISABLE_ROBUSTNESS=1 also drops Dawn's bounds clamping (the kernels check their own
 * bounds; reported ~11% for subgroup-matrix kernels). None on SwiftShader, whose results the
 * tests pin bit for bit.
 */
export function dawnOptions(env: NodeJS.ProcessEnv, software: boolean): string[] {
  if (software) return [];
  const features = ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia', 'use_vulkan_memory_model'];
  if (env.GPT_GARDEN_DISABLE_ROBUSTNESS === '1') features.push('disable_robustness');
  return [`enable-dawn-features=${features.join(',')}`];
}

/** GPT_GARDEN_WITHOUT=shader-f16,subgroups: optional features to leave unused, forcing their fallbacks. */
export function featuresWithout(env: NodeJS.ProcessEnv): string[] {
  return (env.GPT_GARDEN_WITHOUT ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
}

export async function createNodeContext(extraOptions: string[] = []): Promise<GpuContext> {
  // Without a GPU, fall back to Chromium's SwiftShader (a CPU Vulkan driver) when it is installed.
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && process.env.GPT_GARDEN_GPU !== 'native') {
    if (existsSync(SWIFTSHADER_ICD) && !existsSync('/dev/nvidia0') && !existsSync('/dev/dri')) {
      process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    }
  }
  const software = (process.env.VK_ICD_FILENAMES ?? '').includes('swiftshader');
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  return createContext(create([...dawnOptions(process.env, software), ...extraOptions]), {
    without: featuresWithout(process.env),
  });
}
