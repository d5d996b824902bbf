/**
 * "Your own IsoFLOP sweep": pick 2–3 small budgets and 3–5 model widths, train every (budget, width)
 * point in turn (steps from C = 6ND), then fit a parabola in ln N per budget and a power law across
 * budgets, next to Chinchilla's optimum. The sweep lives in IndexedDB: a reload continues it.
 */
import { useEffect, useId, useMemo, useState } from 'react';
import { HOFFMANN_2022 } from '../../scaling/chinchilla';
import { formatCount, formatFlops } from '../../scaling/format';
import { useLabStore } from '../lab/browser-lab';
import { appSweepStore, useSweepStore } from './browser-plan';
import {
  type SweepDefinition,
  defaultSweep,
  parseNumberList,
  pointName,
  sweepPoints,
  sweepProblems,
} from './sweep-plan';
import { sweepProgress, sweepReport } from './sweep-results';

export function SweepPanel() {
  const id = useId();
  const form = useLabStore((s) => s.form);
  const isSoftware = useLabStore((s) => s.device.report?.isSoftware ?? true);
  const { sweep, current, error, loaded } = useSweepStore((s) => s);
  const defaults = useMemo(() => defaultSweep({ ...form, datasetId: '' }, isSoftware), [form, isSoftware]);
  const [budgetsText, setBudgetsText] = useState<string | null>(null);
  const [widthsText, setWidthsText] = useState<string | null>(null);
  const [layersText, setLayersText] = useState<string | null>(null);

  useEffect(() => {
    void appSweepStore().getState().init();
  }, []);

  // Until the user types, the fields follow the device's defaults.
  const budgetsField = budgetsText ?? defaults.budgets.map(formatFlops).join(', ');
  const widthsField = widthsText ?? defaults.widths.join(', ');
  const layersField = layersText ?? String(defaults.nLayer);
  const budgets = parseNumberList(budgetsField);
  const widths = parseNumberList(widthsField);
  const nLayer = Number(layersField);
  const problems = !budgets
    ? ['Budgets: enter numbers of FLOPs separated by commas (such as 2e9, 4e9).']
    : !widths
      ? ['Widths: enter whole numbers separated by commas.']
      : sweepProblems({ budgets: [...budgets].sort((a, b) => a - b), widths, nLayer });
  const base = { ...form, lr: { ...form.lr } };
  const preview = problems.length === 0 ? sweepPoints({ budgets: budgets!, widths: widths!, nLayer, base }) : [];
  const running = sweep?.status === 'running';

  const start = () => {
    if (problems.length > 0 || !loaded) return;
    const definition: SweepDefinition = {
      id: crypto.randomUUID().replace(/-/g, ''),
      createdAt: new Date().toISOString(),
      budgets: [...budgets!].sort((a, b) => a - b),
      widths: widths!,
      nLayer,
      base,
    };
    appSweepStore().getState().start(definition);
  };

  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Your own IsoFLOP sweep</h3>
      <p className="muted">
        Trains every model width at every budget on your data (steps from C = 6·N·D, the Train form's batch, block,
        vocabulary and learning rate), then fits a parabola in log N per budget and a power law across budgets. Results
        are kept in this browser; after a reload the sweep continues, resuming the interrupted run from its last
        checkpoint.
      </p>
      <div className="field-row">
        <div className="field">
          <label htmlFor={`${id}-budgets`}>Sweep budgets (FLOPs)</label>
          <input
            id={`${id}-budgets`}
            type="text"
            value={budgetsField}
            disabled={running}
            onChange={(e) => setBudgetsText(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-widths`}>Model widths</label>
          <input
            id={`${id}-widths`}
            type="text"
            value={widthsField}
            disabled={running}
            onChange={(e) => setWidthsText(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-layers`}>Sweep layers</label>
          <input
            id={`${id}-layers`}
            type="number"
            min={1}
            value={layersField}
            disabled={running}
            onChange={(e) => setLayersText(e.target.value)}
          />
        </div>
      </div>
      {problems.length > 0 ? (
        <ul className="problems" aria-label="Problems with this sweep">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      ) : (
        !running && (
          <p className="muted" aria-label="Sweep size">
            {preview.length} runs, {preview.reduce((s, p) => s + p.steps, 0)} steps in all (
            {preview.map((p) => p.steps).join(', ')}).
          </p>
        )
      )}
      <div className="actions">
        <button type="button" disabled={running || problems.length > 0 || !loaded} onClick={start}>
          Start sweep
        </button>
        <button
          type="button"
          className="secondary"
          disabled={!running}
          onClick={() => appSweepStore().getState().cancel()}
        >
          Cancel sweep
        </button>
        {sweep && (sweep.status === 'paused' || sweep.status === 'cancelled') && (
          <button type="button" className="secondary" onClick={() => appSweepStore().getState().proceed()}>
            Continue sweep
          </button>
        )}
        {sweep && !running && (
          <button type="button" className="secondary" onClick={() => appSweepStore().getState().clear()}>
            Clear sweep
          </button>
        )}
      </div>
      {error && (
        <p role="alert" className="muted">
          {error}
        </p>
      )}
      {sweep && <SweepResults current={current} />}
    </section>
  );
}

function SweepResults({ current }: { current: number | null }) {
  const sweep = useSweepStore((s) => s.sweep)!;
  const progress = sweepProgress(sweep, current);
  const statusText =
    sweep.status === 'done'
      ? `Sweep finished: ${progress.finished} of ${progress.total} points.`
      : sweep.status === 'running'
        ? progress.current !== null
          ? `Training point ${progress.current} of ${progress.total} (${pointName(sweep.definition, sweep.points[current!]!)}).`
          : `Waiting for the lab (point ${progress.finished + 1} of ${progress.total}).`
        : `Sweep ${sweep.status} after ${progress.finished} of ${progress.total} points.`;
  return (
    <>
      <p role="status" aria-label="Sweep progress">
        {statusText}
      </p>
      <progress aria-label="Sweep points done" value={progress.finished} max={progress.total} />
      <table aria-label="Sweep runs">
        <thead>
          <tr>
            <th scope="col">Budget</th>
            <th scope="col">Model</th>
            <th scope="col">Parameters</th>
            <th scope="col">Steps</th>
            <th scope="col">Validation loss</th>
          </tr>
        </thead>
        <tbody>
          {sweep.points.map((p, i) => (
            <tr key={i}>
              <td>{formatFlops(p.budget)}</td>
              <td>
                {p.model.nLayer}L {p.model.nEmbd}w
              </td>
              <td>{p.params.toLocaleString('en-US')}</td>
              <td>{p.steps}</td>
              <td>
                {p.status === 'done'
                  ? p.valLoss!.toFixed(3)
                  : p.status === 'error'
                    ? `failed: ${p.message}`
                    : p.status === 'running'
                      ? 'training…'
                      : '—'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <SweepFitReport />
    </>
  );
}

function SweepFitReport() {
  const sweep = useSweepStore((s) => s.sweep)!;
  const report = useMemo(() => sweepReport(sweep, HOFFMANN_2022), [sweep]);
  if (report.fit.perBudget.length === 0 && report.fit.skipped.length === 0) return null;
  // One line per budget, ascending, fitted or not.
  const lines: [number, string][] = [
    ...report.budgets.map((b): [number, string] => [
      b.budget,
      `${formatFlops(b.budget)} FLOPs: your runs' optimum N ≈ ${formatCount(b.fittedN)} (loss ${b.fittedLoss.toFixed(3)}${b.extrapolated ? ', outside the sizes tried' : ''}); Chinchilla (Hoffmann) says N* ≈ ${formatCount(b.chinchillaN)}.`,
    ]),
    ...report.fit.skipped.map((s): [number, string] => [
      s.budget,
      `${formatFlops(s.budget)} FLOPs: no fit (${s.reason}).`,
    ]),
  ].sort((a, b) => a[0] - b[0]);
  return (
    <div aria-label="Sweep fit" role="region">
      <h4>Fitted optimum</h4>
      <ul>
        {lines.map(([budget, text]) => (
          <li key={budget}>{text}</li>
        ))}
      </ul>
      <p>
        {report.exponent === undefined
          ? `Across budgets: needs two fitted budgets. Chinchilla's N_opt ∝ C^${report.chinchillaExponent.toFixed(2)}.`
          : `Across budgets: N_opt ∝ C^${report.exponent.toFixed(2)} from your runs, C^${report.chinchillaExponent.toFixed(2)} by Chinchilla.`}
      </p>
    </div>
  );
}
