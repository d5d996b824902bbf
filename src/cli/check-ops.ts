/**
 * `check-ops [--only <substring>] [--list] [--out f.json]`: every kernel against its float64
 * reference on this adapter (OP_CASES: each op in f32 and every f16-storage variant, forward and
 * backward), one line per case, so a GPU session checks what the tests check on SwiftShader without
 * vitest. Exits 1 if any case exceeds its tolerance or fails to run, 2 on bad flags.
 */
import { writeFile } from 'node:fs/promises';
import { compareOp, worstError } from '../autograd/op-check';
import type { GpuContext, SubgroupMatrixConfig } from '../gpu/context';
import { createNodeContext } from '../gpu/node';
import { DataError } from '../data/types';
import { messageOf } from '../util/errors';
import { rng } from '../util/random';
import { parseFlags } from './args';
import { OP_CASES, type OpCase } from './check-ops-cases';

export interface CaseResult {
  name: string;
  op: string;
  inputs: { shape: number[]; dtype: string }[];
  attrs: Record<string, unknown>;
  status: 'ok' | 'FAIL' | 'skipped';
  /** Each output's max relative error, and the worst of them against its tolerance. */
  forward?: { errors: number[]; worst: number | null; tol: number };
  /** Each input's gradient error (null: no gradient), and the worst against its tolerance. */
  backward?: { errors: (number | null)[]; worst: number | null; tol: number };
  /** The forward's entry points on this adapter (which route ran: tiled or tensor-core matmul, attention variant). */
  kernels?: string[];
  /** Why it failed to run, or was skipped. */
  reason?: string;
  ms: number;
}

const sci = (x: number | null) => (x === null ? '-' : Number.isFinite(x) ? x.toExponential(1) : String(x));

/** One case on the device; a thrown error is a failure with its message, a missing feature a skip. */
async function runCase(ctx: GpuContext, c: OpCase): Promise<CaseResult> {
  const base = {
    name: c.name,
    op: c.op.name,
    inputs: c.inputs.map((i) => ({ shape: i.shape, dtype: i.dtype ?? 'f32' })),
    attrs: c.attrs,
  };
  if (c.needs && !ctx.features.has(c.needs))
    return { ...base, status: 'skipped', reason: `no '${c.needs}' feature on this adapter`, ms: 0 };
  const start = performance.now();
  try {
    const result = c.compare ? await c.compare(ctx) : await compareOp(ctx, c.op, c.inputs, c.attrs, rng(c.seed));
    const fw = worstError(result.forward);
    const bw = worstError(result.backward);
    // A NaN error is Infinity in worstError, so it fails too.
    const ok = fw !== null && fw < c.forwardTol && (bw === null || bw < c.backwardTol);
    const specs = c.inputs.map((i) => ({ shape: i.shape, dtype: i.dtype ?? 'f32' }));
    const kernels = c.compare ? undefined : [...new Set(c.op.encode(specs, c.attrs, ctx).map((k) => k.entryPoint))];
    return {
      ...base,
      status: ok ? 'ok' : 'FAIL',
      kernels,
      forward: { errors: result.forward, worst: fw, tol: c.forwardTol },
      backward: bw === null ? undefined : { errors: result.backward, worst: bw, tol: c.backwardTol },
      ms: performance.now() - start,
    };
  } catch (error) {
    return { ...base, status: 'FAIL', reason: messageOf(error).split('\n')[0], ms: performance.now() - start };
  }
}

function caseLine(r: CaseResult, width: number): string {
  const name = r.name.padEnd(width);
  if (r.status === 'skipped') return `${name}  skipped: ${r.reason}`;
  if (r.reason) return `${name}  FAIL: ${r.reason}`;
  const fw = `fwd ${sci(r.forward?.worst ?? null)} / ${sci(r.forward?.tol ?? null)}`;
  const bw = r.backward ? `bwd ${sci(r.backward.worst)} / ${sci(r.backward.tol)}` : 'bwd -';
  return `${name}  ${fw.padEnd(20)} ${bw.padEnd(20)} ${(r.ms / 1000).toFixed(2).padStart(6)} s  ${r.status}`;
}

const matrixName = (c: SubgroupMatrixConfig) => `${c.componentType}->${c.resultComponentType} ${c.M}x${c.N}x${c.K}`;

/** JSON has no Infinity or NaN: they are written as strings. */
const finiteJson = (_key: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v);

/** Runs the command with `cases` (the table; tests pass their own); resolves with the exit code. */
export async function checkOpsCommand(args: string[], cases: readonly OpCase[] = OP_CASES): Promise<number> {
  let ctx: GpuContext | undefined;
  try {
    const { values } = parseFlags(
      args,
      { only: { type: 'string' }, out: { type: 'string' }, list: { type: 'boolean' } },
      { command: 'check-ops' },
    );
    const only = values.only?.toLowerCase();
    const chosen = only === undefined ? cases : cases.filter((c) => c.name.toLowerCase().includes(only));
    if (chosen.length === 0)
      throw new DataError(
        'config',
        `--only "${values.only}" matches none of the ${cases.length} cases (--list names them)`,
      );
    if (values.list) {
      process.stdout.write(`${chosen.map((c) => c.name).join('\n')}\n`);
      return 0;
    }

    ctx = await createNodeContext();
    const info = ctx.adapterInfo;
    const limits = ctx.limits;
    const say = (line: string) => process.stdout.write(`${line}\n`);
    say(`device: ${info.description || info.vendor || 'unknown'} (${info.vendor}, ${info.architecture})`);
    // Three header lines whatever the adapter: its features (with the tensor-core shapes), its limits.
    const matrices = ctx.subgroupMatrixConfigs.map(matrixName).join(', ');
    say(`features: ${[...ctx.features].sort().join(', ')}${matrices ? `; subgroup matrices ${matrices}` : ''}`);
    const sizes = ctx.subgroupSizes ? `, subgroup size ${ctx.subgroupSizes.min}-${ctx.subgroupSizes.max}` : '';
    say(
      `limits: workgroup storage ${limits.maxComputeWorkgroupStorageSize} B, ${limits.maxComputeInvocationsPerWorkgroup} invocations a workgroup${sizes}`,
    );
    const width = Math.max(...chosen.map((c) => c.name.length));
    const results: CaseResult[] = [];
    const start = performance.now();
    for (const c of chosen) {
      const r = await runCase(ctx, c);
      results.push(r);
      say(caseLine(r, width));
    }
    const seconds = (performance.now() - start) / 1000;
    const failed = results.filter((r) => r.status === 'FAIL');
    const skipped = results.filter((r) => r.status === 'skipped').length;
    const ok = results.length - failed.length - skipped;
    say(
      `${results.length} cases: ${ok} ok, ${failed.length} failed, ${skipped} skipped, ${seconds.toFixed(1)} s` +
        (failed.length ? ` — failed: ${failed.map((r) => r.name).join('; ')}` : ''),
    );
    if (values.out) {
      const report = {
        device: info,
        features: [...ctx.features].sort(),
        subgroupSizes: ctx.subgroupSizes ?? null,
        subgroupMatrixConfigs: ctx.subgroupMatrixConfigs,
        ok: failed.length === 0,
        summary: { cases: results.length, ok, failed: failed.length, skipped, seconds },
        cases: results,
      };
      await writeFile(values.out, `${JSON.stringify(report, finiteJson, 2)}\n`);
    }
    return failed.length === 0 ? 0 : 1;
  } catch (error) {
    process.stderr.write(`check-ops: ${messageOf(error)}\n`);
    return error instanceof DataError ? 2 : 1;
  } finally {
    ctx?.device.destroy();
  }
}
