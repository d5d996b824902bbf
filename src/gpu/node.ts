/** Dawn in Node (npm `webgpu`). Kept apart so the browser bundle never pulls in the native module. */
import { existsSync } from 'node:fs';
import { createContext, type GpuContext } from './context';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export async function createNodeContext(dawnOptions: string[] = []): Promise<GpuContext> {
  // Without a GPU, fall back to Chromium's SwiftShader (a CPU Vulkan driver) when it is installed.
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && process.env.GPT_GARDEN_GPU !== 'native') {
    if (existsSync(SWIFTSHADER_ICD) && !existsSync('/dev/nvidia0') && !existsSync('/dev/dri')) {
      process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    }
  }
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  return createContext(create(dawnOptions));
}
