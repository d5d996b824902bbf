/**
 * Loss against model size at fixed compute, one curve per budget (log N axis), with each curve's
 * optimum as a dot, the user's own runs as a scatter with the parabola fitted to each budget's runs
 * dashed. The shaping lives in chart-data.ts.
 */
import { useMemo } from 'react';
import {
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  ResponsiveContainer,
  Scatter,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { ChinchillaFit } from '../../scaling/chinchilla';
import { formatCount } from '../../scaling/format';
import { type SweepResult, isoFlopChartData } from './chart-data';

export interface IsoFlopChartProps {
  fit: ChinchillaFit;
  /** The budget being planned, FLOPs: highlighted. */
  userBudget?: number;
  /** Results of the user's own IsoFLOP sweep. */
  sweep?: readonly SweepResult[];
  budgets?: readonly number[];
  height?: number;
  /** ln(vocabulary): predicted losses above it are not drawn. */
  maxLoss?: number;
}

// Cool to warm with budget; the user's budget takes the app's accent.
const CURVE_COLORS = ['#7aa6c2', '#5b8db8', '#8a7fb5', '#b9789f', '#c98b5e', '#b5a05a'];
const HIGHLIGHT = '#2f7d4f';
const SWEEP_COLOR = '#1d2521';

export function IsoFlopChart({ fit, userBudget, sweep, budgets, height = 320, maxLoss }: IsoFlopChartProps) {
  const data = useMemo(
    () => isoFlopChartData({ fit, userBudget, sweep, budgets, maxLoss }),
    [fit, userBudget, sweep, budgets, maxLoss],
  );
  // Legend in budget order (its default sorts labels as text: "1.28e18" before "1e15"); the dots last.
  const legendOrder = new Map(data.curves.map((c) => [c.label, c.budget]));
  const colorOf = (index: number, highlighted: boolean) =>
    highlighted ? HIGHLIGHT : CURVE_COLORS[index % CURVE_COLORS.length]!;

  return (
    <figure style={{ margin: 0 }} aria-label={`Predicted loss against model size at fixed compute (${fit.label})`}>
      <ResponsiveContainer width="100%" height={height}>
        <ComposedChart margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#dde3dc" />
          <XAxis
            type="number"
            dataKey="N"
            scale="log"
            domain={data.xDomain}
            ticks={data.xTicks}
            allowDataOverflow
            tickFormatter={(n: number) => formatCount(n)}
            height={44}
            label={{ value: 'parameters N (log scale)', position: 'insideBottom', offset: 4 }}
          />
          <YAxis
            type="number"
            dataKey="loss"
            domain={data.yDomain}
            ticks={data.yTicks}
            allowDataOverflow
            width={48}
            tickFormatter={(v: number) => String(Math.round(v * 100) / 100)}
            label={{ value: 'loss', angle: -90, position: 'insideLeft', offset: 12 }}
          />
          <Tooltip
            formatter={(value) => (typeof value === 'number' ? value.toFixed(3) : String(value))}
            labelFormatter={(n) => (typeof n === 'number' ? `N = ${formatCount(n)}` : typeof n === 'string' ? n : '')}
          />
          <Legend itemSorter={(item) => legendOrder.get(String(item.value)) ?? Number.MAX_VALUE} />
          {data.curves.map((curve, i) => (
            <Line
              key={curve.budget}
              data={curve.points}
              dataKey="loss"
              name={curve.label}
              stroke={colorOf(i, curve.highlighted)}
              strokeWidth={curve.highlighted ? 3 : 1.5}
              dot={false}
              isAnimationActive={false}
            />
          ))}
          <Scatter
            data={data.minima}
            dataKey="loss"
            name="optimum"
            fill={HIGHLIGHT}
            legendType="circle"
            isAnimationActive={false}
          />
          {data.sweepFits.map((f) => (
            <Line
              key={`fit-${f.budget}`}
              data={f.points}
              dataKey="loss"
              name={f.label}
              stroke={SWEEP_COLOR}
              strokeDasharray="5 4"
              strokeWidth={1.5}
              dot={false}
              legendType="plainline"
              isAnimationActive={false}
            />
          ))}
          {data.sweep.length > 0 && (
            <Scatter
              data={data.sweep}
              dataKey="loss"
              name="your runs"
              fill={SWEEP_COLOR}
              shape="cross"
              isAnimationActive={false}
            />
          )}
        </ComposedChart>
      </ResponsiveContainer>
    </figure>
  );
}
