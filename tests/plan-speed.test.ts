/** The Plan tab's speed store (probe once, refused while a run trains) and the plan's step count. */
import { describe, expect, it } from 'vitest';
import { HOFFMANN_2022 } from '../src/scaling/chinchilla';
import { planForBudget } from '../src/scaling/model-picker';
import { stepsForPlan } from '../src/ui/plan/PlanTab';
import { createSpeedStore } from '../src/ui/plan/speed-store';

const MODEL = { vocabSize: 2048, blockSize: 64, nLayer: 2, nHead: 2, nEmbd: 64 };

describe('speed store', () => {
  it('measures through the probe and keeps the model it measured', async () => {
    const requests: unknown[] = [];
    const told: number[] = [];
    let clock = 0;
    const store = createSpeedStore({
      probe: async (request) => {
        requests.push(request);
        clock += 1500;
        return { tokensPerSecond: 100, flopsPerSecond: 1.5e8 };
      },
      busy: () => null,
      measured: (result) => told.push(result.tokensPerSecond),
      now: () => clock,
    });
    await store.getState().measure(MODEL, 4);
    expect(requests).toEqual([{ model: MODEL, batchSize: 4, steps: 2 }]);
    expect(store.getState()).toMatchObject({
      status: 'done',
      error: null,
      result: { model: MODEL, batchSize: 4, tokensPerSecond: 100, flopsPerSecond: 1.5e8, seconds: 1.5 },
    });
    // The page's lab is told (its time estimate), not left to watch this store.
    expect(told).toEqual([100]);
  });

  it('refuses while a run trains and reports a failed probe', async () => {
    let busy: string | null = 'A run is training.';
    const store = createSpeedStore({ probe: () => Promise.reject(new Error('device lost')), busy: () => busy });
    await store.getState().measure(MODEL, 4);
    expect(store.getState()).toMatchObject({ status: 'error', error: 'A run is training.' });
    busy = null;
    await store.getState().measure(MODEL, 4);
    expect(store.getState()).toMatchObject({ status: 'error', error: 'device lost' });
  });
});

describe('Use this plan', () => {
  it('turns the plan tokens into steps of the form batch shape, rounding up', () => {
    const plan = planForBudget({ flops: 1e15, fit: HOFFMANN_2022, vocabSize: 2048, blockSize: 64 });
    const steps = stepsForPlan(plan, { batchSize: 4, accumSteps: 2 });
    expect(steps).toBe(Math.ceil(plan.tokens / (4 * 2 * 64)));
    expect((steps - 1) * 512).toBeLessThan(plan.tokens);
    expect(steps * 512).toBeGreaterThanOrEqual(plan.tokens);
  });
});
