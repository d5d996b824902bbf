/**
 * The benchmark: matmul TFLOP/s (square and the model's real shapes), elementwise GB/s, and
 * training-step tokens/s with achieved TFLOP/s, for a chosen model. Napkin math beside each
 * figure, as llm.c's dev/cuda does. Speed is measured here, never in tests.
 */
import { writeFile } from 'node:fs/promises';
import { Graph } from '../autograd/graph';
import { benchAttention } from '../autograd/ops/attention.bench';
import { gelu } from '../autograd/ops/elementwise';
import { benchMatmul } from '../autograd/ops/matmul.bench';
import { tensorCoreRoute } from '../autograd/ops/matmul-tc';
import { Plan } from '../autograd/plan';
import type { GpuContext } from '../gpu/context';
import { createNodeContext } from '../gpu/node';
import { BufferPool } from '../gpu/pool';
import { formatProfile } from '../gpu/profiler';
import { type GPTConfig, SEED_CONFIG } from '../model/config';
import { GPTModel } from '../model/gpt';
import { trainingFlopsPerToken } from '../model/hf';
import { TrainStep } from '../train/step';
import { randint, rng } from '../util/random';
import { parseBenchArgs } from './bench-args';

// The seed runs B=16 as 2 micro-batches of 8: 8 x 1024 x 50304 logits (1.65 GB) fit one
// storage binding, 16 x 1024 x 50304 (3.3 GB) would not.
const PRESETS: Record<string, { config: GPTConfig; batch: number; accum: number }> = {
  seed: { config: SEED_CONFIG, batch: 8, accum: 2 },
  small: { config: { vocabSize: 8192, blockSize: 256, nLayer: 4, nHead: 4, nEmbd: 128 }, batch: 32, accum: 1 },
  tiny: { config: { vocabSize: 512, blockSize: 64, nLayer: 2, nHead: 2, nEmbd: 64 }, batch: 4, accum: 1 },
};

async function timeIt(ctx: GpuContext, reps: number, encode: (encoder: GPUCommandEncoder) => void): Promise<number> {
  const device = ctx.device;
  const warm = device.createCommandEncoder();
  encode(warm);
  device.queue.submit([warm.finish()]);
  await device.queue.onSubmittedWorkDone();
  const encoder = device.createCommandEncoder();
  for (let i = 0; i < reps; i++) encode(encoder);
  const start = performance.now();
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  return (performance.now() - start) / reps;
}

async function benchGelu(ctx: GpuContext, n: number): Promise<{ ms: number; gbps: number }> {
  const graph = new Graph();
  const x = graph.input('x', [n]);
  gelu(x);
  const plan = new Plan(ctx, graph, { label: 'bench.gelu' });
  const ms = await timeIt(ctx, 20, (e) => plan.encode(e));
  plan.destroy();
  return { ms, gbps: (2 * n * 4) / (ms * 1e6) };
}

async function benchKernels(
  ctx: GpuContext,
  results: Record<string, unknown>,
  matmul: string | boolean | undefined,
  onCpu: boolean,
  B: number,
  T: number,
  config: GPTConfig,
): Promise<void> {
  const C = config.nEmbd;
  const n = typeof matmul === 'string' ? Number.parseInt(matmul, 10) : onCpu ? 256 : 4096;
  const matmuls: {
    name: string;
    M: number;
    N: number;
    K: number;
    transA?: boolean;
    transB?: boolean;
    operands?: 'f16';
    half?: boolean;
  }[] = [
    { name: `square ${n}³`, M: n, N: n, K: n },
    { name: `square ${n}³, f16 operands`, M: n, N: n, K: n, operands: 'f16' },
    // Mixed precision's products: on tensor cores where the adapter has them (see the line above the table).
    { name: `square ${n}³, half`, M: n, N: n, K: n, operands: 'f16', half: true },
    { name: 'qkv, half', M: B * T, N: 3 * C, K: C, operands: 'f16', half: true },
    { name: 'dW fc, half (A^T)', M: C, N: 4 * C, K: B * T, transA: true, operands: 'f16', half: true },
    { name: 'qkv  (BT x C -> 3C)', M: B * T, N: 3 * C, K: C },
    { name: 'fc   (BT x C -> 4C)', M: B * T, N: 4 * C, K: C },
    { name: 'proj (BT x 4C -> C)', M: B * T, N: C, K: 4 * C },
    { name: 'lm head (BT x C -> V, B^T)', M: B * T, N: config.vocabSize, K: C, transB: true },
    { name: 'dW fc (C x BT -> 4C, A^T)', M: C, N: 4 * C, K: B * T, transA: true },
  ];
  const mm: Record<string, unknown>[] = [];
  const route = tensorCoreRoute(ctx);
  results.tensorCores = route;
  console.log(
    `\ntensor cores for half products: ${route ? `f16 → f32 subgroup matrices ${route.config.M}×${route.config.N}×${route.config.K}, subgroups of ${route.subgroupSize}` : 'none here (the tiled f32 kernel runs them)'}`,
  );
  console.log('\nmatmul                          M      N      K     ms   GFLOP/s');
  for (const s of matmuls) {
    const r = await benchMatmul(ctx, s.M, s.N, s.K, {
      transA: s.transA,
      transB: s.transB,
      operands: s.operands,
      half: s.half,
    });
    mm.push({ ...s, ...r });
    console.log(
      `${s.name.padEnd(28)} ${String(s.M).padStart(6)} ${String(s.N).padStart(6)} ${String(s.K).padStart(6)} ${r.ms.toFixed(3).padStart(8)} ${(r.tflops * 1000).toFixed(1).padStart(9)}`,
    );
  }
  results.matmul = mm;

  const g = await benchGelu(ctx, onCpu ? 1 << 18 : 1 << 26);
  results.gelu = g;
  console.log(`\ngelu (elementwise)  ${g.ms.toFixed(3)} ms  ${g.gbps.toFixed(1)} GB/s (read + write)`);

  const HS = C / config.nHead;
  // f16: qkv and y stored as halves, as mixed precision runs it (the arithmetic stays f32).
  for (const dtype of ['f32', 'f16'] as const) {
    const a = await benchAttention(ctx, B, config.nHead, T, HS, { dtype });
    results[dtype === 'f32' ? 'attention' : 'attention_f16'] = { B, NH: config.nHead, T, HS, ...a };
    console.log(
      `attention${dtype === 'f16' ? ', f16 qkv and y' : ''} (B=${B} NH=${config.nHead} T=${T} HS=${HS})  fwd ${a.fwdMs.toFixed(3)} ms  fwd+bwd ${a.stepMs.toFixed(3)} ms  ${(a.tflops * 1000).toFixed(1)} GFLOP/s (causal)`,
    );
  }
}

/** Runs the bench; resolves with the exit code (2: --profile on an adapter without timestamps). */
export async function runBench(opts: Record<string, string | boolean | undefined>): Promise<number> {
  const profile = opts.profile === true;
  const str = (v: string | boolean | undefined) => (typeof v === 'string' ? v : undefined);
  const ctx = await createNodeContext();
  const onCpu = /swiftshader/i.test(
    `${ctx.adapterInfo.description} ${ctx.adapterInfo.vendor} ${ctx.adapterInfo.architecture}`,
  );
  const results: Record<string, unknown> = { device: ctx.adapterInfo, features: [...ctx.features] };
  console.log(
    `device: ${ctx.adapterInfo.description || ctx.adapterInfo.vendor} (${ctx.adapterInfo.architecture})${onCpu ? ' — SwiftShader, a CPU: figures are tiny' : ''}`,
  );
  if (profile && !ctx.features.has('timestamp-query')) {
    console.error('bench --profile: this adapter has no timestamp-query feature, so single dispatches cannot be timed');
    ctx.device.destroy();
    return 2;
  }

  const precision = opts.precision === 'mixed' ? 'mixed' : 'f32';
  results.precision = precision;

  const preset = PRESETS[str(opts.model) ?? (onCpu ? 'tiny' : 'seed')];
  if (!preset) throw new Error(`unknown model preset ${opts.model} (seed, small, tiny)`);
  const int = (v: string | boolean | undefined, d: number) => (typeof v === 'string' ? Number(v) : d);
  const config: GPTConfig = {
    vocabSize: int(opts.vocab, preset.config.vocabSize),
    blockSize: int(opts.block, preset.config.blockSize),
    nLayer: int(opts.layers, preset.config.nLayer),
    nHead: int(opts.heads, preset.config.nHead),
    nEmbd: int(opts.width, preset.config.nEmbd),
  };
  const B = int(opts.batch, preset.batch);
  const accum = int(opts.accum, preset.accum);
  const T = config.blockSize;

  if (!profile) await benchKernels(ctx, results, opts.matmul, onCpu, B, T, config);

  const steps = int(opts.steps, onCpu ? 3 : 10);
  const pool = new BufferPool(ctx.device);
  const model = new GPTModel(ctx, config);
  model.initialize(1);
  const train = new TrainStep(model, { batchSize: B, seqLen: T, accumSteps: accum }, { lr: 1e-4 }, { pool, precision });
  const random = rng(7);
  const batch = () =>
    Array.from({ length: accum }, () => ({
      idx: randint(B * T, config.vocabSize, random),
      targets: randint(B * T, config.vocabSize, random),
    }));
  await train.step(batch(), 1e-4);
  const start = performance.now();
  let last = Promise.resolve({ loss: 0, gradNorm: 0 });
  for (let i = 0; i < steps; i++) last = train.step(batch(), 1e-4);
  const { loss } = await last;
  const msPerStep = (performance.now() - start) / steps;
  const tokensPerSecond = (accum * B * T) / (msPerStep / 1000);
  const flopsPerToken = trainingFlopsPerToken(config);
  const step = {
    config,
    batch: B,
    accum,
    params: model.paramCount,
    msPerStep,
    tokensPerSecond,
    tflops: (tokensPerSecond * flopsPerToken) / 1e12,
    activationBytes: pool.allocatedBytes,
    loss,
  };
  results.trainStep = step;
  console.log(
    `\ntraining step: ${model.paramCount.toLocaleString()} params, B=${B}x${accum} T=${T}: ${msPerStep.toFixed(1)} ms/step, ` +
      `${Math.round(tokensPerSecond).toLocaleString()} tokens/s, ${step.tflops.toFixed(2)} TFLOP/s achieved ` +
      `(${(flopsPerToken / 1e6).toFixed(1)} MFLOP/token), activations ${(pool.allocatedBytes / 2 ** 20).toFixed(0)} MiB`,
  );
  if (profile) {
    // The first profiled replay pays one-off costs (SwiftShader specialises each new pass); keep the second.
    await train.profile(batch(), 1e-4);
    const p = { ...(await train.profile(batch(), 1e-4)), wallMs: msPerStep };
    results.profile = { rows: p.rows, totalMs: p.totalMs, dispatches: p.dispatches, wallMs: p.wallMs };
    console.log(`\nprofile of one step (each dispatch in its own timestamped pass):\n${formatProfile(p)}`);
  }
  train.destroy();
  model.destroy();
  pool.destroy();
  const out = str(opts.out);
  if (out) await writeFile(out, JSON.stringify(results, null, 2));
  ctx.device.destroy();
  return 0;
}

/** `bench [--profile] [options]`: the flags as main's help lists them. */
export async function benchCommand(args: string[]): Promise<number> {
  return runBench(parseBenchArgs(args));
}
