/** WebGPU in a browser page or worker. */
import { createContext, type GpuContext } from './context';

export function createBrowserContext(): Promise<GpuContext> {
  const gpu = typeof navigator !== 'undefined' ? navigator.gpu : undefined;
  return createContext(gpu);
}
