// @vitest-environment jsdom
/**
 * The page probes the GPU in the lab worker only: the real App renders in jsdom on the lab's test
 * stores with navigator.gpu stubbed by spies, every tab is shown, and no page code asks for an
 * adapter; the header says what the worker's device report says.
 */
import 'fake-indexeddb/auto';
import { act, createElement } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { setup } from './helpers/lab-store-env';
import { jsdomPage, pageStores } from './helpers/page-stores';

// The page's stores are the test's: the same store code on scripted workers.
vi.mock('../src/ui/lab/browser-lab', async (original) =>
  (await import('./helpers/page-stores')).withTestLabStore(await original<object>()),
);
vi.mock('../src/ui/data/data-store', async (original) =>
  (await import('./helpers/page-stores')).withTestDataStore(await original<object>()),
);

// Every way into a GPU, as spies: none may be called from the page.
const gpu = {
  requestAdapter: vi.fn(async () => null),
  getPreferredCanvasFormat: vi.fn(() => 'bgra8unorm'),
  wgslLanguageFeatures: new Set(),
};
Object.defineProperty(navigator, 'gpu', { value: gpu, configurable: true });

pageStores.env = setup();
const { App } = await import('../src/ui/App');

let root: Root;
let container: HTMLElement;

beforeAll(() => {
  jsdomPage();
});

afterAll(async () => {
  await act(async () => root?.unmount());
  container?.remove();
});

const settle = () => act(async () => new Promise((r) => setTimeout(r, 20)));
const header = () => container.querySelector('header .gpu-status');
const tab = (name: string) =>
  [...container.querySelectorAll<HTMLButtonElement>('[role="tab"]')].find((t) => t.textContent === name)!;

describe('the page and the GPU', () => {
  it('never asks navigator.gpu for an adapter: the header shows the lab worker’s probe', async () => {
    container = document.body.appendChild(document.createElement('div'));
    root = createRoot(container);
    await act(async () => root.render(createElement(App)));
    await settle();
    expect(gpu.requestAdapter).not.toHaveBeenCalled();
    // The store asked its worker to probe; until it answers the header waits.
    expect(pageStores.env.posted().filter((m) => m.type === 'probe')).toHaveLength(1);
    expect(header()?.textContent).toBe('Checking for WebGPU…');

    await act(async () =>
      pageStores.env.send({
        type: 'device',
        report: { ok: true, adapter: 'Test Adapter · vendor', isSoftware: false },
      }),
    );
    expect(header()?.textContent).toBe('WebGPU is available in this browser (adapter: Test Adapter · vendor).');

    for (const name of ['Data', 'Plan', 'Train']) {
      await act(async () => tab(name).click());
      await settle();
      expect(container.querySelector('[role="tabpanel"]:not([hidden]) h2')?.textContent).toBe(name);
    }
    // A device lost later: the header gives the worker's reason on tabs without the Train tab's alert.
    await act(async () =>
      pageStores.env.send({ type: 'device', report: { ok: false, reason: 'GPU device lost (unknown): test' } }),
    );
    await act(async () => tab('Data').click());
    expect(header()?.getAttribute('role')).toBe('alert');
    expect(header()?.textContent).toBe('WebGPU is not available here: GPU device lost (unknown): test');

    expect(gpu.requestAdapter).not.toHaveBeenCalled();
    expect(gpu.getPreferredCanvasFormat).not.toHaveBeenCalled();
  });
});
