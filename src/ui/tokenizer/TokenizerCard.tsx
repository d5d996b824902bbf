/**
 * The tokenizer every dataset is stored with. It trains "on the first N MB of" the source chosen in
 * the Data tab's picker (the bundled corpus, a Hub dataset, a URL, the user's files), streamed by
 * the tokenizer worker, and is kept in IndexedDB. A training that reaches fewer tokens than asked
 * replaces nothing: the card says the size the sample reaches and offers it. A tokenizer.json from
 * elsewhere (Hugging Face, the CLI) can be loaded instead, and the current one downloaded.
 */
import { useId, useState } from 'react';
import { bundledCorpusUrl } from '../data/browser-deps';
import { appDataStore, useDataStore } from '../data/data-store';
import { buildSource, parseTokenizerForm } from '../data/source-form';
import { shownVocab } from './vocab-field';

export function TokenizerCard() {
  const tokenizer = useDataStore((s) => s.tokenizer);
  const form = useDataStore((s) => s.tokenizerForm);
  const source = useDataStore((s) => s.sourceForm);
  const ingesting = useDataStore((s) => s.ingestion.status === 'running' || s.ingestion.status === 'cancelling');
  const { trainTokenizer, cancelTokenizer, importTokenizer, setTokenizerForm, acceptProposal, rejectProposal } =
    appDataStore().getState();
  const vocabId = useId();
  const sampleId = useId();
  const fileId = useId();
  const [vocabEdited, setVocabEdited] = useState(false);
  const vocab = shownVocab(form.vocab, tokenizer.status === 'ready' ? tokenizer.vocabSize : null, vocabEdited);
  const parsed = parseTokenizerForm({ ...form, vocab });
  const built = buildSource(source, bundledCorpusUrl());
  const proposal = tokenizer.proposal;

  const train = () => {
    if ('error' in parsed || 'error' in built) return;
    void trainTokenizer(parsed.vocabSize, {
      spec: built.spec,
      files: built.files,
      sampleMb: parsed.sampleMb,
      label: built.name,
    });
  };

  const download = () => {
    if (!tokenizer.json) return;
    const url = URL.createObjectURL(new Blob([tokenizer.json], { type: 'application/json' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = 'tokenizer.json';
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  };

  const problem = 'error' in parsed ? parsed.error : 'error' in built ? `Source: ${built.error}` : null;
  return (
    <section className="card" aria-labelledby="tokenizer-title">
      <h3 id="tokenizer-title">Tokenizer</h3>
      {tokenizer.status === 'loading' && <p>Looking for a saved tokenizer…</p>}
      {tokenizer.json && tokenizer.vocabSize !== null && (
        <p>
          {tokenizer.status === 'training' ? 'In use until the new one is ready' : 'Ready'}: a byte-level BPE tokenizer
          with a vocabulary of <strong>{tokenizer.vocabSize.toLocaleString('en-US')}</strong> tokens. A new one replaces
          it; datasets made with this one stay, marked, and can be re-tokenized.
        </p>
      )}
      {tokenizer.status === 'missing' && (
        <p>
          Datasets are stored as token ids, so a tokenizer comes first. Train one on the first megabytes of the source
          picked under “Add a dataset” (the bundled Brown fiction corpus, about 1.4 MB, works offline), or load a
          tokenizer.json; it is saved in this browser.
        </p>
      )}
      {proposal && tokenizer.status !== 'training' && (
        <div className="alert" role="group" aria-label="Smaller vocabulary">
          <p>
            {proposal.trainedOn[0]!.toUpperCase() + proposal.trainedOn.slice(1)} reaches only{' '}
            <strong>{proposal.vocabSize.toLocaleString('en-US')}</strong> tokens, not{' '}
            {proposal.asked.toLocaleString('en-US')}. Nothing was replaced.
          </p>
          <div className="actions">
            <button type="button" onClick={() => void acceptProposal()}>
              Use {proposal.vocabSize.toLocaleString('en-US')}
            </button>
            <button type="button" className="secondary" onClick={rejectProposal}>
              {tokenizer.status === 'ready' ? 'Keep the current tokenizer' : 'Discard'}
            </button>
          </div>
        </div>
      )}
      {tokenizer.status === 'training' && <TrainingProgress onCancel={cancelTokenizer} />}
      {(tokenizer.status === 'ready' || tokenizer.status === 'missing') && (
        <div className="actions">
          <div className="field narrow">
            <label htmlFor={sampleId}>Sample (MB)</label>
            <input
              id={sampleId}
              type="text"
              inputMode="decimal"
              value={form.sampleMb}
              onChange={(e) => setTokenizerForm({ sampleMb: e.target.value })}
            />
          </div>
          <div className="field narrow">
            <label htmlFor={vocabId}>Tokenizer vocabulary</label>
            <input
              id={vocabId}
              type="text"
              inputMode="numeric"
              value={vocab}
              onChange={(e) => {
                setVocabEdited(true);
                setTokenizerForm({ vocab: e.target.value });
              }}
            />
          </div>
          <button type="button" disabled={problem !== null || ingesting} onClick={train}>
            Train tokenizer
          </button>
          <label className="button secondary" htmlFor={fileId}>
            Load tokenizer.json
          </label>
          <input
            id={fileId}
            className="visually-hidden"
            type="file"
            accept=".json,application/json"
            aria-label="Load tokenizer.json"
            onChange={(e) => {
              const file = e.target.files?.[0];
              e.target.value = '';
              if (file) void file.text().then(importTokenizer);
            }}
          />
          {tokenizer.status === 'ready' && (
            <button type="button" className="secondary" onClick={download}>
              Download tokenizer.json
            </button>
          )}
          <span className="muted" data-testid="tokenizer-sample">
            {problem ??
              `Trains on the first ${form.sampleMb.trim()} MB of ${'error' in built ? 'the source' : built.name}.`}
          </span>
        </div>
      )}
    </section>
  );
}

function TrainingProgress({ onCancel }: { onCancel: () => void }) {
  const progress = useDataStore((s) => s.tokenizer.progress);
  const label = useDataStore((s) => s.tokenizer.sampleLabel) ?? 'the corpus';
  const fraction = progress && progress.total > 0 ? Math.min(1, progress.done / progress.total) : undefined;
  const mb = (bytes: number) =>
    (bytes / 1e6).toLocaleString('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });
  const text = !progress
    ? `Opening ${label}…`
    : progress.phase === 'counting'
      ? `Reading ${label}: ${mb(progress.bytes ?? progress.done)} MB read`
      : `Learning merges: ${progress.done.toLocaleString('en-US')} of ${progress.total.toLocaleString('en-US')}`;
  return (
    <div className="progress-block">
      <progress aria-label="Tokenizer training progress" value={fraction} max={1} />
      <p className="muted">{text}</p>
      <button type="button" className="secondary" onClick={onCancel}>
        Cancel training
      </button>
    </div>
  );
}
