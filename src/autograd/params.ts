/**
 * The parameter store: every weight of a model in one GPU buffer (an arena), with same-shaped
 * arenas for gradients and optimizer state. One arena per role lets the optimizer and the
 * gradient norm run as single fused dispatches over all parameters. Tensors that take weight decay
 * (2-D and up, nanoGPT's rule) come first, so "decays" is just `index < decayEnd`.
 */
import type { Shape } from './op';
import { numel } from './op';

/** Binding offsets must be multiples of 256 bytes (minStorageBufferOffsetAlignment). */
const ALIGN_ELEMS = 64;

export interface ParamEntry {
  name: string;
  shape: Shape;
  /** Offset in f32 elements from the arena's start. */
  offset: number;
  numel: number;
  decay: boolean;
}

export interface Slice {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

export type ArenaRole = 'param' | 'grad' | 'adamM' | 'adamV';

export class ParameterStore {
  readonly entries: ParamEntry[] = [];
  private readonly byName = new Map<string, ParamEntry>();
  /** Total arena length in f32 elements (padding included). */
  readonly length: number;
  /** Elements below this offset belong to tensors with weight decay. */
  readonly decayEnd: number;
  private readonly arenas = new Map<ArenaRole, GPUBuffer>();

  constructor(
    private readonly device: GPUDevice,
    specs: readonly { name: string; shape: Shape }[],
  ) {
    const ordered = [...specs.filter((s) => s.shape.length >= 2), ...specs.filter((s) => s.shape.length < 2)];
    let offset = 0;
    let decayEnd = 0;
    for (const s of ordered) {
      if (this.byName.has(s.name)) throw new Error(`parameter ${s.name} declared twice`);
      const entry: ParamEntry = {
        name: s.name,
        shape: s.shape,
        offset,
        numel: numel(s.shape),
        decay: s.shape.length >= 2,
      };
      this.entries.push(entry);
      this.byName.set(s.name, entry);
      offset += Math.ceil(entry.numel / ALIGN_ELEMS) * ALIGN_ELEMS;
      if (entry.decay) decayEnd = offset;
    }
    this.length = Math.max(offset, ALIGN_ELEMS);
    this.decayEnd = decayEnd;
  }

  /** Number of real parameters (padding excluded). */
  get count(): number {
    return this.entries.reduce((n, e) => n + e.numel, 0);
  }

  entry(name: string): ParamEntry {
    const e = this.byName.get(name);
    if (!e) throw new Error(`unknown parameter ${name}`);
    return e;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The arena of a role, created zero-filled on first use. */
  arena(role: ArenaRole): GPUBuffer {
    let buffer = this.arenas.get(role);
    if (!buffer) {
      buffer = this.device.createBuffer({
        label: `arena.${role}`,
        size: this.length * 4,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
      this.arenas.set(role, buffer);
    }
    return buffer;
  }

  slice(name: string, role: ArenaRole = 'param'): Slice {
    const e = this.entry(name);
    return { buffer: this.arena(role), offset: e.offset * 4, size: e.numel * 4 };
  }

  write(name: string, data: Float32Array, role: ArenaRole = 'param'): void {
    const e = this.entry(name);
    if (data.length !== e.numel) throw new Error(`parameter ${name}: expected ${e.numel} values, got ${data.length}`);
    this.device.queue.writeBuffer(this.arena(role), e.offset * 4, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Reads a whole arena back and splits it by parameter. */
  async readAll(role: ArenaRole = 'param'): Promise<Map<string, Float32Array>> {
    const all = await readBuffer(this.device, this.arena(role), 0, this.length * 4);
    const out = new Map<string, Float32Array>();
    for (const e of this.entries) out.set(e.name, all.slice(e.offset, e.offset + e.numel));
    return out;
  }

  zero(encoder: GPUCommandEncoder, role: ArenaRole): void {
    encoder.clearBuffer(this.arena(role));
  }

  destroy(): void {
    for (const b of this.arenas.values()) b.destroy();
    this.arenas.clear();
  }
}

/** Copies a buffer range to a staging buffer and maps it (one readback; use sparingly). */
export async function readBuffer(
  device: GPUDevice,
  buffer: GPUBuffer,
  offset: number,
  size: number,
): Promise<Float32Array> {
  const bytes = await readBytes(device, buffer, offset, size);
  return new Float32Array(bytes);
}

export async function readBytes(
  device: GPUDevice,
  buffer: GPUBuffer,
  offset: number,
  size: number,
): Promise<ArrayBuffer> {
  const staging = device.createBuffer({
    size: Math.ceil(size / 4) * 4,
    usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
  });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, offset, staging, 0, Math.ceil(size / 4) * 4);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const copy = staging.getMappedRange().slice(0, size);
  staging.unmap();
  staging.destroy();
  return copy;
}
