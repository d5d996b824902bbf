import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backward } from '../src/autograd/backward';
import { Graph } from '../src/autograd/graph';
import { Plan } from '../src/autograd/plan';
import { attention, type AttentionKernel, attentionOp } from '../src/autograd/ops/attention';
import { benchAttention, benchAttentionKernels } from '../src/autograd/ops/attention.bench';
import type { StorageDType } from '../src/gpu/wgsl-storage';
import { roundHalf } from '../src/util/half';
import { checkOp } from './helpers/checkOp';
import { gpu } from './helpers/gpu';
import { randn, rng } from './helpers/random';

/**
 * Attention over f16 storage (halves two to a word): qkv f16, y f16, or both, in every kernel variant.
 * Each (variant, head size, dtypes) is its own shader module, compiled once per worker: SwiftShader
 * spends most of this file's time there, so the shapes are few and small. The reference sees the
 * f16 inputs' halves (checkOp rounds them), so f16 qkv meets the f32 bars. An f16 y is within half
 * an ulp (2^-12 relative; measured 2.4e-4 of the largest value) and feeds D = rowsum(dy * y) in the
 * backward with that rounding (measured 1.2-1.8e-4).
 */
const F16_OUT = { forwardTol: 3e-4, backwardTol: 5e-4 };

interface Case {
  /** undefined: the device's pick. */
  kernel: AttentionKernel | undefined;
  /** [B, T, C, NH] */
  shape: [number, number, number, number];
  qkv: StorageDType;
  out: StorageDType;
  /** Which entry points it reaches, for the test's name. */
  reaches: string;
}

const cases: Case[] = [
  // HS 6 in workgroup memory (two chunks, the last half full: one f16 word), each dtype pair.
  { kernel: 'workgroup', shape: [2, 37, 18, 3], qkv: 'f16', out: 'f32', reaches: 'whole rows' },
  { kernel: 'workgroup', shape: [2, 37, 18, 3], qkv: 'f32', out: 'f16', reaches: 'whole rows' },
  { kernel: 'workgroup', shape: [2, 37, 18, 3], qkv: 'f16', out: 'f16', reaches: 'whole rows' },
  // HS 7: f16 rows start at odd halves (a word shared by two rows): qkv read across them, y written
  // as f32 rows and packed afterwards, y read across them for D.
  { kernel: 'workgroup', shape: [1, 23, 21, 3], qkv: 'f16', out: 'f16', reaches: 'odd head size' },
  // HS 22 with subgroups: the split forward and split dQ, a ragged last chunk; T = 70 spans two
  // 64-row blocks and two key tiles.
  { kernel: 'subgroups', shape: [1, 70, 66, 3], qkv: 'f16', out: 'f16', reaches: 'split forward, split dQ' },
  // The mixed-precision model's head size, with the kernel the device picks (split, with subgroups).
  { kernel: undefined, shape: [1, 37, 128, 2], qkv: 'f16', out: 'f16', reaches: 'the model head size' },
  // HS 128 (32 chunks a row), whole rows.
  { kernel: 'workgroup', shape: [1, 19, 128, 1], qkv: 'f16', out: 'f16', reaches: 'largest head size' },
];

describe('attention with f16 storage against the float64 reference (forward, lse, backward)', () => {
  for (const { kernel, shape, qkv, out, reaches } of cases) {
    const [B, T, C, NH] = shape;
    it(`${kernel ?? 'default'} (${reaches}): qkv ${qkv}, y ${out}, B=${B} T=${T} C=${C} NH=${NH} (HS=${C / NH})`, async (ctx) => {
      // SwiftShader has subgroups; an adapter without them says so in the report instead of passing.
      if (kernel === 'subgroups' && !(await gpu()).features.has('subgroups')) ctx.skip('this adapter has no subgroups');
      await checkOp(
        attentionOp,
        [{ shape: [B, T, 3 * C], dtype: qkv }],
        { nHead: NH, out, ...(kernel ? { kernel } : {}) },
        { seed: B * 1000 + T, ...(out === 'f16' ? F16_OUT : {}) },
      );
    });
  }
});

/** y, lse and dqkv of one attention forward + backward on the GPU. */
async function run(
  qkvData: Float32Array,
  dyData: Float32Array,
  [B, T, C, NH]: [number, number, number, number],
  kernel: AttentionKernel,
  qkvType: StorageDType,
  out: StorageDType,
): Promise<{ y: Float32Array; lse: Float32Array; dqkv: Float32Array }> {
  const graph = new Graph();
  const qkv = graph.input('qkv', [B, T, 3 * C], qkvType, true);
  const [y, lse] = graph.apply(attentionOp, [qkv], { nHead: NH, kernel, out });
  const dy = graph.input('dy', [B, T, C]);
  const dqkv = backward(graph, [{ tensor: y!, grad: dy }]).get(qkv)!;
  const plan = await Plan.create(await gpu(), graph, { retain: [y!, lse!, dqkv] });
  plan.write(qkv, qkvData);
  plan.write(dy, dyData);
  plan.run();
  const result = { y: await plan.read(y!), lse: await plan.read(lse!), dqkv: await plan.read(dqkv) };
  plan.destroy();
  return result;
}

describe('f16 storage changes only the loads and stores', () => {
  // Values that are exact halves read the same from f32 and f16 storage, so the kernels must compute
  // the same bits; an f16 y must be the f32 y rounded. The shapes reuse modules of the cases above.
  const variants: [AttentionKernel, [number, number, number, number]][] = [['workgroup', [2, 37, 18, 3]]];
  for (const [kernel, shape] of variants)
    it(`${kernel}: f16 qkv gives the f32 path's bits; f16 y is its f32 y rounded to halves`, async () => {
      if (kernel === 'subgroups' && !(await gpu()).features.has('subgroups')) return;
      const [B, T, C] = shape;
      const qkv = Float32Array.from(randn(B * T * 3 * C, rng(31)), roundHalf);
      const dy = randn(B * T * C, rng(32));
      const f32 = await run(qkv, dy, shape, kernel, 'f32', 'f32');
      const halfIn = await run(qkv, dy, shape, kernel, 'f16', 'f32');
      expect(Array.from(halfIn.y)).toEqual(Array.from(f32.y));
      expect(Array.from(halfIn.lse)).toEqual(Array.from(f32.lse));
      expect(Array.from(halfIn.dqkv)).toEqual(Array.from(f32.dqkv));
      const halfBoth = await run(qkv, dy, shape, kernel, 'f16', 'f16');
      expect(Array.from(halfBoth.y)).toEqual(Array.from(f32.y, roundHalf));
      expect(Array.from(halfBoth.lse)).toEqual(Array.from(f32.lse));
    });

  it('the f32 path gives the bits it gave before f16 storage went in', async (t) => {
    // SHA-256 of y and dqkv from the f32 kernels before this change, on SwiftShader (the test device;
    // another adapter may round differently, so it skips there). HS 8: attention.test.ts's module.
    const ctx = await gpu();
    const info = ctx.adapterInfo;
    if (!/swiftshader/i.test(`${info.description} ${info.vendor} ${info.architecture}`)) t.skip();
    const shape: [number, number, number, number] = [1, 45, 24, 3];
    const got = await run(randn(45 * 72, rng(3)), randn(45 * 24, rng(4)), shape, 'workgroup', 'f32', 'f32');
    const sha = (a: Float32Array) => createHash('sha256').update(new Uint8Array(a.buffer)).digest('hex');
    expect(sha(got.y)).toBe('c5225498f9323b144a1b30bdbd46b3f97c6380dadb59902ce6b92b7643055560');
    expect(sha(got.dqkv)).toBe('2b341282e8e5c25344f0a1e28906ef4fc359d386805ca654dc59dc58d0605ac4');
  });

  it('the default is the f32 path: same attrs, same y dtype', () => {
    const graph = new Graph();
    const qkv = graph.input('qkv', [1, 4, 3 * 8]);
    const y = attention(qkv, 2);
    expect(y.dtype).toBe('f32');
    expect(attention(graph.input('h', [1, 4, 3 * 8], 'f16'), 2, { out: 'f16' }).dtype).toBe('f16');
  });
});

describe('the attention bench times the f16 variant', () => {
  // HS 6 in workgroup memory, as the cases above compiled it: only the timing runs here.
  it('forward and forward + backward, and each dispatch by timestamps', async () => {
    const ctx = await gpu();
    const r = await benchAttention(ctx, 2, 3, 37, 6, { kernel: 'workgroup', dtype: 'f16', reps: 1, warmup: 1 });
    expect(r.fwdMs).toBeGreaterThan(0);
    expect(r.stepMs).toBeGreaterThan(r.fwdMs);
    if (!ctx.features.has('timestamp-query')) return;
    const ms = await benchAttentionKernels(ctx, 2, 3, 37, 6, { kernel: 'workgroup', dtype: 'f16', reps: 1 });
    expect(Object.keys(ms)).toEqual([
      'attention_forward',
      'attention_backward_d',
      'attention_backward_dkv',
      'attention_backward_dq',
    ]);
    // SwiftShader's timestamps are coarse: a tiny dispatch may read 0, but not all of them.
    for (const v of Object.values(ms)) expect(v).toBeGreaterThanOrEqual(0);
    expect(Object.values(ms).reduce((a, b) => a + b)).toBeGreaterThan(0);
  });
});
