/**
 * Scaling laws: the Chinchilla formulas against hand-computed values, the model picker's exact
 * parameter counts, budget conversions, the IsoFLOP fits on noisy synthetic sweeps, and the
 * `plan` command end to end from the bundled CLI.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { type GPTConfig, SEED_CONFIG } from '../src/model/config';
import { paramCount, trainingFlopsPerToken } from '../src/model/hf';
import { budgetFlops, deviceFlopsPerSecond, trainingSeconds } from '../src/scaling/budget';
import {
  EPOCH_2024,
  HOFFMANN_2022,
  chinchillaLoss,
  computeOptimal,
  isoFlopCurve,
  optimumConstants,
} from '../src/scaling/chinchilla';
import { FitError, fitIsoFlopSweep, fitParabola, fitPowerLaw } from '../src/scaling/fit';
import { formatCount, formatFlops, parsePositiveNumber } from '../src/scaling/format';
import { pickModel, planForBudget, planForExecutedFlops } from '../src/scaling/model-picker';
import { randn, rng } from './helpers/random';

describe('Chinchilla formulas', () => {
  it('matches hand-computed losses and optimum constants for both fits', () => {
    // Python: 1.69 + 406.4/1e8**0.34 + 410.7/2e9**0.28, and the same with Epoch's constants.
    expect(chinchillaLoss(HOFFMANN_2022, 1e8, 2e9)).toBeCloseTo(3.485874, 5);
    expect(chinchillaLoss(EPOCH_2024, 1e8, 2e9)).toBeCloseTo(3.438537, 5);
    const h = optimumConstants(HOFFMANN_2022);
    expect(h.G).toBeCloseTo(1.344711, 5);
    expect(h.a).toBeCloseTo(0.28 / 0.62, 12);
    expect(h.b).toBeCloseTo(0.34 / 0.62, 12);
    expect(optimumConstants(EPOCH_2024).G).toBeCloseTo(0.11963, 5);
  });

  it('puts the 1e17 FLOP optimum at ~28.5M (Hoffmann) and ~24.7M (Epoch) parameters', () => {
    const h = computeOptimal(HOFFMANN_2022, 1e17);
    const e = computeOptimal(EPOCH_2024, 1e17);
    expect(h.N / 28.5e6).toBeCloseTo(1, 2);
    expect(e.N / 24.7e6).toBeCloseTo(1, 2);
    for (const opt of [h, e]) expect((6 * opt.N * opt.D) / 1e17).toBeCloseTo(1, 10);
  });

  it('is a true minimum along the budget', () => {
    for (const fit of [HOFFMANN_2022, EPOCH_2024]) {
      const { C, N, loss } = computeOptimal(fit, 3.2e17);
      for (const f of [0.97, 1.03]) expect(chinchillaLoss(fit, N * f, C / (6 * N * f))).toBeGreaterThan(loss);
    }
  });

  it("reproduces the post's point: ~320 PFLOPs buys N ≈ 50M trained on D ≈ 1.1B tokens", () => {
    const opt = computeOptimal(HOFFMANN_2022, 3.2e17);
    expect(opt.N).toBeGreaterThan(45e6);
    expect(opt.N).toBeLessThan(52e6);
    expect(opt.D / 1.1e9).toBeCloseTo(1, 1);
  });

  it('samples an IsoFLOP curve on a log grid with D = C/6N and the minimum marked', () => {
    const C = 1e18;
    const curve = isoFlopCurve(C, HOFFMANN_2022, 21, 10);
    expect(curve.points).toHaveLength(21);
    expect(curve.points[0]!.N / (curve.optimum.N / 10)).toBeCloseTo(1, 10);
    expect(curve.points[20]!.N / (curve.optimum.N * 10)).toBeCloseTo(1, 10);
    expect(curve.points[10]!.N / curve.optimum.N).toBeCloseTo(1, 10);
    for (const p of curve.points) expect((6 * p.N * p.D) / C).toBeCloseTo(1, 10);
    const lowest = Math.min(...curve.points.map((p) => p.loss));
    expect(curve.points[curve.minIndex]!.loss).toBe(lowest);
    expect(curve.minIndex).toBe(10);
    expect(() => isoFlopCurve(C, HOFFMANN_2022, 1)).toThrow(RangeError);
    expect(() => computeOptimal(HOFFMANN_2022, -1)).toThrow(RangeError);
  });
});

describe('model picker', () => {
  const targets = Array.from({ length: 24 }, (_, i) => 1e6 * 200 ** (i / 23)); // 1M .. 200M
  const cases = [
    { vocabSize: 512, blockSize: 256, from: 1e6 },
    { vocabSize: 4096, blockSize: 1024, from: 1e6 },
    // GPT-2's vocabulary alone is 3.2M parameters at width 64 and 26M at 512.
    { vocabSize: 50304, blockSize: 1024, from: 30e6 },
  ];

  /** Every shape the picker may choose from: widths in steps of 64, width / layers in [32, 128]. */
  function allowedShapes(vocabSize: number, blockSize: number): GPTConfig[] {
    const shapes: GPTConfig[] = [];
    for (let nEmbd = 64; nEmbd <= 8192; nEmbd += 64) {
      const lo = Math.max(1, Math.ceil(nEmbd / 128));
      for (let nLayer = lo; nLayer <= Math.max(lo, Math.floor(nEmbd / 32)); nLayer++) {
        shapes.push({ vocabSize, blockSize, nLayer, nHead: nEmbd / 64, nEmbd });
      }
    }
    return shapes;
  }

  it('picks nanoGPT shapes with the exact total count nearest the target (to 2%)', () => {
    for (const { vocabSize, blockSize, from } of cases) {
      const shapes = allowedShapes(vocabSize, blockSize).map((config) => ({ config, params: paramCount(config) }));
      for (const target of targets.filter((t) => t >= from)) {
        const picked = pickModel(target, vocabSize, blockSize);
        const { config } = picked;
        expect(picked.params).toBe(paramCount(config));
        expect(config.nEmbd % 64).toBe(0);
        expect(config.nEmbd / config.nHead).toBe(64);
        expect(config).toMatchObject({ vocabSize, blockSize });
        const aspect = config.nEmbd / config.nLayer;
        if (config.nLayer > 1) expect(aspect).toBeGreaterThanOrEqual(32);
        expect(aspect).toBeLessThanOrEqual(128);
        const nearest = Math.min(...shapes.map((s) => Math.abs(Math.log(s.params / target))));
        expect(Math.abs(Math.log(picked.params / target))).toBeLessThanOrEqual(
          Math.max(nearest, Math.log(1.02)) + 1e-12,
        );
        // Whole layers and 64-wide steps leave gaps of up to ~±15% between shapes below 10M.
        const bound = target >= 10e6 ? 0.05 : 0.2;
        expect(Math.abs(picked.relativeError), `${formatCount(target)} with vocab ${vocabSize}`).toBeLessThan(bound);
      }
    }
  });

  it('plans a device budget so that the real run, attention included, spends it', () => {
    for (const executedFlops of [1e16, 3.2e17, 1e19]) {
      const plan = planForExecutedFlops({ executedFlops, fit: EPOCH_2024, vocabSize: 50304, blockSize: 1024 });
      expect(plan.trainingFlops / executedFlops).toBeCloseTo(1, 6);
      expect(plan.flops).toBeLessThan(executedFlops); // the law's 6ND share
      expect((6 * plan.params * plan.tokens) / plan.flops).toBeCloseTo(1, 6);
    }
  });

  it('rounds N to a real shape at a negligible cost in predicted loss', () => {
    for (const flops of [1e15, 1e16, 1e17, 1e18, 1e19]) {
      const plan = planForBudget({ flops, fit: HOFFMANN_2022, vocabSize: 4096, blockSize: 1024 });
      expect(plan.predictedLoss - plan.loss).toBeGreaterThanOrEqual(0);
      expect(plan.predictedLoss - plan.loss).toBeLessThan(0.005);
    }
  });

  it('finds the post-sized model for its own parameter count', () => {
    const seedParams = paramCount(SEED_CONFIG); // 8 layers, 512 wide: 51.5M in total
    expect(pickModel(seedParams, SEED_CONFIG.vocabSize, SEED_CONFIG.blockSize).config).toEqual(SEED_CONFIG);
  });

  it('plans a budget: a concrete model, its exact count, and tokens with 6·params·tokens = C', () => {
    const plan = planForBudget({ flops: 3.2e17, fit: HOFFMANN_2022, vocabSize: 50304, blockSize: 1024 });
    expect(plan.params).toBe(paramCount(plan.config));
    expect((6 * plan.params * plan.tokens) / 3.2e17).toBeCloseTo(1, 6);
    expect(plan.trainingFlopsPerToken).toBe(trainingFlopsPerToken(plan.config));
    expect(plan.trainingFlops).toBe(plan.tokens * plan.trainingFlopsPerToken);
    expect(plan.predictedLoss).toBeGreaterThanOrEqual(plan.loss);
    expect(plan.predictedLoss - plan.loss).toBeLessThan(1e-3);
    expect(plan.config).toMatchObject({ nEmbd: 512, nHead: 8 });
  });
});

describe('budgets', () => {
  const perSecond = deviceFlopsPerSecond(20_000, SEED_CONFIG);

  it('turns tokens/s on a reference model into FLOP/s, and hours or dollars into FLOPs', () => {
    expect(perSecond).toBe(20_000 * trainingFlopsPerToken(SEED_CONFIG));
    expect(budgetFlops({ kind: 'flops', flops: 1e18 })).toBe(1e18);
    expect(budgetFlops({ kind: 'hours', hours: 2, deviceFlopsPerSecond: perSecond })).toBeCloseTo(7200 * perSecond, -3);
    const dollars = budgetFlops({ kind: 'dollars', dollars: 10, pricePerHour: 2, deviceFlopsPerSecond: perSecond });
    expect(dollars / (5 * 3600 * perSecond)).toBeCloseTo(1, 12);
    expect(() => budgetFlops({ kind: 'hours', hours: -1, deviceFlopsPerSecond: perSecond })).toThrow(RangeError);
  });

  it('estimates wall-clock time from the model’s own FLOPs per token', () => {
    expect(trainingSeconds(SEED_CONFIG, 20_000 * 3600, perSecond)).toBeCloseTo(3600, 6);
  });

  it('formats and parses the numbers people type', () => {
    expect(formatCount(48_347_648)).toBe('48.3M');
    expect(formatCount(1.1e9)).toBe('1.1B');
    expect(formatCount(999_700)).toBe('1M');
    expect(formatFlops(3.2e17)).toBe('3.2e17');
    expect(parsePositiveNumber(' 3.2e17 ')).toBe(3.2e17);
    for (const bad of ['', 'abc', '-1', '0', 'Infinity', '0x10', '1e999'])
      expect(parsePositiveNumber(bad)).toBeUndefined();
  });
});

describe('IsoFLOP fits', () => {
  it('recovers a known parabola in ln N from noisy points', () => {
    const random = rng(7);
    const noise = randn(15, random, 0.002);
    const [c0, c1, c2] = [40, -4, 0.12]; // vertex at ln N = 16.67 (N ≈ 17M), loss 6.667
    const points = Array.from({ length: 15 }, (_, i) => {
      const x = Math.log(2e6) + (i / 14) * Math.log(100);
      return { N: Math.exp(x), loss: c0 + c1 * x + c2 * x * x + noise[i]! };
    });
    const fit = fitParabola(points);
    expect(Math.log(fit.nOpt)).toBeCloseTo(-c1 / (2 * c2), 1);
    expect(fit.minLoss).toBeCloseTo(c0 - (c1 * c1) / (4 * c2), 2);
    expect(fit.c2).toBeCloseTo(c2, 2);
    expect(fit.extrapolated).toBe(false);
    expect(fit.rmse).toBeLessThan(0.004);
  });

  it('rejects sweeps without a minimum or with too few sizes', () => {
    expect(() =>
      fitParabola([
        { N: 1e6, loss: 5 },
        { N: 1e7, loss: 4 },
      ]),
    ).toThrow(FitError);
    expect(() => fitParabola([1e6, 1e7, 1e8].map((N) => ({ N, loss: -((Math.log(N) - 16) ** 2) })))).toThrow(
      /no minimum/,
    );
  });

  it('recovers a known power law N_opt = k · C^a from noisy optima', () => {
    const random = rng(11);
    const noise = randn(9, random, 0.03); // ~3% multiplicative scatter
    const points = Array.from({ length: 9 }, (_, i) => {
      const x = 10 ** (15 + i / 2);
      return { x, y: 0.09 * x ** 0.5 * Math.exp(noise[i]!) };
    });
    const fit = fitPowerLaw(points);
    expect(fit.exponent).toBeCloseTo(0.5, 1);
    expect(Math.abs(fit.exponent - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(Math.log(fit.k / 0.09))).toBeLessThan(0.7);
    expect(fit.r2).toBeGreaterThan(0.99);
  });

  it("recovers Hoffmann's exponent and optima from a noisy synthetic IsoFLOP sweep", () => {
    const random = rng(3);
    const budgets = [1e16, 1e17, 1e18, 1e19];
    const runs = budgets.flatMap((budget) => {
      const center = computeOptimal(HOFFMANN_2022, budget).N;
      const noise = randn(9, random, 0.003);
      return Array.from({ length: 9 }, (_, i) => {
        const N = center * 4 ** ((i - 4) / 4); // N*/4 .. 4 N*
        return { budget, N, loss: chinchillaLoss(HOFFMANN_2022, N, budget / (6 * N)) + noise[i]! };
      });
    });
    runs.push({ budget: 1e20, N: 1e9, loss: 2 }); // one run is not a curve: skipped, not fatal
    const sweep = fitIsoFlopSweep(runs);
    expect(sweep.perBudget.map((b) => b.budget)).toEqual(budgets);
    expect(sweep.skipped.map((s) => s.budget)).toEqual([1e20]);
    for (const { budget, fit } of sweep.perBudget) {
      expect(Math.abs(Math.log(fit.nOpt / computeOptimal(HOFFMANN_2022, budget).N))).toBeLessThan(0.15);
    }
    expect(Math.abs(sweep.frontier!.exponent - optimumConstants(HOFFMANN_2022).a)).toBeLessThan(0.03);
  });
});

describe('plan CLI (bundled)', () => {
  const root = resolve(import.meta.dirname, '..');
  // Its own bundle of the same entry, so this test never races another run of dist/cli.mjs.
  const bundle = resolve(root, 'dist/cli-scaling-test.mjs');
  const run = promisify(execFile);

  beforeAll(async () => {
    await run(process.execPath, [resolve(root, 'scripts/build-cli.mjs'), 'src/cli/main.ts', bundle], { cwd: root });
  });

  async function plan(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [bundle, 'plan', ...args], { cwd: root });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const failure = e as { code: number; stdout: string; stderr: string };
      return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
    }
  }

  it('prints a summary, then the plan as JSON on the last line', async () => {
    const { code, stdout } = await plan('--flops', '3.2e17');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(2);
    const json = JSON.parse(lines.at(-1)!) as {
      N: number;
      D: number;
      loss: number;
      fit: string;
      model: Record<string, number>;
    };
    const expected = planForBudget({ flops: 3.2e17, fit: HOFFMANN_2022, vocabSize: 50304, blockSize: 1024 });
    expect(json).toMatchObject({ fit: 'hoffmann', N: expected.N, D: expected.D, loss: expected.loss });
    expect(json.model).toEqual({ ...expected.config, params: expected.params });
    const { params, ...config } = json.model;
    expect(params).toBe(paramCount(config as unknown as GPTConfig));
  });

  it('takes the Epoch fit and a custom vocabulary and block', async () => {
    const { code, stdout } = await plan('--flops', '1e17', '--fit', 'epoch', '--vocab', '4096', '--block', '512');
    expect(code).toBe(0);
    const json = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      fit: string;
      N: number;
      model: { vocabSize: number; blockSize: number };
    };
    expect(json.fit).toBe('epoch');
    expect(json.N / 24.7e6).toBeCloseTo(1, 2);
    expect(json.model).toMatchObject({ vocabSize: 4096, blockSize: 512 });
  });

  it('rejects missing, negative and non-numeric budgets and unknown fits with exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [[], /--flops is required/],
      [['--flops', '-3e17'], /--flops must be a positive number/],
      [['--flops', 'lots'], /--flops must be a positive number/],
      [['--flops', '0'], /--flops must be a positive number/],
      [['--flops', '1e17', '--fit', 'kaplan'], /--fit must be hoffmann or epoch, got "kaplan"/],
      [['--flops', '1e17', '--vocab', '12.5'], /--vocab must be a whole number from 257 to 2147483648, got "12.5"/],
      [['--flops', '1e17', '--vocab', '1e12'], /--vocab must be a whole number from 257 to 2147483648, got "1e12"/],
    ];
    for (const [args, message] of cases) {
      const { code, stdout, stderr } = await plan(...args);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(message);
      expect(stdout).toBe('');
    }
  });
});
