import { describe, expect, it } from 'vitest';
import { groupRow, groupRuns, groupValue, isGroupRow, MAX_GROUPS, NO_VALUE } from '../src/lib/groups';
import { normalizeRun } from '../src/lib/runs';
import type { Run } from '../src/lib/types';

const run = (id: string, opt: string | undefined, acc: number, start = 1): Run => ({
  info: { run_id: id, experiment_id: '1', status: 'FINISHED', start_time: start, lifecycle_stage: 'active' },
  data: {
    tags: [{ key: 'mlflow.runName', value: id }],
    params: opt === undefined ? [] : [{ key: 'opt', value: opt }],
    metrics: [{ key: 'acc', value: acc, timestamp: 0, step: 0 }],
  },
});

describe('grouping runs', () => {
  const rows = [run('a', 'adam', 0.5), run('b', 'adam', 0.7, 5), run('c', 'sgd', 0.1), run('d', undefined, 0.9)].map(normalizeRun);
  it('by a param, largest group first, runs without it under (none)', () => {
    const g = groupRuns(rows, 'params.opt');
    expect(g.map((x) => [x.value, x.rows.length])).toEqual([
      ['adam', 2],
      [NO_VALUE, 1],
      ['sgd', 1],
    ]);
    expect(groupValue(rows[3], 'params.opt')).toBe(NO_VALUE);
  });
  it('roll up a group into a row with metric means', () => {
    const [adam] = groupRuns(rows, 'params.opt');
    const r = groupRow(adam, 'params.opt');
    expect(isGroupRow(r)).toBe(true);
    expect(r.metrics.acc).toBeCloseTo(0.6);
    expect(r.params.opt).toBe('adam');
    expect(r.run.info.start_time).toBe(5);
  });
  it('pool the smallest groups beyond the limit', () => {
    const many = Array.from({ length: MAX_GROUPS + 5 }, (_, i) => normalizeRun(run('r' + i, 'v' + i, i)));
    const g = groupRuns(many, 'params.opt');
    expect(g.length).toBe(MAX_GROUPS);
    expect(g[g.length - 1].value).toMatch(/^\(other: 6 values\)$/);
    expect(g.reduce((n, x) => n + x.rows.length, 0)).toBe(many.length);
  });
});
