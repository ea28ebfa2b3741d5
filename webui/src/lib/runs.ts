import type { Run, RunRow } from './types';

export const PARENT_TAG = 'mlflow.parentRunId';
export const NOTE_TAG = 'mlflow.note.content';

export function toNumber(v: number | string): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return Number(v);
}

export function normalizeRun(run: Run): RunRow {
  const params: Record<string, string> = {};
  const metrics: Record<string, number> = {};
  const tags: Record<string, string> = {};
  for (const p of run.data?.params || []) params[p.key] = p.value;
  for (const m of run.data?.metrics || []) metrics[m.key] = toNumber(m.value);
  for (const t of run.data?.tags || []) tags[t.key] = t.value;
  return makeRow(run, params, metrics, tags);
}

/** A run of ajax-api/2.0/aiotrack/runs/table: params, latest metrics and tags as objects. */
export interface TableRun {
  info: Run['info'];
  params: Record<string, string>;
  metrics: Record<string, number | string>;
  tags: Record<string, string>;
  inputs?: Run['inputs'];
  outputs?: Run['outputs'];
}

/** A table run as a row; its `run` has no data lists (the row's maps hold them). */
export function tableRow(t: TableRun): RunRow {
  const metrics = t.metrics as Record<string, number>;
  for (const k in metrics) if (typeof metrics[k] !== 'number') metrics[k] = toNumber(metrics[k]);
  return makeRow({ info: t.info, data: {}, inputs: t.inputs, outputs: t.outputs }, t.params, metrics, t.tags);
}

function makeRow(run: Run, params: Record<string, string>, metrics: Record<string, number>, tags: Record<string, string>): RunRow {
  const id = run.info.run_id || run.info.run_uuid || '';
  return {
    id,
    run,
    name: run.info.run_name || tags['mlflow.runName'] || id.slice(0, 8),
    params,
    metrics,
    tags,
    parentId: tags[PARENT_TAG] || null,
  };
}

export function runUser(r: RunRow): string {
  return r.tags['mlflow.user'] || r.run.info.user_id || '';
}

export function runSource(r: RunRow): string {
  const s = r.tags['mlflow.source.name'] || '';
  const i = Math.max(s.lastIndexOf('/'), s.lastIndexOf('\\'));
  return i >= 0 ? s.slice(i + 1) : s;
}

export function runDuration(r: RunRow, now = Date.now()): number | null {
  const st = r.run.info.start_time;
  if (!st) return null;
  const end = r.run.info.end_time || (r.run.info.status === 'RUNNING' ? now : 0);
  return end ? end - st : null;
}

// ---- columns -------------------------------------------------------------------------------
// Column ids follow MLflow's search syntax prefixes: attributes.x, params.x, metrics.x, tags.x.
export const ATTRIBUTE_COLUMNS: Record<string, string> = {
  'attributes.start_time': 'Created',
  'attributes.duration': 'Duration',
  'attributes.status': 'Status',
  'attributes.user_id': 'User',
  'attributes.source': 'Source',
  'attributes.run_id': 'Run ID',
  'attributes.end_time': 'Ended',
  'attributes.experiment_id': 'Experiment',
  'attributes.datasets': 'Dataset',
  'attributes.models': 'Models',
};
export const DEFAULT_ATTRIBUTES = ['attributes.start_time', 'attributes.duration', 'attributes.status', 'attributes.user_id', 'attributes.source'];

export function columnLabel(id: string): string {
  if (ATTRIBUTE_COLUMNS[id]) return ATTRIBUTE_COLUMNS[id];
  const dot = id.indexOf('.');
  return id.slice(dot + 1);
}

export function columnKind(id: string): 'attributes' | 'params' | 'metrics' | 'tags' {
  return id.slice(0, id.indexOf('.')) as any;
}

/** The raw value of a cell, used both for display and sorting. */
export function cellValue(r: RunRow, col: string): string | number | null {
  const dot = col.indexOf('.');
  const kind = col.slice(0, dot);
  const key = col.slice(dot + 1);
  switch (kind) {
    case 'params':
      return key in r.params ? r.params[key] : null;
    case 'metrics':
      return key in r.metrics ? r.metrics[key] : null;
    case 'tags':
      return key in r.tags ? r.tags[key] : null;
    case 'attributes':
      switch (key) {
        case 'start_time':
          return r.run.info.start_time ?? null;
        case 'end_time':
          return r.run.info.end_time ?? null;
        case 'duration':
          return runDuration(r);
        case 'status':
          return r.run.info.status;
        case 'user_id':
          return runUser(r);
        case 'source':
          return runSource(r);
        case 'run_id':
          return r.id;
        case 'run_name':
          return r.name;
        case 'experiment_id':
          return r.run.info.experiment_id;
        case 'datasets':
          return (
            runDatasets(r)
              .map((d) => d.label)
              .join(', ') || null
          );
        case 'models':
          return runModels(r).length || null;
      }
  }
  return null;
}

/** Collects every param/metric/tag key present in the runs (sorted). */
export function collectKeys(rows: RunRow[]): { params: string[]; metrics: string[]; tags: string[] } {
  const p = new Set<string>(),
    m = new Set<string>(),
    t = new Set<string>();
  for (const r of rows) {
    for (const k in r.params) p.add(k);
    for (const k in r.metrics) m.add(k);
    for (const k in r.tags) t.add(k);
  }
  const s = (x: Set<string>) => [...x].sort((a, b) => a.localeCompare(b));
  return { params: s(p), metrics: s(m), tags: s(t) };
}

/** The datasets a run used, with their context (train, eval) where logged. */
export function runDatasets(r: RunRow): { name: string; digest: string; context: string; label: string }[] {
  return (r.run.inputs?.dataset_inputs || []).map((d) => {
    const context = (d.tags || []).find((t) => t.key === 'mlflow.data.context')?.value || '';
    const name = d.dataset?.name || '';
    return { name, digest: d.dataset?.digest || '', context, label: context ? `${name} (${context})` : name };
  });
}

/** The logged models a run produced or used (model outputs first), ids without repeats. */
export function runModels(r: RunRow): string[] {
  const ids = [...(r.run.outputs?.model_outputs || []), ...(r.run.inputs?.model_inputs || [])].map((m) => m.model_id);
  return [...new Set(ids)];
}

/** Two cell values the same (NaN equal to NaN, as their text is): the test for "varies". */
const same = (a: unknown, b: unknown) => a === b || (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b));

/**
 * Keys whose values differ between the runs: what a person compares. Keys every run lacks but one
 * are kept last. One pass per key comparing raw values (no conversion to text): this runs over
 * every loaded run each time a page of runs arrives.
 */
function varyingKeys(rows: RunRow[], keys: string[], values: (r: RunRow) => Record<string, unknown>): string[] {
  const scored = keys.map((k) => {
    let present = 0;
    let first: unknown;
    let varies = false;
    for (const r of rows) {
      const v = values(r)[k];
      if (v === undefined) continue;
      if (present++ === 0) first = v;
      else if (!varies && !same(v, first)) varies = true;
    }
    return { k, varies, present };
  });
  const pick = scored.filter((x) => x.varies);
  // with one run (or nothing varying) every key is as good as another: most common first
  const base = pick.length ? pick : scored;
  return base.sort((a, b) => b.present - a.present || a.k.localeCompare(b.k)).map((x) => x.k);
}

/** The runs table's time ranges (of run start), in milliseconds. */
export const TIME_RANGES: Record<string, { label: string; ms: number }> = {
  '1h': { label: 'Last hour', ms: 3600e3 },
  '24h': { label: 'Last 24 hours', ms: 86400e3 },
  '7d': { label: 'Last 7 days', ms: 7 * 86400e3 },
  '30d': { label: 'Last 30 days', ms: 30 * 86400e3 },
};

const quoteValue = (s: string) => "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";

/** The search filter sent to the server: the typed filter AND the time range AND the dataset. */
export function composeFilter(filter: string, since: string, dataset: string, now = Date.now()): string {
  const parts: string[] = [];
  if (filter.trim()) parts.push(filter.trim());
  const range = TIME_RANGES[since];
  if (range) parts.push(`attributes.start_time >= ${Math.floor(now - range.ms)}`);
  if (dataset) parts.push(`dataset.name = ${quoteValue(dataset)}`);
  return parts.join(' AND ');
}

export const DEFAULT_METRIC_COLUMNS = 6;
export const DEFAULT_PARAM_COLUMNS = 6;

/**
 * The columns a person sees before choosing: the usual attributes, Dataset and Models where any run
 * has them, then the metrics and params that vary across the shown runs (not the first few
 * alphabetically), the most widely logged first.
 */
export function defaultColumns(keys: { params: string[]; metrics: string[] }, rows: RunRow[] = []): string[] {
  const metrics = rows.length ? varyingKeys(rows, keys.metrics, (r) => r.metrics) : keys.metrics;
  const params = rows.length ? varyingKeys(rows, keys.params, (r) => r.params) : keys.params;
  const extra: string[] = [];
  if (rows.some((r) => !!r.run.inputs?.dataset_inputs?.length)) extra.push('attributes.datasets');
  if (rows.some((r) => !!(r.run.outputs?.model_outputs?.length || r.run.inputs?.model_inputs?.length))) extra.push('attributes.models');
  return [
    ...DEFAULT_ATTRIBUTES,
    ...extra,
    ...metrics.slice(0, DEFAULT_METRIC_COLUMNS).map((k) => 'metrics.' + k),
    ...params.slice(0, DEFAULT_PARAM_COLUMNS).map((k) => 'params.' + k),
  ];
}

/** The table as shown (these rows, these columns, in order) as CSV text. */
export function runsToCsv(rows: RunRow[], cols: string[]): string {
  const esc = (v: unknown) => {
    let s = v === null || v === undefined ? '' : String(v);
    // a text cell a spreadsheet would run as a formula is quoted as text (numbers stay numbers)
    if (/^[=+\-@\t\r]/.test(s) && !NUMERIC.test(s)) s = "'" + s;
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  };
  const head = ['Run ID', 'Run name', ...cols.map((c) => (columnKind(c) === 'attributes' ? columnLabel(c) : c))];
  const lines = [head.map(esc).join(',')];
  for (const r of rows) {
    const vals = cols.map((c) => {
      const v = cellValue(r, c);
      if ((c === 'attributes.start_time' || c === 'attributes.end_time') && typeof v === 'number') return new Date(v).toISOString();
      return v;
    });
    lines.push([r.id, r.name, ...vals].map(esc).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

const NUMERIC = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

/** Compare two cell values: missing values last, numbers numerically (also numeric strings), else natural order. */
export function compareValues(a: string | number | null, b: string | number | null): number {
  const am = a === null || a === undefined || a === '' || (typeof a === 'number' && Number.isNaN(a));
  const bm = b === null || b === undefined || b === '' || (typeof b === 'number' && Number.isNaN(b));
  if (am || bm) return am && bm ? 0 : am ? 1 : -1;
  const an = typeof a === 'number' ? a : NUMERIC.test(a as string) ? Number(a) : null;
  const bn = typeof b === 'number' ? b : NUMERIC.test(b as string) ? Number(b) : null;
  if (an !== null && bn !== null) return an < bn ? -1 : an > bn ? 1 : 0;
  if (an !== null) return -1;
  if (bn !== null) return 1;
  return collator.compare(String(a), String(b));
}
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

export function sortRows(rows: RunRow[], col: string, desc: boolean): RunRow[] {
  const c = col || 'attributes.start_time';
  const keyed = rows.map((r) => [cellValue(r, c), r] as const);
  keyed.sort((x, y) => {
    const missX = x[0] === null || x[0] === '',
      missY = y[0] === null || y[0] === '';
    if (missX || missY) return missX === missY ? 0 : missX ? 1 : -1; // missing always last
    const v = compareValues(x[0], y[0]);
    return desc ? -v : v;
  });
  return keyed.map((k) => k[1]);
}

// ---- nested runs -----------------------------------------------------------------------------
export interface TreeRow {
  row: RunRow;
  depth: number;
  childCount: number;
  expanded: boolean;
}

/**
 * Arrange already-sorted runs so children follow their parent (keeping the sort order among
 * siblings). A child whose parent is not in `rows` (filtered out, another page) is shown at the
 * top level. `expanded` holds the ids of parents whose children are visible; `expandAll` shows all.
 */
/**
 * The table's rows under a grouping: one roll-up row per group (see lib/groups.ts), followed by
 * its runs when expanded. `groups` come largest first.
 */
export function groupedTree(groups: { row: RunRow; members: RunRow[] }[], expanded: Set<string>, expandAll = false): TreeRow[] {
  const out: TreeRow[] = [];
  for (const g of groups) {
    const open = expandAll || expanded.has(g.row.id);
    out.push({ row: g.row, depth: 0, childCount: g.members.length, expanded: open });
    if (open) for (const m of g.members) out.push({ row: m, depth: 1, childCount: 0, expanded: false });
  }
  return out;
}

export function groupNested(rows: RunRow[], expanded: Set<string>, expandAll = false): TreeRow[] {
  const byId = new Map<string, RunRow>();
  for (const r of rows) byId.set(r.id, r);
  const children = new Map<string, RunRow[]>();
  const roots: RunRow[] = [];
  for (const r of rows) {
    const p = r.parentId;
    if (p && p !== r.id && byId.has(p) && !isAncestor(r.id, p, byId)) {
      let list = children.get(p);
      if (!list) {
        list = [];
        children.set(p, list);
      }
      list.push(r);
    } else roots.push(r);
  }
  const out: TreeRow[] = [];
  const visit = (r: RunRow, depth: number) => {
    const kids = children.get(r.id);
    const isOpen = !!kids && (expandAll || expanded.has(r.id));
    out.push({ row: r, depth, childCount: kids ? kids.length : 0, expanded: isOpen });
    if (kids && isOpen) for (const k of kids) visit(k, depth + 1);
  };
  for (const r of roots) visit(r, 0);
  return out;
}

/** True if `id` is an ancestor of `of` (guards against parent cycles). */
function isAncestor(id: string, of: string, byId: Map<string, RunRow>): boolean {
  let cur: string | null = of;
  for (let i = 0; cur && i < 1000; i++) {
    if (cur === id) return true;
    cur = byId.get(cur)?.parentId || null;
  }
  return false;
}
