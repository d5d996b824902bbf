/** Steps on the lab's page that browser tests and scripts take (no vitest here: scripts import it too). */
import type { Page } from 'playwright-core';

/** Trains the tokenizer in the Data tab on its default source (the bundled corpus) at `vocab` tokens, then shows Train. */
export async function trainTokenizerInData(page: Page, vocab: number): Promise<void> {
  await page.getByRole('tab', { name: 'Data' }).click();
  await page.getByLabel('Tokenizer vocabulary', { exact: true }).fill(String(vocab));
  await page.getByRole('button', { name: 'Train tokenizer', exact: true }).click();
  const card = page.locator('section', { has: page.getByRole('heading', { name: 'Tokenizer', exact: true }) });
  await card
    .getByText(new RegExp(`Ready: a byte-level BPE tokenizer with a vocabulary of ${vocab.toLocaleString('en-US')} `))
    .waitFor({ timeout: 120_000 });
  await page.getByRole('tab', { name: 'Train' }).click();
  // The model's vocabulary is the tokenizer's: shown, not typed.
  const field = page.getByLabel('Vocabulary', { exact: true });
  for (let i = 0; (await field.inputValue()) !== String(vocab); i++) {
    if (i > 100)
      throw new Error(`the Train form's vocabulary is ${await field.inputValue()}, not the tokenizer's ${vocab}`);
    await page.waitForTimeout(100);
  }
}

/** Records every text the Training status line shows from now on (a state may last less than a poll). */
export async function recordStatus(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const el = document.querySelector('[aria-label="Training status"]')!;
    const log: string[] = [el.textContent ?? ''];
    (window as unknown as { statusLog: string[] }).statusLog = log;
    new MutationObserver(() => {
      const text = el.textContent ?? '';
      if (log.at(-1) !== text) log.push(text);
    }).observe(el, { subtree: true, childList: true, characterData: true });
  });
  return () => page.evaluate(() => [...(window as unknown as { statusLog: string[] }).statusLog]);
}
