/**
 * Stored runs: open one to see its curve, resume it, download it as a Hugging Face folder or with
 * its full training state, delete it; and import a Hugging Face folder (a run to sample from) or a
 * run directory (a run to resume), loose files or a downloaded zip.
 */
import { useId, useState } from 'react';
import { appLabStore, useLabStore } from './browser-lab';
import { appCompareStore, useCompareStore } from './browser-compare';
import { formatCount } from './chart-data';
import { importPicked } from './import-files';
import { isBusy } from './lab-store';
import { navStore } from '../plan/nav-store';
import { DamagedList } from '../DamagedList';

export function RunsList() {
  const runs = useLabStore((s) => s.runs);
  const damaged = useLabStore((s) => s.damagedRuns);
  const current = useLabStore((s) => s.run);
  const busy = useLabStore((s) => isBusy(s.phase));
  const picked = useCompareStore((s) => s.picked);
  const { open, resume, exportRun, deleteRun, prepareRunData } = appLabStore().getState();
  const [preparing, setPreparing] = useState<string | null>(null);
  const importId = useId();
  const onPick = (list: FileList | null) => importPicked([...(list ?? [])], appLabStore());
  return (
    <section className="card" aria-labelledby="runs-title">
      <h3 id="runs-title">Runs in this browser</h3>
      <div className="actions">
        <label className={busy ? 'button secondary disabled' : 'button secondary'} htmlFor={importId}>
          Import a Hugging Face model or run
        </label>
        <input
          id={importId}
          className="visually-hidden"
          type="file"
          multiple
          disabled={busy}
          accept=".zip,.json,.safetensors"
          onChange={(e) => {
            const picked = e.target.files;
            void onPick(picked).finally(() => (e.target.value = ''));
          }}
        />
        <span className="muted">
          A Hugging Face folder's config.json, model.safetensors and tokenizer.json (to sample), a run folder's files
          with training_state.safetensors and run.json (to resume: the command line's run directory), or a zip the lab
          downloaded.
        </span>
      </div>
      {runs.length === 0 && damaged.length === 0 && <p className="muted">No runs yet: press Train.</p>}
      <ul className="dataset-list" aria-label="Runs">
        {runs.map((r) => {
          const active = current?.id === r.id;
          const resumable =
            !r.imported && r.status !== 'done' && r.checkpointStep > 0 && r.checkpointStep < r.settings.maxSteps;
          const hasWeights = r.checkpointStep > 0 || !!r.imported;
          return (
            <li key={r.id} className="dataset">
              <div className="dataset-main">
                <strong>{r.name}</strong>
                <span className="muted">
                  {' '}
                  {r.imported
                    ? `imported from ${r.imported}`
                    : `step ${r.checkpointStep} of ${r.settings.maxSteps} · ${formatCount(r.tokens)} tokens`}
                  {r.lastLoss !== undefined ? ` · loss ${r.lastLoss.toFixed(3)}` : ''}
                  {r.lastValLoss !== undefined ? ` · val ${r.lastValLoss.toFixed(3)}` : ''} ·{' '}
                  {new Date(r.updatedAt).toLocaleString()}
                </span>
                {r.message && <span className="muted"> · {r.message}</span>}
                {r.missingDataset && (
                  <div className="actions">
                    <button
                      type="button"
                      className="secondary"
                      disabled={busy}
                      onClick={() => {
                        prepareRunData(r.id);
                        setPreparing(r.id);
                        navStore.getState().show('data');
                      }}
                      aria-label={`Prepare the data of ${r.name}`}
                    >
                      Prepare its data
                    </button>
                    {preparing === r.id && (
                      <span className="muted">
                        {' '}
                        The run's tokenizer is now the current one and the Data tab names its source
                        {r.missingDataset.source.kind === 'files' ? ' (pick its files again)' : ''}: tokenize it there,
                        then Resume.
                      </span>
                    )}
                  </div>
                )}
              </div>
              <div className="dataset-actions">
                <span className={`badge ${r.status === 'done' ? 'done' : 'paused'}`}>{r.status}</span>
                <label
                  className="compare-check"
                  title={
                    active
                      ? 'The current run is always on the loss chart'
                      : "Draw this run's curve on the loss chart beside the current one"
                  }
                >
                  <input
                    type="checkbox"
                    checked={active || picked.includes(r.id)}
                    disabled={active || r.checkpointStep === 0}
                    onChange={(e) => appCompareStore().getState().toggle(r.id, e.target.checked)}
                    aria-label={`Compare ${r.name}`}
                  />
                  Compare
                </label>
                <button type="button" className="secondary" disabled={busy || active} onClick={() => open(r.id)}>
                  Show
                </button>
                <button
                  type="button"
                  className="secondary"
                  disabled={busy || !resumable}
                  onClick={() => void resume(r.id)}
                  aria-label={`Resume ${r.name}`}
                >
                  Resume
                </button>
                <button
                  type="button"
                  className="secondary"
                  disabled={!hasWeights}
                  onClick={() => exportRun(r.id)}
                  aria-label={`Download ${r.name}`}
                  title="The model as a Hugging Face folder (zip)"
                >
                  Download
                </button>
                <button
                  type="button"
                  className="secondary"
                  disabled={r.checkpointStep === 0 || !!r.imported}
                  onClick={() => exportRun(r.id, { full: true })}
                  aria-label={`Download the full state of ${r.name}`}
                  title="The model plus its optimizer and data-sampler state and its curve: the command line (train --resume) or another browser continues it exactly"
                >
                  Full state
                </button>
                <button
                  type="button"
                  className="secondary"
                  disabled={busy && active}
                  onClick={() => deleteRun(r.id)}
                  aria-label={`Delete ${r.name}`}
                >
                  Delete
                </button>
              </div>
            </li>
          );
        })}
      </ul>
      <DamagedList items={damaged} label="Damaged runs" database="gpt-garden-runs" onDelete={deleteRun} />
    </section>
  );
}
