/**
 * The datasets stored in this browser. One that stopped early (cancelled, quota, network) is
 * "paused" and can be resumed from where it stopped. One tokenized with another tokenizer than the
 * current one stays listed, marked, with "Re-tokenize" (its source again, with this tokenizer).
 */
import type { DamagedRecord } from '../../data/records';
import type { DatasetManifest } from '../../data/types';
import { DamagedList } from '../DamagedList';
import { formatBytes } from '../../data/storage';
import type { Retokenizing } from './data-store';
import { formatCount } from './source-form';

interface Props {
  datasets: DatasetManifest[];
  /** Manifests that failed their check: listed with Delete, below the healthy ones. */
  damaged?: DamagedRecord[];
  /** Resume, Delete and Re-tokenize wait while an ingestion runs (the worker runs one at a time). */
  busy: boolean;
  /** The current tokenizer's fingerprint (null: none yet). */
  tokenizerFingerprint: string | null;
  retokenizing: Retokenizing | null;
  onResume(id: string): void;
  onDelete(id: string): void;
  onRetokenize(id: string): void;
}

export function DatasetList({ datasets, damaged = [], busy, tokenizerFingerprint, retokenizing, onResume, onDelete, onRetokenize }: Props) {
  const broken = <DamagedList items={damaged} label="Damaged datasets" database="gpt-garden-data" busy={busy} onDelete={onDelete} />;
  if (datasets.length === 0)
    return (
      <>
        <p className="muted">No datasets yet: pick a source above and press Start.</p>
        {broken}
      </>
    );
  return (
    <>
    <ul className="dataset-list">
      {datasets.map((d) => {
        const other = tokenizerFingerprint !== null && d.tokenizer.fingerprint !== tokenizerFingerprint;
        const beingReplaced = retokenizing?.from === d.id;
        return (
          <li key={d.id} className="dataset" data-other-tokenizer={other || undefined}>
            <div className="dataset-main">
              <strong>{d.name}</strong>
              <span className="muted">
                {formatCount(d.tokens)} tokens · {d.shards.length} shard{d.shards.length === 1 ? '' : 's'} · {formatBytes(d.textBytes)} of text ·
                vocabulary {d.tokenizer.vocabSize.toLocaleString('en-US')}
              </span>
              {other && (
                <span className="muted">
                  {beingReplaced
                    ? 'Being re-tokenized: this copy is deleted once the new one is complete.'
                    : 'Runs with the current tokenizer cannot train on it. Re-tokenize reads its source again into a new dataset; this one stays until that one is complete, then it is deleted.'}
                </span>
              )}
            </div>
            <div className="dataset-actions">
              {other && <span className="badge other">tokenized with another tokenizer ({d.tokenizer.vocabSize.toLocaleString('en-US')} tokens)</span>}
              {d.complete ? (
                <span className="badge done">complete</span>
              ) : (
                <>
                  <span className="badge paused">paused at {formatCount(d.tokens)} tokens</span>
                  {!other && (
                    <button type="button" disabled={busy} onClick={() => onResume(d.id)} aria-label={`Resume ${d.name}`}>
                      Resume
                    </button>
                  )}
                </>
              )}
              {other && (
                <button type="button" disabled={busy} onClick={() => onRetokenize(d.id)} aria-label={`Re-tokenize ${d.name}`}>
                  Re-tokenize
                </button>
              )}
              <button type="button" className="secondary" disabled={busy} onClick={() => onDelete(d.id)} aria-label={`Delete ${d.name}`}>
                Delete
              </button>
            </div>
          </li>
        );
      })}
    </ul>
    {broken}
    </>
  );
}
