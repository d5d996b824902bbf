// @vitest-environment jsdom
/**
 * One error boundary per card: the real Train, Data and Plan tabs render in jsdom on the lab's
 * test stores (scripted workers), one card's component is made to throw, and that card alone
 * becomes "This panel failed: <message>" with Retry while its neighbours keep rendering and
 * working; Retry brings the card back once it renders again.
 */
import 'fake-indexeddb/auto';
import { act, createElement, type ComponentType } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { setup } from './helpers/lab-store-env';
import { jsdomPage, pageStores } from './helpers/page-stores';

/**
 * Shared with the mock factories (hoisted above the imports): the test stores, made below, and
 * the names of the components a test makes throw.
 */
const shared = vi.hoisted(() => ({ boom: new Set<string>() }));
const { boom } = shared;

/** The real component, unless the test named it in `boom`: then it throws as a bug would. */
function explosive<P extends object>(name: string, real: ComponentType<P>): ComponentType<P> {
  return (props: P) => {
    if (boom.has(name)) throw new TypeError(`Cannot read properties of undefined (reading '${name}')`);
    return createElement(real, props);
  };
}

// The page's stores are the test's: the same store code on scripted workers.
vi.mock('../src/ui/lab/browser-lab', async (original) =>
  (await import('./helpers/page-stores')).withTestLabStore(await original<object>()),
);
vi.mock('../src/ui/data/data-store', async (original) =>
  (await import('./helpers/page-stores')).withTestDataStore(await original<object>()),
);
vi.mock('../src/ui/lab/LossChart', async (original) => {
  const real = await original<typeof import('../src/ui/lab/LossChart')>();
  return { ...real, LossChart: explosive('LossChart', real.LossChart) };
});
vi.mock('../src/ui/lab/RunsList', async (original) => {
  const real = await original<typeof import('../src/ui/lab/RunsList')>();
  return { ...real, RunsList: explosive('RunsList', real.RunsList) };
});
vi.mock('../src/ui/tokenizer/TokenizerCard', async (original) => {
  const real = await original<typeof import('../src/ui/tokenizer/TokenizerCard')>();
  return { ...real, TokenizerCard: explosive('TokenizerCard', real.TokenizerCard) };
});
vi.mock('../src/ui/plan/PlanPanel', async (original) => {
  const real = await original<typeof import('../src/ui/plan/PlanPanel')>();
  return { ...real, PlanPanel: explosive('PlanPanel', real.PlanPanel) };
});

pageStores.env = setup();
const { TrainPanel } = await import('../src/ui/lab/TrainPanel');
const { DataPanel } = await import('../src/ui/data/DataPanel');
const { PlanTab } = await import('../src/ui/plan/PlanTab');

let root: Root | undefined;
let container: HTMLElement;

beforeAll(() => {
  jsdomPage();
});

afterEach(async () => {
  boom.clear();
  await act(async () => root?.unmount());
  container?.remove();
});

async function show(tab: ComponentType): Promise<void> {
  container = document.body.appendChild(document.createElement('div'));
  root = createRoot(container);
  // The boundary logs the caught error for bug reports; the test expects it.
  const log = vi.spyOn(console, 'error').mockImplementation(() => {});
  await act(async () => root!.render(createElement(tab)));
  await act(async () => new Promise((r) => setTimeout(r, 20))); // the stores' init replies
  log.mockRestore();
}

const headings = () => [...container.querySelectorAll('h3')].map((h) => h.textContent);
const alerts = () =>
  [...container.querySelectorAll('[role="alert"].panel-error')].map((a) => [
    a.getAttribute('aria-label'),
    a.querySelector('p')?.textContent,
  ]);

describe('a card that throws fails alone', () => {
  it('Train tab: the loss chart fails, the form, Sample, Profile and Runs keep rendering; Retry restores it', async () => {
    boom.add('LossChart');
    await show(TrainPanel);
    expect(alerts()).toEqual([
      [
        'Loss chart failed',
        "This panel failed: Cannot read properties of undefined (reading 'LossChart'). The other panels keep working.",
      ],
    ]);
    expect(headings()).toEqual(
      expect.arrayContaining(['Train a GPT', 'Sample', 'Where a step goes', 'Runs in this browser']),
    );
    expect(headings()).not.toContain('Loss');
    // The neighbours still work: the Train button is there and enabled state follows the store.
    expect([...container.querySelectorAll('button')].some((b) => b.textContent === 'Train')).toBe(true);

    boom.clear();
    const retry = [...container.querySelectorAll('button')].find((b) => b.textContent === 'Retry')!;
    await act(async () => retry.click());
    expect(alerts()).toEqual([]);
    expect(headings()).toContain('Loss');
  });

  it('Train tab: the runs list fails, the chart and form stay', async () => {
    boom.add('RunsList');
    await show(TrainPanel);
    expect(alerts().map(([label]) => label)).toEqual(['Runs failed']);
    expect(headings()).toEqual(expect.arrayContaining(['Train a GPT', 'Loss', 'Sample']));
  });

  it('Data tab: the tokenizer card fails, adding a dataset and the dataset list stay', async () => {
    boom.add('TokenizerCard');
    await show(DataPanel);
    expect(alerts().map(([label]) => label)).toEqual(['Tokenizer failed']);
    expect(headings()).toEqual(expect.arrayContaining(['Add a dataset', 'Datasets in this browser']));
    expect(headings()).not.toContain('Tokenizer');
  });

  it('Plan tab: the planner fails, the recipe, the device speed and the sweep stay', async () => {
    boom.add('PlanPanel');
    await show(PlanTab);
    expect(alerts().map(([label]) => label)).toEqual(['Plan failed']);
    expect(headings()).toEqual(
      expect.arrayContaining(["The post's run", "This device's training speed", 'Your own IsoFLOP sweep']),
    );
    expect(headings()).not.toContain('Plan the model with IsoFLOP curves');
  });

  it('with nothing thrown every card renders and no alert shows', async () => {
    await show(TrainPanel);
    expect(alerts()).toEqual([]);
    expect(headings()).toEqual(
      expect.arrayContaining(['Train a GPT', 'Loss', 'Sample', 'Where a step goes', 'Runs in this browser']),
    );
  });
});
