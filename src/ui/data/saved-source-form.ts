/**
 * The Data tab's "Add a dataset" form kept between visits, as the Train form is (saved-form.ts):
 * the source, its column and the token limit — what "Use this plan" and the post's recipe fill in.
 * Picked files cannot be kept (a page cannot reopen them), so a form on files comes back on the
 * bundled corpus. Checked on read: a damaged field takes its default, a record not ours is ignored.
 */
import type { StoreApi } from 'zustand/vanilla';
import type { FormStorage } from '../lab/saved-form';
import type { DataState } from './data-store';
import { initialForm, type SourceForm } from './source-form';

export const SAVED_SOURCE_KEY = 'gpt-garden.data-form';
export const SAVED_SOURCE_VERSION = 1;

type KeptFields = Pick<SourceForm, 'choice' | 'remote' | 'column' | 'tokenLimit'>;

/** The kept fields of a stored record, or null when it is not ours (not an object, another version). */
export function checkSavedSourceForm(raw: unknown): KeptFields | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const record = raw as Record<string, unknown>;
  if (record.version !== SAVED_SOURCE_VERSION || typeof record.form !== 'object' || record.form === null) return null;
  const form = record.form as Record<string, unknown>;
  const text = (key: 'remote' | 'column' | 'tokenLimit') =>
    typeof form[key] === 'string' ? form[key] : initialForm[key];
  return {
    choice: form.choice === 'remote' || form.choice === 'bundled' ? form.choice : initialForm.choice,
    remote: text('remote'),
    column: text('column'),
    tokenLimit: text('tokenLimit'),
  };
}

/** Restores the kept fields into the store, then saves them whenever they change. Returns the unsubscribe. */
export function keepSourceForm(store: StoreApi<DataState>, storage: FormStorage | null): () => void {
  try {
    const text = storage?.getItem(SAVED_SOURCE_KEY);
    const saved = text ? checkSavedSourceForm(JSON.parse(text)) : null;
    if (saved) store.setState({ sourceForm: { ...store.getState().sourceForm, ...saved } });
  } catch {
    // Not JSON or storage refused: the form starts from its defaults.
  }
  return store.subscribe((state, previous) => {
    const { choice, remote, column, tokenLimit } = state.sourceForm;
    const before = previous.sourceForm;
    if (
      choice === before.choice &&
      remote === before.remote &&
      column === before.column &&
      tokenLimit === before.tokenLimit
    )
      return;
    try {
      storage?.setItem(
        SAVED_SOURCE_KEY,
        JSON.stringify({ version: SAVED_SOURCE_VERSION, form: { choice, remote, column, tokenLimit } }),
      );
    } catch {
      // Storage full or refused: the form just is not remembered.
    }
  });
}
