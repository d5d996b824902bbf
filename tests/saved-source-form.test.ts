/** The Data tab's source form (what "Use this plan" fills) survives a reload, and a damaged record never breaks it. */
import { describe, expect, it } from 'vitest';
import { checkSavedSourceForm, keepSourceForm, SAVED_SOURCE_KEY } from '../src/ui/data/saved-source-form';
import { hubSourceForm, initialForm } from '../src/ui/data/source-form';
import { setup } from './helpers/lab-store-env';

function memoryStorage(initial: Record<string, string> = {}) {
  const items = new Map(Object.entries(initial));
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    items,
  };
}

describe('the Data tab source form across reloads', () => {
  it("keeps the source and the token limit a plan filled in, and a new page's store starts from them", () => {
    const storage = memoryStorage();
    const first = setup().data;
    keepSourceForm(first, storage);
    first.getState().applyRecipe({
      source: hubSourceForm('bookcorpus/bookcorpus'),
      maxTokens: 1.1e9,
      tokenizer: { sampleMb: 100, vocabSize: 50304 },
    });
    expect(JSON.parse(storage.items.get(SAVED_SOURCE_KEY)!)).toEqual({
      version: 1,
      form: {
        choice: 'remote',
        remote: 'bookcorpus/bookcorpus',
        column: first.getState().sourceForm.column,
        tokenLimit: '1100000000',
      },
    });

    const reloaded = setup().data;
    expect(reloaded.getState().sourceForm.tokenLimit).toBe('');
    keepSourceForm(reloaded, storage);
    expect(reloaded.getState().sourceForm).toMatchObject({
      choice: 'remote',
      remote: 'bookcorpus/bookcorpus',
      tokenLimit: '1100000000',
    });
  });

  it('a damaged field takes its default; a record not ours, or not JSON, is ignored', () => {
    expect(
      checkSavedSourceForm({ version: 1, form: { choice: 'files', remote: 7, column: 'text', tokenLimit: null } }),
    ).toEqual({
      choice: initialForm.choice,
      remote: initialForm.remote,
      column: 'text',
      tokenLimit: initialForm.tokenLimit,
    });
    expect(checkSavedSourceForm({ version: 2, form: {} })).toBeNull();
    expect(checkSavedSourceForm('a string')).toBeNull();
    const store = setup().data;
    const before = store.getState().sourceForm;
    expect(() => keepSourceForm(store, memoryStorage({ [SAVED_SOURCE_KEY]: '{not json' }))).not.toThrow();
    expect(store.getState().sourceForm).toEqual(before);
  });
});
