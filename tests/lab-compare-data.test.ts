/** Runs compared on one loss chart: x-axes, smoothing, learning rate, Chinchilla levels, CSV/JSON and the summary (pure functions). */
import { describe, expect, it } from 'vitest';
import type { RunSettings, StepPoint } from '../src/train/protocol';
import {
  chartRows,
  chartSummary,
  chinchillaPrediction,
  compareSeries,
  curvePoints,
  curvesCsv,
  curvesJson,
  logTicks,
  scheduleLr,
  thinned,
  type CompareRun,
} from '../src/ui/lab/compare-data';
import { csvField } from '../src/ui/lab/csv';

const TINY: RunSettings = {
  model: { vocabSize: 300, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32 },
  batchSize: 2,
  accumSteps: 1,
  maxSteps: 4,
  lr: { maxLr: 3e-3, minLr: 3e-4, warmupSteps: 2 },
  weightDecay: 0.1,
  gradClip: 1,
  evalEvery: 2,
  evalBatches: 1,
  checkpointEvery: 2,
  seed: 1,
  datasetId: 'd',
};
/** Twice as wide, accumulating 2 micro-batches: 64 tokens a step. */
const WIDER: RunSettings = { ...TINY, model: { ...TINY.model, nEmbd: 64 }, accumSteps: 2 };

function point(step: number, loss: number, tokensPerStep: number, extra: Partial<StepPoint> = {}): StepPoint {
  return {
    step,
    loss,
    lr: 0,
    gradNorm: 1,
    tokens: step * tokensPerStep,
    elapsedSeconds: step,
    tokensPerSecond: 1,
    tflops: 0,
    ...extra,
  };
}

const A: CompareRun = {
  id: 'a',
  name: 'tiny',
  settings: TINY,
  steps: [point(1, 2, 32), point(2, 4, 32), point(3, 4, 32)],
  evals: [{ step: 2, valLoss: 3.5 }],
};
const B: CompareRun = {
  id: 'b',
  name: 'wide, "two"',
  settings: WIDER,
  steps: [point(1, 5, 64)],
  evals: [{ step: 2, valLoss: 4.5 }],
};

describe('compare data', () => {
  it('smooths each run with the debiased EMA at the chosen weight (hand-computed), 0 keeping the raw loss', () => {
    // Weight 0.5 on 2, 4, 4: running averages 1, 2.5, 3.25, divided by 1 - 0.5^n = 0.5, 0.75, 0.875.
    const half = curvePoints(A, 'step', 0.5);
    expect(half.map((p) => p.smoothed)).toEqual([2, 2.5 / 0.75, 3.25 / 0.875]);
    expect(curvePoints(A, 'step', 0).map((p) => p.smoothed)).toEqual([2, 4, 4]);
    // A skipped step (non-finite gradients) has no loss and does not move the average: 2, then 4 -> (0.5·1 + 0.5·4) / 0.75.
    const skipped = curvePoints(
      { ...A, steps: [point(1, 2, 32), point(2, 9, 32, { skipped: true }), point(3, 4, 32)] },
      'step',
      0.5,
    );
    expect(skipped.map((p) => p.loss)).toEqual([2, undefined, 4]);
    expect(skipped.map((p) => p.smoothed)).toEqual([2, 2, 2.5 / 0.75]);
  });

  it('puts x at the step, the tokens, or training FLOPs = (6N + 12·L·T·C) × tokens', () => {
    // TINY by hand: N without wpe = 300·32 + 1·(12·32² + 13·32) + 2·32 = 22368; 6N + 12·1·16·32 = 140352 FLOPs a token.
    expect(curvePoints(A, 'step', 0).map((p) => p.x)).toEqual([1, 2, 3]);
    expect(curvePoints(A, 'tokens', 0).map((p) => p.x)).toEqual([32, 64, 96]);
    expect(curvePoints(A, 'flops', 0).map((p) => p.x)).toEqual([140352 * 32, 140352 * 64, 140352 * 96]);
    // WIDER: 300·64 + 12·64² + 13·64 + 2·64 = 69312; 6·69312 + 12·16·64 = 428160.
    const [wide] = compareSeries([B], 'flops', 0);
    expect(wide!.flopsPerToken).toBe(428160);
    // The validation at step 2 has no step point: its tokens come from the schedule (2 steps × 64).
    expect(wide!.points.map((p) => [p.step, p.tokens, p.x, p.loss, p.valLoss])).toEqual([
      [1, 64, 428160 * 64, 5, undefined],
      [2, 128, 428160 * 128, undefined, 4.5],
    ]);
  });

  it('gives each step the learning rate the schedule gives its update (warmup, then cosine to the minimum)', () => {
    // Warmup 2: step 1 -> 3e-3·1/3, step 2 -> 3e-3·2/3; step 3 starts the cosine at the peak; step 5 is past the end.
    expect(scheduleLr(TINY, 1)).toBeCloseTo(1e-3, 15);
    expect(scheduleLr(TINY, 2)).toBeCloseTo(2e-3, 15);
    expect(scheduleLr(TINY, 3)).toBeCloseTo(3e-3, 15);
    expect(scheduleLr(TINY, 4)).toBeCloseTo(3e-4 + 0.5 * (1 + Math.cos(Math.PI / 2)) * 2.7e-3, 15);
    expect(scheduleLr(TINY, 6)).toBe(3e-4);
    expect(curvePoints(A, 'step', 0).map((p) => p.lr)).toEqual([1, 2, 3].map((s) => scheduleLr(TINY, s)));
  });

  it("draws a run's Chinchilla level only below ln(vocabulary)", () => {
    // GPT-2 small (N = 124,439,808) on 1000 steps of 8 × 1024 tokens: Hoffmann's L = 1.69 + 406.4/N^0.34 + 410.7/D^0.28.
    const gpt2: RunSettings = {
      ...TINY,
      model: { vocabSize: 50257, blockSize: 1024, nLayer: 12, nHead: 12, nEmbd: 768 },
      batchSize: 8,
      maxSteps: 1000,
    };
    const expected = 1.69 + 406.4 / 124_439_808 ** 0.34 + 410.7 / 8_192_000 ** 0.28;
    const prediction = chinchillaPrediction(gpt2);
    expect(prediction.loss).toBeCloseTo(expected, 12);
    expect(prediction.loss).toBeGreaterThan(3);
    expect(prediction.loss).toBeLessThan(Math.log(50257));
    // The tiny model: the fit predicts far above uniform guessing over 300 tokens (5.70), so no level.
    const tiny = chinchillaPrediction(TINY);
    expect(tiny.loss).toBeNull();
    expect(tiny.loss === null && tiny.why).toMatch(/above uniform guessing \(ln 300 = 5\.70\)/);
    const series = compareSeries([A, { ...A, id: 'g', name: 'gpt2', settings: gpt2 }], 'step', 0.9);
    expect(series.map((s) => s.prediction.loss)).toEqual([null, prediction.loss]);
    expect(series.map((s) => s.color)).toEqual(['#2d7a4f', '#c0562b']);
  });

  it('writes one CSV row per run × point, exactly', () => {
    const csv = curvesCsv(compareSeries([A, B], 'step', 0.5));
    const lr = (s: number, settings = TINY) => String(scheduleLr(settings, s));
    expect(csv).toBe(
      [
        'run,step,tokens,flops,loss,smoothed,val_loss,lr',
        `tiny,1,32,4491264,2,2,,${lr(1)}`,
        `tiny,2,64,8982528,4,${2.5 / 0.75},3.5,${lr(2)}`,
        `tiny,3,96,13473792,4,${3.25 / 0.875},,${lr(3)}`,
        `"wide, ""two""",1,64,27402240,5,5,,${lr(1, WIDER)}`,
        `"wide, ""two""",2,128,54804480,,,4.5,${lr(2, WIDER)}`,
        '',
      ].join('\n'),
    );
    expect(lr(1)).toBe('0.001');
    expect([csvField(undefined), csvField(NaN), csvField('a\nb'), csvField(1e21)]).toEqual(['', '', '"a\nb"', '1e+21']);
  });

  it('writes the same numbers as JSON with each run size and prediction', () => {
    const json = JSON.parse(curvesJson(compareSeries([A, B], 'flops', 0.5), 'flops', 0.5)) as {
      x_axis: string;
      runs: {
        name: string;
        params: number;
        flops_per_token: number;
        chinchilla_loss: number | null;
        points: { step: number; val_loss: number | null; loss: number | null }[];
      }[];
    };
    expect(json.x_axis).toBe('flops');
    expect(json.runs.map((r) => [r.name, r.params, r.flops_per_token, r.chinchilla_loss])).toEqual([
      ['tiny', 22880, 140352, null],
      ['wide, "two"', 70336, 428160, null],
    ]);
    expect(json.runs[1]!.points).toMatchObject([
      { step: 1, loss: 5, val_loss: null },
      { step: 2, loss: null, val_loss: 4.5 },
    ]);
  });

  it('summarises the chart as one sentence per run (latest step, loss, validation loss)', () => {
    const series = compareSeries([A, B], 'flops', 0);
    expect(chartSummary(series, 'flops')).toBe(
      'Loss by training FLOPs for 2 runs. tiny: step 3, loss 4.0000, validation loss 3.5000. wide, "two": step 2, loss 5.0000, validation loss 4.5000.',
    );
    expect(chartSummary([], 'step')).toBe('No runs shown.');
  });
});

describe('thinning for drawing', () => {
  it('keeps at most about max points, always the last and every validation, in step order', () => {
    const long: CompareRun = {
      ...A,
      steps: Array.from({ length: 10_000 }, (_, i) => point(i + 1, 10 - i / 1000, 32)),
      evals: [{ step: 1234, valLoss: 8.8 }],
    };
    const all = curvePoints(long, 'step', 0.9);
    const drawn = thinned(all, 500);
    expect(drawn.length).toBeLessThanOrEqual(502);
    expect(drawn.at(-1)!.step).toBe(10_000);
    expect(drawn.find((p) => p.step === 1234)!.valLoss).toBe(8.8);
    expect(drawn.every((p, i) => i === 0 || p.step > drawn[i - 1]!.step)).toBe(true);
    expect(thinned(all.slice(0, 3), 500)).toEqual(all.slice(0, 3));
  });
});

describe('log axis ticks', () => {
  it('are powers of ten across decades, 1-2-5 steps across one or two, geometric within one', () => {
    expect(logTicks(3e6, 6e9)).toEqual([1e7, 1e8, 1e9]);
    expect(logTicks(4.5e6, 5.5e7)).toEqual([5e6, 1e7, 2e7, 5e7]);
    // 3.5 to 5.5: five ticks evenly spaced in log (ratio (5.5/3.5)^(1/4) ≈ 1.1196), two digits each.
    expect(logTicks(3.5, 5.5)).toEqual([3.5, 3.9, 4.4, 4.9, 5.5]);
    expect(logTicks(0, 5)).toEqual([]);
  });
});

describe('chart rows', () => {
  it("merge the runs by x: a shared step holds both runs' values, other x only their own", () => {
    const rows = chartRows(compareSeries([A, B], 'step', 0));
    expect(rows).toEqual([
      { x: 1, l0: 2, s0: 2, r0: scheduleLr(TINY, 1), l1: 5, s1: 5, r1: scheduleLr(WIDER, 1) },
      { x: 2, l0: 4, s0: 4, v0: 3.5, r0: scheduleLr(TINY, 2), v1: 4.5, r1: scheduleLr(WIDER, 2) },
      { x: 3, l0: 4, s0: 4, r0: scheduleLr(TINY, 3) },
    ]);
    // By tokens the runs' x differ (32 vs 64 tokens a step) and meet at 64.
    expect(
      chartRows(compareSeries([A, B], 'tokens', 0)).map((r) => [r.x, Object.keys(r).filter((k) => k.startsWith('l'))]),
    ).toEqual([
      [32, ['l0']],
      [64, ['l0', 'l1']],
      [96, ['l0']],
      [128, []],
    ]);
  });
});
