/** Compute pipelines compiled once per (shader source, entry point) and reused by every plan. */
export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(private readonly device: GPUDevice) {}

  get(label: string, code: string, entryPoint: string, constants?: Record<string, number>): GPUComputePipeline {
    const constKey = constants ? JSON.stringify(constants) : '';
    const key = `${label}\u0000${entryPoint}\u0000${constKey}\u0000${code}`;
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
        compute: { module, entryPoint, ...(constants ? { constants } : {}) },
      });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  get size(): number {
    return this.pipelines.size;
  }
}
