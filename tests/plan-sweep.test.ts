/**
 * The IsoFLOP sweep without a browser: the grid and its steps from C = 6ND, the settings of each
 * point, and the queue driven against a fake lab store (runs that finish on their own, a reload
 * mid-point that resumes the run, cancel, a pause from the Train tab, a start that fails).
 */
import { describe, expect, it } from 'vitest';
import { createStore } from 'zustand/vanilla';
import { paramCount } from '../src/model/hf';
import { fitIsoFlopSweep } from '../src/scaling/fit';
import type { RunSettings, RunSummary } from '../src/train/protocol';
import {
  type SweepState,
  defaultSweep,
  headsFor,
  parseNumberList,
  pointName,
  pointSettings,
  stepsForBudget,
  sweepPoints,
  sweepProblems,
} from '../src/ui/plan/sweep-plan';
import { type LabView, type SweepStorage, createSweepStore } from '../src/ui/plan/sweep-store';
import { sweepResults } from '../src/ui/plan/sweep-results';
import { sweepDefinition } from './helpers/sweep-definition';

const DEFINITION = sweepDefinition();
const BASE = DEFINITION.base;

describe('sweep grid', () => {
  it('gives every (budget, width) point the steps that spend C = 6·N·D, budget-major', () => {
    const points = sweepPoints(DEFINITION);
    expect(points.map((p) => [p.budget, p.model.nEmbd])).toEqual([
      [2e9, 32],
      [2e9, 48],
      [2e9, 64],
      [4e9, 32],
      [4e9, 48],
      [4e9, 64],
    ]);
    for (const p of points) {
      expect(p.params).toBe(paramCount(p.model));
      expect(p.steps).toBe(Math.round(p.budget / (6 * p.params * 4 * 32)));
      expect(p.model).toMatchObject({ vocabSize: 512, blockSize: 32, nLayer: 2 });
      // Spent compute is within half a step of the budget.
      expect(Math.abs(6 * p.params * p.steps * 128 - p.budget)).toBeLessThanOrEqual(3 * p.params * 128);
    }
    // Bigger models get fewer steps at one budget; twice the budget, about twice the steps.
    expect(points[0]!.steps).toBeGreaterThan(points[2]!.steps);
    expect(points[3]!.steps / points[0]!.steps).toBeCloseTo(2, 0);
    expect(stepsForBudget(1, 1e6, 128)).toBe(1);
  });

  it('picks heads of 16+ channels that divide the width', () => {
    expect([16, 32, 48, 64, 96, 100, 7].map(headsFor)).toEqual([1, 2, 3, 4, 6, 5, 1]);
  });

  it('trains each point with its model and steps, warmup scaled down, one final eval', () => {
    const point = sweepPoints(DEFINITION)[0]!;
    const settings = pointSettings(DEFINITION, point);
    expect(settings.model).toEqual(point.model);
    expect(settings.maxSteps).toBe(point.steps);
    expect(settings.evalEvery).toBe(point.steps);
    expect(settings.evalBatches).toBeGreaterThanOrEqual(4);
    expect(settings.lr.warmupSteps).toBeLessThanOrEqual(Math.floor(point.steps / 10));
    expect(settings.lr.maxLr).toBe(BASE.lr.maxLr);
    expect(pointName(DEFINITION, point)).toBe('sweep abcdef · 2e9 FLOPs · 2L 32w');
  });

  it('names problems with a definition and sizes defaults for the device', () => {
    expect(sweepProblems(DEFINITION)).toEqual([]);
    expect(sweepProblems({ budgets: [], widths: [32], nLayer: 0 })).toHaveLength(3);
    expect(sweepProblems({ budgets: [1e9, 1e9], widths: [32, 33.5], nLayer: 1 })).toEqual([
      'The budgets must differ.',
      'Every width must be a whole number of at least 4.',
    ]);
    const tiny = defaultSweep(BASE, true);
    const gpu = defaultSweep(BASE, false);
    expect(tiny.budgets).toHaveLength(2);
    expect(gpu.budgets).toHaveLength(3);
    expect(gpu.budgets[0]!).toBeGreaterThan(tiny.budgets[1]!);
    expect(sweepProblems(tiny)).toEqual([]);
    // The middle model trains ~10 steps at the smallest default budget on a software adapter.
    expect(sweepPoints({ ...tiny, base: BASE })[1]!.steps).toBe(10);
    expect(parseNumberList('2e9, 4e9;8e9')).toEqual([2e9, 4e9, 8e9]);
    expect(parseNumberList('2e9, x')).toBeUndefined();
  });
});

/** A lab whose runs finish by themselves a few ticks after they start, with a loss from `lossOf`. */
function fakeLab(
  options: {
    lossOf?: (settings: RunSettings) => number;
    pauseAt?: number;
    stopAt?: number;
    failTrainAt?: number;
    /** The lab names its runs itself (any name but the point's): the sweep must know them by id. */
    renameRuns?: boolean;
  } = {},
) {
  const calls: string[] = [];
  let runCount = 0;
  const summaries = new Map<string, RunSummary>();
  const lossOf = options.lossOf ?? ((s) => 5 + (Math.log(paramCount(s.model)) - 11.3) ** 2 - Math.log(s.maxSteps) / 10);
  const tick = () => new Promise((resolve) => setTimeout(resolve, 1));
  const store = createStore<LabView>()((set, get) => {
    const play = async (run: RunSummary, startId?: number) => {
      await tick();
      set({
        run: { ...run, status: 'running' },
        phase: 'running',
        ...(startId === undefined ? {} : { started: { startId, runId: run.id } }),
      });
      await tick();
      if (options.pauseAt === runCount && get().phase === 'running') {
        options.pauseAt = undefined;
        set({ run: { ...run, status: 'paused' }, phase: 'paused' });
        return;
      }
      if (options.stopAt === runCount && get().phase === 'running') {
        options.stopAt = undefined;
        get().stop(); // pressed in the Train tab
      }
      await tick();
      // Stop ends a run short of its steps 'stopped' (with the validation loss of where it stopped).
      const stopped = get().phase === 'stopping';
      const ended = {
        ...run,
        status: stopped ? ('stopped' as const) : ('done' as const),
        lastValLoss: stopped ? 99 : lossOf(run.settings),
      };
      summaries.set(run.id, ended);
      set({ run: ended, phase: ended.status });
    };
    return {
      phase: 'idle',
      run: null,
      started: null,
      error: null,
      device: { status: 'ready', report: null },
      async train(run) {
        runCount++;
        calls.push(`train ${run!.name}`);
        if (options.failTrainAt === runCount) {
          set({ error: { kind: 'config', message: 'bad settings' } });
          return null;
        }
        const startId = 100 + runCount;
        set({ phase: 'preparing', run: null, error: null, started: { startId, runId: null } });
        const summary = {
          id: `run-${runCount}`,
          name: options.renameRuns ? `lab's own name ${runCount}` : run!.name!,
          settings: run!.settings!,
          status: 'running',
        } as RunSummary;
        summaries.set(summary.id, summary);
        void play(summary, startId);
        return startId;
      },
      async resume(runId) {
        calls.push(`resume ${runId}`);
        const run = summaries.get(runId!);
        set({ phase: 'preparing' });
        if (run) void play(run);
        // The worker answers a missing run with an error; the lab goes back to idle.
        else
          void tick().then(() =>
            set({ phase: 'idle', error: { kind: 'config', message: `there is no run "${runId}"` } }),
          );
      },
      stop() {
        calls.push('stop');
        set({ phase: 'stopping' });
      },
    };
  });
  return { store, calls, summaries };
}

function memoryStorage(initial?: SweepState): SweepStorage & { saved: SweepState | undefined } {
  const storage = {
    saved: initial ? structuredClone(initial) : undefined,
    async load() {
      return storage.saved ? structuredClone(storage.saved) : undefined;
    },
    async save(state: SweepState | undefined) {
      storage.saved = state ? structuredClone(state) : undefined;
    },
  };
  return storage;
}

const until = async (done: () => boolean) => {
  for (let i = 0; i < 2000 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 1));
  expect(done()).toBe(true);
};

describe('sweep queue', () => {
  it('trains the points one after another, keeps each final validation loss, and saves every change', async () => {
    const lab = fakeLab();
    const storage = memoryStorage();
    const sweep = createSweepStore({ lab: lab.store, storage });
    await sweep.getState().init();
    sweep.getState().start(DEFINITION);
    await until(() => sweep.getState().sweep?.status === 'done');
    const points = sweep.getState().sweep!.points;
    expect(lab.calls).toEqual(points.map((p) => `train ${pointName(DEFINITION, p)}`));
    expect(points.every((p) => p.status === 'done' && p.valLoss! > 0 && p.runId)).toBe(true);
    await until(() => storage.saved?.status === 'done');
    expect(storage.saved!.points.map((p) => p.valLoss)).toEqual(points.map((p) => p.valLoss));
    // The fake loss has its minimum near e^11.3 ≈ 81k parameters: the fit finds a parabola per budget.
    const fit = fitIsoFlopSweep(
      sweepResults(sweep.getState().sweep!).map((r) => ({ budget: r.budget, N: r.N, loss: r.loss })),
    );
    expect(fit.perBudget).toHaveLength(2);
    expect(fit.frontier).not.toBeNull();
  });

  it('after a reload, resumes the point that was training and then trains the rest', async () => {
    const lab = fakeLab();
    const grid = sweepPoints(DEFINITION);
    lab.summaries.set('old-run', {
      id: 'old-run',
      name: pointName(DEFINITION, grid[1]!),
      settings: pointSettings(DEFINITION, grid[1]!),
      status: 'running',
    } as RunSummary);
    const points = grid.map((p, i) =>
      i === 0
        ? { ...p, status: 'done' as const, valLoss: 5.5, runId: 'r0' }
        : i === 1
          ? { ...p, status: 'running' as const, runId: 'old-run' }
          : p,
    );
    const storage = memoryStorage({ definition: DEFINITION, points, status: 'running' });
    const sweep = createSweepStore({ lab: lab.store, storage });
    await sweep.getState().init();
    await until(() => sweep.getState().sweep?.status === 'done');
    expect(lab.calls[0]).toBe('resume old-run');
    expect(lab.calls.slice(1)).toEqual(points.slice(2).map((p) => `train ${pointName(DEFINITION, p)}`));
    expect(sweep.getState().sweep!.points[0]!.valLoss).toBe(5.5);
    expect(sweep.getState().sweep!.points[1]!.status).toBe('done');
  });

  it('after a reload, a point whose run is gone starts over', async () => {
    const lab = fakeLab();
    const points = sweepPoints(DEFINITION).map((p, i) =>
      i === 0 ? { ...p, status: 'running' as const, runId: 'deleted' } : p,
    );
    const sweep = createSweepStore({
      lab: lab.store,
      storage: memoryStorage({ definition: DEFINITION, points, status: 'running' }),
    });
    await sweep.getState().init();
    await until(() => sweep.getState().sweep?.status === 'done');
    expect(lab.calls.slice(0, 2)).toEqual(['resume deleted', `train ${pointName(DEFINITION, points[0]!)}`]);
    expect(sweep.getState().sweep!.points.every((p) => p.status === 'done')).toBe(true);
  });

  it('cancel stops the current run and forgets its partial loss; continue trains that point again', async () => {
    const lab = fakeLab();
    const sweep = createSweepStore({ lab: lab.store, storage: memoryStorage() });
    await sweep.getState().init();
    sweep.getState().start(DEFINITION);
    await until(() => lab.store.getState().phase === 'running');
    sweep.getState().cancel();
    await until(() => sweep.getState().current === null);
    expect(lab.calls).toEqual([`train ${pointName(DEFINITION, sweep.getState().sweep!.points[0]!)}`, 'stop']);
    expect(sweep.getState().sweep!.status).toBe('cancelled');
    expect(sweep.getState().sweep!.points[0]).toMatchObject({ status: 'pending', runId: undefined });
    expect(sweep.getState().sweep!.points[0]!.valLoss).toBeUndefined();
    sweep.getState().proceed();
    await until(() => sweep.getState().sweep?.status === 'done');
    expect(sweep.getState().sweep!.points.every((p) => p.valLoss !== 99)).toBe(true);
  });

  it('a run paused from the Train tab pauses the sweep; continue resumes that run', async () => {
    const lab = fakeLab({ pauseAt: 2 });
    const sweep = createSweepStore({ lab: lab.store, storage: memoryStorage() });
    await sweep.getState().init();
    sweep.getState().start(DEFINITION);
    await until(() => sweep.getState().sweep?.status === 'paused');
    expect(sweep.getState().sweep!.points[1]).toMatchObject({ status: 'running', runId: 'run-2' });
    sweep.getState().proceed();
    await until(() => sweep.getState().sweep?.status === 'done');
    expect(lab.calls[2]).toBe('resume run-2');
    expect(lab.calls).toHaveLength(7);
  });

  it('a run stopped from the Train tab pauses the sweep (its partial loss is not kept); continue resumes that run', async () => {
    const lab = fakeLab({ stopAt: 2 });
    const sweep = createSweepStore({ lab: lab.store, storage: memoryStorage() });
    await sweep.getState().init();
    sweep.getState().start(DEFINITION);
    await until(() => sweep.getState().sweep?.status === 'paused');
    expect(sweep.getState().sweep!.points[1]).toMatchObject({ status: 'running', runId: 'run-2' });
    expect(sweep.getState().sweep!.points[1]!.valLoss).toBeUndefined();
    sweep.getState().proceed();
    await until(() => sweep.getState().sweep?.status === 'done');
    expect(lab.calls.slice(1, 4)).toEqual([
      `train ${pointName(DEFINITION, sweepPoints(DEFINITION)[1]!)}`,
      'stop',
      'resume run-2',
    ]);
    expect(sweep.getState().sweep!.points.every((p) => p.status === 'done' && p.valLoss !== 99)).toBe(true);
  });

  it("knows each point's run by the id its start answered with, whatever the run is named", async () => {
    const lab = fakeLab({ renameRuns: true });
    const sweep = createSweepStore({ lab: lab.store, storage: memoryStorage() });
    await sweep.getState().init();
    sweep.getState().start(DEFINITION);
    await until(() => sweep.getState().sweep?.status === 'done');
    const points = sweep.getState().sweep!.points;
    expect(points.map((p) => p.runId)).toEqual(points.map((_, i) => `run-${i + 1}`));
    expect(points.map((p) => p.valLoss)).toEqual(points.map((p) => lab.summaries.get(p.runId!)!.lastValLoss));
    expect(points.every((p) => p.status === 'done')).toBe(true);
  });

  it('a point whose run cannot start is marked failed and the sweep goes on', async () => {
    const lab = fakeLab({ failTrainAt: 1 });
    const sweep = createSweepStore({ lab: lab.store, storage: memoryStorage() });
    await sweep.getState().init();
    sweep.getState().start(DEFINITION);
    await until(() => sweep.getState().sweep?.status === 'done');
    const points = sweep.getState().sweep!.points;
    expect(points[0]).toMatchObject({ status: 'error', message: 'bad settings' });
    expect(points.slice(1).every((p) => p.status === 'done')).toBe(true);
  });
});
