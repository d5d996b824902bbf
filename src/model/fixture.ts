/**
 * Checks the engine against a PyTorch reference fixture (see tests/fixtures and
 * ../shared/fixtures/README.md): logits, loss, gradients, two clipped AdamW steps and greedy
 * decoding, each reported as its largest error next to the float32 tolerance it must meet.
 */
import type { GpuContext } from '../gpu/context';
import { BufferPool } from '../gpu/pool';
import { TrainStep } from '../train/step';
import type { GPTConfig } from './config';
import { GPTModel } from './gpt';
import { checkWeightsFit, configFromHfJson } from './hf';
import { Sampler } from './sample';
import { parseSafetensors, tensorAsFloat32, tensorAsFloat64, tensorAsInt32, type SafetensorsFile } from './safetensors';

export interface FixtureRow {
  quantity: string;
  /** Largest error: relative to the tensor's largest entry, absolute for weights, mismatches for tokens. */
  error: number;
  tolerance: number;
  ok: boolean;
}

export interface FixtureReport {
  config: GPTConfig & { batchSize: number };
  rows: FixtureRow[];
  ok: boolean;
}

const TOL = { logits: 1e-5, loss: 1e-5, grad: 1e-4, gradNorm: 1e-4, weights: 1e-5 };

function maxRel(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let diff = 0;
  let scale = 1e-30;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / scale;
}

function maxAbs(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
  }
  return diff;
}

function need(file: SafetensorsFile, name: string) {
  const t = file.tensors.get(name);
  if (!t) throw new Error(`fixture is missing tensor ${name}`);
  return t;
}

/** The fixture's model, bounded by the file's size (and the device's largest buffer when known). */
export function fixtureConfig(file: SafetensorsFile, fileBytes: number, maxBufferSize?: number): GPTConfig & { batchSize: number } {
  const raw = file.metadata.config;
  if (!raw) throw new Error('fixture has no "config" in its __metadata__');
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new Error('fixture metadata "config" is not valid JSON');
  }
  const num = (k: string) => {
    const v = c[k];
    if (typeof v !== 'number') throw new Error(`fixture config has no numeric "${k}"`);
    if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`fixture config ${k} is ${v}, expected a positive integer`);
    return v;
  };
  const dims = { vocabSize: num('vocab_size'), blockSize: num('block_size'), nLayer: num('n_layer'), nHead: num('n_head'), nEmbd: num('n_embd') };
  try {
    // Same bounds as config.json, and the weights must fit in this file: before any model is made.
    configFromHfJson({ vocab_size: dims.vocabSize, n_positions: dims.blockSize, n_layer: dims.nLayer, n_head: dims.nHead, n_embd: dims.nEmbd });
    checkWeightsFit(dims, fileBytes, 'the fixture', maxBufferSize);
  } catch (error) {
    throw new Error(`fixture config: ${error instanceof Error ? error.message.replace(/^config /, '') : String(error)}`, { cause: error });
  }
  return { ...dims, batchSize: num('batch_size') };
}

function weights(file: SafetensorsFile, prefix: string): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, t] of file.tensors) if (name.startsWith(prefix)) out.set(name.slice(prefix.length), tensorAsFloat32(t));
  return out;
}

export async function checkFixture(ctx: GpuContext, bytes: Uint8Array): Promise<FixtureReport> {
  const file = parseSafetensors(bytes);
  const config = fixtureConfig(file, bytes.byteLength, ctx.device.limits.maxBufferSize);
  const optimizer = JSON.parse(file.metadata.optimizer ?? '{}') as { lr?: number; betas?: number[]; eps?: number; weight_decay?: number; grad_clip_global_norm?: number };
  const rows: FixtureRow[] = [];
  const row = (quantity: string, error: number, tolerance: number) => rows.push({ quantity, error, tolerance, ok: error <= tolerance });

  const model = new GPTModel(ctx, config);
  const pool = new BufferPool(ctx.device);
  try {
    model.loadWeights(weights(file, 'param.'));
    const [B, T] = need(file, 'batch1.idx').shape as [number, number];
    const step = new TrainStep(
      model,
      { batchSize: B, seqLen: T, accumSteps: 1 },
      {
        lr: optimizer.lr ?? 1e-2,
        beta1: optimizer.betas?.[0] ?? 0.9,
        beta2: optimizer.betas?.[1] ?? 0.95,
        eps: optimizer.eps ?? 1e-8,
        weightDecay: optimizer.weight_decay ?? 0.1,
        gradClip: optimizer.grad_clip_global_norm ?? 1.0,
      },
      { pool, retainLogits: true },
    );
    const batch = (n: number) => ({ idx: tensorAsInt32(need(file, `batch${n}.idx`)), targets: tensorAsInt32(need(file, `batch${n}.targets`)) });
    const lr = optimizer.lr ?? 1e-2;

    // Step 1: forward + backward at the initial weights.
    const loss1 = await step.forwardBackward([batch(1)]);
    row('step1.logits', maxRel(await step.plan.read(step.logits), tensorAsFloat64(need(file, 'step1.logits'))), TOL.logits);
    row('step1.loss', maxRel([loss1], tensorAsFloat64(need(file, 'step1.loss'))), TOL.loss);
    const grads = await model.store.readAll('grad');
    let worstGrad = 0;
    let worstName = '';
    for (const [name, g] of grads) {
      const e = maxRel(g, tensorAsFloat64(need(file, `grad.${name}`)));
      if (e >= worstGrad) [worstGrad, worstName] = [e, name];
    }
    row(`grad.* (worst: ${worstName})`, worstGrad, TOL.grad);
    row('step1.grad_norm', maxRel([await step.optimizerStep(lr)], tensorAsFloat64(need(file, 'step1.grad_norm'))), TOL.gradNorm);
    const refGrads1 = new Map([...grads.keys()].map((name) => [name, tensorAsFloat64(need(file, `grad.${name}`))]));
    const slack = new AdamSlack(lr, optimizer.betas?.[1] ?? 0.95, optimizer.eps ?? 1e-8);
    slack.addStep(refGrads1);
    weightRow(row, await model.exportWeights(), file, 'step1.param.', slack);

    // Step 2: the updated weights on batch 2.
    const loss2 = await step.forwardBackward([batch(2)]);
    row('step2.loss', maxRel([loss2], tensorAsFloat64(need(file, 'step2.loss'))), TOL.loss);
    slack.addStep(await model.store.readAll('grad'));
    row('step2.grad_norm', maxRel([await step.optimizerStep(lr)], tensorAsFloat64(need(file, 'step2.grad_norm'))), TOL.gradNorm);
    weightRow(row, await model.exportWeights(), file, 'step2.param.', slack);
    step.destroy();

    // Greedy decoding with the KV cache and nanoGPT's context cropping.
    for (const prefix of ['gen', 'gen10']) {
      if (!file.tensors.has(`${prefix}.greedy`)) continue;
      model.loadWeights(prefix === 'gen' ? weights(file, 'param.') : weights(file, 'gen10.param.'));
      const expected = tensorAsInt32(need(file, `${prefix}.greedy`));
      const sampler = new Sampler(model, pool);
      const got = await sampler.generate([...tensorAsInt32(need(file, `${prefix}.prompt`))], { maxNewTokens: expected.length, temperature: 0 });
      sampler.destroy();
      let mismatches = 0;
      expected.forEach((t, i) => (mismatches += got[i] === t ? 0 : 1));
      row(`${prefix}.greedy (${expected.length} tokens, mismatches)`, mismatches, 0);
    }
  } finally {
    model.destroy();
    pool.destroy();
  }
  return { config, rows, ok: rows.every((r) => r.ok) };
}

/** Relative size of float32 rounding in our gradients (measured: <= 7e-7 of each tensor's largest entry). */
const GRAD_ROUNDING = 1e-6;

/**
 * How far AdamW may legitimately move each weight away from the float64 reference because the
 * gradients it was fed carry float32 rounding. Adam divides by sqrt(v): for a gradient near zero
 * (a key bias's gradient is exactly zero in theory) a 1e-11 rounding residue moves the weight by up
 * to lr. To first order, step t moves by at most lr * 2 * (dg_1 + ... + dg_t) / (sqrt(v_hat_t) + eps),
 * where dg_s is the rounding size of step s's gradients (the 2 bounds both m's and v's share, and
 * the sum carries earlier steps' errors through the moments). The bound is summed over steps.
 */
class AdamSlack {
  private readonly slack = new Map<string, Float64Array>();
  private readonly v = new Map<string, Float64Array>();
  private readonly dgSum = new Map<string, number>();
  private steps = 0;

  constructor(
    private readonly lr: number,
    private readonly beta2: number,
    private readonly eps: number,
  ) {}

  addStep(grads: ReadonlyMap<string, ArrayLike<number>>): void {
    this.steps++;
    const bc2 = 1 - this.beta2 ** this.steps;
    for (const [name, g] of grads) {
      let maxG = 0;
      for (let i = 0; i < g.length; i++) maxG = Math.max(maxG, Math.abs(g[i]!));
      const dg = (this.dgSum.get(name) ?? 0) + GRAD_ROUNDING * maxG;
      this.dgSum.set(name, dg);
      const v = this.v.get(name) ?? new Float64Array(g.length);
      const slack = this.slack.get(name) ?? new Float64Array(g.length);
      for (let i = 0; i < g.length; i++) {
        v[i] = this.beta2 * v[i]! + (1 - this.beta2) * g[i]! * g[i]!;
        slack[i] = slack[i]! + (2 * this.lr * dg) / (Math.sqrt(v[i]! / bc2) + this.eps);
      }
      this.v.set(name, v);
      this.slack.set(name, slack);
    }
  }

  get(name: string): Float64Array {
    return this.slack.get(name)!;
  }
}

/**
 * Weights after AdamW steps: the error beyond AdamSlack's bound must stay under 1e-5; the row also
 * names the raw largest difference, so the reader sees both.
 */
function weightRow(
  row: (quantity: string, error: number, tolerance: number) => void,
  weights: ReadonlyMap<string, Float32Array>,
  file: SafetensorsFile,
  prefix: string,
  slack: AdamSlack,
): void {
  let raw = 0;
  let beyond = 0;
  for (const [name, w] of weights) {
    const ref = tensorAsFloat64(need(file, prefix + name));
    const s = slack.get(name);
    raw = Math.max(raw, maxAbs(w, ref));
    for (let i = 0; i < ref.length; i++) {
      const e = Math.abs(w[i]! - ref[i]!);
      beyond = Math.max(beyond, Number.isNaN(e) ? Infinity : e - s[i]!);
    }
  }
  row(`${prefix}* (raw max ${raw.toExponential(1)}; beyond f32-gradient slack)`, Math.max(0, beyond), TOL.weights);
}

export function formatReport(report: FixtureReport): string {
  const c = report.config;
  const lines = [`model: V=${c.vocabSize} T=${c.blockSize} L=${c.nLayer} NH=${c.nHead} C=${c.nEmbd} B=${c.batchSize}`];
  const width = Math.max(...report.rows.map((r) => r.quantity.length));
  lines.push(`${'quantity'.padEnd(width)}  ${'max error'.padStart(10)}  ${'tolerance'.padStart(9)}  result`);
  for (const r of report.rows)
    lines.push(`${r.quantity.padEnd(width)}  ${r.error.toExponential(2).padStart(10)}  ${r.tolerance.toExponential(0).padStart(9)}  ${r.ok ? 'ok' : 'FAIL'}`);
  lines.push(report.ok ? 'all quantities within float32 tolerance' : 'FAILED: some quantities exceed float32 tolerance');
  return lines.join('\n');
}
