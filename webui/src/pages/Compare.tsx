import { useMemo, useState } from 'preact/hooks';
import { assignRunColors, runColor } from '../lib/colors';
import { fmtDuration, fmtNumber, fmtTime } from '../lib/format';
import { getExperiment, getRun, pool } from '../lib/load';
import { normalizeRun, runDuration, runUser } from '../lib/runs';
import type { Experiment, RunRow } from '../lib/types';
import { hrefs, routeToHash, type Route } from '../lib/url';
import { ErrorBox, Spinner, StatusBadge, navigate, useAsync } from '../components/common';
import { ParallelCoordinates, ScatterPlot, type PlotRun } from '../components/Plots';
import { MetricCharts, ChartControls, type ChartSettings } from '../components/MetricCharts';

type CompareRoute = Extract<Route, { page: 'compare' }>;

interface Row {
  section: string;
  label: string;
  values: (string | null)[];
  title?: string[];
}

export function ComparePage({ route }: { route: CompareRoute }) {
  const runs = useAsync((s) => pool(route.runIds, 4, (id) => getRun(id, s)).then((rs) => rs.map(normalizeRun)), [route.runIds.join(',')]);
  const expIdsKey = runs.data ? [...new Set(runs.data.map((r) => r.run.info.experiment_id))].join(',') : '';
  const exps = useAsync(
    (s) =>
      Promise.all(
        expIdsKey
          .split(',')
          .filter(Boolean)
          .map((id) => getExperiment(id, s).catch(() => null)),
      ),
    [expIdsKey],
  );
  const expNames = useMemo(() => new Map((exps.data || []).filter((e): e is Experiment => !!e).map((e) => [e.experiment_id, e.name])), [exps.data]);
  const set = (p: Partial<CompareRoute>) => navigate(routeToHash({ ...route, ...p }), true);
  if (route.runIds.length === 0)
    return (
      <div class="page">
        <h1>Compare runs</h1>
        <p class="muted">Select runs in a runs table and press Compare.</p>
      </div>
    );
  if (runs.error)
    return (
      <div class="page">
        <ErrorBox error={runs.error} />
      </div>
    );
  if (!runs.data)
    return (
      <div class="page">
        <Spinner />
      </div>
    );
  const rows = runs.data;
  assignRunColors(rows.map((r) => r.id));
  const expIds = [...new Set(rows.map((r) => r.run.info.experiment_id))];
  return (
    <div class="page compare-page">
      <div class="page-head">
        <div>
          <div class="crumbs">
            <a href={hrefs.experiments()}>Experiments</a> / <a href={hrefs.runs(expIds, { sel: route.runIds })}>Runs</a> /
          </div>
          <h1>Comparing {rows.length} runs</h1>
        </div>
      </div>
      <CompareTable rows={rows} diff={route.diff} onDiff={(diff) => set({ diff })} expNames={expNames} />
      <ComparePlots rows={rows} x={route.x} y={route.y} onXY={(x, y) => set({ x, y })} />
      <CompareCharts rows={rows} />
    </div>
  );
}

function CompareTable({ rows, diff, onDiff, expNames }: { rows: RunRow[]; diff: boolean; onDiff: (d: boolean) => void; expNames: Map<string, string> }) {
  const table = useMemo(() => {
    const out: Row[] = [];
    const info = (label: string, f: (r: RunRow) => string) => out.push({ section: 'Run', label, values: rows.map(f) });
    info('Run ID', (r) => r.id);
    info('Experiment', (r) => expNames.get(r.run.info.experiment_id) || r.run.info.experiment_id);
    info('Status', (r) => r.run.info.status);
    info('Started', (r) => fmtTime(r.run.info.start_time));
    info('Duration', (r) => fmtDuration(runDuration(r)));
    info('User', (r) => runUser(r));
    const keysOf = (f: (r: RunRow) => Record<string, unknown>) => [...new Set(rows.flatMap((r) => Object.keys(f(r))))].sort();
    for (const k of keysOf((r) => r.params)) out.push({ section: 'Parameters', label: k, values: rows.map((r) => r.params[k] ?? null) });
    for (const k of keysOf((r) => r.metrics))
      out.push({ section: 'Metrics', label: k, values: rows.map((r) => (k in r.metrics ? fmtNumber(r.metrics[k]) : null)) });
    for (const k of keysOf((r) => r.tags).filter((k) => !k.startsWith('mlflow.')))
      out.push({ section: 'Tags', label: k, values: rows.map((r) => r.tags[k] ?? null) });
    return out;
  }, [rows, expNames]);
  const same = (r: Row) => r.values.every((v) => v === r.values[0]);
  const shown = table.filter((r) => (r.section === 'Run' && r.label !== 'Run ID' ? !diff || !same(r) : !diff || r.label === 'Run ID' || !same(r)));
  let lastSection = '';
  return (
    <section class="card flush">
      <div class="card-head pad">
        <h2>Side by side</h2>
        <label>
          <input type="checkbox" aria-label="Show differences only" checked={diff} onChange={(e) => onDiff((e.target as HTMLInputElement).checked)} /> Show
          differences only
        </label>
      </div>
      <div class="compare-scroll">
        <table class="grid compare" aria-label="Run comparison">
          <thead>
            <tr>
              <th class="sticky-col" />
              {rows.map((r) => (
                <th key={r.id}>
                  <span class="swatch" style={{ background: runColor(r.id) }} />
                  <a href={hrefs.run(r.run.info.experiment_id, r.id)}>{r.name}</a>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => {
              const head = r.section !== lastSection;
              lastSection = r.section;
              const differs = !same(r);
              return [
                head && (
                  <tr class="section" key={'s-' + r.section}>
                    <td colSpan={rows.length + 1}>{r.section}</td>
                  </tr>
                ),
                <tr key={r.section + r.label} class={differs && r.label !== 'Run ID' ? 'differs' : ''}>
                  <th class="sticky-col" title={r.label}>
                    {r.label}
                  </th>
                  {r.values.map((v, i) => (
                    <td key={i} class={r.section === 'Metrics' ? 'num' : ''}>
                      {r.label === 'Status' && v ? <StatusBadge status={v} /> : (v ?? <span class="muted">—</span>)}
                    </td>
                  ))}
                </tr>,
              ];
            })}
          </tbody>
        </table>
      </div>
      {diff && shown.length <= 1 && <p class="muted pad">No differences.</p>}
    </section>
  );
}

function ComparePlots({ rows, x, y, onXY }: { rows: RunRow[]; x: string; y: string; onXY: (x: string, y: string) => void }) {
  const cols = useMemo(() => {
    const p = [...new Set(rows.flatMap((r) => Object.keys(r.params)))].sort().map((k) => 'params.' + k);
    const m = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))].sort().map((k) => 'metrics.' + k);
    return [...p, ...m];
  }, [rows]);
  const plotRuns: PlotRun[] = useMemo(
    () =>
      rows.map((r) => {
        const values: Record<string, string | number | null> = {};
        for (const k in r.params) values['params.' + k] = r.params[k];
        for (const k in r.metrics) values['metrics.' + k] = Number.isFinite(r.metrics[k]) ? r.metrics[k] : null;
        return { id: r.id, name: r.name, color: runColor(r.id), values };
      }),
    [rows],
  );
  // columns whose values differ between the runs are the interesting ones
  const varying = cols.filter((c) => new Set(plotRuns.map((r) => String(r.values[c] ?? ''))).size > 1);
  const pick = (prefix: string, fallback: string) => varying.find((c) => c.startsWith(prefix)) || cols.find((c) => c.startsWith(prefix)) || fallback;
  const xx = cols.includes(x) ? x : pick('params.', cols[0] || '');
  const yy = cols.includes(y) ? y : pick('metrics.', cols[1] || cols[0] || '');
  const [axes, setAxes] = useState<string[] | null>(null);
  const pcAxes = axes ?? (varying.length >= 2 ? varying : cols).slice(0, 8);
  if (cols.length === 0) return null;
  const select = (v: string, on: (s: string) => void, lbl: string) => (
    <select aria-label={lbl} value={v} onChange={(e) => on((e.target as HTMLSelectElement).value)}>
      {cols.map((c) => (
        <option key={c} value={c}>
          {c}
        </option>
      ))}
    </select>
  );
  return (
    <div class="two-col">
      <section class="card">
        <div class="card-head">
          <h2>Scatter plot</h2>
          <div class="row small">
            X {select(xx, (v) => onXY(v, yy), 'Scatter X axis')} Y {select(yy, (v) => onXY(xx, v), 'Scatter Y axis')}
          </div>
        </div>
        <ScatterPlot runs={plotRuns} x={xx} y={yy} />
      </section>
      <section class="card">
        <div class="card-head">
          <h2>Parallel coordinates</h2>
          <details class="axis-pick">
            <summary>Axes ({pcAxes.length})</summary>
            <div class="menu">
              {cols.map((c) => (
                <label class="check-row" key={c}>
                  <input
                    type="checkbox"
                    checked={pcAxes.includes(c)}
                    onChange={() => setAxes(pcAxes.includes(c) ? pcAxes.filter((a) => a !== c) : [...pcAxes, c])}
                  />{' '}
                  {c}
                </label>
              ))}
            </div>
          </details>
        </div>
        <ParallelCoordinates runs={plotRuns} axes={pcAxes} />
      </section>
    </div>
  );
}

function CompareCharts({ rows }: { rows: RunRow[] }) {
  const [s, setS] = useState<ChartSettings>({ x: 'step', smooth: 0, log: false });
  const [q, setQ] = useState('');
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))].sort().filter((k) => !q || k.toLowerCase().includes(q.toLowerCase()));
  return (
    <section>
      <h2>Metric charts</h2>
      <ChartControls s={s} onChange={setS} filter={q} onFilter={setQ} />
      <MetricCharts runs={rows} keys={keys} settings={s} refreshTick={0} />
    </section>
  );
}
