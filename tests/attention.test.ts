import { describe, expect, it } from 'vitest';
import { Graph } from '../src/autograd/graph';
import type { Slice } from '../src/autograd/params';
import { Plan } from '../src/autograd/plan';
import { attention, type AttentionKernel, attentionOp, referenceForward } from '../src/autograd/ops/attention';
import { attentionDecode } from '../src/autograd/ops/attention-decode';
import type { Tensor } from '../src/autograd/tensor';
import { maxRelError } from '../src/util/compare';
import { checkOp } from './helpers/checkOp';
import { gpu } from './helpers/gpu';
import { randn, rng } from './helpers/random';

/** Runs the full (training) attention forward on the GPU: qkv [B, T, 3C] -> y [B, T, C]. */
async function gpuForward(qkv: Float32Array, B: number, T: number, C: number, nHead: number): Promise<Float32Array> {
  const graph = new Graph();
  const x = graph.input('qkv', [B, T, 3 * C]);
  const y = attention(x, nHead);
  const plan = new Plan(await gpu(), graph, { retain: [y] });
  plan.write(x, qkv);
  plan.run();
  const out = await plan.read(y);
  plan.destroy();
  return out;
}

describe('attention against the float64 reference (forward, lse, backward)', () => {
  // [B, T, C, NH] -> head sizes 8, 24, 64, 128 and 20 (an odd number of vec4 chunks). T off every tile:
  // 300 spans several forward blocks (128 rows at HS 8 split, 256 whole), key tiles of 64, several dK/dV blocks of 64 keys
  // and query tiles of 64; 1 is a lone row. Each (head size, variant) compiles its own shader module
  // (tens of seconds on SwiftShader for HS 64 and 128), so HS 64 and 128 run once each: the variants
  // differ only in group_sum4, which HS 8 (2 threads per key) and 4 threads with a ragged last chunk
  // (HS 24 with subgroups, HS 20 in workgroup memory) cover. The workgroup variant's T = 70 and T = 1
  // cases share HS 20's module.
  const shapes: Record<AttentionKernel, [number, number, number, number][]> = {
    subgroups: [
      [2, 300, 24, 3],
      [1, 70, 24, 1],
      [2, 37, 192, 3],
    ],
    workgroup: [
      [1, 300, 24, 3],
      [2, 70, 60, 3],
      [2, 19, 128, 1],
      [1, 1, 40, 2],
    ],
  };
  for (const kernel of ['subgroups', 'workgroup'] as const)
    for (const [B, T, C, NH] of shapes[kernel])
      it(
        `${kernel}: B=${B} T=${T} C=${C} NH=${NH} (HS=${C / NH})`,
        async (ctx) => {
          // SwiftShader has subgroups (checked there); an adapter without them reports the case skipped.
          if (kernel === 'subgroups' && !(await gpu()).features.has('subgroups'))
            ctx.skip('this adapter has no subgroups');
          await checkOp(attentionOp, [{ shape: [B, T, 3 * C] }], { nHead: NH, kernel }, { seed: B * 1000 + T });
        },
        C / NH >= 64 ? 300_000 : undefined, // compiling the unrolled HS 64 / 128 kernels takes SwiftShader ~30 s of CPU
      );

  it('large scores (softmax stays max-subtracted)', () => {
    const data = randn(1 * 21 * 3 * 72, rng(5), 6);
    return checkOp(attentionOp, [{ shape: [1, 21, 216], data }], { nHead: 3, kernel: 'workgroup' }, { fdTol: 1e-4 });
  });
});

describe('attention is causal', () => {
  it('row 0 is v_0, and no row depends on later tokens', async () => {
    const [B, T, C, NH] = [2, 37, 72, 3];
    const qkv = randn(B * T * 3 * C, rng(11));
    const y = await gpuForward(qkv, B, T, C, NH);
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++) expect(y[b * T * C + c]).toBeCloseTo(qkv[b * T * 3 * C + 2 * C + c]!, 6);

    const cut = 20; // change q, k, v of tokens >= cut: rows < cut must not move
    const changed = qkv.slice();
    for (let b = 0; b < B; b++)
      for (let i = (b * T + cut) * 3 * C; i < (b + 1) * T * 3 * C; i++) changed[i] = changed[i]! + 1;
    const y2 = await gpuForward(changed, B, T, C, NH);
    let movedPast = 0;
    let movedFuture = 0;
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++)
        for (let c = 0; c < C; c++) {
          const diff = Math.abs(y[(b * T + t) * C + c]! - y2[(b * T + t) * C + c]!);
          if (t < cut) movedPast = Math.max(movedPast, diff);
          else movedFuture = Math.max(movedFuture, diff);
        }
    expect(movedPast).toBe(0);
    expect(movedFuture).toBeGreaterThan(0.1);
  });
});

describe('KV-cache decoding', () => {
  const [T, C, NH] = [19, 72, 3];
  const HS = C / NH;
  const maxT = 24;

  /** A decode plan over Tq tokens sharing the given cache buffers. */
  async function decodePlan(Tq: number, caches: Slice[]) {
    const graph = new Graph();
    const qkv = graph.input('qkv', [1, Tq, 3 * C]);
    const kCache = graph.input('kCache', [NH, maxT, HS]);
    const vCache = graph.input('vCache', [NH, maxT, HS]);
    const pos = graph.input('pos', [1], 'i32');
    const y = attentionDecode(qkv, kCache, vCache, pos, NH);
    const external = new Map<Tensor, Slice>([
      [kCache, caches[0]!],
      [vCache, caches[1]!],
    ]);
    const plan = new Plan(await gpu(), graph, { retain: [y], external, label: `decode.T${Tq}` });
    return {
      plan,
      async run(rows: Float32Array, at: number): Promise<Float32Array> {
        plan.write(qkv, rows);
        plan.write(pos, Int32Array.of(at));
        plan.run();
        return plan.read(y);
      },
    };
  }

  async function caches(): Promise<Slice[]> {
    const { device } = await gpu();
    const size = NH * maxT * HS * 4;
    return [0, 1].map((i) => {
      const buffer = device.createBuffer({
        label: `cache${i}`,
        size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      });
      // Garbage in unwritten positions must never be read.
      const junk = randn(size / 4, rng(90 + i), 100);
      device.queue.writeBuffer(buffer, 0, junk.buffer, junk.byteOffset, junk.byteLength);
      return { buffer, offset: 0, size };
    });
  }

  const qkv = randn(T * 3 * C, rng(21));
  const rowsOf = (from: number, to: number) => qkv.slice(from * 3 * C, to * 3 * C);

  async function expectMatchesFull(steps: { from: number; to: number; y: Float32Array }[]) {
    const full = await gpuForward(qkv, 1, T, C, NH);
    const ref = referenceForward(Float64Array.from(qkv), { B: 1, T, C, NH, HS }).y;
    for (const { from, to, y } of steps) {
      expect(maxRelError(y, full.subarray(from * C, to * C)), `rows ${from}..${to - 1} vs full forward`).toBeLessThan(
        1e-5,
      );
      expect(maxRelError(y, ref.subarray(from * C, to * C)), `rows ${from}..${to - 1} vs reference`).toBeLessThan(1e-5);
    }
  }

  it('one token at a time equals the full forward', async () => {
    const kv = await caches();
    const step = await decodePlan(1, kv);
    const steps = [];
    for (let t = 0; t < T; t++) steps.push({ from: t, to: t + 1, y: await step.run(rowsOf(t, t + 1), t) });
    await expectMatchesFull(steps);
    step.plan.destroy();
    kv.forEach((s) => s.buffer.destroy());
  });

  it('prefill of 5 tokens, then one token at a time', async () => {
    const kv = await caches();
    const prefill = await decodePlan(5, kv);
    const step = await decodePlan(1, kv);
    const steps = [{ from: 0, to: 5, y: await prefill.run(rowsOf(0, 5), 0) }];
    for (let t = 5; t < T; t++) steps.push({ from: t, to: t + 1, y: await step.run(rowsOf(t, t + 1), t) });
    await expectMatchesFull(steps);
    prefill.plan.destroy();
    step.plan.destroy();
    kv.forEach((s) => s.buffer.destroy());
  });
});
