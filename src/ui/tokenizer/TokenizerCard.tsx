/**
 * The tokenizer every dataset is stored with. On a first visit there is none: one button trains
 * it on the bundled corpus in a worker, and it is kept in IndexedDB for later visits.
 */
import { useDataStore } from '../data/data-store';

export function TokenizerCard() {
  const tokenizer = useDataStore((s) => s.tokenizer);
  const trainTokenizer = useDataStore((s) => s.trainTokenizer);
  const cancelTokenizer = useDataStore((s) => s.cancelTokenizer);

  return (
    <section className="card" aria-labelledby="tokenizer-title">
      <h3 id="tokenizer-title">Tokenizer</h3>
      {tokenizer.status === 'loading' && <p>Looking for a saved tokenizer…</p>}
      {tokenizer.status === 'ready' && (
        <p>
          Ready: a byte-level BPE tokenizer with a vocabulary of <strong>{tokenizer.vocabSize?.toLocaleString('en-US')}</strong> tokens.
        </p>
      )}
      {tokenizer.status === 'missing' && (
        <>
          <p>
            Datasets are stored as token ids, so a tokenizer comes first. Train one on the bundled Brown fiction corpus (about 1.4
            MB, works offline); it is saved in this browser.
          </p>
          <button type="button" onClick={() => void trainTokenizer()}>
            Train tokenizer
          </button>
        </>
      )}
      {tokenizer.status === 'training' && <TrainingProgress onCancel={cancelTokenizer} />}
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
