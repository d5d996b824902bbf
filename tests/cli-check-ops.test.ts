/**
 * `check-ops`: the kernels' float64 check as a command (what a GPU session runs without vitest).
 * In this process on SwiftShader, with a few cheap cases: the lines, the JSON, a failing case
 * (broken reference, impossible tolerance, a case that throws) turning the exit code to 1, and the
 * table covering every op of the registry and every f16 variant.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { OpDef } from '../src/autograd/op';
import { addOp, copyOp } from '../src/autograd/ops/elementwise';
import { DIFFERENTIABLE_OPS, INFERENCE_OPS } from '../src/autograd/registry';
import { checkOpsCommand, type CaseResult } from '../src/cli/check-ops';
import { OP_CASES, type OpCase, TENSOR_CORES } from '../src/cli/check-ops-cases';
import { inProcess } from './helpers/cli';

const dir = await mkdtemp(join(tmpdir(), 'check-ops-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

interface Report {
  device: { vendor: string };
  features: string[];
  ok: boolean;
  summary: { cases: number; ok: number; failed: number; skipped: number };
  cases: CaseResult[];
}

const readReport = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as Report;

describe('check-ops on this adapter', () => {
  it('--only cast: the adapter first, one line per case with errors against tolerances, the JSON', async () => {
    const out = join(dir, 'cast.json');
    const r = await inProcess(checkOpsCommand, ['--only', 'CAST', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^device: \S/);
    expect(lines[1]).toMatch(/^features: .*timestamp-query/);
    expect(lines[2]).toMatch(/^limits: workgroup storage \d+ B/);
    expect(lines.slice(3, 5)).toEqual([
      expect.stringMatching(
        /^cast f32 -> f16 3x37 +fwd \d\.\de[-+]\d+ \/ 1\.0e-7 +bwd \d\.\de[-+]\d+ \/ 1\.0e-4 .* ok$/,
      ),
      expect.stringMatching(/^cast f16 -> f32 5x13 +fwd 0\.0e\+0 \/ 1\.0e-12 +bwd 0\.0e\+0 \/ 1\.0e-4 .* ok$/),
    ]);
    expect(lines[5]).toMatch(/^2 cases: 2 ok, 0 failed, 0 skipped, [\d.]+ s$/);
    expect(lines).toHaveLength(6);

    const report = await readReport(out);
    expect(report.ok).toBe(true);
    expect(report.summary).toMatchObject({ cases: 2, ok: 2, failed: 0, skipped: 0 });
    expect(report.features).toContain('timestamp-query');
    const [down, up] = report.cases;
    expect(down).toMatchObject({ op: 'cast', status: 'ok', inputs: [{ shape: [3, 37], dtype: 'f32' }] });
    expect(down!.attrs).toEqual({ to: 'f16' });
    expect([down!.kernels, up!.kernels]).toEqual([['cast_to_f16'], ['cast_to_f32']]);
    // f16 → f32 is exact: the GPU reads the halves the reference sees; the gradient passes straight.
    expect(up!.forward).toEqual({ errors: [0], worst: 0, tol: 1e-12 });
    expect(up!.backward).toEqual({ errors: [0], worst: 0, tol: 1e-4 });
    expect(down!.forward!.worst).toBeLessThan(1e-7);
  });

  it('a broken reference, an impossible tolerance and a case that throws: exit 1, each line says which', async () => {
    // The reference's forward 1% off: the GPU is right, the comparison must still catch the gap.
    const broken: OpDef = {
      ...addOp,
      reference: {
        forward: (ins, specs, attrs) => addOp.reference!.forward(ins, specs, attrs).map((y) => y.map((v) => v * 1.01)),
        backward: addOp.reference!.backward,
      },
    };
    const base = { inputs: [{ shape: [3, 37] }, { shape: [3, 37] }], attrs: {}, seed: 1 };
    const cases: OpCase[] = [
      { name: 'good add', op: addOp, ...base, forwardTol: 1e-5, backwardTol: 1e-4 },
      { name: 'broken add reference', op: broken, ...base, forwardTol: 1e-5, backwardTol: 1e-4 },
      // copy is exact (error 0), so only a zero tolerance fails it: errors must be below the bar.
      {
        name: 'copy, zero tolerance',
        op: copyOp,
        inputs: [{ shape: [5] }],
        attrs: {},
        seed: 1,
        forwardTol: 0,
        backwardTol: 1,
      },
      {
        name: 'i32 without data',
        op: addOp,
        ...base,
        inputs: [{ shape: [3], dtype: 'i32' }],
        forwardTol: 1,
        backwardTol: 1,
      },
      { name: 'needs a missing feature', op: addOp, ...base, needs: 'no-such-feature', forwardTol: 1, backwardTol: 1 },
    ];
    const out = join(dir, 'broken.json');
    const r = await inProcess((args) => checkOpsCommand(args, cases), ['--out', out]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n').slice(3);
    expect(lines[0]).toMatch(/^good add +fwd .* ok$/);
    // The scaled reference's gap is 1% of each value: 0.01/1.01 of the largest.
    expect(lines[1]).toMatch(/^broken add reference +fwd 9\.9e-3 \/ 1\.0e-5 +bwd 0\.0e\+0 \/ 1\.0e-4 .* FAIL$/);
    expect(lines[2]).toMatch(/^copy, zero tolerance +fwd 0\.0e\+0 \/ 0\.0e\+0 .* FAIL$/);
    expect(lines[3]).toMatch(/^i32 without data +FAIL: add: i32 inputs need data$/);
    expect(lines[4]).toMatch(/^needs a missing feature +skipped: no 'no-such-feature' feature on this adapter$/);
    expect(lines[5]).toMatch(
      /^5 cases: 1 ok, 3 failed, 1 skipped, [\d.]+ s — failed: broken add reference; copy, zero tolerance; i32 without data$/,
    );
    const report = await readReport(out);
    expect(report.ok).toBe(false);
    expect(report.cases.map((c) => c.status)).toEqual(['ok', 'FAIL', 'FAIL', 'FAIL', 'skipped']);
    expect(report.cases[1]!.forward!.worst).toBeCloseTo(0.01 / 1.01, 6);
    expect(report.cases[3]!.reason).toBe('add: i32 inputs need data');
  });

  it('the cases with comparisons of their own: KV-cache decoding, a matmul accumulating into a gradient slot', async () => {
    const cases = OP_CASES.filter(
      (c) => c.compare && /^(attention_decode|matmul into a gradient slot, f32)/.test(c.name),
    );
    expect(cases).toHaveLength(2);
    const r = await inProcess((args) => checkOpsCommand(args, cases), []);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').slice(3);
    expect(lines[0]).toMatch(
      /^matmul into a gradient slot, f32 150x72x100 +fwd \S+ \/ 1\.0e-5 +bwd \S+ \/ 1\.0e-4 .* ok$/,
    );
    expect(lines[1]).toMatch(
      /^attention_decode prefill 9 at position 14, T23 C24 NH3 +fwd \S+ \/ 1\.0e-5 +bwd - .* ok$/,
    );
  });

  it('refuses an --only that matches nothing in one line (exit 2); --list names the cases', async () => {
    const r = await inProcess(checkOpsCommand, ['--only', 'no such op']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `check-ops: --only "no such op" matches none of the ${OP_CASES.length} cases (--list names them)\n`,
    );
    const list = await inProcess(checkOpsCommand, ['--list', '--only', 'attention_decode']);
    expect(list.code).toBe(0);
    expect(list.stdout.trimEnd().split('\n')).toEqual(
      OP_CASES.filter((c) => c.op.name === 'attention_decode').map((c) => c.name),
    );
  });
});

describe('the check-ops table', () => {
  const outOf = (c: OpCase) => (c.attrs.out === 'f16' ? 'f16' : 'f32');
  const f16 = (c: OpCase) => c.inputs.some((i) => i.dtype === 'f16') || c.attrs.out === 'f16';

  it('covers every op of the registry in f32 (backward kernels through their ops), names unique', () => {
    const ops = [...DIFFERENTIABLE_OPS, ...INFERENCE_OPS.map((e) => e.op)];
    // cast's f32 case is its f32 -> f16 direction: its input is f32.
    const missing = ops.filter((op) => !OP_CASES.some((c) => c.op === op && c.inputs.every((i) => i.dtype !== 'f16')));
    expect(missing.map((op) => op.name)).toEqual([]);
    expect(new Set(OP_CASES.map((c) => c.name)).size).toBe(OP_CASES.length);
  });

  it('has the f16 variants: matmul operands, half and outputs; layernorm, gelu, cast; attention per kernel', () => {
    const matmuls = OP_CASES.filter((c) => c.op.name === 'matmul');
    const has = (pred: (c: OpCase) => boolean) => matmuls.some(pred);
    expect(has((c) => c.inputs[0]!.dtype === 'f16' && c.inputs[1]!.dtype === 'f16')).toBe(true);
    expect(has((c) => c.inputs[0]!.dtype !== 'f16' && c.inputs[1]!.dtype === 'f16')).toBe(true);
    expect(has((c) => c.attrs.half === true && c.inputs.every((i) => i.dtype !== 'f16'))).toBe(true);
    const outF16 = matmuls.filter((c) => c.attrs.out === 'f16');
    // N is the last dim of op(B): odd and even both, and a split-K shape (K = 700).
    const N = (c: OpCase) => (c.attrs.transB ? c.inputs[1]!.shape[0]! : c.inputs[1]!.shape.at(-1)!);
    expect(new Set(outF16.map((c) => N(c) % 2))).toEqual(new Set([0, 1]));
    expect(outF16.some((c) => c.inputs[0]!.shape.at(-1) === 700)).toBe(true);
    const forms = new Set(matmuls.map((c) => `${c.attrs.transA === true}${c.attrs.transB === true}`));
    expect(forms.size).toBe(4);
    for (const name of ['layernorm', 'gelu', 'cast'])
      expect(OP_CASES.some((c) => c.op.name === name && f16(c))).toBe(true);
    const gelu = OP_CASES.filter((c) => c.op.name === 'gelu').map((c) => `${c.inputs[0]!.dtype ?? 'f32'}>${outOf(c)}`);
    expect(new Set(gelu)).toEqual(new Set(['f32>f32', 'f32>f16', 'f16>f16', 'f16>f32']));
    // Tensor cores: each transpose form, an f16 C of even and odd N, split-K, only where offered.
    const tensorCores = matmuls.filter((c) => c.needs === TENSOR_CORES);
    expect(tensorCores.every((c) => c.attrs.half === true)).toBe(true);
    expect(new Set(tensorCores.map((c) => `${c.attrs.transA === true}${c.attrs.transB === true}`)).size).toBe(4);
    expect(new Set(tensorCores.filter((c) => c.attrs.out === 'f16').map((c) => N(c) % 2))).toEqual(new Set([0, 1]));
    expect(tensorCores.some((c) => c.inputs[0]!.shape.at(-1) === 700)).toBe(true);
    // Accumulating into a weight's gradient slot, in f32 and half (the mixed model's weight gradients).
    const slots = matmuls.filter((c) => c.name.startsWith('matmul into a gradient slot'));
    expect(slots.map((c) => c.attrs.half === true)).toEqual([false, true, true]);
    expect(slots.every((c) => c.compare !== undefined)).toBe(true);
    const attention = OP_CASES.filter((c) => c.op.name === 'attention');
    for (const kernel of ['workgroup', 'subgroups', undefined]) {
      const pairs = attention.filter((c) => c.attrs.kernel === kernel).map((c) => `${c.inputs[0]!.dtype}>${outOf(c)}`);
      expect(pairs, `kernel ${kernel ?? 'default'}`).toContain('f32>f32');
      expect(pairs, `kernel ${kernel ?? 'default'}`).toContain('f16>f16');
    }
  });
});
