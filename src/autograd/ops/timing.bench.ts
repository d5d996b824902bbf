/**
 * What the kernel benches share: cheap random inputs, and timing a plan's replays (warm-up runs,
 * then `reps` replays recorded into one command buffer and submitted once).
 */
import type { GpuContext } from '../../gpu/context';
import type { Plan } from '../plan';

/** Cheap pseudo-random fill (values in [-1, 1)); quality is irrelevant, only non-zero data matters. */
export function benchFill(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 2147483648 - 1;
  }
  return out;
}

export interface PlanTiming {
  /** Milliseconds per replay, wall clock over one submit (queue done / reps). */
  ms: number;
  /** GPU milliseconds per replay from timestamp queries (first pass's start to the last's end). */
  gpuMs?: number;
}

/** Times `reps` replays of `plan`; `gpuTime` adds timestamp queries when the device has them. */
export async function timePlan(
  ctx: GpuContext,
  plan: Plan,
  reps: number,
  warmup: number,
  gpuTime = false,
): Promise<PlanTiming> {
  const device = ctx.device;
  for (let i = 0; i < warmup; i++) plan.run();
  await device.queue.onSubmittedWorkDone();

  const querySet =
    gpuTime && ctx.features.has('timestamp-query') ? device.createQuerySet({ type: 'timestamp', count: 2 }) : null;
  const encoder = device.createCommandEncoder();
  for (let i = 0; i < reps; i++) {
    const writes: GPUComputePassTimestampWrites | undefined = querySet
      ? i === 0 && i === reps - 1
        ? { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 }
        : i === 0
          ? { querySet, beginningOfPassWriteIndex: 0 }
          : i === reps - 1
            ? { querySet, endOfPassWriteIndex: 1 }
            : undefined
      : undefined;
    plan.encode(encoder, writes);
  }
  let resolve: GPUBuffer | null = null;
  let readback: GPUBuffer | null = null;
  if (querySet) {
    resolve = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    readback = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, readback, 0, 16);
  }
  const start = performance.now();
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  const result: PlanTiming = { ms: (performance.now() - start) / reps };

  if (readback) {
    await readback.mapAsync(GPUMapMode.READ);
    const [t0, t1] = new BigUint64Array(readback.getMappedRange());
    readback.unmap();
    const gpuMs = Number(t1! - t0!) / 1e6 / reps;
    if (gpuMs > 0) result.gpuMs = gpuMs;
  }
  readback?.destroy();
  resolve?.destroy();
  querySet?.destroy();
  return result;
}
