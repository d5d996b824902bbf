/**
 * The Train form kept between visits: what is written is read back as the same form; a damaged
 * value falls back to that field's default and is named; a record that is not ours is ignored;
 * the lab store gets the saved form back (a device's suggestion no longer replaces it) and every
 * edit, a plan's included, is saved.
 */
import { describe, expect, it } from 'vitest';
import type { RunSettings } from '../src/train/protocol';
import {
  checkSavedForm,
  keepForm,
  readSavedForm,
  SAVED_FORM_KEY,
  writeSavedForm,
  type FormStorage,
} from '../src/ui/lab/saved-form';
import { initialForm } from '../src/ui/lab/lab-state';
import { LIMITS, setup, SUGGESTED } from './helpers/lab-store-env';

function memory(initial: Record<string, string> = {}): FormStorage & { items: Record<string, string> } {
  const items = { ...initial };
  return { items, getItem: (key) => items[key] ?? null, setItem: (key, value) => void (items[key] = value) };
}

const EDITED: RunSettings = {
  ...initialForm(),
  model: { vocabSize: 2048, blockSize: 128, nLayer: 3, nHead: 4, nEmbd: 96 },
  maxSteps: 450,
  lr: { maxLr: 6e-4, minLr: 6e-5, warmupSteps: 45 },
  datasetId: 'bundled-abc',
};

describe('the saved Train form', () => {
  it('reads back what was written, number for number', () => {
    const storage = memory();
    writeSavedForm(storage, EDITED);
    expect(JSON.parse(storage.items[SAVED_FORM_KEY]!)).toMatchObject({ version: 1 });
    expect(readSavedForm(storage)).toEqual({ form: EDITED, damaged: [] });
    // The precision chosen stays chosen; a value that is not one is dropped (f32, the default).
    writeSavedForm(storage, { ...EDITED, precision: 'mixed' });
    expect(readSavedForm(storage)?.form.precision).toBe('mixed');
    writeSavedForm(storage, { ...EDITED, precision: 'f16' as RunSettings['precision'] });
    expect(readSavedForm(storage)?.form.precision).toBeUndefined();
    // A micro-batch picked by hand stays picked.
    const picked: RunSettings = { ...EDITED, batchSize: 4, accumSteps: 4, autoMicroBatch: false };
    writeSavedForm(storage, picked);
    expect(readSavedForm(storage)).toEqual({ form: picked, damaged: [] });
  });

  it('falls back to the default for each damaged value, and ignores records that are not ours', () => {
    const defaults = initialForm();
    const raw = {
      version: 1,
      form: {
        ...EDITED,
        model: { ...EDITED.model, nLayer: '3', nEmbd: null },
        lr: 7,
        batchSize: [4],
        seed: 'x',
        datasetId: 5,
      },
    };
    const checked = checkSavedForm(JSON.parse(JSON.stringify(raw)), defaults)!;
    expect(checked.damaged).toEqual([
      'model.nLayer',
      'model.nEmbd',
      'lr.maxLr',
      'lr.minLr',
      'lr.warmupSteps',
      'batchSize',
      'seed',
      'datasetId',
    ]);
    expect(checked.form).toEqual({
      ...EDITED,
      model: { ...EDITED.model, nLayer: defaults.model.nLayer, nEmbd: defaults.model.nEmbd },
      lr: defaults.lr,
      batchSize: defaults.batchSize,
      seed: defaults.seed,
      datasetId: defaults.datasetId,
    });
    // NaN (a field being typed) is written as null and reads back as the default.
    const storage = memory();
    writeSavedForm(storage, { ...EDITED, maxSteps: NaN });
    expect(readSavedForm(storage)).toEqual({ form: { ...EDITED, maxSteps: defaults.maxSteps }, damaged: ['maxSteps'] });

    for (const text of ['{"version":2,"form":{}}', '{"version":1}', '[1,2]', 'null', '{not json', '"text"']) {
      expect(readSavedForm(memory({ [SAVED_FORM_KEY]: text }))).toBeNull();
    }
    const refusing: FormStorage = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
    };
    expect(readSavedForm(refusing)).toBeNull();
    expect(() => writeSavedForm(refusing, EDITED)).not.toThrow();
  });

  it('restores the form into the lab store over the device suggestion, and saves every edit', () => {
    const storage = memory();
    writeSavedForm(storage, EDITED);
    const env = setup();
    keepForm(env.store, storage);
    env.store.getState().init();
    env.send({
      type: 'device',
      report: { ok: true, adapter: 'fake', isSoftware: true, limits: LIMITS, suggested: SUGGESTED },
    });
    expect(env.store.getState().form).toEqual(EDITED);

    env.store.getState().setForm({ lr: { warmupSteps: 30 }, model: { nLayer: 5 } });
    expect(readSavedForm(storage)!.form).toEqual({
      ...EDITED,
      lr: { ...EDITED.lr, warmupSteps: 30 },
      model: { ...EDITED.model, nLayer: 5 },
    });

    // Nothing saved: the store keeps its defaults and the device's suggestion still applies.
    const fresh = setup();
    const empty = memory({ [SAVED_FORM_KEY]: '{broken' });
    keepForm(fresh.store, empty);
    fresh.store.getState().init();
    fresh.send({
      type: 'device',
      report: { ok: true, adapter: 'fake', isSoftware: true, limits: LIMITS, suggested: SUGGESTED },
    });
    expect(fresh.store.getState().form.model).toEqual(SUGGESTED.model);
    expect(empty.items[SAVED_FORM_KEY]).toBe('{broken'); // a suggestion is not the user's: not saved
  });
});
