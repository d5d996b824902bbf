/**
 * The datasets stored in this browser. One that stopped early (cancelled, quota, network) is
 * "paused" and can be resumed from where it stopped.
 */
import type { DatasetManifest } from '../../data/types';
import { formatBytes } from '../../data/storage';
import { formatCount } from './source-form';

interface Props {
  datasets: DatasetManifest[];
  /** Resume and Delete wait while an ingestion runs (the worker runs one at a time). */
  busy: boolean;
  onResume(id: string): void;
  onDelete(id: string): void;
}

export function DatasetList({ datasets, busy, onResume, onDelete }: Props) {
  if (datasets.length === 0) return <p className="muted">No datasets yet: pick a source above and press Start.</p>;
  return (
    <ul className="dataset-list">
      {datasets.map((d) => (
        <li key={d.id} className="dataset">
          <div className="dataset-main">
            <strong>{d.name}</strong>
            <span className="muted">
              {formatCount(d.tokens)} tokens · {d.shards.length} shard{d.shards.length === 1 ? '' : 's'} · {formatBytes(d.textBytes)} of text ·
              vocabulary {d.tokenizer.vocabSize.toLocaleString('en-US')}
            </span>
          </div>
          <div className="dataset-actions">
            {d.complete ? (
              <span className="badge done">complete</span>
            ) : (
              <>
                <span className="badge paused">paused at {formatCount(d.tokens)} tokens</span>
                <button type="button" disabled={busy} onClick={() => onResume(d.id)} aria-label={`Resume ${d.name}`}>
                  Resume
                </button>
              </>
            )}
            <button type="button" className="secondary" disabled={busy} onClick={() => onDelete(d.id)} aria-label={`Delete ${d.name}`}>
              Delete
            </button>
          </div>
        </li>
      ))}
    </ul>
  );
}
