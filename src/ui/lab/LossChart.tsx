/**
 * The loss of the current run and of the saved runs picked in the runs list, on one chart: x as
 * steps, tokens or training FLOPs, each run's Chinchilla prediction as a dashed level, log scale,
 * smoothing (the raw curve faint behind), the learning rate below, the curves as CSV or JSON, and
 * for screen readers a one-sentence summary per run and the points as a table.
 */
import { useId, useMemo } from 'react';
import { CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { HOFFMANN_2022 } from '../../scaling/chinchilla';
import type { EvalPoint, StepPoint } from '../../train/protocol';
import { appCompareStore, useCompareStore } from './browser-compare';
import { saveFile, useLabStore } from './browser-lab';
import { formatCount } from './chart-data';
import {
  chartRows,
  chartSummary,
  compareSeries,
  curvesCsv,
  curvesJson,
  logTicks,
  X_LABELS,
  type CurveSeries,
  type XAxisKind,
} from './compare-data';
import { shownRuns } from './compare-store';
import { CurveTable } from './CurveTable';
import './compare.css';

/** A tick on the x-axis: steps as they are, tokens as 12.3K, FLOPs as 1.2e+12. */
export function formatX(axis: XAxisKind, value: number): string {
  if (axis === 'step') return String(value);
  if (axis === 'tokens') return formatCount(value);
  return value.toExponential(1);
}

/** `steps` and `evals`: the current run's live curve (the lab store's). */
export function LossChart({ steps, evals }: { steps: StepPoint[]; evals: EvalPoint[] }) {
  const run = useLabStore((s) => s.run);
  const runs = useLabStore((s) => s.runs);
  const picked = useCompareStore((s) => s.picked);
  const histories = useCompareStore((s) => s.histories);
  const axis = useCompareStore((s) => s.axis);
  const smoothing = useCompareStore((s) => s.smoothing);
  const log = useCompareStore((s) => s.log);
  const table = useCompareStore((s) => s.table);
  const series = useMemo(
    () => compareSeries(shownRuns({ run, runs, steps, evals }, { picked, histories }), axis, smoothing),
    [run, runs, steps, evals, picked, histories, axis, smoothing],
  );
  const waiting = picked.some((id) => histories[id]?.status === 'loading');
  return (
    <figure className="chart compare-chart" aria-label="Loss chart">
      <ChartControls series={series} />
      {series.length === 0 ? (
        <div className="chart-empty muted">
          {waiting ? 'Loading the curves…' : 'The loss curve appears here after the first step.'}
        </div>
      ) : table ? (
        <CurveTable series={series} axis={axis} />
      ) : (
        <Curves series={series} axis={axis} log={log} />
      )}
      {series.length > 0 && <Legend series={series} />}
    </figure>
  );
}

function ChartControls({ series }: { series: CurveSeries[] }) {
  const id = useId();
  const { axis, smoothing, log, table } = useCompareStore((s) => s);
  const { setView } = appCompareStore().getState();
  const download = (kind: 'csv' | 'json') => {
    const text = kind === 'csv' ? curvesCsv(series) : curvesJson(series, axis, smoothing);
    saveFile(`loss-curves.${kind}`, new TextEncoder().encode(text), kind === 'csv' ? 'text/csv' : 'application/json');
  };
  return (
    <div className="compare-controls">
      <label htmlFor={`${id}-x`}>
        x-axis{' '}
        <select id={`${id}-x`} value={axis} onChange={(e) => setView({ axis: e.target.value as XAxisKind })}>
          <option value="step">steps</option>
          <option value="tokens">tokens</option>
          <option value="flops">training FLOPs</option>
        </select>
      </label>
      <label>
        <input type="checkbox" checked={log} onChange={(e) => setView({ log: e.target.checked })} /> log scale
      </label>
      <label htmlFor={`${id}-smooth`}>
        smoothing{' '}
        <input
          id={`${id}-smooth`}
          type="range"
          min={0}
          max={0.99}
          step={0.01}
          value={smoothing}
          onChange={(e) => setView({ smoothing: Number(e.target.value) })}
          aria-valuetext={smoothing === 0 ? 'none' : smoothing.toFixed(2)}
        />{' '}
        <output htmlFor={`${id}-smooth`}>{smoothing.toFixed(2)}</output>
      </label>
      <label>
        <input type="checkbox" checked={table} onChange={(e) => setView({ table: e.target.checked })} /> Show as table
      </label>
      <span className="compare-downloads">
        <button
          type="button"
          className="secondary"
          disabled={series.length === 0}
          onClick={() => download('csv')}
          title="One row per run and step: run, step, tokens, flops, loss, smoothed, val_loss, lr"
        >
          CSV
        </button>
        <button
          type="button"
          className="secondary"
          disabled={series.length === 0}
          onClick={() => download('json')}
          title="The same numbers with each run's size and prediction"
        >
          JSON
        </button>
      </span>
    </div>
  );
}

/**
 * The chart itself, one image to assistive technology: its label is the summary. The runs share one
 * table of rows by x (chartRows), so hovering shows every run's values at that point, on the loss
 * and the learning-rate charts together.
 */
function Curves({ series, axis, log }: { series: CurveSeries[]; axis: XAxisKind; log: boolean }) {
  const rows = chartRows(series);
  const logX = log && axis !== 'step';
  // recharts' own log ticks skip most of the range: the ticks and domain are given.
  const xs = rows.map((r) => r.x).filter((x) => x > 0);
  const ys = [
    ...rows.flatMap((r) => series.flatMap((_, i) => [r[`l${i}`], r[`s${i}`], r[`v${i}`]])),
    ...series.map((s) => s.prediction.loss ?? undefined),
  ].filter((y): y is number => y !== undefined && y > 0);
  const [xMin, xMax, yMin, yMax] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const xAxis = (withLabel: boolean) => (
    <XAxis
      dataKey="x"
      type="number"
      scale={logX ? 'log' : 'auto'}
      domain={logX ? [xMin, xMax] : ['dataMin', 'dataMax']}
      ticks={logX ? logTicks(xMin, xMax) : undefined}
      allowDataOverflow={logX}
      allowDecimals={axis !== 'step'}
      tickFormatter={(v: number) => formatX(axis, v)}
      label={withLabel ? { value: X_LABELS[axis], position: 'insideBottomRight', offset: -4 } : undefined}
    />
  );
  const tooltip = (
    <Tooltip
      formatter={(v) => (typeof v === 'number' ? v.toPrecision(4) : String(v))}
      labelFormatter={(x) => `${X_LABELS[axis]} ${formatX(axis, Number(x))}`}
    />
  );
  const multi = series.length > 1;
  return (
    <div role="img" aria-label={chartSummary(series, axis)} className="compare-plot">
      <ResponsiveContainer width="100%" height={260}>
        <LineChart
          data={rows}
          syncId="loss-and-lr"
          margin={{ top: 8, right: 16, bottom: 8, left: 0 }}
          accessibilityLayer={false}
        >
          <CartesianGrid stroke="#e4e4df" />
          {xAxis(true)}
          <YAxis
            scale={log ? 'log' : 'auto'}
            domain={log ? [yMin, yMax] : ['auto', 'auto']}
            ticks={log ? logTicks(yMin, yMax) : undefined}
            allowDataOverflow={log}
            width={48}
            tickFormatter={(v: number) => v.toFixed(2)}
          />
          {tooltip}
          {series.map((s, i) => [
            <Line
              key={`${s.id}-raw`}
              name={`${s.name} train loss`}
              dataKey={`l${i}`}
              stroke={s.color}
              strokeOpacity={0.25}
              dot={false}
              isAnimationActive={false}
              connectNulls
              strokeWidth={1}
              tooltipType="none"
              activeDot={false}
            />,
            <Line
              key={`${s.id}-smooth`}
              name={multi ? s.name : 'smoothed'}
              dataKey={`s${i}`}
              stroke={s.color}
              dot={false}
              isAnimationActive={false}
              connectNulls
              strokeWidth={2}
            />,
            <Line
              key={`${s.id}-val`}
              name={`${s.name} validation`}
              dataKey={`v${i}`}
              stroke={s.color}
              strokeDasharray="2 3"
              dot={{ r: 3, fill: s.color }}
              isAnimationActive={false}
              connectNulls
              strokeWidth={1}
            />,
            s.prediction.loss !== null && s.points.length > 0 ? (
              <ReferenceLine
                key={`${s.id}-chinchilla`}
                segment={[
                  { x: s.points[0]!.x, y: s.prediction.loss },
                  { x: s.points.at(-1)!.x, y: s.prediction.loss },
                ]}
                stroke={s.color}
                strokeDasharray="6 4"
                ifOverflow="extendDomain"
              />
            ) : null,
          ])}
        </LineChart>
      </ResponsiveContainer>
      <ResponsiveContainer width="100%" height={90}>
        <LineChart
          data={rows}
          syncId="loss-and-lr"
          margin={{ top: 4, right: 16, bottom: 4, left: 0 }}
          accessibilityLayer={false}
        >
          <CartesianGrid stroke="#e4e4df" />
          {xAxis(false)}
          <YAxis
            width={48}
            domain={[0, 'auto']}
            tickFormatter={(v: number) => v.toExponential(0)}
            label={{ value: 'lr', angle: -90, position: 'insideLeft' }}
          />
          {tooltip}
          {series.map((s, i) => (
            <Line
              key={`${s.id}-lr`}
              name={`${s.name} lr`}
              dataKey={`r${i}`}
              stroke={s.color}
              dot={false}
              isAnimationActive={false}
              connectNulls
              strokeWidth={1.5}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}

/** Which colour is which run, its size, and its prediction (or why there is none). */
function Legend({ series }: { series: CurveSeries[] }) {
  return (
    <ul className="compare-legend" aria-label="Chart legend">
      {series.map((s) => (
        <li key={s.id}>
          <span className="swatch" style={{ background: s.color }} aria-hidden="true" />
          <strong>{s.name}</strong>
          <span className="muted">
            {' '}
            {formatCount(s.params)} params ·{' '}
            {s.prediction.loss !== null
              ? `dashed: ${HOFFMANN_2022.label} predicts ${s.prediction.loss.toFixed(3)} for its N and D`
              : `no Chinchilla level: ${s.prediction.why}`}
          </span>
        </li>
      ))}
    </ul>
  );
}
