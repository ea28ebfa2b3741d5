import { useEffect, useMemo, useState } from 'preact/hooks';
import { fmtDuration, fmtTime, plural } from '../lib/format';
import {
  assessmentValue,
  createAssessment,
  currentAssessments,
  deleteAssessment,
  deleteTraceTag,
  deleteTraces,
  flattenTree,
  ganttBar,
  getTraceInfo,
  getTraceSpans,
  normalizeTrace,
  parseJsonValue,
  previewText,
  searchTracesPage,
  setTraceTag,
  spanDurationMs,
  spanTree,
  traceOrderBy,
  traceWindow,
  updateAssessment,
  type Assessment,
  type Span,
  type TraceRow,
} from '../lib/traces';
import { hrefs } from '../lib/url';
import { ErrorBox, Spinner, TagEditor, useAsync } from '../components/common';
import { VirtualTable, type Column } from '../components/VirtualTable';
import { JsonView } from '../components/JsonView';

export function TraceState({ state }: { state: string }) {
  const s = state.replace('STATE_', '');
  const cls = s === 'OK' ? 'finished' : s === 'ERROR' ? 'failed' : s === 'IN_PROGRESS' ? 'running' : 'scheduled';
  return <span class={'status status-' + cls}>{s === 'IN_PROGRESS' ? '● in progress' : s.toLowerCase()}</span>;
}

const short = (v: unknown): string => {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
};

function AssessmentChips({ list }: { list: Assessment[] }) {
  const cur = currentAssessments(list);
  if (cur.length === 0) return null;
  return (
    <span class="chips">
      {cur.slice(0, 4).map((a) => (
        <span class={'chip' + (a.expectation ? ' chip-exp' : '')} title={a.rationale || ''} key={a.assessment_id || a.assessment_name}>
          {a.assessment_name}: {short(assessmentValue(a)).slice(0, 40)}
        </span>
      ))}
      {cur.length > 4 && <span class="muted small">+{cur.length - 4}</span>}
    </span>
  );
}

/**
 * Load the traces of the experiments matching `filter`, page after page, calling onRows as each page
 * arrives: the first rows show after one round trip, and every trace is reachable.
 */
function useTraces(expIds: string[], filter: string, sort: string, desc: boolean, limit: number | null, version: number) {
  const [rows, setRows] = useState<TraceRow[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Error>();
  const [more, setMore] = useState(false);
  useEffect(() => {
    const ctl = new AbortController();
    setLoading(true);
    setError(undefined);
    setRows([]);
    (async () => {
      const all: TraceRow[] = [];
      let token: string | undefined;
      for (;;) {
        const want = limit === null ? undefined : Math.min(500, limit - all.length);
        const page = await searchTracesPage(expIds, filter, traceOrderBy(sort, desc), token, ctl.signal, want);
        if (ctl.signal.aborted) return;
        for (const t of page.traces || []) all.push(normalizeTrace(t));
        setRows(all.slice());
        token = page.next_page_token || undefined;
        if (!token || (page.traces || []).length === 0) {
          setMore(false);
          break;
        }
        if (limit !== null && all.length >= limit) {
          setMore(true);
          break;
        }
      }
      setLoading(false);
    })().catch((e) => {
      if (ctl.signal.aborted || e?.name === 'AbortError') return;
      setError(e);
      setLoading(false);
    });
    return () => ctl.abort();
  }, [expIds.join(','), filter, sort, desc, limit, version]);
  return { rows, loading, error, more };
}

function traceColumns(opts: { selectable: boolean; selected: Set<string>; toggle: (id: string) => void; showRun: boolean }): Column<TraceRow>[] {
  const cols: Column<TraceRow>[] = [];
  if (opts.selectable) {
    cols.push({
      id: 'sel',
      label: '',
      width: 34,
      sticky: true,
      render: (r) => <input type="checkbox" aria-label={'Select trace ' + r.id} checked={opts.selected.has(r.id)} onChange={() => opts.toggle(r.id)} />,
    });
  }
  cols.push(
    {
      id: 'id',
      label: 'Trace',
      width: 170,
      sticky: true,
      render: (r) => (
        <a class="mono" href={hrefs.trace(r.experimentId, r.id)} title={r.id}>
          {r.id}
        </a>
      ),
    },
    {
      id: 'request',
      label: 'Request',
      width: 280,
      render: (r) => (
        <span class="mono cell-preview" title={r.request}>
          {previewText(r.request)}
        </span>
      ),
    },
    {
      id: 'response',
      label: 'Response',
      width: 280,
      render: (r) => (
        <span class="mono cell-preview" title={r.response}>
          {previewText(r.response)}
        </span>
      ),
    },
    { id: 'name', label: 'Name', width: 140, sortable: true, render: (r) => r.name },
    { id: 'state', label: 'State', width: 100, sortable: true, render: (r) => <TraceState state={r.state} /> },
    { id: 'time', label: 'Request time', width: 160, sortable: true, render: (r) => fmtTime(r.timeMs) },
    { id: 'duration', label: 'Latency', width: 90, sortable: true, align: 'right', render: (r) => fmtDuration(r.durationMs) },
    {
      id: 'tokens',
      label: 'Tokens',
      width: 80,
      align: 'right',
      title: 'total tokens (input + output) where the spans report them',
      render: (r) => (r.tokens?.total_tokens ?? '') as any,
    },
    { id: 'assessments', label: 'Assessments', width: 260, render: (r) => <AssessmentChips list={r.assessments} /> },
  );
  if (opts.showRun) {
    cols.push({
      id: 'run',
      label: 'Run',
      width: 120,
      render: (r) =>
        r.runId && (
          <a class="mono" href={hrefs.run(r.experimentId, r.runId)}>
            {r.runId.slice(0, 8)}
          </a>
        ),
    });
  }
  cols.push({
    id: 'tags',
    label: 'Tags',
    width: 240,
    render: (r) => (
      <span class="small">
        {Object.entries(r.tags)
          .filter(([k]) => !k.startsWith('mlflow.'))
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}
      </span>
    ),
  });
  return cols;
}

/** The Traces tab of an experiment: MLflow's filter syntax, server-side sort, every trace reachable. */
export function TracesList({
  expIds,
  filter,
  sort,
  onChange,
}: {
  expIds: string[];
  filter: string;
  sort: string;
  onChange: (p: { tf?: string; ts?: string }) => void;
}) {
  const desc = sort === '' || sort.startsWith('-');
  const sortId = sort === '' ? 'time' : sort.replace(/^-/, '');
  const [version, setVersion] = useState(0);
  const { rows, loading, error, more } = useTraces(expIds, filter, sortId, desc, null, version);
  const [text, setText] = useState(filter);
  useEffect(() => setText(filter), [filter]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [delErr, setDelErr] = useState<Error>();
  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const columns = useMemo(() => traceColumns({ selectable: expIds.length === 1, selected, toggle, showRun: true }), [selected, expIds.length]);
  const onSort = (id: string) => onChange({ ts: id === sortId ? (desc ? id : '-' + id) : '-' + id });
  const remove = async () => {
    if (!confirm(`Delete ${plural(selected.size, 'trace')}?`)) return;
    try {
      await deleteTraces(expIds[0], [...selected]);
      setSelected(new Set());
      setVersion((v) => v + 1);
    } catch (e: any) {
      setDelErr(e);
    }
  };
  return (
    <div class="traces-list">
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          onChange({ tf: text.trim() });
        }}
      >
        <input
          type="search"
          class="mono grow"
          aria-label="Filter traces"
          spellcheck={false}
          value={text}
          placeholder={"Filter traces, e.g. trace.status = 'ERROR' and tags.env = 'prod' or request_preview LIKE '%refund%'"}
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Search</button>
        {selected.size > 0 && (
          <button type="button" class="danger" onClick={remove}>
            Delete {plural(selected.size, 'trace')}
          </button>
        )}
      </form>
      <ErrorBox error={error} />
      <ErrorBox error={delErr} />
      <div class="muted small status-line" aria-live="polite">
        {plural(rows.length, 'trace')}
        {loading ? ' loaded, loading more…' : ''}
        {more ? ' (more available)' : ''}
      </div>
      <div class="table-wrap">
        <VirtualTable
          rows={rows}
          columns={columns}
          rowKey={(r) => r.id}
          sortId={sortId}
          sortDesc={desc}
          onSort={onSort}
          label="Traces"
          empty={
            loading ? (
              <Spinner />
            ) : (
              <span class="muted">No traces{filter ? ' match this filter' : ' in this experiment yet: log some with @mlflow.trace'}.</span>
            )
          }
        />
      </div>
    </div>
  );
}

/** Traces linked to a run or a logged model (the first page, with a link to all of them). */
export function LinkedTraces({ expId, filter, title = 'Traces' }: { expId: string; filter: string; title?: string }) {
  const [limit, setLimit] = useState(100);
  const { rows, loading, error, more } = useTraces([expId], filter, 'time', true, limit, 0);
  const columns = useMemo(() => traceColumns({ selectable: false, selected: new Set(), toggle: () => {}, showRun: false }), []);
  if (!loading && !error && rows.length === 0) return null;
  return (
    <div class="card linked-traces">
      <div class="card-head">
        <h2>
          {title}{' '}
          <span class="muted small">
            {plural(rows.length, 'trace')}
            {more ? '+' : ''}
          </span>
        </h2>
        <a href={hrefs.runs(expId, { view: 'traces', tf: filter } as any)}>Open in the Traces tab</a>
      </div>
      <ErrorBox error={error} />
      <div class="table-wrap short">
        <VirtualTable rows={rows} columns={columns} rowKey={(r) => r.id} label={title} empty={loading ? <Spinner /> : null} />
      </div>
      {more && (
        <button class="link" onClick={() => setLimit((l) => l + 500)}>
          Load more
        </button>
      )}
    </div>
  );
}

// ---- the trace page ----

function SpanRow({
  node,
  selected,
  win,
  collapsed,
  onSelect,
  onToggle,
}: {
  node: ReturnType<typeof flattenTree>[number];
  selected: boolean;
  win: { start: number; end: number };
  collapsed: boolean;
  onSelect: () => void;
  onToggle: () => void;
}) {
  const s = node.span;
  const bar = ganttBar(s, win);
  return (
    <div
      role="treeitem"
      aria-selected={selected}
      aria-level={node.depth + 1}
      aria-expanded={node.children.length ? !collapsed : undefined}
      class={'span-row' + (selected ? ' sel' : '') + (s.status === 'ERROR' ? ' err' : '')}
      onClick={onSelect}
      data-span={s.id}
    >
      <div class="span-name" style={{ paddingLeft: 6 + node.depth * 14 + 'px' }}>
        {node.children.length > 0 ? (
          <button
            class="json-toggle"
            aria-label={collapsed ? 'Expand' : 'Collapse'}
            onClick={(e) => {
              e.stopPropagation();
              onToggle();
            }}
          >
            {collapsed ? '▸' : '▾'}
          </button>
        ) : (
          <span class="json-toggle-pad" />
        )}
        <span class={'span-type t-' + s.type.toLowerCase()}>{s.type}</span>
        <span class="span-label" title={s.name}>
          {s.name}
        </span>
      </div>
      <div class="span-gantt" title={fmtDuration(spanDurationMs(s))}>
        <div class="gantt-bar" style={{ left: bar.left * 100 + '%', width: Math.max(bar.width * 100, 0.3) + '%' }} />
        <span class="gantt-label" style={{ left: Math.min(bar.left * 100, 85) + '%' }}>
          {fmtDuration(spanDurationMs(s))}
        </span>
      </div>
    </div>
  );
}

function SpanDetails({ span }: { span: Span }) {
  const exceptions = span.events.filter((e) => e.name === 'exception');
  const others = span.events.filter((e) => e.name !== 'exception');
  return (
    <div class="span-details">
      <h2>
        {span.name} <span class={'span-type t-' + span.type.toLowerCase()}>{span.type}</span>
      </h2>
      <div class="muted small">
        span <code>{span.id}</code> · {fmtDuration(spanDurationMs(span))} · status {span.status}
        {span.statusMessage ? `: ${span.statusMessage}` : ''}
      </div>
      {exceptions.map((e, i) => (
        <div class="error" role="alert" key={'x' + i}>
          <strong>{String(e.attributes['exception.type'] ?? 'Exception')}</strong>: {String(e.attributes['exception.message'] ?? '')}
          {e.attributes['exception.stacktrace'] !== undefined && <pre class="stack">{String(e.attributes['exception.stacktrace'])}</pre>}
        </div>
      ))}
      <section>
        <h3>Inputs</h3>
        {span.inputs === undefined ? <span class="muted small">none</span> : <JsonView value={span.inputs} label="Span inputs" />}
      </section>
      <section>
        <h3>Outputs</h3>
        {span.outputs === undefined ? <span class="muted small">none</span> : <JsonView value={span.outputs} label="Span outputs" />}
      </section>
      <section>
        <h3>Attributes</h3>
        <JsonView value={span.attributes} open={1} label="Span attributes" />
      </section>
      {others.length > 0 && (
        <section>
          <h3>Events</h3>
          {others.map((e, i) => (
            <div key={i} class="event">
              <code>{e.name}</code> <span class="muted small">{fmtTime(e.timeNs / 1e6)}</span>
              <JsonView value={e.attributes} open={1} />
            </div>
          ))}
        </section>
      )}
    </div>
  );
}

function AssessmentEditor({
  initial,
  onSave,
  onCancel,
}: {
  initial?: Assessment;
  onSave: (a: { name: string; value: unknown; rationale: string; kind: 'feedback' | 'expectation' }) => Promise<void>;
  onCancel: () => void;
}) {
  const [name, setName] = useState(initial?.assessment_name || '');
  const [value, setValue] = useState(initial ? short(assessmentValue(initial)) : '');
  const [rationale, setRationale] = useState(initial?.rationale || '');
  const [kind, setKind] = useState<'feedback' | 'expectation'>(initial?.expectation ? 'expectation' : 'feedback');
  const [err, setErr] = useState<Error>();
  const submit = (e: Event) => {
    e.preventDefault();
    onSave({ name: name.trim(), value: parseJsonValue(value), rationale, kind }).catch(setErr);
  };
  return (
    <form class="assessment-form" onSubmit={submit}>
      {!initial && (
        <select aria-label="Assessment kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value as any)}>
          <option value="feedback">feedback</option>
          <option value="expectation">expectation</option>
        </select>
      )}
      <input
        aria-label="Assessment name"
        placeholder="name"
        value={name}
        disabled={!!initial}
        required
        onInput={(e) => setName((e.target as HTMLInputElement).value)}
      />
      <input
        aria-label="Assessment value"
        class="mono"
        placeholder="value (JSON or text)"
        value={value}
        required
        onInput={(e) => setValue((e.target as HTMLInputElement).value)}
      />
      <input aria-label="Rationale" placeholder="rationale" value={rationale} onInput={(e) => setRationale((e.target as HTMLInputElement).value)} />
      <button type="submit">Save</button>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
      <ErrorBox error={err} />
    </form>
  );
}

function Assessments({ traceId, list, onChange }: { traceId: string; list: Assessment[]; onChange: () => void }) {
  const [editing, setEditing] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);
  const [err, setErr] = useState<Error>();
  const source = { source_type: 'HUMAN', source_id: 'aiotrack-ui' };
  return (
    <div class="card">
      <div class="card-head">
        <h2>Assessments</h2>
        {!adding && <button onClick={() => setAdding(true)}>Add assessment</button>}
      </div>
      <ErrorBox error={err} />
      {adding && (
        <AssessmentEditor
          onCancel={() => setAdding(false)}
          onSave={async ({ name, value, rationale, kind }) => {
            const body: Assessment = { assessment_name: name, source, rationale: rationale || undefined };
            if (kind === 'feedback') body.feedback = { value };
            else body.expectation = { value };
            await createAssessment(traceId, body);
            setAdding(false);
            onChange();
          }}
        />
      )}
      {list.length === 0 && !adding && <p class="muted small">No assessments yet.</p>}
      <table class="kv assessments">
        <tbody>
          {list.map((a) => {
            const id = a.assessment_id || a.assessment_name;
            if (editing === id) {
              return (
                <tr key={id}>
                  <td colSpan={5}>
                    <AssessmentEditor
                      initial={a}
                      onCancel={() => setEditing(null)}
                      onSave={async ({ value, rationale }) => {
                        const patch: Partial<Assessment> = { rationale };
                        const mask = ['rationale'];
                        if (a.expectation) {
                          patch.expectation = { value };
                          mask.push('expectation');
                        } else {
                          patch.feedback = { value };
                          mask.push('feedback');
                        }
                        await updateAssessment(traceId, a.assessment_id!, patch, mask);
                        setEditing(null);
                        onChange();
                      }}
                    />
                  </td>
                </tr>
              );
            }
            return (
              <tr key={id} class={a.valid === false ? 'overridden' : ''}>
                <td>
                  <strong>{a.assessment_name}</strong>{' '}
                  <span class="muted small">
                    {a.expectation ? 'expectation' : 'feedback'}
                    {a.valid === false ? ', overridden' : ''}
                  </span>
                </td>
                <td class="mono">{short(assessmentValue(a))}</td>
                <td class="small">{a.rationale}</td>
                <td class="small muted">
                  {a.source?.source_type}
                  {a.source?.source_id ? ` · ${a.source.source_id}` : ''}
                </td>
                <td class="nowrap">
                  {a.assessment_id && (
                    <button class="link small" onClick={() => setEditing(id)}>
                      edit
                    </button>
                  )}{' '}
                  {a.assessment_id && (
                    <button
                      class="link small danger"
                      onClick={() => confirm(`Delete assessment "${a.assessment_name}"?`) && deleteAssessment(traceId, a.assessment_id!).then(onChange, setErr)}
                    >
                      delete
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function TracePage({ expId, traceId }: { expId: string; traceId: string }) {
  const info = useAsync((s) => getTraceInfo(traceId, s), [traceId]);
  const spans = useAsync((s) => getTraceSpans(traceId, s), [traceId]);
  const [sel, setSel] = useState<string | null>(null);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const tree = useMemo(() => spanTree(spans.data || []), [spans.data]);
  const flat = useMemo(() => flattenTree(tree, collapsed), [tree, collapsed]);
  const win = useMemo(() => traceWindow(spans.data || []), [spans.data]);
  const selected = (spans.data || []).find((s) => s.id === sel) || tree[0]?.span;
  const row = info.data ? normalizeTrace(info.data) : null;
  const exp = row?.experimentId || expId;
  const tags = Object.entries(row?.tags || {}).map(([key, value]) => ({ key, value }));
  return (
    <div class="page trace-page">
      <div class="page-head">
        <div>
          <div class="crumbs">
            <a href={hrefs.experiments()}>Experiments</a> / <a href={hrefs.runs(exp, { view: 'traces' } as any)}>Experiment {exp}</a> / Traces /
          </div>
          <h1>
            <span class="mono">{traceId}</span> {row && <TraceState state={row.state} />}
          </h1>
        </div>
        {row && (
          <div class="muted small trace-facts">
            {fmtTime(row.timeMs)} · {fmtDuration(row.durationMs)}
            {row.tokens?.total_tokens !== undefined && (
              <>
                {' '}
                · {row.tokens.total_tokens} tokens ({row.tokens.input_tokens ?? '?'} in, {row.tokens.output_tokens ?? '?'} out)
              </>
            )}
            {row.runId && (
              <>
                {' '}
                · run{' '}
                <a class="mono" href={hrefs.run(exp, row.runId)}>
                  {row.runId.slice(0, 8)}
                </a>
              </>
            )}
          </div>
        )}
      </div>
      <ErrorBox error={info.error} title="Trace" />
      <ErrorBox error={spans.error} title="Spans" />
      <div class="trace-body">
        <div class="card flush span-tree-card">
          <div class="span-head">
            <span>Span</span>
            <span>Timeline ({fmtDuration((win.end - win.start) / 1e6)})</span>
          </div>
          {spans.loading && !spans.data && <Spinner />}
          {spans.data && spans.data.length === 0 && <p class="pad muted">This trace has no spans.</p>}
          <div role="tree" aria-label="Spans" class="span-tree">
            {flat.map((n) => (
              <SpanRow
                key={n.span.id}
                node={n}
                selected={selected?.id === n.span.id}
                win={win}
                collapsed={collapsed.has(n.span.id)}
                onSelect={() => setSel(n.span.id)}
                onToggle={() =>
                  setCollapsed((c) => {
                    const x = new Set(c);
                    if (x.has(n.span.id)) x.delete(n.span.id);
                    else x.add(n.span.id);
                    return x;
                  })
                }
              />
            ))}
          </div>
        </div>
        <div class="card span-card">{selected ? <SpanDetails span={selected} /> : !spans.loading && <p class="muted">Select a span.</p>}</div>
      </div>
      {info.data && (
        <div class="two-col">
          <Assessments traceId={traceId} list={info.data.assessments || []} onChange={info.reload} />
          <div class="card">
            <h2>Tags</h2>
            <TagEditor
              tags={tags}
              onSet={(k, v) => setTraceTag(traceId, k, v).then(info.reload)}
              onDelete={(k) => deleteTraceTag(traceId, k).then(info.reload)}
            />
            <h2 class="spaced">Metadata</h2>
            <JsonView value={info.data.trace_metadata || {}} open={1} label="Trace metadata" />
          </div>
        </div>
      )}
    </div>
  );
}
