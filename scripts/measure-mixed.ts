/**
 * Mixed precision's quality bar (issue 11): the same run in f32 and in mixed precision — same seed,
 * same batches — on the bundled corpus, compared step by step. Prints the largest relative gap
 * between the two loss curves (each smoothed over `window` steps, so single-batch noise does not
 * count), the final validation losses, and the overflow skips after the first 20 steps.
 *   node scripts/build-cli.mjs scripts/measure-mixed.ts dist/measure-mixed.mjs &&
 *   node dist/measure-mixed.mjs [steps=300] [layers=2] [width=64] [window=20]
 */
import { createNodeContext } from '../src/gpu/node';
import { suggestSettings } from '../src/train/defaults';
import type { Precision, RunSettings, StepPoint } from '../src/train/protocol';
import { Trainer } from '../src/train/trainer';
import { bundledDataset } from './bundled-dataset';

const steps = Number(process.argv[2] ?? 300);
const nLayer = Number(process.argv[3] ?? 2);
const nEmbd = Number(process.argv[4] ?? 64);
const window = Number(process.argv[5] ?? 20);

const { tokenizer, store, manifest } = await bundledDataset();
const base = suggestSettings({ isSoftware: true });
const ctx = await createNodeContext();

async function train(precision: Precision) {
  const settings: RunSettings = {
    ...base,
    model: { ...base.model, vocabSize: tokenizer.vocabSize, nLayer, nEmbd },
    maxSteps: steps,
    evalEvery: steps,
    checkpointEvery: steps,
    datasetId: 'c',
    precision,
  };
  const points: StepPoint[] = [];
  let valLoss = NaN;
  const trainer = await Trainer.create({
    ctx,
    settings,
    store,
    manifest,
    tokenizer,
    onEvent: (e) => {
      if (e.type === 'step') points.push(e.point);
      if (e.type === 'eval') valLoss = e.point.valLoss;
      if (e.type === 'error') console.log(`${precision}: ${e.message}`);
    },
  });
  const start = performance.now();
  await trainer.run();
  const seconds = (performance.now() - start) / 1000;
  trainer.destroy();
  console.log(
    `${precision}: ${points.length} steps in ${seconds.toFixed(0)} s, final validation loss ${valLoss.toFixed(4)}`,
  );
  return { points, valLoss };
}

const smooth = (points: StepPoint[]) =>
  points.map((_, i) => {
    const part = points.slice(Math.max(0, i - window + 1), i + 1);
    return part.reduce((s, p) => s + p.loss, 0) / part.length;
  });

const f32 = await train('f32');
const mixed = await train('mixed');
const a = smooth(f32.points);
const b = smooth(mixed.points);
let worst = { gap: 0, step: 0 };
for (let i = window - 1; i < Math.min(a.length, b.length); i++) {
  const gap = Math.abs(b[i]! - a[i]!) / a[i]!;
  if (gap > worst.gap) worst = { gap, step: f32.points[i]!.step };
}
const lateSkips = mixed.points.filter((p) => p.step > 20 && p.skipped).length;
const scales = [...new Set(mixed.points.map((p) => p.lossScale))];
console.log(
  `largest gap between the ${window}-step means: ${(worst.gap * 100).toFixed(2)}% (step ${worst.step}); final validation ${f32.valLoss.toFixed(4)} (f32) vs ${mixed.valLoss.toFixed(4)} (mixed), ${((Math.abs(mixed.valLoss - f32.valLoss) / f32.valLoss) * 100).toFixed(2)}%`,
);
console.log(`mixed: ${lateSkips} overflow skips after step 20; loss scales seen: ${scales.join(', ')}`);
process.exit(0);
