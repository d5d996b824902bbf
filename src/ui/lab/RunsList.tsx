/** Stored runs: open one to see its curve, resume it, download it as a Hugging Face folder, delete it. */
import { appLabStore, useLabStore } from './browser-lab';
import { formatCount } from './chart-data';
import { isBusy } from './lab-store';

export function RunsList() {
  const runs = useLabStore((s) => s.runs);
  const current = useLabStore((s) => s.run);
  const busy = useLabStore((s) => isBusy(s.phase));
  const { open, resume, exportRun, deleteRun } = appLabStore().getState();
  return (
    <section className="card" aria-labelledby="runs-title">
      <h3 id="runs-title">Runs in this browser</h3>
      {runs.length === 0 && <p className="muted">No runs yet: press Train.</p>}
      <ul className="dataset-list" aria-label="Runs">
        {runs.map((r) => {
          const active = current?.id === r.id;
          const resumable = r.status !== 'done' && r.checkpointStep > 0 && r.checkpointStep < r.settings.maxSteps;
          return (
            <li key={r.id} className="dataset">
              <div className="dataset-main">
                <strong>{r.name}</strong>
                <span className="muted">
                  {' '}
                  step {r.checkpointStep} of {r.settings.maxSteps} · {formatCount(r.tokens)} tokens
                  {r.lastLoss !== undefined ? ` · loss ${r.lastLoss.toFixed(3)}` : ''}
                  {r.lastValLoss !== undefined ? ` · val ${r.lastValLoss.toFixed(3)}` : ''} · {new Date(r.updatedAt).toLocaleString()}
                </span>
                {r.message && <span className="muted"> · {r.message}</span>}
              </div>
              <div className="dataset-actions">
                <span className={`badge ${r.status === 'done' ? 'done' : 'paused'}`}>{r.status}</span>
                <button type="button" className="secondary" disabled={busy || active} onClick={() => open(r.id)}>
                  Show
                </button>
                <button type="button" className="secondary" disabled={busy || !resumable} onClick={() => resume(r.id)} aria-label={`Resume ${r.name}`}>
                  Resume
                </button>
                <button type="button" className="secondary" disabled={r.checkpointStep === 0} onClick={() => exportRun(r.id)} aria-label={`Download ${r.name}`}>
                  Download
                </button>
                <button type="button" className="secondary" disabled={busy && active} onClick={() => deleteRun(r.id)} aria-label={`Delete ${r.name}`}>
                  Delete
                </button>
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
