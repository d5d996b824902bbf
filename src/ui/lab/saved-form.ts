/**
 * The Train form kept between visits: one versioned record in localStorage, written whenever the
 * user (or "Use this plan", or the post's recipe) changes the form, and checked on read like every
 * stored record: a value of the wrong type falls back to the default for that field, and a record
 * that is not ours (not JSON, another version) is ignored, so a damaged entry never breaks the page.
 */
import type { StoreApi } from 'zustand/vanilla';
import type { RunSettings } from '../../train/protocol';
import { initialForm, type LabState } from './lab-state';

export const SAVED_FORM_KEY = 'gpt-garden.train-form';
export const SAVED_FORM_VERSION = 1;

export type FormStorage = Pick<Storage, 'getItem' | 'setItem'>;

/** What is read back: the form, and the fields whose stored value was damaged (the default is used for them). */
export interface CheckedForm {
  form: RunSettings;
  damaged: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A stored record as a form, or null when it is not one (not an object, another version, no form).
 * Each number must be a finite number; anything else takes the default's value and is named in
 * `damaged`. Whether the numbers make sense is the form's checks' job: they are shown, not hidden.
 */
export function checkSavedForm(raw: unknown, defaults: RunSettings = initialForm()): CheckedForm | null {
  if (!isRecord(raw) || raw.version !== SAVED_FORM_VERSION || !isRecord(raw.form)) return null;
  const saved = raw.form;
  const damaged: string[] = [];
  const number = (from: unknown, key: string, fallback: number, path: string): number => {
    const value = isRecord(from) ? from[key] : undefined;
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    damaged.push(path);
    return fallback;
  };
  const model = Object.fromEntries(
    (Object.keys(defaults.model) as (keyof RunSettings['model'])[]).map((key) => [
      key,
      number(saved.model, key, defaults.model[key], `model.${key}`),
    ]),
  ) as unknown as RunSettings['model'];
  const lr = Object.fromEntries(
    (Object.keys(defaults.lr) as (keyof RunSettings['lr'])[]).map((key) => [
      key,
      number(saved.lr, key, defaults.lr[key], `lr.${key}`),
    ]),
  ) as unknown as RunSettings['lr'];
  const form: RunSettings = { ...defaults, model, lr };
  for (const key of [
    'batchSize',
    'accumSteps',
    'maxSteps',
    'weightDecay',
    'gradClip',
    'evalEvery',
    'evalBatches',
    'checkpointEvery',
    'seed',
  ] as const) {
    form[key] = number(saved, key, defaults[key], key);
  }
  // A micro-batch picked by hand stays picked (absent: automatic).
  if (typeof saved.autoMicroBatch === 'boolean') form.autoMicroBatch = saved.autoMicroBatch;
  if (saved.precision === 'f32' || saved.precision === 'mixed') form.precision = saved.precision;
  if (typeof saved.datasetId === 'string') form.datasetId = saved.datasetId;
  else damaged.push('datasetId');
  return { form, damaged };
}

/** The saved form, or null when there is none or it cannot be read (storage refused, not JSON, not ours). */
export function readSavedForm(storage: FormStorage | null, defaults?: RunSettings): CheckedForm | null {
  try {
    const text = storage?.getItem(SAVED_FORM_KEY);
    return text ? checkSavedForm(JSON.parse(text), defaults) : null;
  } catch {
    return null;
  }
}

export function writeSavedForm(storage: FormStorage | null, form: RunSettings): void {
  try {
    // NaN (a field being typed) is not JSON: stored as null, it reads back as that field's default.
    storage?.setItem(SAVED_FORM_KEY, JSON.stringify({ version: SAVED_FORM_VERSION, form }));
  } catch {
    // Storage full or refused: the form just is not remembered.
  }
}

/** The page's localStorage, or null where storage is turned off (reading it then throws). */
export function pageStorage(): FormStorage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/**
 * Restores the saved form into the lab store (as an edited form, so the device's suggestion does
 * not replace it; the vocabulary still follows the tokenizer), then saves every edit. Returns the
 * unsubscribe.
 */
export function keepForm(store: StoreApi<LabState>, storage: FormStorage | null): () => void {
  const saved = readSavedForm(storage, store.getState().form);
  if (saved) store.setState({ form: saved.form, formEdited: true });
  return store.subscribe((state, previous) => {
    if (state.formEdited && state.form !== previous.form) writeSavedForm(storage, state.form);
  });
}
