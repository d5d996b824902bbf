/**
 * The Train form: model shape, batch and accumulation, schedule, dataset; what the settings cost
 * (parameters, tokens, FLOPs, GPU memory, time on this device, passes over the data) and what is
 * wrong with them, each problem beside its field, before anything starts (Train stays disabled
 * while there are any). The vocabulary is the tokenizer's (made in Data).
 */
import { useEffect, useMemo } from 'react';
import { paramCount, trainingFlopsPerToken } from '../../model/hf';
import { estimateGpuBytes, type SettingsField } from '../../train/defaults';
import { formatBytes } from '../../data/storage';
import { useDataStore } from '../data/data-store';
import { navStore } from '../plan/nav-store';
import { formatCount } from './chart-data';
import {
  batchPatch,
  chosenDataset,
  formatRunTime,
  formBatch,
  microBatchOptions,
  passesNote,
  runEstimate,
  runTokens,
} from './estimate';
import { usableDatasets } from './first-run';
import { isBusy } from './lab-store';
import { appLabStore, useLabStore } from './browser-lab';
import { NumberField } from './NumberField';
import { problemsByField, useFormProblems } from './form-problems';
import './form.css';

/** The fields this form shows: their problems are said beside them, any other's under the form. */
const SHOWN: readonly SettingsField[] = [
  'nLayer',
  'nHead',
  'nEmbd',
  'blockSize',
  'vocabSize',
  'batchSize',
  'maxSteps',
  'maxLr',
  'minLr',
  'warmupSteps',
  'evalEvery',
  'checkpointEvery',
  'datasetId',
];

/** What mixed precision does; without tensor cores its kernels compute in f32, so it saves memory, not time. */
function mixedNote(tensorCores: string | undefined): string {
  const what = 'f16 weight copies and activations, f32 master weights and AdamW, dynamic loss scaling';
  return tensorCores
    ? `${what}; matmuls on this device's tensor cores (${tensorCores})`
    : `${what}; saves memory, not time, here (no tensor cores)`;
}

export function TrainForm() {
  const form = useLabStore((s) => s.form);
  const busy = useLabStore((s) => isBusy(s.phase));
  const report = useLabStore((s) => s.device.report);
  const measured = useLabStore((s) => s.measuredSpeed);
  const notes = useLabStore((s) => s.planNotes);
  const tokenizer = useDataStore((s) => s.tokenizer);
  const datasets = useDataStore((s) => s.datasets);
  const { setForm, setPlanNotes } = appLabStore().getState();
  const problems = useFormProblems();
  const { byField: said, general } = useMemo(() => problemsByField(problems, SHOWN), [problems]);
  const estimate = useMemo(
    () => (problems.length === 0 ? runEstimate(form, report, measured) : null),
    [problems, form, report, measured],
  );
  const usable = tokenizer.json ? usableDatasets(datasets, tokenizer.json) : [];
  const m = form.model;
  const numbersOk = problems.length === 0 || Object.values(m).every((v) => Number.isInteger(v) && v > 0);
  const tokensPerStep = form.batchSize * m.blockSize * form.accumSteps;
  const picked =
    form.datasetId && !usable.some((d) => d.id === form.datasetId)
      ? (datasets.find((d) => d.id === form.datasetId) ?? null)
      : null;
  const passes =
    problems.length === 0 ? passesNote(runTokens(form), chosenDataset(form.datasetId, usable, datasets)) : null;
  // The user sets the batch per step; the micro-batch is the chooser's (auto) or theirs.
  const { batch, micro } = formBatch(form);
  const limits = report?.limits;
  const precision = form.precision ?? 'f32';
  const precisionNote = precision === 'mixed' ? mixedNote(report?.tensorCores) : 'f32 throughout';
  const split = useMemo(() => batchPatch(form, batch, micro, limits), [form, batch, micro, limits]);
  // An auto micro-batch follows the model and the device: re-chosen when they change what fits.
  // Written to the store directly, not by setForm: a re-choice is not the user's edit (a device
  // suggestion may still replace an unedited form).
  useEffect(() => {
    const { patch, ok } = split;
    if (micro === 'auto' && ok && (patch.batchSize !== form.batchSize || patch.accumSteps !== form.accumSteps)) {
      appLabStore().setState((s) => ({ form: { ...s.form, ...patch } }));
    }
  }, [split, micro, form.batchSize, form.accumSteps]);

  return (
    <form className="train-form" aria-label="Training settings" onSubmit={(e) => e.preventDefault()}>
      <fieldset disabled={busy}>
        <legend>Model</legend>
        <div className="field-grid">
          <NumberField
            label="Layers"
            value={m.nLayer}
            problem={said.nLayer}
            onChange={(nLayer) => setForm({ model: { nLayer } })}
          />
          <NumberField
            label="Heads"
            value={m.nHead}
            problem={said.nHead}
            onChange={(nHead) => setForm({ model: { nHead } })}
          />
          <NumberField
            label="Width"
            value={m.nEmbd}
            problem={said.nEmbd}
            onChange={(nEmbd) => setForm({ model: { nEmbd } })}
          />
          <NumberField
            label="Block size"
            value={m.blockSize}
            problem={said.blockSize}
            onChange={(blockSize) => setForm({ model: { blockSize } })}
          />
          <div className="field">
            <label htmlFor="train-vocab">Vocabulary</label>
            <input
              id="train-vocab"
              type="text"
              readOnly
              value={m.vocabSize}
              aria-invalid={said.vocabSize ? true : undefined}
              aria-describedby={said.vocabSize ? 'train-vocab-problem train-vocab-hint' : 'train-vocab-hint'}
            />
            {said.vocabSize && (
              <span id="train-vocab-problem" className="field-problem">
                {said.vocabSize}
              </span>
            )}
            <span id="train-vocab-hint" className="muted hint">
              {tokenizer.status === 'ready'
                ? 'The tokenizer’s size. '
                : 'No tokenizer yet: Train makes one of this size from the bundled corpus. '}
              <button type="button" className="secondary" onClick={() => navStore.getState().show('data')}>
                Train another tokenizer in Data
              </button>
            </span>
          </div>
        </div>
      </fieldset>
      <fieldset disabled={busy}>
        <legend>Batch and schedule</legend>
        <div className="field-grid">
          <NumberField
            label="Batch (sequences per step)"
            value={batch}
            problem={said.batchSize}
            onChange={(b) =>
              setForm(batchPatch(form, b, micro === 'auto' || b % micro !== 0 ? 'auto' : micro, limits).patch)
            }
          />
          <div className="field">
            <label htmlFor="train-micro-batch">Micro-batch</label>
            <select
              id="train-micro-batch"
              value={micro === 'auto' ? 'auto' : String(micro)}
              aria-describedby="train-micro-batch-note"
              onChange={(e) =>
                setForm(
                  batchPatch(form, batch, e.target.value === 'auto' ? 'auto' : Number(e.target.value), limits).patch,
                )
              }
            >
              <option value="auto">Automatic (the largest that fits)</option>
              {microBatchOptions(batch).map((d) => (
                <option key={d} value={String(d)}>
                  {d}
                </option>
              ))}
            </select>
            <span id="train-micro-batch-note" className="muted hint" aria-label="Micro-batch choice">
              {split.note}
            </span>
          </div>
          <div className="field">
            <label htmlFor="train-precision">Precision</label>
            <select
              id="train-precision"
              value={precision}
              aria-describedby="train-precision-note"
              onChange={(e) => setForm({ precision: e.target.value === 'mixed' ? 'mixed' : 'f32' })}
            >
              <option value="f32">f32</option>
              <option value="mixed">Mixed (f16, loss scaling)</option>
            </select>
            <span id="train-precision-note" className="muted hint" aria-label="Precision choice">
              {precisionNote}
            </span>
          </div>
          <NumberField
            label="Steps"
            value={form.maxSteps}
            problem={said.maxSteps}
            onChange={(maxSteps) => setForm({ maxSteps })}
          />
          <NumberField
            label="Peak learning rate"
            value={form.lr.maxLr}
            problem={said.maxLr}
            onChange={(maxLr) => setForm({ lr: { maxLr } })}
          />
          <NumberField
            label="Final learning rate"
            value={form.lr.minLr}
            problem={said.minLr}
            onChange={(minLr) => setForm({ lr: { minLr } })}
          />
          <NumberField
            label="Warmup steps"
            value={form.lr.warmupSteps}
            problem={said.warmupSteps}
            onChange={(warmupSteps) => setForm({ lr: { warmupSteps } })}
          />
          <NumberField
            label="Validate every"
            value={form.evalEvery}
            problem={said.evalEvery}
            onChange={(evalEvery) => setForm({ evalEvery })}
          />
          <NumberField
            label="Checkpoint every"
            value={form.checkpointEvery}
            problem={said.checkpointEvery}
            onChange={(checkpointEvery) => setForm({ checkpointEvery })}
          />
        </div>
        <div className="field">
          <label htmlFor="train-dataset">Dataset</label>
          <select
            id="train-dataset"
            value={form.datasetId}
            aria-invalid={said.datasetId ? true : undefined}
            aria-describedby={said.datasetId ? 'train-dataset-problem' : undefined}
            onChange={(e) => setForm({ datasetId: e.target.value })}
          >
            <option value="">Automatic (the bundled corpus, tokenized on first use)</option>
            {form.datasetId && !usable.some((d) => d.id === form.datasetId) && (
              <option value={form.datasetId}>
                {picked
                  ? `${picked.name} (tokenized with another tokenizer: re-tokenize it in Data)`
                  : `${form.datasetId} (not prepared yet: prepare it in Data)`}
              </option>
            )}
            {usable.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} · {formatCount(d.tokens)} tokens{d.complete ? '' : ' (partial)'}
              </option>
            ))}
          </select>
          {said.datasetId && (
            <span id="train-dataset-problem" className="field-problem">
              {said.datasetId}
            </span>
          )}
        </div>
      </fieldset>
      {numbersOk && problems.length === 0 && (
        <p className="muted cost" aria-label="Run size">
          {formatCount(paramCount(m))} parameters · {formatCount(tokensPerStep)} tokens per step ·{' '}
          {formatCount(tokensPerStep * form.maxSteps)} tokens in all ·{' '}
          {(trainingFlopsPerToken(m, m.blockSize) * tokensPerStep * form.maxSteps).toExponential(1)} FLOPs · about{' '}
          {formatBytes(estimateGpuBytes(form))} of GPU memory
          {passes && ` · ${passes} over it`}
        </p>
      )}
      {problems.length === 0 && (
        <p className="cost" aria-label="Time on this device">
          {estimate
            ? `About ${formatRunTime(estimate.seconds)} on this device (${estimate.device}), ${estimate.basis}.`
            : 'Time on this device: known once the device check has run.'}
        </p>
      )}
      {notes.length > 0 && (
        <div className="notes" role="note" aria-label="Plan notes">
          <ul>
            {notes.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
          <button type="button" className="secondary" onClick={() => setPlanNotes([])}>
            Dismiss
          </button>
        </div>
      )}
      {general.length > 0 && (
        <ul className="problems" aria-label="Problems with these settings">
          {general.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
    </form>
  );
}
