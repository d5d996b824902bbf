/**
 * The lab's Data section: the tokenizer, a source to ingest, the running ingestion's progress, the
 * stored datasets and this site's storage budget. All work happens in workers; this only renders
 * the store and sends it the user's intents.
 */
import { ErrorBoundary } from '../ErrorBoundary';
import { useEffect, useMemo, useState } from 'react';
import { fingerprint } from '../../data/fingerprint';
import { TokenizerCard } from '../tokenizer/TokenizerCard';
import { bundledCorpusUrl } from './browser-deps';
import { appDataStore, useDataStore } from './data-store';
import { useLabStore } from '../lab/browser-lab';
import { DatasetList, runsByDataset } from './DatasetList';
import { buildIngestInput, progressSummary, storageSummary } from './source-form';
import { SourcePicker } from './SourcePicker';

export function DataPanel() {
  // The form lives in the store: a plan or "The post's recipe" fills it, and the tokenizer card trains on its source.
  const form = useDataStore((s) => s.sourceForm);
  const setForm = useDataStore((s) => s.setSourceForm);
  const [formError, setFormError] = useState<string | null>(null);
  const error = useDataStore((s) => s.error);
  const status = useDataStore((s) => s.ingestion.status);
  const datasets = useDataStore((s) => s.datasets);
  const damagedDatasets = useDataStore((s) => s.damagedDatasets);
  const hasTokenizer = useDataStore((s) => s.tokenizer.status === 'ready');
  const tokenizerJson = useDataStore((s) => s.tokenizer.json);
  const tokenizerPrint = useMemo(() => (tokenizerJson ? fingerprint(tokenizerJson) : null), [tokenizerJson]);
  const retokenizing = useDataStore((s) => s.retokenizing);
  // Saved runs name their dataset: the list marks those datasets and asks before deleting one.
  const runs = useLabStore((s) => s.runs);
  const usedBy = useMemo(() => runsByDataset(runs), [runs]);
  const { startIngest, cancel, resume, remove, dismissError, retokenize } = appDataStore().getState();
  const busy = status === 'running' || status === 'cancelling';

  useEffect(() => {
    void appDataStore().getState().init();
  }, []);

  const start = () => {
    const built = buildIngestInput(form, bundledCorpusUrl());
    if ('error' in built) {
      setFormError(built.error);
      return;
    }
    setFormError(null);
    startIngest(built.input);
  };

  const shownError = formError ?? error?.message ?? null;
  const dismiss = () => {
    setFormError(null);
    dismissError();
  };

  return (
    <div className="panel">
      <ErrorBoundary name="Tokenizer">
        <TokenizerCard />
      </ErrorBoundary>

      <ErrorBoundary name="Add a dataset">
        <section className="card" aria-labelledby="ingest-title">
          <h3 id="ingest-title">Add a dataset</h3>
          <SourcePicker form={form} disabled={busy} onChange={setForm} />
          <div className="actions">
            <button type="button" onClick={start} disabled={busy || !hasTokenizer}>
              Start
            </button>
            <button type="button" className="secondary" onClick={cancel} disabled={status !== 'running'}>
              Cancel
            </button>
            {!hasTokenizer && <span className="muted">Train the tokenizer first.</span>}
          </div>
          <IngestionProgress />
        </section>
      </ErrorBoundary>

      {shownError && (
        <div role="alert" className={error?.kind === 'quota' && !formError ? 'alert quota' : 'alert'}>
          <p>{shownError}</p>
          <button type="button" className="secondary" onClick={dismiss}>
            Dismiss
          </button>
        </div>
      )}

      <ErrorBoundary name="Datasets">
        <section className="card" aria-labelledby="datasets-title">
          <h3 id="datasets-title">Datasets in this browser</h3>
          <DatasetList
            datasets={datasets}
            damaged={damagedDatasets}
            busy={busy}
            tokenizerFingerprint={tokenizerPrint}
            retokenizing={retokenizing}
            usedBy={usedBy}
            onResume={(id) => resume(id, form.files)}
            onDelete={remove}
            onRetokenize={(id) => retokenize(id, form.files)}
          />
          <StorageLine />
        </section>
      </ErrorBoundary>
    </div>
  );
}

function IngestionProgress() {
  const { status, progress, id } = useDataStore((s) => s.ingestion);
  // Named as the list names it (the id also carries the tokenizer's fingerprint).
  const name = useDataStore((s) => s.datasets.find((d) => d.id === id)?.name) ?? id;
  if (status === 'idle' || status === 'error') return null;
  if (status === 'done') {
    return (
      <p className="muted">
        Finished {name}
        {progress ? `: ${progressSummary(progress, true)}` : ''}.
      </p>
    );
  }
  return (
    <div className="progress-block">
      <progress aria-label="Ingestion progress" value={progress?.fraction} max={1} />
      <p className="muted">
        {status === 'cancelling' ? 'Stopping… ' : ''}
        {progress ? progressSummary(progress) : `Starting ${name}…`}
      </p>
    </div>
  );
}

function StorageLine() {
  const storage = useDataStore((s) => s.storage);
  const persistGranted = useDataStore((s) => s.persistGranted);
  const persist = useDataStore((s) => s.persist);
  if (!storage.supported)
    return <p className="muted storage">This browser does not report how much storage the site uses.</p>;
  return (
    <div className="storage">
      <span>{storageSummary(storage.usage, storage.quota)}</span>
      {storage.persisted ? (
        <span className="badge done">kept on this device</span>
      ) : (
        <>
          <button type="button" className="secondary" onClick={() => void persist()}>
            Keep data on this device
          </button>
          {persistGranted === false && (
            <span className="muted">
              The browser declined for now (Chrome grants it to sites you use often or install); data may be evicted
              when the disk is full.
            </span>
          )}
        </>
      )}
    </div>
  );
}
