/**
 * The Train form: model shape, batch and accumulation, schedule, dataset; what the settings cost
 * (parameters, tokens, FLOPs, GPU memory) and what is wrong with them, before anything starts.
 */
import { useMemo } from 'react';
import { paramCount, trainingFlopsPerToken } from '../../model/hf';
import { estimateGpuBytes, settingsProblems } from '../../train/defaults';
import { formatBytes } from '../../data/storage';
import { useDataStore } from '../data/data-store';
import { formatCount } from './chart-data';
import { usableDatasets } from './first-run';
import { isBusy } from './lab-store';
import { appLabStore, useLabStore } from './browser-lab';
import { NumberField } from './NumberField';

export function TrainForm() {
  const form = useLabStore((s) => s.form);
  const busy = useLabStore((s) => isBusy(s.phase));
  const limits = useLabStore((s) => s.device.report?.limits);
  const tokenizer = useDataStore((s) => s.tokenizer);
  const datasets = useDataStore((s) => s.datasets);
  const { setForm } = appLabStore().getState();
  const problems = useMemo(() => settingsProblems(form, limits), [form, limits]);
  const usable = tokenizer.json ? usableDatasets(datasets, tokenizer.json) : [];
  const m = form.model;
  const numbersOk = problems.length === 0 || Object.values(m).every((v) => Number.isInteger(v) && v > 0);
  const tokensPerStep = form.batchSize * m.blockSize * form.accumSteps;

  return (
    <form className="train-form" aria-label="Training settings" onSubmit={(e) => e.preventDefault()}>
      <fieldset disabled={busy}>
        <legend>Model</legend>
        <div className="field-grid">
          <NumberField label="Layers" value={m.nLayer} onChange={(nLayer) => setForm({ model: { nLayer } })} />
          <NumberField label="Heads" value={m.nHead} onChange={(nHead) => setForm({ model: { nHead } })} />
          <NumberField label="Width" value={m.nEmbd} onChange={(nEmbd) => setForm({ model: { nEmbd } })} />
          <NumberField label="Block size" value={m.blockSize} onChange={(blockSize) => setForm({ model: { blockSize } })} />
          <NumberField
            label="Vocabulary"
            value={m.vocabSize}
            onChange={(vocabSize) => setForm({ model: { vocabSize } })}
            hint={
              tokenizer.status === 'ready' && tokenizer.vocabSize !== m.vocabSize
                ? `The tokenizer has ${tokenizer.vocabSize!.toLocaleString('en-US')} tokens: Train retrains it at this size.`
                : undefined
            }
          />
        </div>
      </fieldset>
      <fieldset disabled={busy}>
        <legend>Batch and schedule</legend>
        <div className="field-grid">
          <NumberField label="Micro-batch" value={form.batchSize} onChange={(batchSize) => setForm({ batchSize })} />
          <NumberField label="Accumulation steps" value={form.accumSteps} onChange={(accumSteps) => setForm({ accumSteps })} />
          <NumberField label="Steps" value={form.maxSteps} onChange={(maxSteps) => setForm({ maxSteps })} />
          <NumberField label="Peak learning rate" value={form.lr.maxLr} onChange={(maxLr) => setForm({ lr: { maxLr } })} />
          <NumberField label="Final learning rate" value={form.lr.minLr} onChange={(minLr) => setForm({ lr: { minLr } })} />
          <NumberField label="Warmup steps" value={form.lr.warmupSteps} onChange={(warmupSteps) => setForm({ lr: { warmupSteps } })} />
          <NumberField label="Validate every" value={form.evalEvery} onChange={(evalEvery) => setForm({ evalEvery })} />
          <NumberField label="Checkpoint every" value={form.checkpointEvery} onChange={(checkpointEvery) => setForm({ checkpointEvery })} />
        </div>
        <div className="field">
          <label htmlFor="train-dataset">Dataset</label>
          <select id="train-dataset" value={form.datasetId} onChange={(e) => setForm({ datasetId: e.target.value })}>
            <option value="">Automatic (the bundled corpus, tokenized on first use)</option>
            {usable.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} · {formatCount(d.tokens)} tokens{d.complete ? '' : ' (partial)'}
              </option>
            ))}
          </select>
        </div>
      </fieldset>
      {numbersOk && problems.length === 0 && (
        <p className="muted cost" aria-label="Run size">
          {formatCount(paramCount(m))} parameters · {formatCount(tokensPerStep)} tokens per step · {formatCount(tokensPerStep * form.maxSteps)} tokens in all ·{' '}
          {(trainingFlopsPerToken(m, m.blockSize) * tokensPerStep * form.maxSteps).toExponential(1)} FLOPs · about {formatBytes(estimateGpuBytes(form))} of GPU memory
        </p>
      )}
      {problems.length > 0 && (
        <ul className="problems" aria-label="Problems with these settings">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
    </form>
  );
}
