/**
 * Stored records that failed their check on read (a run record, a dataset manifest): each is named
 * by its key and what is wrong, with Delete, so a damaged one never hides the healthy ones beside
 * it nor leaves the user without a way out.
 */
import { damagedLine, type DamagedRecord } from '../data/records';
import { downloadRawRecord, type RecordDatabase } from './raw-record';

interface Props {
  items: DamagedRecord[];
  /** What the list holds, for its accessible name ("Damaged runs"). */
  label: string;
  busy?: boolean;
  /** Where the records are stored, for Download raw. */
  database: RecordDatabase;
  onDelete: (id: string) => void;
}

export function DamagedList({ items, label, busy = false, database, onDelete }: Props) {
  if (items.length === 0) return null;
  return (
    <ul className="dataset-list damaged-list" aria-label={label}>
      {items.map((d) => (
        <li key={d.key} className="dataset damaged">
          <div className="dataset-main">
            <strong className="error-text">{damagedLine(d)}</strong>
            <span className="muted"> This record cannot be read; deleting it removes only it.</span>
          </div>
          <div className="dataset-actions">
            <button
              type="button"
              className="secondary"
              onClick={() => void downloadRawRecord(database, d.key)}
              aria-label={`Download the damaged ${d.key} as JSON`}
            >
              Download raw
            </button>
            <button
              type="button"
              className="secondary"
              disabled={busy}
              onClick={() => onDelete(d.id)}
              aria-label={`Delete the damaged ${d.key}`}
            >
              Delete
            </button>
          </div>
        </li>
      ))}
    </ul>
  );
}
