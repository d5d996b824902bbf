/**
 * Checks the engine against a PyTorch reference fixture (tests/fixtures, made by
 * scripts/fixtures/make_fixtures.py): logits, loss, gradients, two clipped AdamW steps and greedy
 * decoding, each reported as its largest error next to the float32 tolerance it must meet and the
 * number of elements it covers. Lives beside the training step it drives.
 */
import type { GpuContext } from '../gpu/context';
import { BufferPool } from '../gpu/pool';
import type { GPTConfig } from '../model/config';
import { GPTModel } from '../model/gpt';
import { checkWeightsFit, configFromHfJson } from '../model/hf';
import { Sampler } from '../model/sample';
import {
  parseSafetensors,
  tensorAsFloat32,
  tensorAsFloat64,
  tensorAsInt32,
  type SafetensorsFile,
} from '../model/safetensors';
import { maxAbsError as maxAbs, maxRelError as maxRel } from '../util/compare';
import { TrainStep } from './step';

export interface FixtureRow {
  quantity: string;
  /** Largest error: relative to the tensor's largest entry, absolute for weights, mismatches for tokens. */
  error: number;
  tolerance: number;
  /** How many values the row judges. */
  elements: number;
  ok: boolean;
}

export interface FixtureReport {
  config: GPTConfig & { batchSize: number };
  rows: FixtureRow[];
  ok: boolean;
}

const TOL = { logits: 1e-5, loss: 1e-5, grad: 1e-4, gradNorm: 1e-4 };

/**
 * Weights after AdamW have no fixed float32 tolerance (Adam divides by sqrt(v), so where a gradient
 * is near zero any rounding moves the weight by up to lr). Each tensor is judged against what
 * PyTorch float32 itself reaches from the same start (`torch32.*`): the engine's largest error from
 * the float64 weights may be at most twice PyTorch float32's, plus a floor.
 */
const WEIGHTS_VS_TORCH32 = { factor: 2, floor: 1e-7 };

function need(file: SafetensorsFile, name: string, hint?: string) {
  const t = file.tensors.get(name);
  if (!t) throw new Error(`fixture is missing tensor ${name}${hint ? `: ${hint}` : ''}`);
  return t;
}

/** The fixture's model, bounded by the file's size (and the device's largest buffer when known). */
export function fixtureConfig(
  file: SafetensorsFile,
  fileBytes: number,
  maxBufferSize?: number,
): GPTConfig & { batchSize: number } {
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
  const dims = {
    vocabSize: num('vocab_size'),
    blockSize: num('block_size'),
    nLayer: num('n_layer'),
    nHead: num('n_head'),
    nEmbd: num('n_embd'),
  };
  try {
    // Same bounds as config.json, and the weights must fit in this file: before any model is made.
    configFromHfJson({
      vocab_size: dims.vocabSize,
      n_positions: dims.blockSize,
      n_layer: dims.nLayer,
      n_head: dims.nHead,
      n_embd: dims.nEmbd,
    });
    checkWeightsFit(dims, fileBytes, 'the fixture', maxBufferSize);
  } catch (error) {
    throw new Error(
      `fixture config: ${error instanceof Error ? error.message.replace(/^config /, '') : String(error)}`,
      { cause: error },
    );
  }
  return { ...dims, batchSize: num('batch_size') };
}

function weights(file: SafetensorsFile, prefix: string): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, t] of file.tensors)
    if (name.startsWith(prefix)) out.set(name.slice(prefix.length), tensorAsFloat32(t));
  return out;
}

export async function checkFixture(ctx: GpuContext, bytes: Uint8Array): Promise<FixtureReport> {
  const file = parseSafetensors(bytes);
  const config = fixtureConfig(file, bytes.byteLength, ctx.device.limits.maxBufferSize);
  const optimizer = JSON.parse(file.metadata.optimizer ?? '{}') as {
    lr?: number;
    betas?: number[];
    eps?: number;
    weight_decay?: number;
    grad_clip_global_norm?: number;
  };
  const rows: FixtureRow[] = [];
  const row = (quantity: string, error: number, tolerance: number, elements = 1) =>
    rows.push({ quantity, error, tolerance, elements, ok: error <= tolerance });

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
    const batch = (n: number) => ({
      idx: tensorAsInt32(need(file, `batch${n}.idx`)),
      targets: tensorAsInt32(need(file, `batch${n}.targets`)),
    });
    const lr = optimizer.lr ?? 1e-2;

    // Step 1: forward + backward at the initial weights.
    const loss1 = await step.forwardBackward([batch(1)]);
    const logits = tensorAsFloat64(need(file, 'step1.logits'));
    row('step1.logits', maxRel(await step.plan.read(step.logits), logits), TOL.logits, logits.length);
    row('step1.loss', maxRel([loss1], tensorAsFloat64(need(file, 'step1.loss'))), TOL.loss);
    const grads = await model.store.readAll('grad');
    let worstGrad = 0;
    let worstName = '';
    let gradElements = 0;
    for (const [name, g] of grads) {
      const e = maxRel(g, tensorAsFloat64(need(file, `grad.${name}`)));
      gradElements += g.length;
      if (e >= worstGrad) [worstGrad, worstName] = [e, name];
    }
    row(`grad.* (worst: ${worstName})`, worstGrad, TOL.grad, gradElements);
    row(
      'step1.grad_norm',
      maxRel([await step.optimizerStep(lr)], tensorAsFloat64(need(file, 'step1.grad_norm'))),
      TOL.gradNorm,
    );
    weightRow(row, await model.exportWeights(), file, 'step1.param.');

    // Step 2: the updated weights on batch 2.
    const loss2 = await step.forwardBackward([batch(2)]);
    row('step2.loss', maxRel([loss2], tensorAsFloat64(need(file, 'step2.loss'))), TOL.loss);
    row(
      'step2.grad_norm',
      maxRel([await step.optimizerStep(lr)], tensorAsFloat64(need(file, 'step2.grad_norm'))),
      TOL.gradNorm,
    );
    weightRow(row, await model.exportWeights(), file, 'step2.param.');
    step.destroy();

    // Greedy decoding with the KV cache and nanoGPT's context cropping.
    for (const prefix of ['gen', 'gen10']) {
      if (!file.tensors.has(`${prefix}.greedy`)) continue;
      model.loadWeights(prefix === 'gen' ? weights(file, 'param.') : weights(file, 'gen10.param.'));
      const expected = tensorAsInt32(need(file, `${prefix}.greedy`));
      const sampler = new Sampler(model, pool);
      const got = await sampler.generate([...tensorAsInt32(need(file, `${prefix}.prompt`))], {
        maxNewTokens: expected.length,
        temperature: 0,
      });
      sampler.destroy();
      let mismatches = 0;
      expected.forEach((t, i) => (mismatches += got[i] === t ? 0 : 1));
      row(`${prefix}.greedy (mismatches)`, mismatches, 0, expected.length);
    }
  } finally {
    model.destroy();
    pool.destroy();
  }
  return { config, rows, ok: rows.every((r) => r.ok) };
}

/**
 * Weights after an AdamW step, all tensors as one quantity against PyTorch float32's own error on
 * it (see WEIGHTS_VS_TORCH32). Judged as a whole, not per tensor: where gradients are near zero the
 * two float32 runs land far from float64 at different elements, so per-tensor maxima scatter.
 */
function weightRow(
  row: (quantity: string, error: number, tolerance: number, elements: number) => void,
  weights: ReadonlyMap<string, Float32Array>,
  file: SafetensorsFile,
  prefix: string,
): void {
  let engine = { name: '', error: 0 };
  let torch32 = 0;
  let elements = 0;
  for (const [name, w] of weights) {
    const ref = tensorAsFloat64(need(file, prefix + name));
    const torch = tensorAsFloat64(
      need(file, `torch32.${prefix}${name}`, 'regenerate the fixture with scripts/fixtures/make_fixtures.py'),
    );
    const error = maxAbs(w, ref);
    torch32 = Math.max(torch32, maxAbs(torch, ref));
    elements += w.length;
    if (!(error <= engine.error)) engine = { name, error: Number.isNaN(error) ? Infinity : error };
  }
  const tolerance = WEIGHTS_VS_TORCH32.factor * torch32 + WEIGHTS_VS_TORCH32.floor;
  row(
    `${prefix}* (worst: ${engine.name}; PyTorch f32 reaches ${torch32.toExponential(1)})`,
    engine.error,
    tolerance,
    elements,
  );
}

export function formatReport(report: FixtureReport): string {
  const c = report.config;
  const lines = [`model: V=${c.vocabSize} T=${c.blockSize} L=${c.nLayer} NH=${c.nHead} C=${c.nEmbd} B=${c.batchSize}`];
  const width = Math.max(...report.rows.map((r) => r.quantity.length));
  lines.push(
    `${'quantity'.padEnd(width)}  ${'elements'.padStart(8)}  ${'max error'.padStart(10)}  ${'tolerance'.padStart(9)}  result`,
  );
  for (const r of report.rows) {
    const cells = [
      r.quantity.padEnd(width),
      String(r.elements).padStart(8),
      r.error.toExponential(2).padStart(10),
      r.tolerance.toExponential(1).padStart(9),
    ];
    lines.push(`${cells.join('  ')}  ${r.ok ? 'ok' : 'FAIL'}`);
  }
  lines.push(
    report.ok ? 'all quantities within float32 tolerance' : 'FAILED: some quantities exceed float32 tolerance',
  );
  return lines.join('\n');
}
