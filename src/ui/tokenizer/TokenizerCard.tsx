/**
 * The tokenizer every dataset is stored with. On a first visit there is none: one button trains
 * it on the bundled corpus in a worker, and it is kept in IndexedDB for later visits. A
 * tokenizer.json from elsewhere (Hugging Face, the CLI) can be loaded instead, and the current one
 * downloaded.
 */
import { useId, useState } from 'react';
import { appDataStore, DEFAULT_TOKENIZER_OPTIONS, useDataStore } from '../data/data-store';

export function TokenizerCard() {
  const tokenizer = useDataStore((s) => s.tokenizer);
  const { trainTokenizer, cancelTokenizer, importTokenizer } = appDataStore().getState();
  const [vocab, setVocab] = useState(String(DEFAULT_TOKENIZER_OPTIONS.vocabSize));
  const vocabId = useId();
  const fileId = useId();
  const vocabSize = Number(vocab);
  const vocabOk = Number.isInteger(vocabSize) && vocabSize >= 260 && vocabSize <= 200_000;

  const download = () => {
    if (!tokenizer.json) return;
    const url = URL.createObjectURL(new Blob([tokenizer.json], { type: 'application/json' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = 'tokenizer.json';
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  };

  return (
    <section className="card" aria-labelledby="tokenizer-title">
      <h3 id="tokenizer-title">Tokenizer</h3>
      {tokenizer.status === 'loading' && <p>Looking for a saved tokenizer…</p>}
      {tokenizer.status === 'ready' && (
        <p>
          Ready: a byte-level BPE tokenizer with a vocabulary of <strong>{tokenizer.vocabSize?.toLocaleString('en-US')}</strong> tokens.
          A new one replaces it; datasets made with this one stay, but train only with this one.
        </p>
      )}
      {tokenizer.status === 'missing' && (
        <p>
          Datasets are stored as token ids, so a tokenizer comes first. Train one on the bundled Brown fiction corpus (about 1.4
          MB, works offline), or load a tokenizer.json; it is saved in this browser.
        </p>
      )}
      {tokenizer.status === 'training' && <TrainingProgress onCancel={cancelTokenizer} />}
      {(tokenizer.status === 'ready' || tokenizer.status === 'missing') && (
        <div className="actions">
          <div className="field narrow">
            <label htmlFor={vocabId}>Tokenizer vocabulary</label>
            <input id={vocabId} type="text" inputMode="numeric" value={vocab} onChange={(e) => setVocab(e.target.value)} />
          </div>
          <button type="button" disabled={!vocabOk} onClick={() => void trainTokenizer(vocabSize)}>
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
          {!vocabOk && <span className="muted">A vocabulary of 260 to 200,000 tokens.</span>}
        </div>
      )}
    </section>
  );
}

function TrainingProgress({ onCancel }: { onCancel: () => void }) {
  const progress = useDataStore((s) => s.tokenizer.progress);
  const fraction = progress && progress.total > 0 ? Math.min(1, progress.done / progress.total) : undefined;
  const text = !progress
    ? 'Fetching the corpus…'
    : progress.phase === 'counting'
      ? 'Reading the corpus…'
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
