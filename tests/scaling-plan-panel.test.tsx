/** The plan panel renders (server-side, no DOM needed) with its labelled inputs and the plan's numbers. */
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { HOFFMANN_2022 } from '../src/scaling/chinchilla';
import { planForBudget } from '../src/scaling/model-picker';
import { PlanPanel } from '../src/ui/plan/PlanPanel';

describe('PlanPanel', () => {
  it('shows the labelled budget, fit and button, and the default 3.2e17 FLOP plan', () => {
    const html = renderToStaticMarkup(<PlanPanel vocabSize={50304} blockSize={1024} onUsePlan={() => {}} />);
    for (const label of ['Compute budget', 'Budget unit', 'Scaling fit'])
      expect(html).toMatch(new RegExp(`<label for="[^"]+">${label}</label>`));
    expect(html).toContain('Use this plan</button>');
    const plan = planForBudget({ flops: 3.2e17, fit: HOFFMANN_2022, vocabSize: 50304, blockSize: 1024 });
    expect(html).toContain(plan.params.toLocaleString('en-US'));
    expect(html).toContain('measure this device first');
    expect(html).toMatch(/<option value="hours" disabled="">/);
  });

  it('offers hours and dollars once the device speed is known, with a wall-clock estimate', () => {
    const html = renderToStaticMarkup(
      <PlanPanel vocabSize={4096} blockSize={512} deviceTokensPerSecond={50_000} onUsePlan={() => {}} />,
    );
    expect(html).toMatch(/<option value="hours">/);
    expect(html).toMatch(/Wall-clock estimate<\/dt><dd[^>]*>about /);
  });
});
