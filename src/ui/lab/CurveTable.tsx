/** The chart's points as HTML tables, one per run: what a screen reader (or a copy into a spreadsheet) reads instead of the lines. */
import { thinned, X_LABELS, type CurveSeries, type XAxisKind } from './compare-data';

const cell = (v: number | undefined, digits = 4) => (v === undefined ? '' : v.toFixed(digits));

export function CurveTable({ series, axis }: { series: CurveSeries[]; axis: XAxisKind }) {
  return (
    <div className="compare-table">
      {series.map((s) => {
        const rows = thinned(s.points, 200);
        return (
          <table key={s.id}>
            <caption>
              {s.name}
              {rows.length < s.points.length ? ` (${rows.length} of ${s.points.length} steps; the CSV has all)` : ''}
            </caption>
            <thead>
              <tr>
                <th scope="col">step</th>
                {axis !== 'step' && <th scope="col">{X_LABELS[axis]}</th>}
                <th scope="col">loss</th>
                <th scope="col">smoothed</th>
                <th scope="col">val loss</th>
                <th scope="col">lr</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((p) => (
                <tr key={p.step}>
                  <th scope="row">{p.step}</th>
                  {axis !== 'step' && <td>{p.x.toPrecision(4)}</td>}
                  <td>{cell(p.loss)}</td>
                  <td>{cell(p.smoothed)}</td>
                  <td>{cell(p.valLoss)}</td>
                  <td>{p.lr.toExponential(3)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        );
      })}
    </div>
  );
}
