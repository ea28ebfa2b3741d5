import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, post } from '../lib/api';
import { pool } from '../lib/load';
import { runColor } from '../lib/colors';
import { fmtDuration, fmtNumber, fmtTime } from '../lib/format';
import { getExperiment, getRun } from '../lib/load';
import { fetchDownsampled } from '../lib/metrics';
import { NOTE_TAG, PARENT_TAG, normalizeRun, runDuration, runUser, toNumber } from '../lib/runs';
import type { LoggedModel, ModelVersion, Run, RunRow } from '../lib/types';
import { RegisterModel, TextPrompt } from '../components/Forms';
import { hrefs, routeToHash, type Route } from '../lib/url';
import { Copyable, EditableMarkdown, ErrorBox, Spinner, StatusBadge, TagEditor, Tabs, navigate, useAsync } from '../components/common';
import { ChartControls, MetricCharts, type ChartSettings } from '../components/MetricCharts';
import { ArtifactBrowser, runArtifacts } from '../components/Artifacts';
import { LinkedTraces } from './Traces';
import { traceFilterForRun } from '../lib/traces';
import { useLiveRuns } from '../lib/live';

type RunRoute = Extract<Route, { page: 'run' }>;

export function RunPage({ route }: { route: RunRoute }) {
  const run = useAsync((s) => getRun(route.runId, s), [route.runId]);
  const row = useMemo(() => (run.data ? normalizeRun(run.data) : null), [run.data]);
  const expId = run.data?.info.experiment_id || route.expId;
  const exp = useAsync((s) => getExperiment(expId, s), [expId]);
  const running = run.data?.info.status === 'RUNNING';
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => {
      run.reload();
      setTick((x) => x + 1);
    }, 10000);
    return () => clearInterval(t);
  }, [running]);
  const [renaming, setRenaming] = useState(false);
  // pushed by the server while the run is active (the 10 s polling above stays as the fallback)
  useLiveRuns([expId], running, (u) => {
    if (u.reload || u.changed.includes(route.runId) || u.new.includes(route.runId)) {
      run.reload();
      setTick((x) => x + 1);
    }
  });
  const setTab = (tab: string) => navigate(routeToHash({ ...route, tab, path: tab === 'artifacts' ? route.path : '' }), true);

  if (run.error)
    return (
      <div class="page">
        <ErrorBox error={run.error} title="Could not load run" />
      </div>
    );
  if (!row || !run.data)
    return (
      <div class="page">
        <Spinner />
      </div>
    );
  const info = run.data.info;
  const deleted = info.lifecycle_stage === 'deleted';
  return (
    <div class="page run-page">
      <div class="page-head">
        <div>
          <div class="crumbs">
            <a href={hrefs.experiments()}>Experiments</a> / <a href={hrefs.runs(expId)}>{exp.data?.name || expId}</a> /
          </div>
          <h1>
            <span class="swatch big" style={{ background: runColor(row.id) }} />
            {row.name} <StatusBadge status={info.status} />
            {deleted && <span class="pill gray">deleted</span>}
          </h1>
        </div>
        <div class="row">
          <button onClick={() => setRenaming(true)}>Rename</button>
          {deleted ? (
            <button onClick={() => post('runs/restore', { run_id: row.id }).then(run.reload)}>Restore</button>
          ) : (
            <button class="danger" onClick={() => confirm('Delete this run?') && post('runs/delete', { run_id: row.id }).then(run.reload)}>
              Delete
            </button>
          )}
        </div>
      </div>
      {renaming && (
        <TextPrompt
          title="Rename run"
          label="Run name"
          initial={row.name}
          onClose={() => setRenaming(false)}
          onSubmit={async (name) => {
            await post('runs/update', { run_id: row.id, run_name: name });
            setRenaming(false);
            run.reload();
          }}
        />
      )}
      <Tabs
        tabs={[
          ['overview', 'Overview'],
          ['charts', 'Model metrics'],
          ...(hasSystemMetrics(row) ? [['system', 'System metrics'] as [string, string]] : []),
          ['artifacts', 'Artifacts'],
          ['traces', 'Traces'],
        ]}
        active={route.tab}
        onChange={setTab}
      />
      {route.tab === 'charts' ? (
        <RunCharts row={row} tick={tick} running={running} system={false} />
      ) : route.tab === 'system' ? (
        <RunCharts row={row} tick={tick} running={running} system={true} />
      ) : route.tab === 'traces' ? (
        <LinkedTraces expId={info.experiment_id} filter={traceFilterForRun(row.id)} title="Traces of this run" />
      ) : route.tab === 'artifacts' ? (
        <ArtifactBrowser source={runArtifacts(row.id)} path={route.path} onPath={(path) => navigate(routeToHash({ ...route, path }), true)} />
      ) : (
        <Overview run={run.data} row={row} reload={run.reload} tick={tick} />
      )}
    </div>
  );
}

function Overview({ run, row, reload, tick }: { run: Run; row: RunRow; reload: () => void; tick: number }) {
  const info = run.info;
  const children = useAsync(
    async (s) => {
      const r = await post<{ runs?: Run[] }>(
        'runs/search',
        {
          experiment_ids: [info.experiment_id],
          filter: `tags.\`${PARENT_TAG}\` = '${row.id}'`,
          max_results: 1000,
        },
        s,
      );
      return (r.runs || []).map(normalizeRun);
    },
    [row.id],
  );
  const parent = useAsync(async (s) => (row.parentId ? normalizeRun(await getRun(row.parentId, s)) : null), [row.parentId]);
  const setTag = (key: string, value: string) => post('runs/set-tag', { run_id: row.id, key, value }).then(reload);
  const delTag = (key: string) => post('runs/delete-tag', { run_id: row.id, key }).then(reload);
  const tags = run.data.tags || [];
  const src = row.tags['mlflow.source.name'];
  const commit = row.tags['mlflow.source.git.commit'];
  const datasets = run.inputs?.dataset_inputs || [];
  return (
    <div class="overview two-col wide-left">
      <div>
        <section class="card">
          <table class="kv details">
            <tbody>
              <tr>
                <th>Run ID</th>
                <td>
                  <Copyable text={row.id} />
                </td>
              </tr>
              <tr>
                <th>Status</th>
                <td>
                  <StatusBadge status={info.status} />
                </td>
              </tr>
              <tr>
                <th>Started</th>
                <td>{fmtTime(info.start_time)}</td>
              </tr>
              <tr>
                <th>Ended</th>
                <td>{fmtTime(info.end_time) || <span class="muted">—</span>}</td>
              </tr>
              <tr>
                <th>Duration</th>
                <td>{fmtDuration(runDuration(row))}</td>
              </tr>
              <tr>
                <th>User</th>
                <td>{runUser(row)}</td>
              </tr>
              <tr>
                <th>Source</th>
                <td>
                  {src ? <span class="mono">{src}</span> : <span class="muted">—</span>}
                  {row.tags['mlflow.source.type'] && <span class="pill">{row.tags['mlflow.source.type']}</span>}
                  {commit && <span class="muted small"> @ {commit.slice(0, 10)}</span>}
                </td>
              </tr>
              <tr>
                <th>Lifecycle</th>
                <td>{info.lifecycle_stage}</td>
              </tr>
              <tr>
                <th>Artifact URI</th>
                <td class="mono small">{info.artifact_uri}</td>
              </tr>
              {row.parentId && (
                <tr>
                  <th>Parent run</th>
                  <td>
                    <a href={hrefs.run(info.experiment_id, row.parentId)}>{parent.data?.name || row.parentId}</a>
                  </td>
                </tr>
              )}
              {children.data && children.data.length > 0 && (
                <tr>
                  <th>Child runs</th>
                  <td class="child-runs">
                    {children.data.map((c) => (
                      <a key={c.id} href={hrefs.run(c.run.info.experiment_id, c.id)}>
                        {c.name}
                      </a>
                    ))}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </section>
        <section class="card">
          <h2>Description</h2>
          <EditableMarkdown text={row.tags[NOTE_TAG] || ''} onSave={(t) => setTag(NOTE_TAG, t)} />
        </section>
        <section class="card">
          <h2>
            Datasets <span class="muted small">({datasets.length})</span>
          </h2>
          {datasets.length === 0 ? (
            <p class="muted">No datasets logged</p>
          ) : (
            <table class="grid compact">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Digest</th>
                  <th>Context</th>
                  <th>Source</th>
                  <th>Profile</th>
                </tr>
              </thead>
              <tbody>
                {datasets.map((d, i) => (
                  <tr key={i}>
                    <td class="strong">{d.dataset.name}</td>
                    <td class="mono small">{d.dataset.digest}</td>
                    <td>{(d.tags || []).find((t) => t.key === 'mlflow.data.context')?.value || ''}</td>
                    <td class="small ellipsis" title={d.dataset.source}>
                      {d.dataset.source_type}
                      {d.dataset.source ? ': ' + d.dataset.source : ''}
                    </td>
                    <td class="small ellipsis mono" title={d.dataset.profile}>
                      {d.dataset.profile}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <RunModels run={run} />
        <RunModelVersions runId={row.id} />
      </div>
      <div>
        <ParamsCard row={row} />
        <MetricsCard row={row} tick={tick} system={false} />
        {hasSystemMetrics(row) && <MetricsCard row={row} tick={tick} system={true} />}
        <section class="card">
          <h2>Tags</h2>
          <TagEditor tags={tags.filter((t) => t.key !== NOTE_TAG)} onSet={setTag} onDelete={delTag} />
        </section>
      </div>
    </div>
  );
}

function ParamsCard({ row }: { row: RunRow }) {
  const [q, setQ] = useState('');
  const keys = Object.keys(row.params).sort();
  const shown = keys.filter((k) => !q || k.toLowerCase().includes(q.toLowerCase()) || row.params[k].toLowerCase().includes(q.toLowerCase()));
  return (
    <section class="card">
      <div class="card-head">
        <h2>
          Parameters <span class="muted small">({keys.length})</span>
        </h2>
        {keys.length > 8 && (
          <input type="search" placeholder="Search" aria-label="Search parameters" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
        )}
      </div>
      {keys.length === 0 ? (
        <p class="muted">No parameters</p>
      ) : (
        <div class="scroll-y">
          <table class="grid compact" aria-label="Parameters">
            <thead>
              <tr>
                <th>Name</th>
                <th>Value</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((k) => (
                <tr key={k}>
                  <td>{k}</td>
                  <td class="mono wrap">{row.params[k]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** MLflow's system metrics (CPU, memory, GPU: `system/...`) are kept apart from the model's metrics. */
const isSystemMetric = (k: string) => k.startsWith('system/');
const hasSystemMetrics = (row: RunRow) => Object.keys(row.metrics).some(isSystemMetric);

function MetricsCard({ row, tick, system }: { row: RunRow; tick: number; system: boolean }) {
  const keys = Object.keys(row.metrics)
    .filter((k) => isSystemMetric(k) === system)
    .sort();
  // min/max over the full history: one request, buckets=0 asks only for total/min/max
  const stats = useAsync(
    async (s) => {
      const series = await fetchDownsampled({ runIds: [row.id], keys, buckets: 0, axis: 'step' }, s);
      return new Map(series.map((x) => [x.metric_key, x]));
    },
    [row.id, keys.join('\u0000'), tick],
  );
  const latest = new Map((row.run.data.metrics || []).map((m) => [m.key, m]));
  return (
    <section class="card">
      <h2>
        {system ? 'System metrics' : 'Metrics'} <span class="muted small">({keys.length})</span>
      </h2>
      {keys.length === 0 ? (
        <p class="muted">No metrics</p>
      ) : (
        <div class="scroll-y">
          <table class="grid compact" aria-label={system ? 'System metrics' : 'Metrics'}>
            <thead>
              <tr>
                <th>Name</th>
                <th class="right">Last</th>
                <th class="right">Min</th>
                <th class="right">Max</th>
                <th class="right">Step</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => {
                const st = stats.data?.get(k);
                const n = (v: number | string | null | undefined) => (v === null || v === undefined ? '' : fmtNumber(toNumber(v)));
                return (
                  <tr key={k}>
                    <td>
                      <a href={`#/experiments/${row.run.info.experiment_id}/runs/${row.id}?tab=${system ? 'system' : 'charts'}`}>{k}</a>
                    </td>
                    <td class="right num">{fmtNumber(row.metrics[k])}</td>
                    <td class="right num">{n(st?.min)}</td>
                    <td class="right num">{n(st?.max)}</td>
                    <td class="right num muted">{latest.get(k)?.step ?? ''}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <ErrorBox error={stats.error} />
    </section>
  );
}

function RunCharts({ row, tick, running, system }: { row: RunRow; tick: number; running: boolean; system: boolean }) {
  const [s, setS] = useState<ChartSettings>({ x: 'step', smooth: 0, log: false });
  const [q, setQ] = useState('');
  const keys = Object.keys(row.metrics)
    .filter((k) => isSystemMetric(k) === system)
    .sort()
    .filter((k) => !q || k.toLowerCase().includes(q.toLowerCase()));
  return (
    <div class="charts-view">
      <ChartControls s={s} onChange={setS} filter={q} onFilter={setQ} refreshing={running} />
      <MetricCharts runs={[row]} keys={keys} settings={s} refreshTick={tick} buckets={1000} />
    </div>
  );
}

/** The logged models this run produced, by name, each with a link and a Register button. */
function RunModels({ run }: { run: Run }) {
  const outputs = run.outputs?.model_outputs || [];
  const ids = [...new Set(outputs.map((m) => m.model_id))];
  const models = useAsync(
    (s) =>
      pool(ids, 4, (id) =>
        get<{ model: LoggedModel }>(`logged-models/${encodeURIComponent(id)}`, undefined, s).then(
          (r) => r.model,
          () => null,
        ),
      ),
    [ids.join(',')],
  );
  const [registering, setRegistering] = useState<string | null>(null);
  const [done, setDone] = useState<string>();
  const exp = run.info.experiment_id;
  const byId = new Map((models.data || []).filter((m): m is LoggedModel => !!m).map((m) => [m.info.model_id, m]));
  return (
    <section class="card">
      <h2>
        Logged models <span class="muted small">({ids.length})</span>
      </h2>
      {ids.length === 0 ? (
        <p class="muted">No logged models</p>
      ) : (
        <table class="grid compact" aria-label="Logged models of this run">
          <tbody>
            {ids.map((id) => {
              const m = byId.get(id);
              const step = outputs.find((o) => o.model_id === id)?.step;
              return (
                <tr key={id}>
                  <td>
                    <a href={hrefs.loggedModel(exp, id)} title={id}>
                      {m?.info.name || id}
                    </a>
                    {m?.info.model_type && <span class="pill">{m.info.model_type}</span>}
                  </td>
                  <td class="mono small muted">
                    {id}
                    {step !== undefined && step !== null && <> · step {step}</>}
                  </td>
                  <td class="actions">
                    <button onClick={() => setRegistering(id)}>Register model</button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {done && (
        <p class="small" role="status">
          {done}
        </p>
      )}
      {registering && (
        <RegisterModel
          source={`models:/${registering}`}
          runId={run.info.run_id}
          modelId={registering}
          onClose={() => setRegistering(null)}
          onDone={(name, version) => {
            setRegistering(null);
            setDone(`Registered ${name} version ${version}.`);
          }}
        />
      )}
    </section>
  );
}

/** The registered model versions whose source is this run. */
function RunModelVersions({ runId }: { runId: string }) {
  const versions = useAsync(
    (s) =>
      get<{ model_versions?: ModelVersion[] }>('model-versions/search', { filter: `run_id = '${runId}'`, max_results: 200 }, s).then(
        (r) => r.model_versions || [],
      ),
    [runId],
  );
  const list = versions.data || [];
  if (list.length === 0 && !versions.error) return null;
  return (
    <section class="card">
      <h2>
        Registered model versions <span class="muted small">({list.length})</span>
      </h2>
      <ErrorBox error={versions.error} />
      <ul class="plain">
        {list.map((v) => (
          <li key={v.name + '/' + v.version}>
            <a href={hrefs.version(v.name, String(v.version))}>
              {v.name} version {v.version}
            </a>
            {v.current_stage && v.current_stage !== 'None' && <span class="pill">{v.current_stage}</span>}
            {(v.aliases || []).map((a) => (
              <span key={a} class="pill alias">
                @{a}
              </span>
            ))}
          </li>
        ))}
      </ul>
    </section>
  );
}
