/** CSV as RFC 4180 writes it: comma-separated, a field quoted when it holds a comma, quote or line break. */

export type CsvCell = string | number | undefined | null;

/** A number as JavaScript prints it (reads back to the same double); empty for absent or non-finite. */
export function csvField(value: CsvCell): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Rows joined by \n, with a final newline. */
export function toCsv(rows: CsvCell[][]): string {
  return rows.map((row) => row.map(csvField).join(',')).join('\n') + '\n';
}
