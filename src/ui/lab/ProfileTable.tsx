/**
 * "Profile one step": the worker times each dispatch of one training step of the form's model and
 * precision (a fresh model on arbitrary ids) and answers with the per-op table that `bench --profile` prints.
 */
import { useState } from 'react';
import { nextRequestId, type LabEvent, type Precision } from '../../train/protocol';
import { labWorker, useLabStore } from './browser-lab';
import { isBusy } from './lab-store';
import { messageOf } from '../../util/errors';

type Profile = Extract<LabEvent, { type: 'profile' }>['profile'];
type Row = Profile['rows'][number];

function rate(r: Row): string {
  if (r.tflops !== null)
    return r.tflops < 0.1 ? `${(r.tflops * 1000).toFixed(2)} GFLOP/s` : `${r.tflops.toFixed(2)} TFLOP/s`;
  return r.gbps < 0.1 ? `${(r.gbps * 1000).toFixed(2)} MB/s` : `${r.gbps.toFixed(2)} GB/s`;
}

function requestProfile(
  model: Extract<LabEvent, { type: 'profile' }>['model'],
  batchSize: number,
  precision: Precision,
): Promise<Profile> {
  const worker = labWorker();
  const requestId = nextRequestId();
  return new Promise((resolve, reject) => {
    const stop = worker.subscribe((message: LabEvent) => {
      if (message.type === 'profile' && message.requestId === requestId) {
        stop();
        resolve(message.profile);
      } else if (message.type === 'error' && message.requestId === requestId) {
        stop();
        reject(new Error(message.message));
      }
    });
    worker.post({ type: 'profile', model, batchSize, precision, requestId });
  });
}

export function ProfileTable() {
  const form = useLabStore((s) => s.form);
  const busy = useLabStore((s) => isBusy(s.phase));
  const ready = useLabStore((s) => s.device.status === 'ready');
  const [state, setState] = useState<{ running: boolean; profile?: Profile; error?: string }>({ running: false });

  const run = () => {
    setState({ running: true });
    requestProfile(form.model, form.batchSize, form.precision ?? 'f32').then(
      (profile) => setState({ running: false, profile }),
      (error: unknown) => setState({ running: false, error: messageOf(error) }),
    );
  };
  const p = state.profile;
  return (
    <section className="card" aria-labelledby="profile-title">
      <h3 id="profile-title">Where a step goes</h3>
      <button type="button" className="secondary" onClick={run} disabled={busy || !ready || state.running}>
        {state.running ? 'Profiling…' : 'Profile one step'}
      </button>
      {state.error && <p role="alert">{state.error}</p>}
      {p && (
        <table aria-label="Profile of one step">
          <thead>
            <tr>
              <th>op</th>
              <th>direction</th>
              <th>calls</th>
              <th>ms</th>
              <th>share</th>
              <th>achieved</th>
            </tr>
          </thead>
          <tbody>
            {p.rows.map((r) => (
              <tr key={`${r.op}/${r.phase}`}>
                <td>{r.op}</td>
                <td>{r.phase}</td>
                <td>{r.calls}</td>
                <td>{r.ms.toFixed(2)}</td>
                <td>{(r.share * 100).toFixed(1)}%</td>
                <td>{rate(r)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <td colSpan={3}>total ({p.dispatches} dispatches)</td>
              <td>{p.totalMs.toFixed(2)}</td>
              <td colSpan={2}>
                {p.wallMs !== undefined
                  ? `step ${p.wallMs.toFixed(2)} ms wall: ${((p.totalMs / p.wallMs) * 100).toFixed(0)}%`
                  : ''}
              </td>
            </tr>
          </tfoot>
        </table>
      )}
    </section>
  );
}
