/**
 * "Use this plan" against the form's checks and its keeping: a plan shorter than the form's warmup
 * shortens the warmup (and says so) instead of leaving a form Train refuses, and the plan's values
 * are what the saved form holds, so they survive a reload.
 */
import { describe, expect, it } from 'vitest';
import { FITS } from '../src/scaling/chinchilla';
import { planForBudget } from '../src/scaling/model-picker';
import { formProblems } from '../src/train/defaults';
import { keepForm, readSavedForm, type FormStorage } from '../src/ui/lab/saved-form';
import { applyPlan, stepsForPlan } from '../src/ui/plan/apply-plan';
import { LIMITS, setup, SUGGESTED } from './helpers/lab-store-env';

function memory(): FormStorage {
  const items: Record<string, string> = {};
  return { getItem: (key) => items[key] ?? null, setItem: (key, value) => void (items[key] = value) };
}

describe('Use this plan and the form', () => {
  it('shortens a warmup the plan would outlast, says so, and the saved form holds the plan', () => {
    const env = setup();
    const storage = memory();
    keepForm(env.store, storage);
    env.store.getState().init();
    env.send({
      type: 'device',
      report: { ok: true, adapter: 'fake', isSoftware: true, limits: LIMITS, suggested: SUGGESTED },
    });
    env.store.getState().setForm({ lr: { warmupSteps: 100_000 } });
    // 1e12 FLOPs: a tiny model for fewer steps than that warmup.
    const plan = planForBudget({ flops: 1e12, fit: FITS.hoffmann, vocabSize: 2048, blockSize: 32 });
    const steps = stepsForPlan(plan, SUGGESTED);
    expect(steps).toBeLessThan(100_000);
    applyPlan({ lab: env.store, data: env.data, show: () => undefined }, plan);
    const { form, planNotes } = env.store.getState();
    expect(form.maxSteps).toBe(steps);
    expect(form.lr.warmupSteps).toBe(Math.floor(steps / 10));
    expect(planNotes.at(-1)).toBe(
      `Warmup shortened from 100000 to ${Math.floor(steps / 10)} steps: the plan is ${steps} steps.`,
    );
    expect(formProblems(form).filter((p) => p.field === 'warmupSteps')).toEqual([]);
    expect(readSavedForm(storage)!.form).toEqual(form);

    // A long plan leaves the warmup alone.
    env.store.getState().setForm({ lr: { warmupSteps: 20 } });
    applyPlan(
      { lab: env.store, data: env.data, show: () => undefined },
      planForBudget({ flops: 1e15, fit: FITS.hoffmann, vocabSize: 2048, blockSize: 32 }),
    );
    expect(env.store.getState().form.lr.warmupSteps).toBe(20);
    expect(env.store.getState().planNotes.some((n) => n.startsWith('Warmup'))).toBe(false);
  });
});
