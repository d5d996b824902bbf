/**
 * The datasets stored in this browser. One that stopped early (cancelled, quota, network) is
 * "paused" and can be resumed from where it stopped. One tokenized with another tokenizer than the
 * current one stays listed, marked, with "Re-tokenize" (its source again, with this tokenizer, as a
 * new dataset beside it). One a saved run trains on says so, and deleting it asks first.
 */
import { useState } from 'react';
import { datasetBase } from '../../data/fingerprint';
import type { DamagedRecord } from '../../data/records';
import type { DatasetManifest } from '../../data/types';
import type { RunSummary } from '../../train/protocol';
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
  /** The names of the saved runs that train on each dataset, by dataset id. */
  usedBy?: Record<string, string[]>;
  onResume: (id: string) => void;
  onDelete: (id: string) => void;
  onRetokenize: (id: string) => void;
}

/** The runs that may still train on each dataset (paused, stopped, failed, running; imported ones train elsewhere), by dataset id. */
export function runsByDataset(runs: RunSummary[]): Record<string, string[]> {
  const byId: Record<string, string[]> = {};
  for (const run of runs) {
    if (run.imported || run.status === 'done') continue;
    (byId[run.settings.datasetId] ??= []).push(run.name);
  }
  return byId;
}

/** "used by run 2L 64w" / "used by runs A and B" / "used by runs A, B and 3 more". */
export function usedByText(names: string[]): string {
  if (names.length === 1) return `used by run ${names[0]}`;
  const shown = names.slice(0, 2);
  const more = names.length - shown.length;
  return `used by runs ${more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(' and ')}`;
}

export function DatasetList({
  datasets,
  damaged = [],
  busy,
  tokenizerFingerprint,
  retokenizing,
  usedBy = {},
  onResume,
  onDelete,
  onRetokenize,
}: Props) {
  // The dataset whose Delete was pressed while runs use it: asked about before anything goes.
  const [confirming, setConfirming] = useState<string | null>(null);
  const broken = (
    <DamagedList items={damaged} label="Damaged datasets" database="gpt-garden-data" busy={busy} onDelete={onDelete} />
  );
  if (datasets.length === 0)
    return (
      <>
        <p className="muted">No datasets yet: pick a source above and press Start.</p>
        {broken}
      </>
    );
  const current = (d: DatasetManifest) =>
    tokenizerFingerprint !== null && d.tokenizer.fingerprint === tokenizerFingerprint;
  // Copies of one source share its name: their buttons also say the vocabulary, so each names one dataset.
  const label = (d: DatasetManifest) =>
    datasets.some((o) => o !== d && o.name === d.name)
      ? `${d.name} (vocabulary ${d.tokenizer.vocabSize.toLocaleString('en-US')})`
      : d.name;
  return (
    <>
      <ul className="dataset-list">
        {datasets.map((d) => {
          const other = tokenizerFingerprint !== null && !current(d);
          // Its source already tokenized with the current tokenizer: nothing to re-tokenize.
          const twin = other
            ? datasets.find((t) => t.id !== d.id && current(t) && datasetBase(t.id) === datasetBase(d.id))
            : undefined;
          const beingRetokenized = retokenizing?.from === d.id;
          const runs = usedBy[d.id] ?? [];
          const vocab = d.tokenizer.vocabSize.toLocaleString('en-US');
          return (
            <li key={d.id} className="dataset" data-other-tokenizer={other || undefined} data-dataset-id={d.id}>
              <div className="dataset-main">
                <strong>{d.name}</strong>
                <span className="muted">
                  {formatCount(d.tokens)} tokens · {d.shards.length} shard{d.shards.length === 1 ? '' : 's'} ·{' '}
                  {formatBytes(d.textBytes)} of text · vocabulary {vocab}
                </span>
                {other && (
                  <span className="muted">
                    {beingRetokenized
                      ? 'Being re-tokenized into a new dataset; this one stays.'
                      : twin
                        ? `Runs with the current tokenizer train on its copy "${twin.name}" (${formatCount(twin.tokens)} tokens); this one stays for the runs made with its tokenizer.`
                        : 'Runs with the current tokenizer cannot train on it. Re-tokenize reads its source again into a new dataset beside this one, which stays for the runs made with its tokenizer.'}
                  </span>
                )}
                {confirming === d.id && (
                  <span role="alert" className="error-text">
                    Delete "{d.name}"?{' '}
                    {runs.length === 1 ? `The run ${runs[0]} trains` : `${runs.length} runs (${runs.join(', ')}) train`}{' '}
                    on it: they could not resume until its source is prepared again with their tokenizer.
                  </span>
                )}
              </div>
              <div className="dataset-actions">
                {runs.length > 0 && <span className="badge">{usedByText(runs)}</span>}
                {other && <span className="badge other">tokenized with another tokenizer ({vocab} tokens)</span>}
                {d.complete ? (
                  <span className="badge done">complete</span>
                ) : (
                  <>
                    <span className="badge paused">paused at {formatCount(d.tokens)} tokens</span>
                    {!other && (
                      <button
                        type="button"
                        disabled={busy}
                        onClick={() => onResume(d.id)}
                        aria-label={`Resume ${label(d)}`}
                      >
                        Resume
                      </button>
                    )}
                  </>
                )}
                {other && !twin && (
                  <button
                    type="button"
                    disabled={busy}
                    onClick={() => onRetokenize(d.id)}
                    aria-label={`Re-tokenize ${label(d)}`}
                  >
                    Re-tokenize
                  </button>
                )}
                {confirming === d.id ? (
                  <>
                    <button
                      type="button"
                      disabled={busy}
                      onClick={() => {
                        setConfirming(null);
                        onDelete(d.id);
                      }}
                      aria-label={`Delete ${label(d)} anyway`}
                    >
                      Delete anyway
                    </button>
                    <button
                      type="button"
                      className="secondary"
                      onClick={() => setConfirming(null)}
                      aria-label={`Keep ${label(d)}`}
                    >
                      Keep
                    </button>
                  </>
                ) : (
                  <button
                    type="button"
                    className="secondary"
                    disabled={busy}
                    onClick={() => (runs.length > 0 ? setConfirming(d.id) : onDelete(d.id))}
                    aria-label={`Delete ${label(d)}`}
                  >
                    Delete
                  </button>
                )}
              </div>
            </li>
          );
        })}
      </ul>
      {broken}
    </>
  );
}
