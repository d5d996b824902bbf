/**
 * Temporary buffers shared by every compiled plan of one device. A plan asks for "the k-th buffer
 * of size s"; plans never run interleaved, so plan A's k-th buffer of size s can be plan B's too,
 * and the train step, eval and sampling plans share one set of activations.
 */
export class BufferPool {
  private readonly buffers = new Map<number, GPUBuffer[]>();
  private bytes = 0;

  constructor(private readonly device: GPUDevice) {}

  /** Sizes are rounded up to 256 bytes, so near-equal shapes share a class. */
  static sizeClass(bytes: number): number {
    return Math.max(256, Math.ceil(bytes / 256) * 256);
  }

  get(sizeClass: number, ordinal: number): GPUBuffer {
    let list = this.buffers.get(sizeClass);
    if (!list) this.buffers.set(sizeClass, (list = []));
    while (list.length <= ordinal) {
      list.push(
        this.device.createBuffer({
          label: `pool.${sizeClass}.${list.length}`,
          size: sizeClass,
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        }),
      );
      this.bytes += sizeClass;
    }
    return list[ordinal]!;
  }

  /** Bytes held by the pool. */
  get allocatedBytes(): number {
    return this.bytes;
  }

  destroy(): void {
    for (const list of this.buffers.values()) for (const b of list) b.destroy();
    this.buffers.clear();
    this.bytes = 0;
  }
}
