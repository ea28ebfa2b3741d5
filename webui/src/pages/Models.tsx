import { useEffect, useState } from 'preact/hooks';
import { del, get, modelVersionArtifactUrl, patch, post, searchAll } from '../lib/api';
import { fmtAgo, fmtTime, plural } from '../lib/format';
import { getRun } from '../lib/load';
import type { LoggedModel, ModelVersion, RegisteredModel } from '../lib/types';
import { hrefs, routeToHash, type Route } from '../lib/url';
import { EditableMarkdown, ErrorBox, Spinner, TagEditor, navigate, useAsync } from '../components/common';
import { ArtifactPreview } from '../components/Artifacts';
import { TextPrompt } from '../components/Forms';
import { PermissionsButton } from '../components/Permissions';
import { registryResourceType } from '../lib/auth';
import { parseSignature, type Signature, type SignatureField } from '../lib/signature';

const q1 = (s: string) => s.replace(/'/g, "\\'");

export function ModelsPage({ route }: { route: Extract<Route, { page: 'models' }> }) {
  const [q, setQ] = useState(route.q);
  const models = useAsync(
    (s) =>
      searchAll<RegisteredModel>(async (token) => {
        const r = await get<{ registered_models?: RegisteredModel[]; next_page_token?: string }>(
          'registered-models/search',
          {
            max_results: 1000,
            page_token: token,
            filter: route.q ? `name ILIKE '%${q1(route.q)}%'` : undefined,
            order_by: 'name ASC',
          },
          s,
        );
        return { items: r.registered_models || [], next: r.next_page_token };
      }),
    [route.q],
  );
  // prompts live in the same registry (tag mlflow.prompt.is_prompt); this page lists models only
  const list = (models.data || []).filter((m) => !(m.tags || []).some((t) => t.key === 'mlflow.prompt.is_prompt' && t.value === 'true'));
  const [creating, setCreating] = useState(false);
  return (
    <div class="page">
      <div class="page-head">
        <h1>Registered models</h1>
        <button class="primary" onClick={() => setCreating(true)}>
          Create model
        </button>
      </div>
      {creating && (
        <TextPrompt
          title="Create registered model"
          label="Model name"
          submit="Create"
          onClose={() => setCreating(false)}
          onSubmit={async (name) => {
            await post('registered-models/create', { name });
            navigate(hrefs.model(name));
          }}
        />
      )}
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(routeToHash({ page: 'models', q }), true);
        }}
      >
        <input
          type="search"
          class="grow"
          placeholder="Search models by name"
          aria-label="Search models"
          value={q}
          onInput={(e) => setQ((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={models.error} />
      {models.loading && !models.data ? (
        <Spinner />
      ) : (
        <div class="card flush">
          <table class="grid" aria-label="Registered models">
            <thead>
              <tr>
                <th>Name</th>
                <th>Latest version</th>
                <th>Aliases</th>
                <th>Created</th>
                <th>Last modified</th>
                <th>Tags</th>
                <th>Description</th>
              </tr>
            </thead>
            <tbody>
              {list.map((m) => {
                const latest = (m.latest_versions || []).reduce((a, v) => Math.max(a, Number(v.version)), 0);
                return (
                  <tr key={m.name}>
                    <td>
                      <a class="strong" href={hrefs.model(m.name)}>
                        {m.name}
                      </a>
                    </td>
                    <td>{latest ? <a href={hrefs.version(m.name, String(latest))}>Version {latest}</a> : <span class="muted">—</span>}</td>
                    <td>
                      {(m.aliases || []).map((a) => (
                        <span class="pill alias" key={a.alias}>
                          @{a.alias} → v{a.version}
                        </span>
                      ))}
                    </td>
                    <td title={fmtTime(m.creation_timestamp)}>{fmtAgo(m.creation_timestamp)}</td>
                    <td title={fmtTime(m.last_updated_timestamp)}>{fmtAgo(m.last_updated_timestamp)}</td>
                    <td>
                      {(m.tags || [])
                        .filter((t) => !t.key.startsWith('mlflow.'))
                        .slice(0, 3)
                        .map((t) => (
                          <span class="pill" key={t.key}>
                            {t.key}: {t.value}
                          </span>
                        ))}
                    </td>
                    <td class="ellipsis muted" title={m.description}>
                      {(m.description || '').split('\n')[0]}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {list.length === 0 && <p class="empty">No registered models{route.q ? ' match your search' : ''}.</p>}
        </div>
      )}
      {models.data && <p class="muted small">{plural(list.length, 'model')}</p>}
    </div>
  );
}

export function ModelPage({ route }: { route: Extract<Route, { page: 'model' }> }) {
  const model = useAsync(
    (s) => get<{ registered_model: RegisteredModel }>('registered-models/get', { name: route.name }, s).then((r) => r.registered_model),
    [route.name],
  );
  const versions = useAsync(
    (s) =>
      searchAll<ModelVersion>(async (token) => {
        const r = await get<{ model_versions?: ModelVersion[]; next_page_token?: string }>(
          'model-versions/search',
          {
            filter: `name = '${q1(route.name)}'`,
            max_results: 10000,
            page_token: token,
          },
          s,
        );
        return { items: r.model_versions || [], next: r.next_page_token };
      }).then((vs) => vs.sort((a, b) => Number(b.version) - Number(a.version))),
    [route.name],
  );
  const [renaming, setRenaming] = useState(false);
  const [err, setErr] = useState<Error>();
  if (model.error)
    return (
      <div class="page">
        <ErrorBox error={model.error} title="Could not load model" />
      </div>
    );
  const m = model.data;
  if (!m)
    return (
      <div class="page">
        <Spinner />
      </div>
    );
  const aliasesOf = (v: string) => (m.aliases || []).filter((a) => a.version === v).map((a) => a.alias);
  const remove = () => {
    const n = versions.data?.length || 0;
    if (!confirm(`Delete registered model "${m.name}"${n ? ` and its ${plural(n, 'version')}` : ''}?`)) return;
    del('registered-models/delete', { name: m.name }).then(() => navigate(hrefs.models()), setErr);
  };
  return (
    <div class="page">
      <div class="page-head">
        <div>
          <div class="crumbs">
            <a href={hrefs.models()}>Registered models</a> /
          </div>
          <h1>{m.name}</h1>
        </div>
        <div class="row">
          <PermissionsButton resourceType={registryResourceType(m.tags)} resourceId={m.name} />
          <button onClick={() => setRenaming(true)}>Rename</button>
          <button class="danger" onClick={remove}>
            Delete
          </button>
        </div>
      </div>
      <ErrorBox error={err} />
      {renaming && (
        <TextPrompt
          title="Rename registered model"
          label="New name"
          initial={m.name}
          onClose={() => setRenaming(false)}
          onSubmit={async (name) => {
            await post('registered-models/rename', { name: m.name, new_name: name });
            navigate(hrefs.model(name), true);
          }}
        />
      )}
      <div class="two-col wide-left">
        <section class="card">
          <table class="kv details">
            <tbody>
              <tr>
                <th>Created</th>
                <td>{fmtTime(m.creation_timestamp)}</td>
              </tr>
              <tr>
                <th>Last modified</th>
                <td>{fmtTime(m.last_updated_timestamp)}</td>
              </tr>
              <tr>
                <th>Aliases</th>
                <td>
                  {(m.aliases || []).length === 0 ? (
                    <span class="muted">none</span>
                  ) : (
                    (m.aliases || []).map((a) => (
                      <a class="pill alias" key={a.alias} href={hrefs.version(m.name, a.version)}>
                        @{a.alias} → v{a.version}
                      </a>
                    ))
                  )}
                </td>
              </tr>
            </tbody>
          </table>
          <h2>Description</h2>
          <EditableMarkdown text={m.description || ''} onSave={(d) => patch('registered-models/update', { name: m.name, description: d }).then(model.reload)} />
        </section>
        <section class="card">
          <h2>Tags</h2>
          <TagEditor
            tags={m.tags || []}
            onSet={(key, value) => post('registered-models/set-tag', { name: m.name, key, value }).then(model.reload)}
            onDelete={(key) => del('registered-models/delete-tag', { name: m.name, key }).then(model.reload)}
          />
        </section>
      </div>
      <section class="card flush">
        <h2 class="pad">
          Versions <span class="muted small">({versions.data?.length ?? '…'})</span>
        </h2>
        <ErrorBox error={versions.error} />
        <table class="grid" aria-label="Model versions">
          <thead>
            <tr>
              <th>Version</th>
              <th>Registered</th>
              <th>Aliases</th>
              <th>Stage</th>
              <th>Status</th>
              <th>Source run</th>
              <th>Description</th>
              <th>Tags</th>
            </tr>
          </thead>
          <tbody>
            {(versions.data || []).map((v) => (
              <tr key={v.version}>
                <td>
                  <a class="strong" href={hrefs.version(v.name, v.version)}>
                    Version {v.version}
                  </a>
                </td>
                <td title={fmtTime(v.creation_timestamp)}>{fmtAgo(v.creation_timestamp)}</td>
                <td>
                  {aliasesOf(v.version).map((a) => (
                    <span class="pill alias" key={a}>
                      @{a}
                    </span>
                  ))}
                </td>
                <td>
                  <Stage stage={v.current_stage} />
                </td>
                <td>{v.status}</td>
                <td class="mono small">{v.run_id ? <RunLink runId={v.run_id} /> : <span class="muted">—</span>}</td>
                <td class="ellipsis">{v.description}</td>
                <td>
                  {(v.tags || [])
                    .filter((t) => !t.key.startsWith('mlflow.'))
                    .map((t) => (
                      <span class="pill" key={t.key}>
                        {t.key}: {t.value}
                      </span>
                    ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}

const Stage = ({ stage }: { stage?: string }) =>
  stage && stage !== 'None' ? <span class={'pill stage-' + stage.toLowerCase()}>{stage}</span> : <span class="muted">None</span>;

/** Link to a run; resolves its experiment (and name) lazily. */
function RunLink({ runId }: { runId: string }) {
  const run = useAsync((s) => getRun(runId, s).catch(() => null), [runId]);
  const r = run.data;
  if (!r) return <span title={runId}>{runId.slice(0, 12)}</span>;
  return <a href={hrefs.run(r.info.experiment_id, runId)}>{r.info.run_name || runId.slice(0, 12)}</a>;
}

function loggedModelIdOf(v: ModelVersion): string | null {
  if (v.model_id) return v.model_id;
  const m = /^models:\/(m-[0-9a-f]+)/.exec(v.source || '');
  return m ? m[1] : null;
}

export function VersionPage({ route }: { route: Extract<Route, { page: 'version' }> }) {
  const mv = useAsync(
    (s) => get<{ model_version: ModelVersion }>('model-versions/get', { name: route.name, version: route.version }, s).then((r) => r.model_version),
    [route.name, route.version],
  );
  const model = useAsync(
    (s) => get<{ registered_model: RegisteredModel }>('registered-models/get', { name: route.name }, s).then((r) => r.registered_model),
    [route.name],
  );
  const run = useAsync(async (s) => (mv.data?.run_id ? getRun(mv.data.run_id, s).catch(() => null) : null), [mv.data?.run_id]);
  const lmId = mv.data ? loggedModelIdOf(mv.data) : null;
  const lm = useAsync(
    async (s) =>
      lmId
        ? get<{ model: LoggedModel }>(`logged-models/${encodeURIComponent(lmId)}`, undefined, s)
            .then((r) => r.model)
            .catch(() => null)
        : null,
    [lmId],
  );
  const [showMl, setShowMl] = useState(false);
  const [err, setErr] = useState<Error>();
  if (mv.error)
    return (
      <div class="page">
        <ErrorBox error={mv.error} title="Could not load model version" />
      </div>
    );
  const v = mv.data;
  if (!v)
    return (
      <div class="page">
        <Spinner />
      </div>
    );
  const aliases = (model.data?.aliases || v.aliases?.map((a) => ({ alias: a, version: v.version })) || [])
    .filter((a) => a.version === v.version)
    .map((a) => a.alias);
  const r = run.data;
  return (
    <div class="page">
      <div class="page-head">
        <div>
          <div class="crumbs">
            <a href={hrefs.models()}>Registered models</a> / <a href={hrefs.model(v.name)}>{v.name}</a> /
          </div>
          <h1>
            Version {v.version}{' '}
            {aliases.map((a) => (
              <span class="pill alias" key={a}>
                @{a}
              </span>
            ))}
          </h1>
        </div>
        <button
          class="danger"
          onClick={() =>
            confirm(`Delete version ${v.version} of "${v.name}"?`) &&
            del('model-versions/delete', { name: v.name, version: v.version }).then(() => navigate(hrefs.model(v.name)), setErr)
          }
        >
          Delete version
        </button>
      </div>
      <ErrorBox error={err} />
      <div class="two-col wide-left">
        <section class="card">
          <table class="kv details">
            <tbody>
              <tr>
                <th>Registered</th>
                <td>{fmtTime(v.creation_timestamp)}</td>
              </tr>
              <tr>
                <th>Last modified</th>
                <td>{fmtTime(v.last_updated_timestamp)}</td>
              </tr>
              {v.user_id && (
                <tr>
                  <th>Creator</th>
                  <td>{v.user_id}</td>
                </tr>
              )}
              <tr>
                <th>Stage</th>
                <td>
                  <StageSelect v={v} onChange={mv.reload} />
                </td>
              </tr>
              <tr>
                <th>Aliases</th>
                <td>
                  <AliasEditor name={v.name} version={v.version} aliases={aliases} onChange={model.reload} />
                </td>
              </tr>
              <tr>
                <th>Status</th>
                <td>
                  {v.status}
                  {v.status_message && <span class="muted"> — {v.status_message}</span>}
                </td>
              </tr>
              <tr>
                <th>Source run</th>
                <td>
                  {v.run_id ? (
                    r ? (
                      <a href={hrefs.run(r.info.experiment_id, v.run_id)}>{r.info.run_name || v.run_id}</a>
                    ) : (
                      <span class="mono">{v.run_id}</span>
                    )
                  ) : (
                    <span class="muted">—</span>
                  )}
                </td>
              </tr>
              <tr>
                <th>Logged model</th>
                <td>
                  {lmId ? (
                    <a href={hrefs.loggedModel(lm.data?.info.experiment_id || r?.info.experiment_id || '0', lmId)}>
                      {lm.data?.info.name ? `${lm.data.info.name} (${lmId})` : lmId}
                    </a>
                  ) : (
                    <span class="muted">—</span>
                  )}
                </td>
              </tr>
              <tr>
                <th>Source</th>
                <td class="mono small">{v.source}</td>
              </tr>
            </tbody>
          </table>
          <h2>Description</h2>
          <EditableMarkdown
            text={v.description || ''}
            onSave={(d) => patch('model-versions/update', { name: v.name, version: v.version, description: d }).then(mv.reload)}
          />
        </section>
        <section class="card">
          <h2>Tags</h2>
          <TagEditor
            tags={v.tags || []}
            onSet={(key, value) => post('model-versions/set-tag', { name: v.name, version: v.version, key, value }).then(mv.reload)}
            onDelete={(key) => del('model-versions/delete-tag', { name: v.name, version: v.version, key }).then(mv.reload)}
          />
        </section>
      </div>
      <SignatureCard url={modelVersionArtifactUrl(v.name, v.version, 'MLmodel')} />
      <section class="card">
        <button class="link" aria-expanded={showMl} onClick={() => setShowMl(!showMl)}>
          {showMl ? '▾' : '▸'} MLmodel file
        </button>
        {showMl && <ArtifactPreview path="MLmodel" url={modelVersionArtifactUrl(v.name, v.version, 'MLmodel')} />}
      </section>
    </div>
  );
}

const STAGES = ['None', 'Staging', 'Production', 'Archived'];

function StageSelect({ v, onChange }: { v: ModelVersion; onChange: () => void }) {
  const [err, setErr] = useState<Error>();
  return (
    <span class="row">
      <select
        aria-label="Stage"
        value={v.current_stage || 'None'}
        onChange={(e) => {
          const stage = (e.target as HTMLSelectElement).value;
          post('model-versions/transition-stage', { name: v.name, version: v.version, stage, archive_existing_versions: false }).then(() => {
            setErr(undefined);
            onChange();
          }, setErr);
        }}
      >
        {STAGES.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
      <ErrorBox error={err} />
    </span>
  );
}

function AliasEditor({ name, version, aliases, onChange }: { name: string; version: string; aliases: string[]; onChange: () => void }) {
  const [alias, setAlias] = useState('');
  const [err, setErr] = useState<Error>();
  const run = (p: Promise<unknown>) =>
    p.then(() => {
      setErr(undefined);
      onChange();
    }, setErr);
  return (
    <div>
      <span class="row">
        {aliases.map((a) => (
          <span class="pill alias" key={a}>
            @{a}
            <button class="link small" aria-label={'Remove alias ' + a} onClick={() => run(del('registered-models/alias', { name, alias: a }))}>
              ×
            </button>
          </span>
        ))}
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (alias.trim()) run(post('registered-models/alias', { name, alias: alias.trim(), version }).then(() => setAlias('')));
          }}
        >
          <input aria-label="New alias" placeholder="alias" size={10} value={alias} onInput={(e) => setAlias((e.target as HTMLInputElement).value)} />
          <button type="submit">Add alias</button>
        </form>
      </span>
      <ErrorBox error={err} />
    </div>
  );
}

function FieldRows({ title, list }: { title: string; list: SignatureField[] }) {
  if (list.length === 0) return null;
  const withDefault = list.some((f) => f.default !== undefined);
  return (
    <div>
      <h3>
        {title} <span class="muted small">({list.length})</span>
      </h3>
      <table class="grid compact" aria-label={'Signature ' + title.toLowerCase()}>
        <thead>
          <tr>
            <th>Name</th>
            <th>Type</th>
            <th>Required</th>
            {withDefault && <th>Default</th>}
          </tr>
        </thead>
        <tbody>
          {list.map((f, i) => (
            <tr key={i}>
              <td class="mono">{f.name}</td>
              <td class="mono">{f.type}</td>
              <td>{f.required === false ? 'optional' : 'required'}</td>
              {withDefault && <td class="mono">{f.default === undefined ? '' : JSON.stringify(f.default)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The model signature (inputs, outputs, params) from the version's MLmodel file, as tables. */
function SignatureCard({ url }: { url: string }) {
  const [sig, setSig] = useState<Signature | null | undefined>(undefined);
  useEffect(() => {
    const ctl = new AbortController();
    fetch(url, { signal: ctl.signal })
      .then((r) => (r.ok ? r.text() : ''))
      .then(
        (t) => setSig(parseSignature(t)),
        () => setSig(null),
      );
    return () => ctl.abort();
  }, [url]);
  if (sig === undefined) return null;
  return (
    <section class="card signature">
      <h2>Signature</h2>
      {sig === null ? (
        <p class="muted">This model has no signature.</p>
      ) : (
        <div class="two-col">
          <FieldRows title="Inputs" list={sig.inputs} />
          <FieldRows title="Outputs" list={sig.outputs} />
          <FieldRows title="Params" list={sig.params} />
        </div>
      )}
    </section>
  );
}
