/** Train loss per step (raw and smoothed) and validation loss, drawn with recharts. */
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { EvalPoint, StepPoint } from '../../train/protocol';
import { lossChartRows } from './chart-data';

export function LossChart({ steps, evals }: { steps: StepPoint[]; evals: EvalPoint[] }) {
  const rows = lossChartRows(steps, evals);
  if (rows.length === 0) {
    return <div className="chart-empty muted">The loss curve appears here after the first step.</div>;
  }
  return (
    <figure className="chart" aria-label="Loss chart">
      <ResponsiveContainer width="100%" height={280}>
        <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
          <CartesianGrid stroke="#e4e4df" />
          <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} allowDecimals={false} label={{ value: 'step', position: 'insideBottomRight', offset: -4 }} />
          <YAxis domain={['auto', 'auto']} width={48} tickFormatter={(v: number) => v.toFixed(2)} />
          <Tooltip formatter={(v) => (typeof v === 'number' ? v.toFixed(4) : String(v))} labelFormatter={(step) => `step ${String(step)}`} />
          <Legend />
          <Line name="train loss" dataKey="loss" stroke="#9bbfa5" dot={false} isAnimationActive={false} connectNulls strokeWidth={1} />
          <Line name="smoothed" dataKey="smooth" stroke="#2d7a4f" dot={false} isAnimationActive={false} connectNulls strokeWidth={2} />
          <Line name="validation" dataKey="val" stroke="#c0562b" dot={{ r: 3 }} isAnimationActive={false} connectNulls strokeWidth={2} />
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}
