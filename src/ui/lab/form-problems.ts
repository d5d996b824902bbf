/**
 * The Train form's problems on the page, shared by the form (each beside its field) and the
 * controls (Train is disabled while there are any; the status line says why instead of "Ready").
 */
import { useMemo } from 'react';
import { formProblems, type SettingsField, type SettingsProblem } from '../../train/defaults';
import { useDataStore } from '../data/data-store';
import { useLabStore } from './browser-lab';
import { chosenManifest } from './estimate';
import { usableDatasets } from './first-run';
import { isBusy, type LabState } from './lab-state';

export function useFormProblems(): SettingsProblem[] {
  const form = useLabStore((s) => s.form);
  const limits = useLabStore((s) => s.device.report?.limits);
  const tokenizerJson = useDataStore((s) => s.tokenizer.json);
  const datasets = useDataStore((s) => s.datasets);
  return useMemo(() => {
    const usable = tokenizerJson ? usableDatasets(datasets, tokenizerJson) : [];
    return formProblems(form, limits, chosenManifest(form.datasetId, usable, datasets));
  }, [form, limits, tokenizerJson, datasets]);
}

/**
 * Each shown field's problems as one text (said beside it), and the rest (listed under the form):
 * those of no field, and of fields the form does not show (evaluation batches, seed, ...).
 */
export function problemsByField(
  problems: SettingsProblem[],
  shown: readonly SettingsField[],
): { byField: Partial<Record<SettingsField, string>>; general: string[] } {
  const byField: Partial<Record<SettingsField, string>> = {};
  const general: string[] = [];
  for (const p of problems) {
    if (p.field && shown.includes(p.field))
      byField[p.field] = byField[p.field] ? `${byField[p.field]} ${p.message}` : p.message;
    else general.push(p.message);
  }
  return { byField, general };
}

/**
 * What the status line says instead of "Ready" while the form has `count` problems, the device is
 * ready and nothing runs (null: the usual status stands, e.g. a finished run's numbers).
 */
export function blockedStatus(s: Pick<LabState, 'phase' | 'run' | 'device'>, count: number): string | null {
  if (count === 0 || s.device.status !== 'ready' || isBusy(s.phase) || (s.phase !== 'idle' && s.run)) return null;
  return `Not ready: ${count === 1 ? 'one setting needs' : `${count} settings need`} fixing (marked in the form) before Train.`;
}
