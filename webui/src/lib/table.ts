// Tabular artifact previews: CSV/TSV files and the JSON that mlflow.log_table writes
// (pandas' orient="split": {"columns": [...], "data": [[...], ...]}), sortable by any column.

export interface Table {
  head: string[];
  rows: string[][];
}

const cell = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
};

/** The table in an mlflow.log_table artifact, or null when the JSON is not one. */
export function tableFromJson(value: unknown): Table | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const o = value as Record<string, unknown>;
  if (!Array.isArray(o.columns) || !Array.isArray(o.data)) return null;
  if (!o.data.every((r) => Array.isArray(r))) return null;
  return { head: o.columns.map(cell), rows: (o.data as unknown[][]).map((r) => r.map(cell)) };
}

/** Rows sorted by one column: numbers numerically (before text), text naturally; stable. */
export function sortTable(rows: string[][], col: number, desc: boolean): string[][] {
  const num = (s: string) => (s.trim() === '' ? NaN : Number(s));
  const out = rows.map((r, i) => ({ r, i }));
  out.sort((a, b) => {
    const x = a.r[col] ?? '';
    const y = b.r[col] ?? '';
    const nx = num(x);
    const ny = num(y);
    let c: number;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) c = nx - ny;
    else if (!Number.isNaN(nx)) c = -1;
    else if (!Number.isNaN(ny)) c = 1;
    else c = x.localeCompare(y, undefined, { numeric: true });
    if (c === 0) return a.i - b.i;
    return desc ? -c : c;
  });
  return out.map((x) => x.r);
}
