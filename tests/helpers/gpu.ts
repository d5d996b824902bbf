/** One Dawn device per test worker (SwiftShader on machines without a GPU). */
import type { GpuContext } from '../../src/gpu/context';
import { createNodeContext } from '../../src/gpu/node';

let context: Promise<GpuContext> | null = null;

export function gpu(): Promise<GpuContext> {
  context ??= createNodeContext();
  return context;
}
