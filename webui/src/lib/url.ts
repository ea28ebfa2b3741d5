// Hash routing and view state <-> URL. Everything a person sees in the runs view (experiments,
// filter, sort, columns, selected runs, tab, chart settings) round-trips through the hash, so a
// view can be shared by copying the address.

export type XAxis = 'step' | 'time' | 'relative';
export type Lifecycle = 'active' | 'deleted' | 'all';
export type RunsView = 'table' | 'charts' | 'models' | 'traces';

export interface RunsState {
  view: RunsView;
  filter: string;
  lifecycle: Lifecycle;
  sort: string; // column id, '' = default (start time desc)
  desc: boolean;
  cols: string[] | null; // null = default columns
  sel: string[];
  x: XAxis;
  smooth: number; // 0..0.99
  log: boolean;
  mq: string; // metric search text in the charts view
  tf: string; // the traces tab's filter (MLflow's trace search syntax)
  ts: string; // the traces tab's sort: column id, '-' prefix for descending, '' = newest first
  since: string; // time range of run start: '' (all), or a key of TIME_RANGES ('1h', '24h', '7d', '30d')
  ds: string; // only runs that used this dataset (by name)
  group: string; // group runs by this column (params.x, tags.x, attributes.datasets), '' = no grouping
  band: string; // grouped charts' band: 'minmax' (default) or 'std'
}

export const DEFAULT_RUNS_STATE: RunsState = {
  view: 'table',
  filter: '',
  lifecycle: 'active',
  sort: '',
  desc: true,
  cols: null,
  sel: [],
  x: 'step',
  smooth: 0,
  log: false,
  mq: '',
  tf: '',
  ts: '',
  since: '',
  ds: '',
  group: '',
  band: 'minmax',
};

export type Route =
  | { page: 'experiments'; q: string; lifecycle: Lifecycle }
  | { page: 'runs'; expIds: string[]; state: RunsState }
  | { page: 'run'; expId: string; runId: string; tab: string; path: string }
  | { page: 'compare'; runIds: string[]; diff: boolean; x: string; y: string }
  | { page: 'models'; q: string }
  | { page: 'model'; name: string }
  | { page: 'version'; name: string; version: string }
  | { page: 'logged-model'; expId: string; modelId: string }
  | { page: 'trace'; expId: string; traceId: string }
  | { page: 'notfound'; hash: string };

const num = (s: string | null, d: number) => {
  const v = s === null ? NaN : Number(s);
  return Number.isFinite(v) ? v : d;
};

export function decodeRunsState(p: URLSearchParams): RunsState {
  const s: RunsState = { ...DEFAULT_RUNS_STATE };
  const v = p.get('view');
  if (v === 'charts' || v === 'models' || v === 'table' || v === 'traces') s.view = v;
  s.filter = p.get('filter') || '';
  const lc = p.get('lifecycle');
  if (lc === 'deleted' || lc === 'all') s.lifecycle = lc;
  const sort = p.get('sort');
  if (sort) {
    s.desc = sort.startsWith('-');
    s.sort = s.desc ? sort.slice(1) : sort;
  }
  if (p.has('col')) s.cols = p.getAll('col').filter((c) => c !== '');
  s.sel = p.getAll('run');
  const x = p.get('x');
  if (x === 'time' || x === 'relative') s.x = x;
  s.smooth = Math.min(0.99, Math.max(0, num(p.get('smooth'), 0)));
  s.log = p.get('log') === '1';
  s.mq = p.get('mq') || '';
  s.tf = p.get('tf') || '';
  s.ts = p.get('ts') || '';
  s.since = p.get('since') || '';
  s.ds = p.get('ds') || '';
  s.group = p.get('group') || '';
  s.band = p.get('band') === 'std' ? 'std' : 'minmax';
  return s;
}

export function encodeRunsState(s: RunsState): string {
  const p = new URLSearchParams();
  if (s.view !== 'table') p.set('view', s.view);
  if (s.filter) p.set('filter', s.filter);
  if (s.lifecycle !== 'active') p.set('lifecycle', s.lifecycle);
  if (s.sort) p.set('sort', (s.desc ? '-' : '') + s.sort);
  if (s.cols) {
    if (s.cols.length === 0) p.append('col', '');
    s.cols.forEach((c) => p.append('col', c));
  }
  s.sel.forEach((r) => p.append('run', r));
  if (s.x !== 'step') p.set('x', s.x);
  if (s.smooth) p.set('smooth', String(s.smooth));
  if (s.log) p.set('log', '1');
  if (s.mq) p.set('mq', s.mq);
  if (s.tf) p.set('tf', s.tf);
  if (s.ts) p.set('ts', s.ts);
  if (s.since) p.set('since', s.since);
  if (s.ds) p.set('ds', s.ds);
  if (s.group) p.set('group', s.group);
  if (s.band !== 'minmax') p.set('band', s.band);
  return p.toString();
}

/** A JSON list in a query parameter, as MLflow's own URLs carry run and experiment ids. */
function jsonList(v: string | null): string[] {
  if (!v) return [];
  try {
    const x = JSON.parse(v);
    return Array.isArray(x) ? x.map(String) : [String(x)];
  } catch {
    return v.split(',').filter(Boolean);
  }
}

/** The run page's tab for each of MLflow's run-page path suffixes. */
const MLFLOW_RUN_TABS: Record<string, string> = {
  overview: 'overview',
  'model-metrics': 'charts',
  'system-metrics': 'system',
  metrics: 'charts',
  artifacts: 'artifacts',
  traces: 'traces',
};

/**
 * MLflow's own UI addresses (printed by the client, or kept as bookmarks) that differ from ours,
 * mapped to the matching page; null for everything else.
 */
function parseMlflowRoute(parts: string[], params: URLSearchParams): Route | null {
  const [a, b, c, d, e] = parts;
  if (a === 'experiments' && b && c === 'runs') {
    if (!d) return { page: 'runs', expIds: [b], state: decodeRunsState(params) };
    if (e && e in MLFLOW_RUN_TABS) {
      const tab = MLFLOW_RUN_TABS[e];
      return { page: 'run', expId: b, runId: d, tab, path: tab === 'artifacts' ? parts.slice(5).join('/') : '' };
    }
    return null;
  }
  if (a === 'experiments' && b && c === 'models') {
    // MLflow 3's logged model page, and the experiment's Models tab
    if (d) return { page: 'logged-model', expId: b, modelId: d };
    return { page: 'runs', expIds: [b], state: { ...decodeRunsState(params), view: 'models' } };
  }
  if (a === 'experiments' && b && (c === 'chart-view' || c === 'charts')) {
    return { page: 'runs', expIds: [b], state: { ...decodeRunsState(params), view: 'charts' } };
  }
  if (a === 'compare-runs') {
    return { page: 'compare', runIds: jsonList(params.get('runs')), diff: false, x: '', y: '' };
  }
  if (a === 'compare-experiments') {
    const ids = jsonList(params.get('experiments'));
    return { page: 'runs', expIds: ids, state: decodeRunsState(new URLSearchParams()) };
  }
  if (a === 'metric') {
    // MLflow 2's metric page: #/metric/<key>?runs=[...]&experiments=[...]
    const runs = jsonList(params.get('runs'));
    const exps = jsonList(params.get('experiments'));
    if (runs.length === 1 && exps.length >= 1) return { page: 'run', expId: exps[0], runId: runs[0], tab: 'charts', path: '' };
    return { page: 'compare', runIds: runs, diff: false, x: '', y: '' };
  }
  return null;
}

function splitHash(hash: string): { parts: string[]; params: URLSearchParams } {
  let h = hash.startsWith('#') ? hash.slice(1) : hash;
  const qi = h.indexOf('?');
  const query = qi >= 0 ? h.slice(qi + 1) : '';
  if (qi >= 0) h = h.slice(0, qi);
  const parts = h
    .split('/')
    .filter(Boolean)
    .map((x) => {
      try {
        return decodeURIComponent(x);
      } catch {
        return x;
      }
    });
  return { parts, params: new URLSearchParams(query) };
}

export function parseRoute(hash: string): Route {
  const { parts, params } = splitHash(hash);
  if (parts.length === 0) return { page: 'experiments', q: '', lifecycle: 'active' };
  const [a, b, c, d, e] = parts;
  const mlflowUrl = parseMlflowRoute(parts, params);
  if (mlflowUrl) return mlflowUrl;
  if (a === 'experiments') {
    if (!b) {
      const lc = params.get('lifecycle');
      return { page: 'experiments', q: params.get('q') || '', lifecycle: lc === 'deleted' || lc === 'all' ? lc : 'active' };
    }
    if (c === 'runs' && d) return { page: 'run', expId: b, runId: d, tab: params.get('tab') || 'overview', path: params.get('path') || '' };
    if (c === 'logged-models' && d) return { page: 'logged-model', expId: b, modelId: d };
    if (c === 'traces') {
      // ours: #/experiments/1/traces/<id>; MLflow 3's: #/experiments/1/traces?selectedEvaluationId=<id> (or selectedTraceId)
      const id = d || params.get('selectedEvaluationId') || params.get('selectedTraceId');
      if (id) return { page: 'trace', expId: b, traceId: id };
      return { page: 'runs', expIds: [b], state: { ...decodeRunsState(params), view: 'traces' } };
    }
    return { page: 'runs', expIds: b.split(',').filter(Boolean), state: decodeRunsState(params) };
  }
  if (a === 'compare') {
    return { page: 'compare', runIds: params.getAll('run'), diff: params.get('diff') === '1', x: params.get('x') || '', y: params.get('y') || '' };
  }
  if (a === 'models') {
    if (!b) return { page: 'models', q: params.get('q') || '' };
    if (c === 'versions' && d) return { page: 'version', name: b, version: d };
    return { page: 'model', name: b };
  }
  void e;
  return { page: 'notfound', hash };
}

const enc = encodeURIComponent;

export function routeToHash(r: Route): string {
  const withQ = (path: string, q: string) => '#' + path + (q ? '?' + q : '');
  switch (r.page) {
    case 'experiments': {
      const p = new URLSearchParams();
      if (r.q) p.set('q', r.q);
      if (r.lifecycle !== 'active') p.set('lifecycle', r.lifecycle);
      return withQ('/experiments', p.toString());
    }
    case 'runs':
      return withQ('/experiments/' + r.expIds.map(enc).join(','), encodeRunsState(r.state));
    case 'run': {
      const p = new URLSearchParams();
      if (r.tab && r.tab !== 'overview') p.set('tab', r.tab);
      if (r.path) p.set('path', r.path);
      return withQ(`/experiments/${enc(r.expId)}/runs/${enc(r.runId)}`, p.toString());
    }
    case 'logged-model':
      return `#/experiments/${enc(r.expId)}/logged-models/${enc(r.modelId)}`;
    case 'trace':
      return `#/experiments/${enc(r.expId)}/traces/${enc(r.traceId)}`;
    case 'compare': {
      const p = new URLSearchParams();
      r.runIds.forEach((x) => p.append('run', x));
      if (r.diff) p.set('diff', '1');
      if (r.x) p.set('x', r.x);
      if (r.y) p.set('y', r.y);
      return withQ('/compare', p.toString());
    }
    case 'models':
      return withQ('/models', r.q ? new URLSearchParams({ q: r.q }).toString() : '');
    case 'model':
      return '#/models/' + enc(r.name);
    case 'version':
      return `#/models/${enc(r.name)}/versions/${enc(r.version)}`;
    default:
      return '#/';
  }
}

export const hrefs = {
  experiments: () => '#/experiments',
  runs: (expIds: string | string[], state?: Partial<RunsState>) =>
    routeToHash({ page: 'runs', expIds: Array.isArray(expIds) ? expIds : [expIds], state: { ...DEFAULT_RUNS_STATE, ...state } }),
  run: (expId: string, runId: string, tab = 'overview', path = '') => routeToHash({ page: 'run', expId, runId, tab, path }),
  compare: (runIds: string[]) => routeToHash({ page: 'compare', runIds, diff: false, x: '', y: '' }),
  models: () => '#/models',
  model: (name: string) => routeToHash({ page: 'model', name }),
  version: (name: string, version: string) => routeToHash({ page: 'version', name, version }),
  loggedModel: (expId: string, modelId: string) => routeToHash({ page: 'logged-model', expId, modelId }),
  trace: (expId: string, traceId: string) => routeToHash({ page: 'trace', expId, traceId }),
};
