import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { post } from '../lib/api';
import { assignRunColors, runColor, setRunColor } from '../lib/colors';
import { fmtAgo, fmtDuration, fmtNumber, fmtTime, plural } from '../lib/format';
import { getExperiment, getRun, loadAllRuns, pool } from '../lib/load';
import {
  ATTRIBUTE_COLUMNS,
  NOTE_TAG,
  cellValue,
  collectKeys,
  columnKind,
  columnLabel,
  defaultColumns,
  groupNested,
  groupedTree,
  TIME_RANGES,
  composeFilter,
  normalizeRun,
  runDatasets,
  runDuration,
  runModels,
  runSource,
  runUser,
  runsToCsv,
  sortRows,
  type TreeRow,
} from '../lib/runs';
import type { Experiment, RunRow } from '../lib/types';
import { filterHints, type Hint } from '../lib/filterHints';
import { hrefs, parseRoute, routeToHash, type Lifecycle, type Route, type RunsState } from '../lib/url';
import { EditableMarkdown, ErrorBox, Modal, Spinner, StatusBadge, TagEditor, Tabs, navigate, useAsync } from '../components/common';
import { VirtualTable, type Column } from '../components/VirtualTable';
import { ChartControls, MetricCharts } from '../components/MetricCharts';
import { LoggedModelsList } from './LoggedModels';
import { RenameExperiment } from './Experiments';
import { TracesList } from './Traces';
import { useLiveRuns } from '../lib/live';
import { groupRow, groupRuns, isGroupRow } from '../lib/groups';
import { GroupCharts } from '../components/GroupCharts';
import { PermissionsButton } from '../components/Permissions';

type RunsRoute = Extract<Route, { page: 'runs' }>;

export function RunsPage({ route }: { route: RunsRoute }) {
  const state = route.state;
  const expKey = route.expIds.join(',');
  // patches the URL as it is when called, not as it was when this render ran: a handler that
  // finishes after an await (delete, restore) must not undo a filter changed meanwhile, nor pull
  // the user back to this page after they have left it
  const setState = (patch: Partial<RunsState>, push = false) => {
    const now = parseRoute(location.hash);
    if (now.page !== 'runs' || now.expIds.join(',') !== expKey) return;
    navigate(routeToHash({ ...now, state: { ...now.state, ...patch } }), !push);
  };

  const exps = useAsync((s) => Promise.all(route.expIds.map((id) => getExperiment(id, s))), [expKey]);
  const expNames = useMemo(() => new Map((exps.data || []).map((e) => [e.experiment_id, e.name])), [exps.data]);

  // ---- every run of the experiment(s) ----
  const [rows, setRows] = useState<RunRow[]>([]);
  const [loading, setLoading] = useState(true);
  const [loadErr, setLoadErr] = useState<Error>();
  const [loadMs, setLoadMs] = useState(0);
  const [version, setVersion] = useState(0);
  // a layout effect: the first request leaves as soon as the page is mounted, not after the
  // browser has painted the empty page (where a plain effect would start it)
  useLayoutEffect(() => {
    const ctl = new AbortController();
    const t0 = performance.now();
    setLoading(true);
    setLoadErr(undefined);
    loadAllRuns(
      route.expIds,
      composeFilter(state.filter, state.since, state.ds),
      state.lifecycle,
      (r, done) => {
        if (ctl.signal.aborted) return;
        setRows(r.slice());
        if (done) {
          setLoading(false);
          setLoadMs(performance.now() - t0);
        }
      },
      ctl.signal,
    ).catch((e) => {
      if (ctl.signal.aborted || e?.name === 'AbortError') return;
      setLoadErr(e);
      setRows([]);
      setLoading(false);
    });
    return () => ctl.abort();
  }, [expKey, state.filter, state.since, state.ds, state.lifecycle, version]);

  // live updates: changed runs replace their rows, new runs are added (or, under a filter the
  // browser cannot evaluate, the page reloads, at most every few seconds)
  const [liveTick, setLiveTick] = useState(0);
  const lastReload = useRef(0);
  const filtered = !!(state.filter || state.since || state.ds);
  useLiveRuns(route.expIds, !loading && state.lifecycle !== 'deleted' && state.view !== 'traces' && state.view !== 'models', (u) => {
    const reload = () => {
      if (Date.now() - lastReload.current < 3000) return;
      lastReload.current = Date.now();
      setVersion((v) => v + 1);
    };
    if (u.reload || (filtered && u.new.length > 0)) {
      reload();
      return;
    }
    setRows((prev) => {
      const fresh = new Map(u.runs.map((r) => [r.info.run_id, normalizeRun(r)]));
      const next = prev.map((r) => fresh.get(r.id) || r);
      const known = new Set(prev.map((r) => r.id));
      // a changed run the table does not show is outside a filter: leave it out
      const added = filtered ? [] : [...fresh.values()].filter((r) => !known.has(r.id));
      return added.length ? [...added, ...next] : next;
    });
    setLiveTick((t) => t + 1);
  });
  const keys = useMemo(() => collectKeys(rows), [rows]);
  // colours by index in start order (oldest first), before anything paints a swatch
  useMemo(() => assignRunColors(rows.map((r) => r.id).reverse()), [rows]);
  // keys seen in any load of this page, so a narrowing filter does not shrink the suggestions
  const seenKeys = useRef({ metrics: new Set<string>(), params: new Set<string>(), tags: new Set<string>() });
  const filterKeys = useMemo(() => {
    const k = seenKeys.current;
    keys.metrics.forEach((x) => k.metrics.add(x));
    keys.params.forEach((x) => k.params.add(x));
    keys.tags.forEach((x) => k.tags.add(x));
    const sorted = (x: Set<string>) => [...x].sort();
    return { metrics: sorted(k.metrics), params: sorted(k.params), tags: sorted(k.tags) };
  }, [keys]);
  // dataset names seen in any load of this page, for the dataset filter
  const seenDatasets = useRef(new Set<string>());
  const datasetNames = useMemo(() => {
    rows.forEach((r) => runDatasets(r).forEach((d) => d.name && seenDatasets.current.add(d.name)));
    if (state.ds) seenDatasets.current.add(state.ds);
    return [...seenDatasets.current].sort();
  }, [rows, state.ds]);
  const [colorTick, setColorTick] = useState(0);
  const exp = exps.data && exps.data.length === 1 ? exps.data[0] : null;
  const title = exps.data ? exps.data.map((e) => e.name).join(', ') : '…';

  return (
    <div class={'page runs-page' + (state.view === 'table' || state.view === 'traces' ? ' fill' : '')}>
      <div class="page-head">
        <div>
          <div class="crumbs">
            <a href={hrefs.experiments()}>Experiments</a> /
          </div>
          <h1>{title}</h1>
        </div>
        {exp && <ExperimentActions exp={exp} onChange={exps.reload} />}
      </div>
      <ErrorBox error={exps.error} />
      {exp && <ExperimentAbout exp={exp} onChange={exps.reload} />}
      <Tabs
        tabs={[
          ['table', 'Runs'],
          ['charts', 'Charts'],
          ['models', 'Logged models'],
          ['traces', 'Traces'],
        ]}
        active={state.view}
        onChange={(v) => setState({ view: v as RunsState['view'] })}
      />
      {state.view === 'models' ? (
        <LoggedModelsList expIds={route.expIds} />
      ) : state.view === 'traces' ? (
        <TracesList expIds={route.expIds} filter={state.tf} sort={state.ts} onChange={(p) => setState(p, true)} />
      ) : (
        <>
          <FilterBar state={state} setState={setState} error={loadErr} keys={filterKeys} datasets={datasetNames} />
          {state.view === 'table' ? (
            <RunsTable
              route={route}
              rows={rows}
              keys={keys}
              loading={loading}
              loadMs={loadMs}
              expNames={expNames}
              setState={setState}
              onChanged={() => setVersion((v) => v + 1)}
              colorTick={colorTick}
              onColor={() => setColorTick((t) => t + 1)}
            />
          ) : (
            <RunsCharts state={state} rows={rows} setState={setState} loading={loading} liveTick={liveTick} />
          )}
        </>
      )}
    </div>
  );
}

function ExperimentActions({ exp, onChange }: { exp: Experiment; onChange: () => void }) {
  const [renaming, setRenaming] = useState(false);
  const [err, setErr] = useState<Error>();
  const deleted = exp.lifecycle_stage === 'deleted';
  return (
    <div class="row">
      <span class="muted small">
        ID <code>{exp.experiment_id}</code>
      </span>
      {deleted && <span class="pill gray">deleted</span>}
      <PermissionsButton resourceType="experiment" resourceId={exp.experiment_id} />
      <button onClick={() => setRenaming(true)}>Rename</button>
      {deleted ? (
        <button onClick={() => post('experiments/restore', { experiment_id: exp.experiment_id }).then(onChange, setErr)}>Restore</button>
      ) : (
        <button
          class="danger"
          onClick={() => confirm(`Delete experiment "${exp.name}"?`) && post('experiments/delete', { experiment_id: exp.experiment_id }).then(onChange, setErr)}
        >
          Delete
        </button>
      )}
      <ErrorBox error={err} />
      {renaming && (
        <RenameExperiment
          exp={exp}
          onClose={() => setRenaming(false)}
          onDone={() => {
            setRenaming(false);
            onChange();
          }}
        />
      )}
    </div>
  );
}

function ExperimentAbout({ exp, onChange }: { exp: Experiment; onChange: () => void }) {
  const [open, setOpen] = useState(false);
  const note = (exp.tags || []).find((t) => t.key === NOTE_TAG)?.value || '';
  const userTags = (exp.tags || []).filter((t) => !t.key.startsWith('mlflow.'));
  const setTag = (key: string, value: string) => post('experiments/set-experiment-tag', { experiment_id: exp.experiment_id, key, value }).then(onChange);
  return (
    <div class="about">
      <button class="link" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? '▾' : '▸'} Description and tags
        {!open && note && (
          <span class="muted">
            {' '}
            —{' '}
            {note
              .split('\n')[0]
              .replace(/[#*_`]/g, '')
              .slice(0, 80)}
          </span>
        )}
        {!open && userTags.length > 0 && <span class="muted"> · {plural(userTags.length, 'tag')}</span>}
      </button>
      {open && (
        <div class="about-body two-col">
          <section>
            <h3>Description</h3>
            <EditableMarkdown text={note} onSave={(t) => setTag(NOTE_TAG, t)} />
          </section>
          <section>
            <h3>Tags</h3>
            <TagEditor
              tags={exp.tags || []}
              onSet={setTag}
              onDelete={(key) => post('experiments/delete-experiment-tag', { experiment_id: exp.experiment_id, key }).then(onChange)}
            />
          </section>
        </div>
      )}
    </div>
  );
}

function FilterBar({
  state,
  setState,
  error,
  keys,
  datasets,
}: {
  state: RunsState;
  setState: (p: Partial<RunsState>, push?: boolean) => void;
  error?: Error;
  keys: ReturnType<typeof collectKeys>;
  datasets: string[];
}) {
  const [text, setText] = useState(state.filter);
  const [cursor, setCursor] = useState(0);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => setText(state.filter), [state.filter]);
  const res = useMemo(() => filterHints(text, cursor, keys), [text, cursor, keys]);
  const shown = open && res.hints.length > 0;
  const sync = () => setCursor(input.current?.selectionStart ?? text.length);
  const accept = (h: Hint) => {
    const t = text.slice(0, res.from) + h.insert + text.slice(res.to);
    const c = res.from + h.insert.length;
    setText(t);
    setCursor(c);
    setActive(-1);
    requestAnimationFrame(() => {
      input.current?.focus();
      input.current?.setSelectionRange(c, c);
    });
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      setOpen(false);
      return;
    }
    if ((e.key === ' ' && e.ctrlKey) || (e.key === 'ArrowDown' && !shown)) {
      setOpen(true);
      sync();
      e.preventDefault();
      return;
    }
    if (!shown) return;
    if (e.key === 'ArrowDown') {
      setActive((a) => Math.min(a + 1, res.hints.length - 1));
      e.preventDefault();
    } else if (e.key === 'ArrowUp') {
      setActive((a) => Math.max(a - 1, -1));
      e.preventDefault();
    } else if ((e.key === 'Enter' && active >= 0) || e.key === 'Tab') {
      accept(res.hints[Math.max(active, 0)]);
      e.preventDefault();
    }
  };
  return (
    <div class="filter-bar">
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          setOpen(false);
          setState({ filter: text.trim() }, true);
        }}
      >
        <div class="filter-input grow">
          <input
            ref={input}
            type="search"
            class="mono"
            aria-label="Filter runs"
            spellcheck={false}
            autocomplete="off"
            aria-expanded={shown}
            aria-autocomplete="list"
            placeholder={`Filter runs, e.g. metrics.accuracy > 0.9 and params.optimizer = 'adam'`}
            value={text}
            onInput={(e) => {
              const el = e.target as HTMLInputElement;
              setText(el.value);
              setCursor(el.selectionStart ?? el.value.length);
              setOpen(true);
              setActive(-1);
            }}
            onKeyDown={onKey}
            onKeyUp={(e) => !['ArrowDown', 'ArrowUp', 'Enter', 'Tab', 'Escape'].includes(e.key) && sync()}
            onClick={sync}
            onBlur={() => setOpen(false)}
          />
          {shown && (
            <ul class="hints" role="listbox" aria-label="Filter suggestions">
              {res.hints.map((h, i) => (
                <li
                  key={h.label}
                  role="option"
                  aria-selected={i === active}
                  class={i === active ? 'active' : ''}
                  onMouseDown={(e) => {
                    e.preventDefault();
                    accept(h);
                  }}
                >
                  <span class={'hint-kind hint-' + h.kind}>{h.kind}</span>
                  {h.label}
                </li>
              ))}
            </ul>
          )}
        </div>
        <button type="submit" class="primary">
          Search
        </button>
        {state.filter && (
          <button
            type="button"
            onClick={() => {
              setText('');
              setState({ filter: '' }, true);
            }}
          >
            Clear
          </button>
        )}
        <select
          aria-label="Run lifecycle"
          value={state.lifecycle}
          onChange={(e) => setState({ lifecycle: (e.target as HTMLSelectElement).value as Lifecycle, sel: [] })}
        >
          <option value="active">Active runs</option>
          <option value="deleted">Deleted runs</option>
          <option value="all">All runs</option>
        </select>
        <select aria-label="Time range" value={state.since} onChange={(e) => setState({ since: (e.target as HTMLSelectElement).value }, true)}>
          <option value="">Any time</option>
          {Object.entries(TIME_RANGES).map(([k, r]) => (
            <option key={k} value={k}>
              {r.label}
            </option>
          ))}
        </select>
        {(datasets.length > 0 || state.ds) && (
          <select aria-label="Dataset" value={state.ds} onChange={(e) => setState({ ds: (e.target as HTMLSelectElement).value }, true)}>
            <option value="">All datasets</option>
            {datasets.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        )}
      </form>
      {error && (
        <div class="filter-error" role="alert">
          {error.message}
        </div>
      )}
    </div>
  );
}

// ---- table -------------------------------------------------------------------------------------
const WIDTHS_KEY = 'aiotrack.runsColumnWidths';
function loadWidths(): Record<string, number> {
  try {
    const w = JSON.parse(localStorage.getItem(WIDTHS_KEY) || '{}');
    return w && typeof w === 'object' ? w : {};
  } catch {
    return {};
  }
}
function saveWidths(w: Record<string, number>) {
  try {
    const keys = Object.keys(w);
    // keep the most recent 500 columns' widths
    const kept = keys.length > 500 ? Object.fromEntries(keys.slice(-500).map((k) => [k, w[k]])) : w;
    localStorage.setItem(WIDTHS_KEY, JSON.stringify(kept));
  } catch {
    /* storage full or disabled: widths last for this page */
  }
}

function RunsTable({
  route,
  rows,
  keys,
  loading,
  loadMs,
  expNames,
  setState,
  onChanged,
  colorTick,
  onColor,
}: {
  route: RunsRoute;
  rows: RunRow[];
  keys: ReturnType<typeof collectKeys>;
  loading: boolean;
  loadMs: number;
  expNames: Map<string, string>;
  setState: (p: Partial<RunsState>, push?: boolean) => void;
  onChanged: () => void;
  colorTick: number;
  onColor: () => void;
}) {
  const state = route.state;
  const multi = route.expIds.length > 1;
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const [expandAll, setExpandAll] = useState(false);
  const [picking, setPicking] = useState(false);
  const [actionErr, setActionErr] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const sortId = state.sort || 'attributes.start_time';
  const sortDesc = state.sort ? state.desc : true;
  const sorted = useMemo(() => sortRows(rows, sortId, sortDesc), [rows, sortId, sortDesc]);
  // grouped: a roll-up row per group (largest first), its runs (in the table's sort) when expanded
  const groups = useMemo(
    () => (state.group ? groupRuns(sorted, state.group).map((g) => ({ row: groupRow(g, state.group), members: g.rows })) : null),
    [sorted, state.group],
  );
  const groupMembers = useMemo(() => new Map((groups || []).map((g) => [g.row.id, g.members.map((r) => r.id)])), [groups]);
  const tree = useMemo(
    () => (groups ? groupedTree(groups, expanded, expandAll) : groupNested(sorted, expanded, expandAll)),
    [groups, sorted, expanded, expandAll],
  );
  const hasNested = useMemo(() => rows.some((r) => r.parentId), [rows]);
  const sel = useMemo(() => new Set(state.sel), [state.sel]);
  const defaults = useMemo(() => defaultColumns(keys, rows), [keys, rows]);
  const cols = state.cols ?? defaults;
  const [widths, setWidths] = useState<Record<string, number>>(loadWidths);
  const chosen = multi && !cols.includes('attributes.experiment_id') ? ['attributes.experiment_id', ...cols] : cols;

  const colorInput = useRef<HTMLInputElement>(null);
  const colorFor = useRef('');
  const pickColor = (id: string) => {
    const el = colorInput.current;
    if (!el) return;
    colorFor.current = id;
    el.value = runColor(id);
    el.click();
  };
  const toggleSel = (id: string, on: boolean) => {
    const s = new Set(sel);
    // a group's checkbox selects (or clears) every run of the group
    const ids = groupMembers.get(id) || [id];
    for (const x of ids) on ? s.add(x) : s.delete(x);
    setState({ sel: [...s] });
  };
  const onSort = (id: string) => {
    if (id === sortId) setState({ sort: id, desc: !sortDesc });
    else setState({ sort: id, desc: id.startsWith('metrics.') || id === 'attributes.start_time' });
  };

  const columns: Column<TreeRow>[] = [
    {
      id: '_sel',
      width: 36,
      sticky: true,
      label: (
        <input
          type="checkbox"
          aria-label="Select all runs"
          checked={sorted.length > 0 && sel.size >= sorted.length && sorted.every((r) => sel.has(r.id))}
          onChange={(e) => setState({ sel: (e.target as HTMLInputElement).checked ? sorted.map((r) => r.id) : [] })}
        />
      ),
      render: (t) => (
        <input
          type="checkbox"
          aria-label={'Select ' + t.row.name}
          checked={isGroupRow(t.row) ? (groupMembers.get(t.row.id) || []).every((x) => sel.has(x)) : sel.has(t.row.id)}
          onChange={(e) => toggleSel(t.row.id, (e.target as HTMLInputElement).checked)}
        />
      ),
    },
    {
      id: 'attributes.run_name',
      label: 'Run name',
      width: 260,
      sticky: true,
      sortable: true,
      render: (t) => (
        <span class="run-name" style={{ paddingLeft: t.depth * 18 + 'px' }}>
          {t.childCount > 0 ? (
            <button
              class="expander"
              aria-label={(t.expanded ? 'Collapse ' : 'Expand ') + t.row.name}
              aria-expanded={t.expanded}
              onClick={() => {
                const s = new Set(expanded);
                if (t.expanded) {
                  s.delete(t.row.id);
                  if (expandAll) {
                    setExpandAll(false);
                    tree.forEach((x) => x.childCount && x.row.id !== t.row.id && s.add(x.row.id));
                  }
                } else s.add(t.row.id);
                setExpanded(s);
              }}
            >
              {t.expanded ? '▾' : '▸'}
            </button>
          ) : hasNested ? (
            <span class="expander-space" />
          ) : null}
          {isGroupRow(t.row) ? (
            <strong class="group-label" title={t.row.name}>
              {t.row.name}
            </strong>
          ) : (
            <>
              <ColorSwatch id={t.row.id} onPick={pickColor} tick={colorTick} />
              <a href={hrefs.run(t.row.run.info.experiment_id, t.row.id)} title={t.row.name}>
                {t.row.name}
              </a>
            </>
          )}
          {t.childCount > 0 && <span class="muted small"> ({t.childCount})</span>}
        </span>
      ),
    },
    ...chosen.map((c): Column<TreeRow> => {
      const d = colDef(c, expNames);
      return widths[c] ? { ...d, width: widths[c] } : d;
    }),
  ];
  const onResize = (id: string, width: number) => {
    const w = { ...widths, [id]: Math.round(Math.min(Math.max(width, 50), 900)) };
    setWidths(w);
    saveWidths(w);
  };
  // drag a column header onto another to move it there
  const onReorder = (from: string, to: string) => {
    const list = cols.filter((c) => c !== from);
    const at = list.indexOf(to);
    if (at < 0 || from === to) return;
    list.splice(at + (cols.indexOf(from) < cols.indexOf(to) ? 1 : 0), 0, from);
    setState({ cols: list });
  };
  const exportCsv = () => {
    const shown = tree.map((t) => t.row);
    const blob = new Blob([runsToCsv(shown, chosen)], { type: 'text/csv;charset=utf-8' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'runs.csv';
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  };

  const act = async (endpoint: 'runs/delete' | 'runs/restore') => {
    setBusy(true);
    try {
      await pool(state.sel, 4, (id) => post(endpoint, { run_id: id }));
      setActionErr(undefined);
      setState({ sel: [] });
      onChanged();
    } catch (e: any) {
      setActionErr(e);
    } finally {
      setBusy(false);
    }
  };
  const selectedRows = rows.filter((r) => sel.has(r.id));
  const anyDeleted = selectedRows.some((r) => r.run.info.lifecycle_stage === 'deleted');
  const anyActive = selectedRows.some((r) => r.run.info.lifecycle_stage !== 'deleted');

  return (
    <>
      <div class="toolbar secondary">
        <span class="count" aria-live="polite">
          {loading ? (
            <>
              <span class="spin" />
              {plural(rows.length, 'run')} loaded…
            </>
          ) : (
            <>
              {plural(rows.length, 'run')}
              <span class="muted small"> · loaded in {(loadMs / 1000).toFixed(2)} s</span>
            </>
          )}
        </span>
        {sel.size > 0 && <span class="muted">{sel.size} selected</span>}
        <span class="grow" />
        {hasNested && (
          <button
            onClick={() => {
              setExpandAll(!expandAll);
              setExpanded(new Set());
            }}
          >
            {expandAll ? 'Collapse all' : 'Expand all'}
          </button>
        )}
        <GroupBySelect label="Group by" value={state.group} keys={keys} onChange={(group) => setState({ group }, true)} />
        {state.group && (
          <button
            onClick={() => {
              setExpandAll(!expandAll);
              setExpanded(new Set());
            }}
          >
            {expandAll ? 'Collapse groups' : 'Expand groups'}
          </button>
        )}
        <button onClick={() => setPicking(true)}>Columns ({chosen.length})</button>
        <button onClick={exportCsv} title="Download the table as shown (rows, columns and order) as CSV">
          Download CSV
        </button>
        <button disabled={sel.size < 1} onClick={() => navigate(routeToHash({ ...route, state: { ...state, view: 'charts' } }))}>
          Chart selected
        </button>
        <button class="primary" disabled={sel.size < 2} onClick={() => navigate(hrefs.compare(state.sel))}>
          Compare{sel.size ? ` (${sel.size})` : ''}
        </button>
        {anyActive && (
          <button class="danger" disabled={busy} onClick={() => confirm(`Delete ${plural(sel.size, 'run')}?`) && act('runs/delete')}>
            Delete runs
          </button>
        )}
        {anyDeleted && (
          <button disabled={busy} onClick={() => act('runs/restore')}>
            Restore runs
          </button>
        )}
      </div>
      <ErrorBox error={actionErr} />
      <input
        ref={colorInput}
        type="color"
        class="hidden-color"
        tabIndex={-1}
        aria-hidden="true"
        onChange={(e) => {
          if (colorFor.current) {
            setRunColor(colorFor.current, (e.target as HTMLInputElement).value);
            onColor();
          }
        }}
      />
      <div class="table-wrap">
        <VirtualTable
          rows={tree}
          columns={columns}
          rowKey={(t) => t.row.id}
          sortId={sortId}
          sortDesc={sortDesc}
          onSort={onSort}
          label="Runs"
          onResize={onResize}
          onReorder={onReorder}
          rowClass={(t) => (sel.has(t.row.id) ? 'selected ' : '') + (t.row.run.info.lifecycle_stage === 'deleted' ? 'deleted' : '')}
          empty={loading ? <Spinner label="Loading runs…" /> : 'No runs match.'}
        />
      </div>
      {picking && <ColumnPicker keys={keys} cols={cols} onClose={() => setPicking(false)} onChange={(c) => setState({ cols: c })} />}
    </>
  );
}

function colDef(c: string, expNames: Map<string, string>): Column<TreeRow> {
  const kind = columnKind(c);
  const base = { id: c, sortable: true, title: c };
  if (kind === 'attributes') {
    const key = c.slice('attributes.'.length);
    const label = ATTRIBUTE_COLUMNS[c] || key;
    switch (key) {
      case 'start_time':
      case 'end_time':
        return {
          ...base,
          label,
          width: 120,
          render: (t) => {
            const v = cellValue(t.row, c) as number;
            return <span title={fmtTime(v)}>{fmtAgo(v)}</span>;
          },
        };
      case 'duration':
        return { ...base, label, width: 100, align: 'right', render: (t) => fmtDuration(runDuration(t.row)) };
      case 'status':
        return { ...base, label, width: 100, render: (t) => <StatusBadge status={t.row.run.info.status} /> };
      case 'user_id':
        return { ...base, label, width: 110, render: (t) => runUser(t.row) };
      case 'source':
        return { ...base, label, width: 140, render: (t) => <span title={t.row.tags['mlflow.source.name']}>{runSource(t.row)}</span> };
      case 'experiment_id':
        return { ...base, label, width: 150, render: (t) => expNames.get(t.row.run.info.experiment_id) || t.row.run.info.experiment_id };
      case 'datasets':
        return {
          ...base,
          label,
          width: 180,
          render: (t) => {
            const ds = runDatasets(t.row);
            return <span title={ds.map((d) => `${d.label} ${d.digest}`).join('\n')}>{ds.map((d) => d.label).join(', ')}</span>;
          },
        };
      case 'models':
        return {
          ...base,
          label,
          width: 150,
          render: (t) => {
            const ids = runModels(t.row);
            if (!ids.length) return null;
            const exp = t.row.run.info.experiment_id;
            return (
              <span>
                {ids.slice(0, 2).map((id) => (
                  <a key={id} class="pill" href={hrefs.loggedModel(exp, id)} title={id}>
                    {id.slice(0, 10)}
                  </a>
                ))}
                {ids.length > 2 && <span class="muted small">+{ids.length - 2}</span>}
              </span>
            );
          },
        };
      default:
        return { ...base, label, width: 150, render: (t) => <span class="mono">{String(cellValue(t.row, c) ?? '')}</span> };
    }
  }
  const label = (
    <>
      <span class={'kind kind-' + kind}>{kind === 'metrics' ? 'M' : kind === 'params' ? 'P' : 'T'}</span>
      {columnLabel(c)}
    </>
  );
  if (kind === 'metrics') return { ...base, label, width: 120, align: 'right', render: (t) => <span class="num">{fmtNumber(t.row.metrics[c.slice(8)])}</span> };
  return {
    ...base,
    label,
    width: 130,
    render: (t) => {
      const v = cellValue(t.row, c);
      return <span title={v === null ? '' : String(v)}>{v ?? ''}</span>;
    },
  };
}

/** The run's colour; clicking it opens the table's one shared colour picker. */
function ColorSwatch({ id, onPick }: { id: string; onPick: (id: string, el: HTMLElement) => void; tick: number }) {
  return (
    <button
      type="button"
      class="swatch"
      style={{ background: runColor(id) }}
      title="Run colour (click to change)"
      aria-label="Change run colour"
      onClick={(e) => onPick(id, e.currentTarget as HTMLElement)}
    />
  );
}

function ColumnPicker({
  keys,
  cols,
  onClose,
  onChange,
}: {
  keys: ReturnType<typeof collectKeys>;
  cols: string[];
  onClose: () => void;
  onChange: (c: string[] | null) => void;
}) {
  const [q, setQ] = useState('');
  const groups: [string, string[]][] = [
    ['Attributes', Object.keys(ATTRIBUTE_COLUMNS)],
    ['Metrics', keys.metrics.map((k) => 'metrics.' + k)],
    ['Parameters', keys.params.map((k) => 'params.' + k)],
    ['Tags', keys.tags.map((k) => 'tags.' + k)],
  ];
  const set = new Set(cols);
  const toggle = (c: string) => onChange(set.has(c) ? cols.filter((x) => x !== c) : [...cols, c]);
  const ql = q.toLowerCase();
  return (
    <Modal title="Columns" onClose={onClose}>
      <div class="toolbar">
        <input
          type="search"
          class="grow"
          autoFocus
          placeholder="Search columns"
          aria-label="Search columns"
          value={q}
          onInput={(e) => setQ((e.target as HTMLInputElement).value)}
        />
        <button onClick={() => onChange(null)}>Reset to default</button>
      </div>
      <div class="column-picker">
        {groups.map(([g, list]) => {
          const items = list.filter((c) => !ql || c.toLowerCase().includes(ql) || columnLabel(c).toLowerCase().includes(ql));
          if (!items.length) return null;
          return (
            <fieldset key={g}>
              <legend>
                {g} <span class="muted">({items.length})</span>
              </legend>
              {items.slice(0, 300).map((c) => (
                <label key={c} class="check-row">
                  <input type="checkbox" checked={set.has(c)} onChange={() => toggle(c)} /> {g === 'Attributes' ? columnLabel(c) : c.slice(c.indexOf('.') + 1)}
                </label>
              ))}
              {items.length > 300 && <p class="muted small">{items.length - 300} more — refine the search</p>}
            </fieldset>
          );
        })}
      </div>
      <div class="row end">
        <button class="primary" onClick={onClose}>
          Done
        </button>
      </div>
    </Modal>
  );
}

// ---- charts ------------------------------------------------------------------------------------
const MAX_CHART_RUNS = 10;

function RunsCharts({
  state,
  rows,
  setState,
  loading,
  liveTick,
}: {
  state: RunsState;
  rows: RunRow[];
  setState: (p: Partial<RunsState>) => void;
  loading: boolean;
  liveTick: number;
}) {
  const sortId = state.sort || 'attributes.start_time';
  const sortDesc = state.sort ? state.desc : true;
  const base = useMemo(() => {
    if (state.sel.length) {
      const s = new Set(state.sel);
      return rows.filter((r) => s.has(r.id));
    }
    return sortRows(rows, sortId, sortDesc).slice(0, MAX_CHART_RUNS);
  }, [rows, state.sel, sortId, sortDesc]);
  // live-updated copies of the charted runs (status changes while RUNNING)
  const [live, setLive] = useState<Map<string, RunRow>>(new Map());
  const chartRuns = useMemo(() => base.map((r) => live.get(r.id) || r), [base, live]);
  const running = chartRuns.some((r) => r.run.info.status === 'RUNNING');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!running) return;
    const t = setInterval(async () => {
      const ids = chartRuns.filter((r) => r.run.info.status === 'RUNNING').map((r) => r.id);
      try {
        const fresh = await pool(ids, 4, (id) => getRun(id));
        setLive((m) => {
          const n = new Map(m);
          fresh.forEach((run) => n.set(run.info.run_id, normalizeRun(run)));
          return n;
        });
      } catch {
        /* keep the old status */
      }
      setTick((x) => x + 1);
    }, 10000);
    return () => clearInterval(t);
  }, [running, chartRuns]);
  // grouped charts cover every run (or the selected ones), not the first few
  const grouped = state.group ? (state.sel.length ? base : rows) : null;
  const keys = useMemo(() => {
    const s = new Set<string>();
    (grouped || chartRuns).forEach((r) => Object.keys(r.metrics).forEach((k) => s.add(k)));
    const q = state.mq.toLowerCase();
    return [...s].filter((k) => !q || k.toLowerCase().includes(q)).sort();
  }, [grouped, chartRuns, state.mq]);
  const rowKeys = useMemo(() => collectKeys(rows), [rows]);
  if (loading && rows.length === 0) return <Spinner label="Loading runs…" />;
  const groupControls = (
    <div class="toolbar secondary">
      <GroupBySelect label="Group charts by" value={state.group} keys={rowKeys} onChange={(group) => setState({ group })} />
      {state.group && (
        <label>
          Band{' '}
          <select aria-label="Band" value={state.band} onChange={(e) => setState({ band: (e.target as HTMLSelectElement).value })}>
            <option value="minmax">min–max</option>
            <option value="std">± 1 std</option>
          </select>
        </label>
      )}
    </div>
  );
  const controls = (
    <>
      <ChartControls
        s={state}
        onChange={(s) => setState({ x: s.x, smooth: s.smooth, log: s.log })}
        filter={state.mq}
        onFilter={(mq) => setState({ mq })}
        refreshing={running}
      />
      {groupControls}
    </>
  );
  if (grouped) {
    return (
      <div class="charts-view">
        {controls}
        <GroupCharts rows={grouped} groupBy={state.group} band={state.band} keys={keys} refreshTick={tick + liveTick} />
      </div>
    );
  }
  return (
    <div class="charts-view">
      {controls}
      <div class="chart-legend">
        <span class="muted">
          {state.sel.length
            ? `${plural(chartRuns.length, 'selected run')}:`
            : `First ${plural(chartRuns.length, 'run')} in table order (select runs to choose):`}
        </span>
        {chartRuns.map((r) => (
          <a key={r.id} class="legend-item" href={hrefs.run(r.run.info.experiment_id, r.id)}>
            <span class="swatch" style={{ background: runColor(r.id) }} />
            {r.name}
            {r.run.info.status === 'RUNNING' && <span class="status status-running"> ●</span>}
          </a>
        ))}
      </div>
      <MetricCharts runs={chartRuns} keys={keys} settings={state} refreshTick={tick + liveTick} />
    </div>
  );
}

/** What runs can be grouped by: the dataset, any param, any tag but MLflow's own. */
function GroupBySelect({
  label,
  value,
  keys,
  onChange,
}: {
  label: string;
  value: string;
  keys: { params: string[]; tags: string[] };
  onChange: (group: string) => void;
}) {
  return (
    <label>
      Group by{' '}
      <select aria-label={label} value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        <option value="">No grouping</option>
        <option value="attributes.datasets">Dataset</option>
        {keys.params.map((k) => (
          <option key={'p' + k} value={'params.' + k}>
            param: {k}
          </option>
        ))}
        {keys.tags
          .filter((k) => !k.startsWith('mlflow.'))
          .map((k) => (
            <option key={'t' + k} value={'tags.' + k}>
              tag: {k}
            </option>
          ))}
      </select>
    </label>
  );
}
