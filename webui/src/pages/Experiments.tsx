import { useMemo, useState } from 'preact/hooks';
import { get, post, searchAll } from '../lib/api';
import { fmtAgo, fmtTime, plural } from '../lib/format';
import type { Experiment } from '../lib/types';
import { hrefs, routeToHash, type Lifecycle, type Route } from '../lib/url';
import { ErrorBox, Modal, Spinner, navigate, useAsync } from '../components/common';
import { NOTE_TAG } from '../lib/runs';
import { SortTh, useSorted } from '../components/SortableHead';

/** Experiments having the tag `key`, or `key=value` (value matched as a case-insensitive substring). */
export function matchesTagFilter(x: Experiment, filter: string): boolean {
  const f = filter.trim();
  if (!f) return true;
  const eq = f.indexOf('=');
  const key = (eq < 0 ? f : f.slice(0, eq)).trim().toLowerCase();
  const value =
    eq < 0
      ? null
      : f
          .slice(eq + 1)
          .trim()
          .toLowerCase();
  return (x.tags || []).some((t) => t.key.toLowerCase() === key && (value === null || t.value.toLowerCase().includes(value)));
}

const experimentValue = (x: Experiment, id: string): string | number | null => {
  switch (id) {
    case 'name':
      return x.name.toLowerCase();
    case 'id':
      return Number(x.experiment_id);
    case 'created':
      return x.creation_time ?? null;
    case 'updated':
      return x.last_update_time ?? null;
    default:
      return null;
  }
};

const VIEW_TYPE = { active: 'ACTIVE_ONLY', deleted: 'DELETED_ONLY', all: 'ALL' } as const;

export function searchExperiments(q: string, lifecycle: Lifecycle, signal?: AbortSignal): Promise<Experiment[]> {
  const filter = q ? `name ILIKE '%${q.replace(/'/g, "\\'")}%'` : undefined;
  return searchAll<Experiment>(async (token) => {
    const r = await get<{ experiments?: Experiment[]; next_page_token?: string }>(
      'experiments/search',
      {
        max_results: 1000,
        view_type: VIEW_TYPE[lifecycle],
        filter,
        page_token: token,
        order_by: 'last_update_time DESC',
      },
      signal,
    );
    return { items: r.experiments || [], next: r.next_page_token };
  });
}

export function ExperimentsPage({ route }: { route: Extract<Route, { page: 'experiments' }> }) {
  const [q, setQ] = useState(route.q);
  const { data, error, loading, reload } = useAsync((s) => searchExperiments(route.q, route.lifecycle, s), [route.q, route.lifecycle]);
  const [sel, setSel] = useState<Set<string>>(new Set());
  const [creating, setCreating] = useState(false);
  const [renaming, setRenaming] = useState<Experiment | null>(null);
  const [actionErr, setActionErr] = useState<Error>();
  const go = (patch: Partial<typeof route>) => navigate(routeToHash({ ...route, ...patch }), true);
  const act = async (f: () => Promise<unknown>) => {
    try {
      await f();
      setActionErr(undefined);
      reload();
    } catch (e: any) {
      setActionErr(e);
    }
  };
  const [tagFilter, setTagFilter] = useState('');
  const filtered = useMemo(() => (data || []).filter((x) => matchesTagFilter(x, tagFilter)), [data, tagFilter]);
  const { sorted: exps, sort, toggle } = useSorted(filtered, experimentValue);
  return (
    <div class="page">
      <div class="page-head">
        <h1>Experiments</h1>
        <button class="primary" onClick={() => setCreating(true)}>
          New experiment
        </button>
      </div>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          go({ q });
        }}
      >
        <input
          type="search"
          class="grow"
          placeholder="Search experiments by name"
          aria-label="Search experiments"
          value={q}
          onInput={(e) => setQ((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Search</button>
        <input
          type="search"
          class="mono"
          placeholder="tag or tag=value"
          aria-label="Filter by tag"
          value={tagFilter}
          onInput={(e) => setTagFilter((e.target as HTMLInputElement).value)}
        />
        <select aria-label="Lifecycle" value={route.lifecycle} onChange={(e) => go({ lifecycle: (e.target as HTMLSelectElement).value as Lifecycle })}>
          <option value="active">Active</option>
          <option value="deleted">Deleted</option>
          <option value="all">All</option>
        </select>
        <button type="button" disabled={sel.size < 1} onClick={() => navigate(hrefs.runs([...sel]))}>
          {sel.size > 1 ? `Compare ${sel.size} experiments` : 'Open selected'}
        </button>
      </form>
      <ErrorBox error={error} />
      <ErrorBox error={actionErr} />
      {loading && !data ? (
        <Spinner />
      ) : (
        <div class="card flush">
          <table class="grid" aria-label="Experiments">
            <thead>
              <tr>
                <th class="check">
                  <input
                    type="checkbox"
                    aria-label="Select all experiments"
                    checked={exps.length > 0 && sel.size === exps.length}
                    onChange={(e) => setSel((e.target as HTMLInputElement).checked ? new Set(exps.map((x) => x.experiment_id)) : new Set())}
                  />
                </th>
                <SortTh id="name" label="Name" sort={sort} onSort={toggle} />
                <SortTh id="id" label="ID" sort={sort} onSort={toggle} />
                <SortTh id="created" label="Created" sort={sort} onSort={toggle} descFirst />
                <SortTh id="updated" label="Last modified" sort={sort} onSort={toggle} descFirst />
                <th>Tags</th>
                <th>Description</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {exps.map((x) => {
                const tags = (x.tags || []).filter((t) => !t.key.startsWith('mlflow.'));
                const note = (x.tags || []).find((t) => t.key === NOTE_TAG)?.value || '';
                const deleted = x.lifecycle_stage === 'deleted';
                return (
                  <tr key={x.experiment_id} class={deleted ? 'deleted' : ''}>
                    <td class="check">
                      <input
                        type="checkbox"
                        aria-label={'Select ' + x.name}
                        checked={sel.has(x.experiment_id)}
                        onChange={(e) => {
                          const s = new Set(sel);
                          (e.target as HTMLInputElement).checked ? s.add(x.experiment_id) : s.delete(x.experiment_id);
                          setSel(s);
                        }}
                      />
                    </td>
                    <td>
                      <a href={hrefs.runs(x.experiment_id)} class="strong">
                        {x.name}
                      </a>
                      {deleted && <span class="pill gray">deleted</span>}
                    </td>
                    <td class="mono">{x.experiment_id}</td>
                    <td title={fmtTime(x.creation_time)}>{fmtAgo(x.creation_time)}</td>
                    <td title={fmtTime(x.last_update_time)}>{fmtAgo(x.last_update_time)}</td>
                    <td>
                      {tags.slice(0, 4).map((t) => (
                        <span class="pill" key={t.key}>
                          {t.key}: {t.value}
                        </span>
                      ))}
                      {tags.length > 4 && <span class="muted"> +{tags.length - 4}</span>}
                    </td>
                    <td class="ellipsis muted" title={note}>
                      {note.split('\n')[0].replace(/[#*_`]/g, '')}
                    </td>
                    <td class="actions">
                      {!deleted && (
                        <button class="link" onClick={() => setRenaming(x)}>
                          Rename
                        </button>
                      )}
                      {deleted ? (
                        <button class="link" onClick={() => act(() => post('experiments/restore', { experiment_id: x.experiment_id }))}>
                          Restore
                        </button>
                      ) : (
                        <button
                          class="link danger"
                          onClick={() => confirm(`Delete experiment "${x.name}"?`) && act(() => post('experiments/delete', { experiment_id: x.experiment_id }))}
                        >
                          Delete
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {exps.length === 0 && <p class="empty">No experiments{route.q || tagFilter ? ' match your search' : ''}.</p>}
        </div>
      )}
      <p class="muted small">{data && plural(exps.length, 'experiment')}</p>
      {creating && (
        <CreateExperiment
          onClose={() => setCreating(false)}
          onDone={(id) => {
            setCreating(false);
            navigate(hrefs.runs(id));
          }}
        />
      )}
      {renaming && (
        <RenameExperiment
          exp={renaming}
          onClose={() => setRenaming(null)}
          onDone={() => {
            setRenaming(null);
            reload();
          }}
        />
      )}
    </div>
  );
}

function CreateExperiment({ onClose, onDone }: { onClose: () => void; onDone: (id: string) => void }) {
  const [name, setName] = useState('');
  const [loc, setLoc] = useState('');
  const [err, setErr] = useState<Error>();
  return (
    <Modal title="New experiment" onClose={onClose}>
      <form
        class="form"
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            const r = await post<{ experiment_id: string }>('experiments/create', { name: name.trim(), artifact_location: loc.trim() || undefined });
            onDone(r.experiment_id);
          } catch (x: any) {
            setErr(x);
          }
        }}
      >
        <label>
          Name
          <input autoFocus required aria-label="Experiment name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Artifact location (optional)
          <input aria-label="Artifact location" value={loc} onInput={(e) => setLoc((e.target as HTMLInputElement).value)} />
        </label>
        <ErrorBox error={err} />
        <div class="row end">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button class="primary" type="submit">
            Create
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function RenameExperiment({ exp, onClose, onDone }: { exp: Experiment; onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState(exp.name);
  const [err, setErr] = useState<Error>();
  return (
    <Modal title="Rename experiment" onClose={onClose}>
      <form
        class="form"
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            await post('experiments/update', { experiment_id: exp.experiment_id, new_name: name.trim() });
            onDone();
          } catch (x: any) {
            setErr(x);
          }
        }}
      >
        <label>
          New name
          <input autoFocus required aria-label="New name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <ErrorBox error={err} />
        <div class="row end">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button class="primary" type="submit">
            Rename
          </button>
        </div>
      </form>
    </Modal>
  );
}
