// @vitest-environment jsdom
/**
 * The Sample panel in jsdom on the lab's test store (scripted worker): the tokens a sample-done
 * carries become chips with alternating backgrounds, visible whitespace and their ids in title
 * and aria-label once "Show tokens" is ticked; while a run trains the panel says sampling shares
 * the GPU with it.
 */
import 'fake-indexeddb/auto';
import { act, createElement } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LabRequest } from '../src/train/protocol';
import { setup, summary } from './helpers/lab-store-env';
import { jsdomPage, pageStores } from './helpers/page-stores';
import { testSettings } from './helpers/settings';

// The page's stores are the test's: the same store code on scripted workers.
vi.mock('../src/ui/lab/browser-lab', async (original) =>
  (await import('./helpers/page-stores')).withTestLabStore(await original<object>()),
);

const { SamplePanel } = await import('../src/ui/lab/SamplePanel');

jsdomPage();
let root: Root | null = null;
let host: HTMLElement;

afterEach(() => {
  act(() => root?.unmount());
  root = null;
  host?.remove();
});

function render() {
  pageStores.env = setup();
  const run = summary(testSettings({ vocabSize: 300, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32 }), {
    status: 'done',
    checkpointStep: 10,
  });
  pageStores.env.store.setState({ run, runs: [run], phase: 'done' });
  host = document.createElement('div');
  document.body.append(host);
  root = createRoot(host);
  act(() => root!.render(createElement(SamplePanel)));
  return pageStores.env;
}

const button = (name: string) => [...host.querySelectorAll('button')].find((b) => b.textContent?.trim() === name)!;
const checkbox = (text: RegExp) =>
  [...host.querySelectorAll('label')].find((l) => text.test(l.textContent ?? ''))!.querySelector('input')!;

describe('Sample panel: Show tokens', () => {
  it('draws the sample-done tokens as chips with ids, whitespace visible, only when ticked', async () => {
    const env = render();
    act(() => button('Generate').click());
    const request = env.posted().find((m): m is Extract<LabRequest, { type: 'sample' }> => m.type === 'sample')!;
    expect(request).toMatchObject({ prompt: 'life is about', weights: 'current' });
    await act(async () => {
      env.send({ type: 'sample-token', requestId: request.requestId, text: ' the end.\n' });
      env.send({
        type: 'sample-done',
        requestId: request.requestId,
        text: ' the end.\n',
        tokens: 3,
        seconds: 0.5,
        promptTokens: [
          { id: 41, text: 'life' },
          { id: 97, text: ' is' },
          { id: 120, text: ' about' },
        ],
        outputTokens: [
          { id: 262, text: ' the' },
          { id: 88, text: ' end.' },
          { id: 198, text: '\n' },
        ],
      });
    });
    // Off by default: the text as it streamed.
    expect(host.querySelector('output[aria-label="Sample output"]')!.textContent).toBe('life is about the end.\n');
    expect(host.querySelector('.token-chips')).toBeNull();

    act(() => checkbox(/Show tokens/).click());
    const list = host.querySelector('ol[aria-label="Sample output as tokens"]')!;
    const chips = [...list.querySelectorAll('li')];
    expect(chips.map((c) => c.textContent)).toEqual(['life', '·is', '·about', '·the', '·end.', '↵']);
    expect(chips.map((c) => c.title)).toEqual([
      'id 41 (prompt)',
      'id 97 (prompt)',
      'id 120 (prompt)',
      'id 262',
      'id 88',
      'id 198',
    ]);
    expect(chips[3]!.getAttribute('aria-label')).toBe('space the, id 262');
    expect(chips[5]!.getAttribute('aria-label')).toBe('newline, id 198');
    expect(chips[1]!.getAttribute('aria-label')).toBe('space is, id 97, prompt');
    expect(chips.map((c) => c.classList.contains('alt'))).toEqual([false, true, false, true, false, true]);
    expect(chips.filter((c) => c.classList.contains('in-prompt')).length).toBe(3);
    expect(list.getAttribute('tabindex')).toBe('0');
    expect(host.textContent).toContain('6 tokens: 3 in the prompt, 3 generated');
  });

  it('says sampling shares the GPU while a run trains, and not otherwise', () => {
    const env = render();
    const hint = /shares the GPU with training/;
    expect(host.textContent).not.toMatch(hint);
    act(() => env.store.setState({ phase: 'running' }));
    expect(host.textContent).toMatch(hint);
    act(() => env.store.setState({ phase: 'paused' }));
    expect(host.textContent).not.toMatch(hint);
  });
});
