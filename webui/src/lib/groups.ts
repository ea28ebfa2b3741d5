// Grouping runs by a param, a tag or the dataset: roll-up rows in the table, and one aggregate
// series per group (mean with a min-max or standard-deviation band) on the charts, computed by
// the server over every run of each group (ajax-api/2.0/aiotrack/metrics/grouped).

import { request } from './api';
import { runDatasets } from './runs';
import type { Run, RunRow } from './types';

export const GROUP_PREFIX = 'group:';
export const NO_VALUE = '(none)';
/** Groups shown; the smallest beyond these are pooled into one "(other)" group. */
export const MAX_GROUPS = 30;

export const isGroupRow = (r: RunRow) => r.id.startsWith(GROUP_PREFIX);

/** The value a run is grouped under for a column id: params.x, tags.x or attributes.datasets. */
export function groupValue(r: RunRow, by: string): string {
  if (by === 'attributes.datasets') {
    const names = [...new Set(runDatasets(r).map((d) => d.name))].sort();
    return names.length ? names.join(', ') : NO_VALUE;
  }
  const dot = by.indexOf('.');
  const kind = by.slice(0, dot);
  const key = by.slice(dot + 1);
  const v = kind === 'params' ? r.params[key] : kind === 'tags' ? r.tags[key] : undefined;
  return v === undefined || v === '' ? NO_VALUE : v;
}

export interface Group {
  value: string;
  rows: RunRow[];
}

/** Runs grouped by `by`, largest group first; beyond MAX_GROUPS the rest pooled as "(other)". */
export function groupRuns(rows: RunRow[], by: string): Group[] {
  const m = new Map<string, RunRow[]>();
  for (const r of rows) {
    const v = groupValue(r, by);
    const list = m.get(v);
    if (list) list.push(r);
    else m.set(v, [r]);
  }
  const groups = [...m.entries()].map(([value, rs]) => ({ value, rows: rs }));
  groups.sort((a, b) => b.rows.length - a.rows.length || a.value.localeCompare(b.value, undefined, { numeric: true }));
  if (groups.length <= MAX_GROUPS) return groups;
  const kept = groups.slice(0, MAX_GROUPS - 1);
  const rest = groups.slice(MAX_GROUPS - 1).flatMap((g) => g.rows);
  return [...kept, { value: `(other: ${groups.length - MAX_GROUPS + 1} values)`, rows: rest }];
}

/** A roll-up row for the table: the group's size, and each metric's mean over its runs. */
export function groupRow(g: Group, by: string): RunRow {
  const sums: Record<string, [number, number]> = {};
  for (const r of g.rows) {
    for (const [k, v] of Object.entries(r.metrics)) {
      if (!Number.isFinite(v)) continue;
      let s = sums[k];
      if (!s) {
        s = [0, 0];
        sums[k] = s;
      }
      s[0] += v;
      s[1] += 1;
    }
  }
  const metrics: Record<string, number> = {};
  for (const [k, [total, n]] of Object.entries(sums)) metrics[k] = total / n;
  const first = g.rows[0];
  const params: Record<string, string> = {};
  const tags: Record<string, string> = {};
  if (by.startsWith('params.')) params[by.slice(7)] = g.value;
  if (by.startsWith('tags.')) tags[by.slice(5)] = g.value;
  const starts = g.rows.map((r) => r.run.info.start_time || 0).filter(Boolean);
  const run: Run = {
    info: {
      run_id: GROUP_PREFIX + g.value,
      experiment_id: first?.run.info.experiment_id || '',
      status: '',
      lifecycle_stage: 'active',
      start_time: starts.length ? Math.max(...starts) : undefined,
    },
    data: {},
  };
  return { id: GROUP_PREFIX + g.value, run, name: g.value, params, metrics, tags, parentId: null };
}

export interface GroupSeries {
  group: string;
  runs: number;
  step: number[];
  mean: number[];
  std: number[];
  min: number[];
  max: number[];
  count: number[];
}

export async function fetchGrouped(groups: Group[], key: string, buckets: number, signal?: AbortSignal): Promise<GroupSeries[]> {
  const body = { metric_key: key, buckets, groups: Object.fromEntries(groups.map((g) => [g.value, g.rows.map((r) => r.id)])) };
  const r = await request<{ groups: GroupSeries[] }>('ajax-api/2.0/aiotrack/metrics/grouped', { method: 'POST', body, signal });
  return r.groups;
}
