/**
 * Compute pipelines compiled once per (shader source, entry point, override constants) and reused
 * by every plan. Workgroup and tile sizes live in TypeScript beside each op and reach the WGSL as
 * `override` constants, so one shader source serves every specialisation.
 */
export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(private readonly device: GPUDevice) {}

  get(
    label: string,
    code: string,
    entryPoint: string,
    constants?: Readonly<Record<string, number>>,
  ): GPUComputePipeline {
    const key = `${label}\u0000${entryPoint}\u0000${constantsKey(constants)}\u0000${code}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      let module = this.modules.get(code);
      if (!module) {
        module = this.device.createShaderModule({ label, code });
        this.modules.set(code, module);
      }
      pipeline = this.device.createComputePipeline({
        label: `${label}.${entryPoint}`,
        layout: 'auto',
        compute: { module, entryPoint, ...(constants ? { constants: { ...constants } } : {}) },
      });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  get size(): number {
    return this.pipelines.size;
  }
}

/** The same values in any key order name the same pipeline. */
function constantsKey(constants?: Readonly<Record<string, number>>): string {
  if (!constants) return '';
  return Object.keys(constants)
    .sort()
    .map((k) => `${k}=${constants[k]}`)
    .join(',');
}

/**
 * `const NAME: u32 = VALUE;` lines to put before a shader's source, for the few sizes WGSL needs as
 * const-expressions (a function-scope array's length cannot be an override).
 */
export function wgslConstBlock(values: Readonly<Record<string, number>>): string {
  return Object.entries(values)
    .map(([name, v]) => {
      if (!Number.isInteger(v) || v < 0) throw new Error(`wgslConstBlock: ${name} = ${v} is not a u32`);
      return `const ${name}: u32 = ${v}u;\n`;
    })
    .join('');
}
