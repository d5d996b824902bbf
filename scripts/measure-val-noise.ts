/**
 * How noisy is the validation loss, and what does it cost? Trains two runs of the software-adapter
 * default shape (block 64, batch 4; layers and width as given) on the bundled corpus that differ
 * only in seed (and, if given, peak learning rate), then reads the whole fixed validation set with
 * each. Prints, for 4 batches up to all of them: each run's mean and standard error, and the mean
 * and standard error of the per-batch difference (both runs read the same windows, so the
 * difference is a paired comparison). Then the time of a training step and of a validation batch,
 * and the per-token cost of validating in batches of 4 against batches of `eval batch` windows
 * (the same windows: their means must agree).
 *   node scripts/build-cli.mjs scripts/measure-val-noise.ts dist/measure-val-noise.mjs &&
 *   node dist/measure-val-noise.mjs [steps] [layers] [width] [peak lr] [peak lr of run 2] [eval batch]
 */
import { BatchSampler } from '../src/data/sampler';
import { bundledDataset } from './bundled-dataset';
import { createNodeContext } from '../src/gpu/node';
import { BufferPool } from '../src/gpu/pool';
import { suggestSettings } from '../src/train/defaults';
import { EvalPlan, summarize } from '../src/train/eval';
import type { RunSettings } from '../src/train/protocol';
import { Trainer } from '../src/train/trainer';

const steps = Number(process.argv[2] ?? 40);
// A smaller model than the default when the machine is slow: the loss's spread over windows is mostly the data's.
const nLayer = Number(process.argv[3] ?? 2);
const nEmbd = Number(process.argv[4] ?? 64);
const maxLr = Number(process.argv[5] ?? 1e-3);
const maxLr2 = Number(process.argv[6] ?? maxLr);
const evalBatch = Number(process.argv[7] ?? 16);

const { tokenizer, store, manifest } = await bundledDataset();

const base = suggestSettings({ isSoftware: true });
const settingsFor = (seed: number, lr: number): RunSettings => ({
  ...base,
  model: { ...base.model, vocabSize: tokenizer.vocabSize, nLayer, nEmbd },
  lr: { ...base.lr, maxLr: lr, warmupSteps: Math.min(base.lr.warmupSteps, Math.floor(steps / 10)) },
  seed,
  maxSteps: steps,
  evalEvery: steps,
  evalBatches: 0,
  checkpointEvery: steps,
  datasetId: 'c',
});
const ctx = await createNodeContext();

/** One run: trained, then every validation batch read (evalBatches 0 skips the loop's own validation). */
async function measure(seed: number, lr: number) {
  const settings = settingsFor(seed, lr);
  const trainer = await Trainer.create({ ctx, settings, store, manifest, tokenizer, onEvent: () => undefined });
  let t = performance.now();
  await trainer.run();
  const stepSeconds = (performance.now() - t) / 1000 / steps;
  // Validation is off in the loop; a sampler of the same shape reads the dataset's fixed set.
  const val = await BatchSampler.open(store, manifest, { split: 'val', batchSize: settings.batchSize, seqLen: 64 });
  const pool = new BufferPool(ctx.device);
  const plan = new EvalPlan(trainer.model, { batchSize: settings.batchSize, seqLen: 64 }, pool);
  t = performance.now();
  const losses = await plan.batchLosses(val.evalBatches(val.evalBatchCap()));
  const batchSeconds = (performance.now() - t) / 1000 / losses.length;
  plan.destroy();
  pool.destroy();
  console.log(
    `seed ${seed}, lr ${lr}: ${steps} steps at ${stepSeconds.toFixed(2)} s; ${losses.length} validation batches at ${batchSeconds.toFixed(2)} s`,
  );
  return { trainer, losses, stepSeconds, batchSeconds, settings };
}

const a = await measure(1337, maxLr);
const b = await measure(1338, maxLr2);
const n = a.losses.length;
const tokensPerBatch = a.settings.batchSize * 64;
const allA = summarize(a.losses);
for (const k of [4, 8, 16, 32, 64, 128, n].filter((k, i, all) => k <= n && all.indexOf(k) === i)) {
  const sa = summarize(a.losses.subarray(0, k));
  const sb = summarize(b.losses.subarray(0, k));
  const diff = summarize(a.losses.subarray(0, k).map((x, i) => x - b.losses[i]!));
  console.log(
    `${k} batches (${k * tokensPerBatch} tokens): run 1 ${sa.mean.toFixed(4)} ± ${sa.standardError.toFixed(4)} (${(sa.mean - allA.mean).toFixed(4)} from all), run 2 ${sb.mean.toFixed(4)} ± ${sb.standardError.toFixed(4)}; difference ${diff.mean.toFixed(4)} ± ${diff.standardError.toFixed(4)}`,
  );
}
const perStep = (a.stepSeconds + b.stepSeconds) / 2;
const perBatch = (a.batchSeconds + b.batchSeconds) / 2;
console.log(
  `a validation batch costs ${(perBatch / perStep).toFixed(2)} training steps; validating K batches every E steps adds K/E × ${(perBatch / perStep).toFixed(2)} to the training time`,
);

// Larger validation batches: the same first windows read 4 at a time and `evalBatch` at a time.
const windows = 4 * evalBatch;
const timed: { size: number; mean: number; msPerKiloToken: number }[] = [];
for (const size of [a.settings.batchSize, evalBatch]) {
  const val = await BatchSampler.open(store, manifest, { split: 'val', batchSize: size, seqLen: 64 });
  const pool = new BufferPool(ctx.device);
  const plan = new EvalPlan(a.trainer.model, { batchSize: size, seqLen: 64 }, pool);
  await plan.batchLosses(val.evalBatches(1)); // pipelines compiled outside the timing
  const t = performance.now();
  const losses = await plan.batchLosses(val.evalBatches(windows / size));
  const msPerKiloToken = ((performance.now() - t) / (windows * 64)) * 1000;
  timed.push({ size, mean: summarize(losses).mean, msPerKiloToken });
  plan.destroy();
  pool.destroy();
}
for (const { size, mean, msPerKiloToken } of timed)
  console.log(
    `batches of ${size}: ${windows} windows, mean ${mean.toFixed(6)}, ${msPerKiloToken.toFixed(0)} ms per 1000 tokens`,
  );
a.trainer.destroy();
b.trainer.destroy();
process.exit(0);
