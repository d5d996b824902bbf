// @vitest-environment jsdom
/**
 * The Train form's batch and micro-batch, rendered in jsdom on the lab's test stores: the batch per
 * step is split automatically to fit the device's limits (and said so under the field), re-split
 * when the model changes what fits, and a micro-batch chosen by hand is kept and checked. Its
 * precision: mixed is offered on every device (f16 is stored packed, no shader-f16 needed) and says
 * what it does.
 */
import 'fake-indexeddb/auto';
import { act, createElement } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LIMITS, setup } from './helpers/lab-store-env';
import { jsdomPage, pageStores } from './helpers/page-stores';

// The page's stores are the test's: the same store code on scripted workers.
vi.mock('../src/ui/lab/browser-lab', async (original) =>
  (await import('./helpers/page-stores')).withTestLabStore(await original<object>()),
);
vi.mock('../src/ui/data/data-store', async (original) =>
  (await import('./helpers/page-stores')).withTestDataStore(await original<object>()),
);

pageStores.env = setup();
const { TrainForm } = await import('../src/ui/lab/TrainForm');

let root: Root | undefined;
let container: HTMLElement;

beforeAll(() => {
  jsdomPage();
});

afterEach(async () => {
  await act(async () => root?.unmount());
  container?.remove();
});

function field<T extends HTMLElement>(label: string): T {
  const element = [...container.querySelectorAll('label')].find((l) => l.textContent === label);
  if (!element) throw new Error(`no field labelled ${label}`);
  return document.getElementById(element.htmlFor) as T;
}

/** Sets a control's value as typing or picking would (React listens for input and change). */
async function enter(control: HTMLInputElement | HTMLSelectElement, value: string): Promise<void> {
  const proto = control instanceof HTMLSelectElement ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(control, value);
  await act(async () => {
    control.dispatchEvent(new Event(control instanceof HTMLSelectElement ? 'change' : 'input', { bubbles: true }));
  });
}

const note = () => container.querySelector('[aria-label="Micro-batch choice"]')?.textContent;
const form = () => pageStores.env.store.getState().form;

const precisionNote = () => container.querySelector('[aria-label="Precision choice"]')?.textContent;

describe('the Train form’s micro-batch and precision', () => {
  it('splits the batch to fit the device, follows the model, and keeps a micro-batch chosen by hand', async () => {
    const env = pageStores.env;
    env.store.getState().init();
    // LIMITS bind 128 MiB: one 64-token sequence's logits over 2,048 tokens are 512 KiB, so 256 sequences at most.
    env.send({
      type: 'device',
      report: {
        ok: true,
        adapter: 'fake',
        isSoftware: true,
        limits: LIMITS,
        suggested: { ...form(), model: { ...form().model, vocabSize: 2048, blockSize: 64 } },
      },
    });
    container = document.body.appendChild(document.createElement('div'));
    root = createRoot(container);
    await act(async () => root!.render(createElement(TrainForm)));
    await act(async () => new Promise((r) => setTimeout(r, 20))); // the stores' init replies
    expect(form().model).toMatchObject({ vocabSize: 2048, blockSize: 64 });

    await enter(field<HTMLInputElement>('Batch (sequences per step)'), '1024');
    expect(note()).toBe('micro-batch 256 × 4 accumulation steps: the batch of 1024 does not fit at once here');
    expect(form()).toMatchObject({ batchSize: 256, accumSteps: 4, autoMicroBatch: true });

    // A longer block doubles each sequence's logits: the micro-batch is chosen again.
    await act(async () => env.store.getState().setForm({ model: { blockSize: 128 } }));
    expect(note()).toBe('micro-batch 128 × 8 accumulation steps: the batch of 1024 does not fit at once here');
    expect(form()).toMatchObject({ batchSize: 128, accumSteps: 8 });

    await enter(field<HTMLInputElement>('Batch (sequences per step)'), '16');
    expect(note()).toBe('micro-batch 16 × 1 accumulation step: the batch of 16 fits at once here');
    expect(form()).toMatchObject({ batchSize: 16, accumSteps: 1 });

    // By hand: kept as given, even where auto would choose another.
    await enter(field<HTMLSelectElement>('Micro-batch'), '4');
    expect(note()).toBe('micro-batch 4 × 4 accumulation steps (chosen by hand)');
    expect(form()).toMatchObject({ batchSize: 4, accumSteps: 4, autoMicroBatch: false });
    await enter(field<HTMLSelectElement>('Micro-batch'), 'auto');
    expect(form()).toMatchObject({ batchSize: 16, accumSteps: 1, autoMicroBatch: true });
  });

  it('offers mixed precision on a device without shader-f16, says what it does, and keeps the choice', async () => {
    const env = pageStores.env;
    env.send({
      type: 'device' as const,
      report: { ok: true, adapter: 'fake', isSoftware: true, limits: LIMITS, features: [], suggested: form() },
    });
    container = document.body.appendChild(document.createElement('div'));
    root = createRoot(container);
    await act(async () => root!.render(createElement(TrainForm)));
    const select = field<HTMLSelectElement>('Precision');
    const mixed = () => [...select.options].find((o) => o.value === 'mixed')!;
    expect(select.value).toBe('f32');
    expect(mixed().disabled).toBe(false);
    expect(precisionNote()).toBe('f32 throughout');
    const f32Estimate = container.textContent.match(/about ([\d.]+ [KMG]?B) of GPU memory/)?.[1];

    await enter(select, 'mixed');
    expect(form().precision).toBe('mixed');
    expect(precisionNote()).toMatch(/^f16 weight copies and activations, f32 master weights and AdamW/);
    // The memory estimate follows the precision: f16 activations need less.
    const mixedEstimate = container.textContent.match(/about ([\d.]+ [KMG]?B) of GPU memory/)?.[1];
    expect(f32Estimate).toBeDefined();
    expect(mixedEstimate).toBeDefined();
    expect(mixedEstimate).not.toBe(f32Estimate);
    expect(precisionNote()).toMatch(/; saves memory, not time, here \(no tensor cores\)$/);
    // A device whose tensor cores take mixed precision's matmuls says so.
    await act(async () =>
      env.send({
        type: 'device' as const,
        report: {
          ok: true,
          adapter: 'fake',
          isSoftware: false,
          limits: LIMITS,
          features: ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix'],
          tensorCores: '16×16×16 f16 → f32',
          suggested: form(),
        },
      }),
    );
    expect(precisionNote()).toMatch(/; matmuls on this device's tensor cores \(16×16×16 f16 → f32\)$/);
    await enter(select, 'f32');
    expect(form().precision).toBe('f32');
    expect(precisionNote()).toBe('f32 throughout');
  });
});
