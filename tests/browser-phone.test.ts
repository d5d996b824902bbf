/**
 * The lab on a phone and from the keyboard, in headless Chromium against the built app (no
 * training): at 390×844 no tab scrolls sideways and a stored run's long name keeps its width;
 * the section tabs follow the ARIA tabs pattern (one Tab stop, arrows, Home and End).
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunRecord } from '../src/train/run-store';
import { checkRunRecord } from '../src/train/run-records';
import { useBuiltApp } from './helpers/built-app';
import { testSettings } from './helpers/settings';

const app = useBuiltApp();
/** A first render takes ~2 s alone, but far longer beside other browser tests on two busy cores. */
const PAGE_READY_MS = 90_000;

const LONG_NAME = 'Supercalifragilisticexpialidocious-bookcorpus-sweep-point-with-a-very-long-name';

/** A stored run as the lab worker writes one (checked by the worker's own record check first). */
function seededRun(): RunRecord {
  const settings = testSettings(
    { vocabSize: 512, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 48 },
    { maxSteps: 300, datasetId: 'bundled' },
  );
  const steps = [1, 2, 3].map((step) => ({
    step,
    loss: 6.5 - step * 0.3,
    lr: 1e-3,
    gradNorm: 1,
    tokens: step * 64,
    elapsedSeconds: step,
    tokensPerSecond: 64,
    tflops: 1e-5,
  }));
  const record: RunRecord = {
    summary: {
      id: 'run-phone',
      name: LONG_NAME,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      settings,
      status: 'stopped',
      checkpointStep: 0,
      tokens: 192,
      lastLoss: 5.6,
      tokenizer: { vocabSize: 512, fingerprint: 'f' },
    },
    tokenizerJson: '{}',
    steps,
    evals: [{ step: 3, valLoss: 5.7 }],
  };
  const checked = checkRunRecord(record);
  if (!checked.ok) throw new Error(`the seeded run is not a valid record: ${checked.problems.join('; ')}`);
  return record;
}

/** Writes `record` where the lab's run store keeps runs (idb-keyval: database gpt-garden-runs, store kv). */
async function seedRun(page: Page, record: RunRecord): Promise<void> {
  await page.evaluate(
    (record) =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open('gpt-garden-runs');
        open.onupgradeneeded = () => open.result.createObjectStore('kv');
        open.onerror = () => reject(new Error(`opening gpt-garden-runs failed: ${open.error?.message}`));
        open.onsuccess = () => {
          const tx = open.result.transaction('kv', 'readwrite');
          tx.objectStore('kv').put(record, `run:${record.summary.id}`);
          tx.oncomplete = () => (open.result.close(), resolve());
          tx.onerror = () => reject(new Error(`writing the run failed: ${tx.error?.message}`));
        };
      }),
    record,
  );
}

/** The page's width against the viewport's, after the tab's content has settled. */
const widths = (page: Page) =>
  page.evaluate(() => ({ page: document.documentElement.scrollWidth, viewport: window.innerWidth }));

describe('the lab at phone width and from the keyboard (built app)', () => {
  it('fits 390 px on every tab without sideways scrolling; a long run name stays on few lines', async () => {
    const context = await app().browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    await page.goto(app().base, { timeout: PAGE_READY_MS });
    await seedRun(page, seededRun());
    await page.reload({ timeout: PAGE_READY_MS });
    const name = page.getByRole('list', { name: 'Runs' }).getByText(LONG_NAME, { exact: true });
    await name.waitFor({ state: 'attached', timeout: PAGE_READY_MS });

    const tabs = await page.getByRole('tab').allTextContents();
    expect(tabs).toEqual(['Train', 'Data', 'Plan']);
    for (const tab of tabs) {
      await page.getByRole('tab', { name: tab }).click();
      await page
        .getByRole('tabpanel', { name: tab })
        .getByRole('heading', { level: 3 })
        .first()
        .waitFor({ timeout: PAGE_READY_MS });
      await page.waitForTimeout(500); // cards that fill in after their store answers
      const { page: width, viewport } = await widths(page);
      expect({ tab, width }).toEqual({ tab, width: viewport });
    }

    // The name wraps at its hyphens across the card's width, not a letter per line.
    await page.getByRole('tab', { name: 'Train' }).click();
    const box = (await name.boundingBox())!;
    const lineHeight = await name.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight));
    expect(box.width).toBeGreaterThan(200);
    expect(box.height / lineHeight).toBeLessThanOrEqual(4);
    await context.close();
  });

  it('switches tabs with the arrow keys, Home and End, from one Tab stop', async () => {
    const context = await app().browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    await page.goto(app().base, { timeout: PAGE_READY_MS });
    await page.getByRole('tab', { name: 'Train' }).waitFor({ timeout: PAGE_READY_MS });
    /** The focused tab, the selected one and the panel shown. */
    const state = () =>
      page.evaluate(() => ({
        focused: document.activeElement?.getAttribute('role') === 'tab' ? document.activeElement.textContent : null,
        selected: [...document.querySelectorAll('[role="tab"][aria-selected="true"]')].map((t) => t.textContent),
        tabStops: [...document.querySelectorAll('[role="tab"]')]
          .filter((t) => (t as HTMLElement).tabIndex === 0)
          .map((t) => t.textContent),
        panel: [...document.querySelectorAll('[role="tabpanel"]:not([hidden])')].map(
          (p) => p.querySelector('h2')?.textContent,
        ),
      }));
    const at = (tab: string) => ({ focused: tab, selected: [tab], tabStops: [tab], panel: [tab] });

    // Keyboard only: the first Tab press lands on the selected tab (the header has nothing focusable before it).
    await page.keyboard.press('Tab');
    expect(await state()).toEqual(at('Train'));
    // Each key once each way, wrapping at both ends; a panel is mounted per move, so the list stays short.
    const moves: [string, string][] = [
      ['ArrowLeft', 'Plan'], // wraps to the last
      ['ArrowRight', 'Train'], // wraps to the first
      ['ArrowRight', 'Data'],
      ['ArrowLeft', 'Train'],
      ['End', 'Plan'],
      ['Home', 'Train'],
    ];
    for (const [key, tab] of moves) {
      await page.keyboard.press(key);
      expect({ key, ...(await state()) }).toEqual({ key, ...at(tab) });
    }
    // Each tab names the panel it controls, and that panel is labelled by it.
    const train = page.getByRole('tab', { name: 'Train' });
    const panelId = await train.getAttribute('aria-controls');
    expect(await page.locator(`#${panelId}`).getAttribute('aria-labelledby')).toBe(await train.getAttribute('id'));

    // One Tab stop: the next Tab goes into the Train panel, not to the Data or Plan tab.
    await page.keyboard.press('Tab');
    const into = await page.evaluate(() => ({
      role: document.activeElement?.getAttribute('role') ?? null,
      panel: document.activeElement?.closest('[role="tabpanel"]')?.id,
    }));
    expect(into.role).not.toBe('tab');
    expect(into.panel).toBe(panelId);
    // Shift+Tab comes back to the selected tab.
    await page.keyboard.press('Shift+Tab');
    expect((await state()).focused).toBe('Train');
    await context.close();
  });
});
