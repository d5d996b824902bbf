import { describe, expect, it } from 'vitest';
import { Graph } from '../src/autograd/graph';
import type { OpDef } from '../src/autograd/op';
import { Plan } from '../src/autograd/plan';
import { GpuError, createContext } from '../src/gpu/context';
import { gpu } from './helpers/gpu';

describe('GPU errors become clear messages', () => {
  it('a kernel that does not compile fails plan creation with the compiler message', async () => {
    const ctx = await gpu();
    const broken: OpDef = {
      name: 'broken',
      outputs: ([x]) => [x!],
      encode: () => [
        {
          label: 'broken',
          code: '@compute @workgroup_size(1) fn main() { let x: f32 = undefined_name; }',
          entryPoint: 'main',
          buffers: [],
          workgroups: [1, 1, 1],
        },
      ],
    };
    const graph = new Graph();
    graph.apply(broken, [graph.input('x', [4])], {});
    const error = await Plan.create(ctx, graph).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GpuError);
    expect(String(error)).toMatch(/validation error while compiling plan.*undefined_name/s);
  });

  it('no WebGPU and no adapter are explained', async () => {
    await expect(createContext(undefined)).rejects.toThrow(/WebGPU is not available/);
    const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
    await expect(createContext(noAdapter)).rejects.toThrow(/no GPU adapter was found/);
  });

  it('an allocation beyond the device limits is reported, not silent', async () => {
    const ctx = await gpu();
    const graph = new Graph();
    // More elements than a storage binding may hold on any device here.
    graph.input('huge', [ctx.limits.maxBufferSize / 2 + 1024, 4]);
    await expect(Plan.create(ctx, graph)).rejects.toThrow(GpuError);
  });
});
