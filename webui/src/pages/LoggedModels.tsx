import { useMemo, useState } from 'preact/hooks';
import { get, post, searchAll } from '../lib/api';
import { ArtifactBrowser, loggedModelArtifacts } from '../components/Artifacts';
import { fmtAgo, fmtNumber, fmtTime, plural } from '../lib/format';
import { toNumber } from '../lib/runs';
import type { LoggedModel } from '../lib/types';
import { hrefs, type Route } from '../lib/url';
import { ErrorBox, Spinner, TagEditor, useAsync } from '../components/common';
import { LinkedTraces } from './Traces';
import { traceFilterForModel } from '../lib/traces';
import { SortTh, useSorted } from '../components/SortableHead';
import { RegisterModel } from '../components/Forms';
import type { Run } from '../lib/types';

/** Run names for run ids, in one runs/search per 100 ids. */
async function runNames(expIds: string[], ids: string[], signal?: AbortSignal): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const uniq = [...new Set(ids)];
  for (let i = 0; i < uniq.length; i += 100) {
    const chunk = uniq.slice(i, i + 100);
    const r = await post<{ runs?: Run[] }>(
      'runs/search',
      {
        experiment_ids: expIds,
        filter: `attributes.run_id IN (${chunk.map((x) => `'${x}'`).join(', ')})`,
        max_results: 100,
        run_view_type: 'ALL',
      },
      signal,
    );
    for (const run of r.runs || []) out.set(run.info.run_id, run.info.run_name || run.info.run_id);
  }
  return out;
}

const modelValue = (m: LoggedModel, id: string): string | number | null => {
  if (id === 'name') return m.info.name.toLowerCase();
  if (id === 'created') return m.info.creation_timestamp_ms ?? null;
  if (id.startsWith('metrics.')) {
    const x = (m.data?.metrics || []).find((k) => k.key === id.slice(8));
    return x ? toNumber(x.value) : null;
  }
  if (id.startsWith('params.')) return (m.data?.params || []).find((k) => k.key === id.slice(7))?.value ?? null;
  return null;
};

export function LoggedModelsList({ expIds }: { expIds: string[] }) {
  const models = useAsync(
    (s) =>
      searchAll<LoggedModel>(async (token) => {
        const r = await post<{ models?: LoggedModel[]; next_page_token?: string }>(
          'logged-models/search',
          {
            experiment_ids: expIds,
            max_results: 100,
            page_token: token,
            order_by: [{ field_name: 'creation_time', ascending: false }],
          },
          s,
        );
        return { items: r.models || [], next: r.next_page_token };
      }),
    [expIds.join(',')],
  );
  const runIds = (models.data || []).map((m) => m.info.source_run_id).filter((x): x is string => !!x);
  const names = useAsync((s) => runNames(expIds, runIds, s), [runIds.join(',')]);
  const metricKeys = useMemo(() => [...new Set((models.data || []).flatMap((m) => (m.data?.metrics || []).map((x) => x.key)))].sort(), [models.data]);
  const paramKeys = useMemo(() => [...new Set((models.data || []).flatMap((m) => (m.data?.params || []).map((x) => x.key)))].sort(), [models.data]);
  const { sorted: list, sort, toggle } = useSorted(models.data || [], modelValue);
  if (models.error) return <ErrorBox error={models.error} title="Could not load logged models" />;
  if (!models.data) return <Spinner />;
  const shownMetrics = metricKeys.slice(0, 8);
  const shownParams = paramKeys.slice(0, 6);
  return (
    <div class="card flush">
      <div class="scroll-x">
        <table class="grid" aria-label="Logged models">
          <thead>
            <tr>
              <SortTh id="name" label="Name" sort={sort} onSort={toggle} />
              <th>Model ID</th>
              <th>Status</th>
              <th>Type</th>
              <th>Source run</th>
              <SortTh id="created" label="Created" sort={sort} onSort={toggle} descFirst />
              {shownMetrics.map((k) => (
                <SortTh key={k} id={'metrics.' + k} label={k} sort={sort} onSort={toggle} descFirst class="right" />
              ))}
              {shownParams.map((k) => (
                <SortTh key={k} id={'params.' + k} label={k} sort={sort} onSort={toggle} />
              ))}
            </tr>
          </thead>
          <tbody>
            {list.map((m) => (
              <tr key={m.info.model_id}>
                <td>
                  <a class="strong" href={hrefs.loggedModel(m.info.experiment_id, m.info.model_id)}>
                    {m.info.name}
                  </a>
                </td>
                <td class="mono small">{m.info.model_id}</td>
                <td>
                  <span class="pill">{(m.info.status || '').replace('LOGGED_MODEL_', '').toLowerCase()}</span>
                </td>
                <td>{m.info.model_type}</td>
                <td>
                  {m.info.source_run_id ? (
                    <a href={hrefs.run(m.info.experiment_id, m.info.source_run_id)} title={m.info.source_run_id}>
                      {names.data?.get(m.info.source_run_id) || m.info.source_run_id.slice(0, 12)}
                    </a>
                  ) : (
                    ''
                  )}
                </td>
                <td title={fmtTime(m.info.creation_timestamp_ms)}>{fmtAgo(m.info.creation_timestamp_ms)}</td>
                {shownMetrics.map((k) => {
                  const v = modelValue(m, 'metrics.' + k);
                  return (
                    <td key={k} class="right num">
                      {v === null ? '' : fmtNumber(v as number)}
                    </td>
                  );
                })}
                {shownParams.map((k) => (
                  <td key={k} class="mono small">
                    {modelValue(m, 'params.' + k) ?? ''}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {list.length === 0 && <p class="empty">No logged models in this experiment.</p>}
      <p class="muted small pad">{plural(list.length, 'logged model')}</p>
    </div>
  );
}

export function LoggedModelPage({ route }: { route: Extract<Route, { page: 'logged-model' }> }) {
  const [path, setPath] = useState('');
  const [registering, setRegistering] = useState(false);
  const [registered, setRegistered] = useState<string>();
  const m = useAsync(
    (s) => get<{ model: LoggedModel }>(`logged-models/${encodeURIComponent(route.modelId)}`, undefined, s).then((r) => r.model),
    [route.modelId],
  );
  if (m.error)
    return (
      <div class="page">
        <ErrorBox error={m.error} title="Could not load logged model" />
      </div>
    );
  if (!m.data)
    return (
      <div class="page">
        <Spinner />
      </div>
    );
  const { info, data } = m.data;
  const regs = (info.tags || []).find((t) => t.key === 'mlflow.modelVersions')?.value;
  let versions: { name: string; version: string | number }[] = [];
  try {
    versions = regs ? JSON.parse(regs) : [];
  } catch {
    /* not JSON */
  }
  const uniq = [...new Map(versions.map((v) => [`${v.name}/${v.version}`, v])).values()];
  const registerButton = <button onClick={() => setRegistering(true)}>Register model</button>;
  return (
    <div class="page">
      <div class="page-head">
        <div>
          <div class="crumbs">
            <a href={hrefs.experiments()}>Experiments</a> / <a href={hrefs.runs(info.experiment_id, { view: 'models' })}>Logged models</a> /
          </div>
          <h1>
            {info.name} <span class="muted small mono">{info.model_id}</span>
          </h1>
        </div>
        {registerButton}
      </div>
      {registered && (
        <p class="small" role="status">
          {registered}
        </p>
      )}
      {registering && (
        <RegisterModel
          source={`models:/${info.model_id}`}
          runId={info.source_run_id}
          modelId={info.model_id}
          onClose={() => setRegistering(false)}
          onDone={(name, version) => {
            setRegistering(false);
            setRegistered(`Registered ${name} version ${version}.`);
            m.reload();
          }}
        />
      )}
      <div class="two-col wide-left">
        <section class="card">
          <table class="kv details">
            <tbody>
              <tr>
                <th>Status</th>
                <td>{info.status}</td>
              </tr>
              <tr>
                <th>Type</th>
                <td>{info.model_type || '—'}</td>
              </tr>
              <tr>
                <th>Created</th>
                <td>{fmtTime(info.creation_timestamp_ms)}</td>
              </tr>
              <tr>
                <th>Source run</th>
                <td>{info.source_run_id ? <a href={hrefs.run(info.experiment_id, info.source_run_id)}>{info.source_run_id}</a> : '—'}</td>
              </tr>
              <tr>
                <th>Artifact URI</th>
                <td class="mono small">{info.artifact_uri}</td>
              </tr>
              <tr>
                <th>Registered versions</th>
                <td>
                  {uniq.length === 0 ? (
                    <span class="muted">none</span>
                  ) : (
                    uniq.map((v) => (
                      <a class="pill" key={`${v.name}/${v.version}`} href={hrefs.version(v.name, String(v.version))}>
                        {v.name} v{v.version}
                      </a>
                    ))
                  )}
                </td>
              </tr>
            </tbody>
          </table>
        </section>
        <section class="card">
          <h2>Tags</h2>
          <TagEditor tags={info.tags || []} />
        </section>
      </div>
      <h2>Artifacts</h2>
      <ArtifactBrowser source={loggedModelArtifacts(info.model_id)} path={path} onPath={setPath} />
      <div class="two-col">
        <section class="card">
          <h2>Parameters</h2>
          {(data?.params || []).length === 0 ? (
            <p class="muted">No parameters</p>
          ) : (
            <table class="grid compact">
              <tbody>
                {(data?.params || []).map((p) => (
                  <tr key={p.key}>
                    <td>{p.key}</td>
                    <td class="mono">{p.value}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section class="card">
          <h2>Metrics</h2>
          {(data?.metrics || []).length === 0 ? (
            <p class="muted">No metrics</p>
          ) : (
            <table class="grid compact">
              <tbody>
                {(data?.metrics || []).map((x, i) => (
                  <tr key={i}>
                    <td>{x.key}</td>
                    <td class="num right">{fmtNumber(toNumber(x.value))}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
      <LinkedTraces expId={info.experiment_id} filter={traceFilterForModel(info.model_id)} title="Traces of this model" />
    </div>
  );
}
