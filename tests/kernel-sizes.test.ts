/**
 * Workgroup and tile sizes are written once, in TypeScript beside each op, and reach WGSL as
 * `override` constants through the pipeline cache: no shader may carry a literal
 * `@workgroup_size(<number>)`, no source may say two copies "must match", and matmul has one entry
 * point specialised by overrides.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { matmulConstants, MATMUL_TILE } from '../src/autograd/ops/matmul';
import { PipelineCache, wgslConstBlock } from '../src/gpu/pipelines';
import { gpu } from './helpers/gpu';

const ROOT = join(__dirname, '..');

function filesUnder(dir: string, ext: RegExp): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path, ext);
    return ext.test(name) ? [path] : [];
  });
}

/** `file:line: text` for every line of `text` matching `pattern`. */
function offendingLines(file: string, text: string, pattern: RegExp): string[] {
  return text.split('\n').flatMap((line, i) => (pattern.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : []));
}

const LITERAL_WORKGROUP_SIZE = /@workgroup_size\s*\(\s*\d/;
const MUST_MATCH = /must match/i;

describe('kernel sizes are defined once', () => {
  it('the checks catch what they look for', () => {
    expect(offendingLines('a.wgsl', 'x\n@compute @workgroup_size(64)\nfn f() {}', LITERAL_WORKGROUP_SIZE)).toEqual([
      'a.wgsl:2: @compute @workgroup_size(64)',
    ]);
    expect(offendingLines('a.wgsl', '@compute @workgroup_size( 8, 8)', LITERAL_WORKGROUP_SIZE)).toHaveLength(1);
    expect(offendingLines('a.wgsl', '@compute @workgroup_size(WG)', LITERAL_WORKGROUP_SIZE)).toEqual([]);
    expect(offendingLines('a.ts', 'const X = 4; // Must match shaders/x.wgsl', MUST_MATCH)).toHaveLength(1);
  });

  it('no shader under shaders/ has a literal @workgroup_size', () => {
    const shaders = filesUnder(join(ROOT, 'shaders'), /\.wgsl$/);
    expect(shaders.length).toBeGreaterThan(5);
    const bad = shaders.flatMap((f) =>
      offendingLines(relative(ROOT, f), readFileSync(f, 'utf8'), LITERAL_WORKGROUP_SIZE),
    );
    expect(bad).toEqual([]);
  });

  it('no file under src/ or shaders/ says two copies "must match"', () => {
    const files = [
      ...filesUnder(join(ROOT, 'src'), /\.(ts|tsx|wgsl)$/),
      ...filesUnder(join(ROOT, 'shaders'), /\.wgsl$/),
    ];
    const bad = files.flatMap((f) => offendingLines(relative(ROOT, f), readFileSync(f, 'utf8'), MUST_MATCH));
    expect(bad).toEqual([]);
  });

  it('matmul.wgsl has one entry point; its sizes and variant are overrides without defaults', () => {
    const code = readFileSync(join(ROOT, 'shaders/matmul.wgsl'), 'utf8');
    expect(code.match(/@compute/g)).toHaveLength(1);
    const required = [...code.matchAll(/^override (\w+): \w+;/gm)].map((m) => m[1]);
    // Every override the shader leaves open is set by matmulConstants, and nothing else is.
    expect(Object.keys(matmulConstants({}, false, false)).sort()).toEqual([...required].sort());
    expect(matmulConstants({ transB: true }, true, false)).toMatchObject({
      ...MATMUL_TILE,
      TRANS_A: 0,
      TRANS_B: 1,
      BIAS: 1,
      ACCUMULATE: 0,
      HALF_A: 0,
      HALF_B: 0,
    });
    // half rounds only f32 operands on load: an f16 one already holds halves.
    expect(matmulConstants({ half: true }, false, false, { a: 'f16', b: 'f32' })).toMatchObject({
      HALF_A: 0,
      HALF_B: 1,
    });
  });

  it('wgslConstBlock writes u32 consts and refuses other values', () => {
    expect(wgslConstBlock({ A: 4, B_C: 16 })).toBe('const A: u32 = 4u;\nconst B_C: u32 = 16u;\n');
    expect(() => wgslConstBlock({ A: 1.5 })).toThrow(/A = 1.5 is not a u32/);
    expect(() => wgslConstBlock({ A: -1 })).toThrow(/not a u32/);
  });
});

describe('PipelineCache and override constants', () => {
  // Writes WG * SCALE from a workgroup whose size is WG: both come from the constants.
  const code = `
override WG: u32;
override SCALE: u32;
var<workgroup> lanes: array<u32, WG>;
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  lanes[lid] = 1u;
  workgroupBarrier();
  if (lid == 0u) {
    var n = 0u;
    for (var i = 0u; i < WG; i++) { n += lanes[i]; }
    out[0] = n * SCALE;
  }
}`;

  async function runWith(cache: PipelineCache, device: GPUDevice, constants: Record<string, number>): Promise<number> {
    const pipeline = cache.get('test', code, 'main', constants);
    const buffer = device.createBuffer({ size: 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const readback = device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer } }],
    });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(1);
    pass.end();
    encoder.copyBufferToBuffer(buffer, 0, readback, 0, 4);
    device.queue.submit([encoder.finish()]);
    await readback.mapAsync(GPUMapMode.READ);
    const value = new Uint32Array(readback.getMappedRange())[0]!;
    readback.unmap();
    buffer.destroy();
    readback.destroy();
    return value;
  }

  it('each set of values is one pipeline whatever the key order, and the values reach the kernel', async () => {
    const { device } = await gpu();
    const cache = new PipelineCache(device);
    expect(await runWith(cache, device, { WG: 64, SCALE: 3 })).toBe(192);
    expect(await runWith(cache, device, { SCALE: 3, WG: 64 })).toBe(192);
    expect(cache.size).toBe(1);
    expect(await runWith(cache, device, { WG: 32, SCALE: 3 })).toBe(96);
    expect(cache.size).toBe(2);
  });
});
