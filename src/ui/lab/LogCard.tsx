/**
 * The run's training log, as nanoGPT prints one (train-log.ts makes the lines): monospace,
 * scrollable, newest at the bottom and followed unless the user scrolled up; Copy and Download
 * give the same text.
 */
import { useLayoutEffect, useMemo, useRef, useState } from 'react';
import { logLines } from '../../train/train-log';
import { saveFile, useLabStore } from './browser-lab';
import './log.css';

/** Within this many pixels of the bottom counts as at the bottom (following new lines). */
const FOLLOW_SLACK = 24;

export function LogCard() {
  const run = useLabStore((s) => s.run);
  const steps = useLabStore((s) => s.steps);
  const evals = useLabStore((s) => s.evals);
  const log = useLabStore((s) => s.log);
  const events = run && log?.runId === run.id ? log.events : null;
  const text = useMemo(
    () => (run ? logLines(steps, evals, events ?? [], run.settings).join('\n') : ''),
    [run, steps, evals, events],
  );
  const box = useRef<HTMLPreElement>(null);
  const following = useRef(true);
  const [copied, setCopied] = useState<string | null>(null);

  useLayoutEffect(() => {
    const el = box.current;
    if (el && following.current) el.scrollTop = el.scrollHeight;
  }, [text]);

  if (!run) return null;
  const copy = () => {
    navigator.clipboard.writeText(text).then(
      () => setCopied('Copied'),
      () => setCopied('The browser refused the clipboard: use Download'),
    );
  };
  const download = () =>
    saveFile(`${run.name.replace(/[^\w.-]+/g, '-')}-log.txt`, new TextEncoder().encode(`${text}\n`), 'text/plain');
  return (
    <section className="card" aria-labelledby="log-title">
      <h3 id="log-title">Log</h3>
      <pre
        ref={box}
        className="train-log"
        role="log"
        aria-label="Training log"
        // Every step would be read out: the log is there to scroll, not to announce.
        aria-live="off"
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          following.current = el.scrollHeight - el.scrollTop - el.clientHeight <= FOLLOW_SLACK;
        }}
      >
        {text || 'No lines yet.'}
      </pre>
      <div className="actions">
        <button type="button" className="secondary" onClick={copy} disabled={!text}>
          Copy
        </button>
        <button type="button" className="secondary" onClick={download} disabled={!text}>
          Download
        </button>
        {copied && (
          <span role="status" className="muted">
            {copied}
          </span>
        )}
      </div>
    </section>
  );
}
