/**
 * Where the text comes from: the bundled corpus, a Hugging Face dataset or URL, or the user's own
 * files (picked or dropped), plus the optional text column and token limit. Picked files are
 * checked at once (upload-check.ts): empty ones are refused, ones that do not look like text wait
 * for "Use anyway" or "Remove".
 */
import { useEffect, useRef, useState, type DragEvent } from 'react';
import { formatBytes } from '../../data/storage';
import {
  keepFlaggedFile,
  removePickedFile,
  withPickedFiles,
  type PickedFile,
  type SourceChoice,
  type SourceForm,
} from './source-form';
import { checkPickedFiles } from './upload-check';
import './upload-check.css';

interface Props {
  form: SourceForm;
  disabled: boolean;
  onChange: (form: SourceForm) => void;
}

const CHOICES: { value: SourceChoice; label: string }[] = [
  { value: 'bundled', label: 'Bundled corpus (Brown fiction, offline)' },
  { value: 'remote', label: 'Hugging Face dataset or URL' },
  { value: 'files', label: 'Your files' },
];

function picked(files: FileList | null): PickedFile[] {
  return Array.from(files ?? [], (file) => ({ name: file.name, blob: file }));
}

export function SourcePicker({ form, disabled, onChange }: Props) {
  const [dragging, setDragging] = useState(false);
  const update = (patch: Partial<SourceForm>) => onChange({ ...form, ...patch });
  // The checks read the files: the latest form is applied when they end, and only the latest pick counts.
  const latest = useRef(form);
  useEffect(() => {
    latest.current = form;
  });
  const picks = useRef(0);
  const pick = (files: PickedFile[]) => {
    const mine = ++picks.current;
    void checkPickedFiles(files).then((check) => {
      if (mine === picks.current) onChange(withPickedFiles(latest.current, check));
    });
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    if (disabled) return;
    const files = picked(event.dataTransfer.files);
    if (files.length > 0) pick(files);
  };

  return (
    <fieldset className="source-picker" disabled={disabled}>
      <legend>Source</legend>
      {CHOICES.map((choice) => (
        <label key={choice.value} className="choice">
          <input
            type="radio"
            name="source"
            value={choice.value}
            checked={form.choice === choice.value}
            onChange={() => update({ choice: choice.value })}
          />
          {choice.label}
        </label>
      ))}

      {form.choice === 'remote' && (
        <div className="field">
          <label htmlFor="remote-source">
            Dataset id (owner/name) or http(s) URL of a parquet, text or JSON-lines file
          </label>
          <input
            id="remote-source"
            type="text"
            value={form.remote}
            spellCheck={false}
            onChange={(e) => update({ remote: e.target.value })}
          />
        </div>
      )}

      {form.choice === 'files' && (
        <div
          className={dragging ? 'drop-zone dragging' : 'drop-zone'}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
        >
          <label htmlFor="source-files">Drop .txt, .jsonl or .parquet files here, or pick them</label>
          <input
            id="source-files"
            type="file"
            multiple
            accept=".txt,.jsonl,.parquet"
            onChange={(e) => pick(picked(e.target.files))}
          />
          {form.files.length > 0 && (
            <ul className="file-list">
              {form.files.map((f) => (
                <li key={f.name}>
                  {f.name} <span className="muted">({formatBytes(f.blob.size)})</span>
                </li>
              ))}
            </ul>
          )}
          {(form.refused ?? []).map((message) => (
            <p key={message} role="alert" className="alert upload-problem">
              {message}
            </p>
          ))}
          {(form.flagged ?? []).map((f) => (
            <div key={f.name} role="alert" className="alert upload-problem">
              <p>{f.message}</p>
              <div className="actions">
                <button
                  type="button"
                  className="secondary"
                  aria-label={`Use ${f.name} anyway`}
                  onClick={() => onChange(keepFlaggedFile(form, f.name))}
                >
                  Use anyway
                </button>
                <button
                  type="button"
                  className="secondary"
                  aria-label={`Remove ${f.name}`}
                  onClick={() => onChange(removePickedFile(form, f.name))}
                >
                  Remove
                </button>
              </div>
            </div>
          ))}
        </div>
      )}

      <div className="field-row">
        {form.choice !== 'bundled' && (
          <div className="field">
            <label htmlFor="text-column">Text column (optional)</label>
            <input
              id="text-column"
              type="text"
              value={form.column}
              placeholder="text"
              onChange={(e) => update({ column: e.target.value })}
            />
          </div>
        )}
        <div className="field">
          <label htmlFor="token-limit">Token limit (empty: all)</label>
          <input
            id="token-limit"
            type="number"
            min={1}
            step={1}
            inputMode="numeric"
            value={form.tokenLimit}
            placeholder="all"
            onChange={(e) => update({ tokenLimit: e.target.value })}
          />
        </div>
      </div>
    </fieldset>
  );
}
