import { describe, expect, it } from 'vitest';
import { compareValues, groupNested, normalizeRun, sortRows, cellValue, collectKeys, tableRow } from '../src/lib/runs';
import type { Run } from '../src/lib/types';

function mk(id: string, start: number, extra: Partial<{ parent: string; acc: number; lr: string }> = {}): Run {
  const tags = [{ key: 'mlflow.runName', value: 'run-' + id }];
  if (extra.parent) tags.push({ key: 'mlflow.parentRunId', value: extra.parent });
  return {
    info: { run_id: id, experiment_id: '0', status: 'FINISHED', start_time: start, end_time: start + 10, lifecycle_stage: 'active' },
    data: {
      tags,
      metrics: extra.acc === undefined ? [] : [{ key: 'acc', value: extra.acc, timestamp: 0, step: 0 }],
      params: extra.lr === undefined ? [] : [{ key: 'lr', value: extra.lr }],
    },
  };
}

describe('normalizeRun', () => {
  it('indexes params, metrics and tags and finds the parent', () => {
    const r = normalizeRun(mk('c', 5, { parent: 'p', acc: 0.5, lr: '0.1' }));
    expect(r.name).toBe('run-c');
    expect(r.parentId).toBe('p');
    expect(cellValue(r, 'metrics.acc')).toBe(0.5);
    expect(cellValue(r, 'params.lr')).toBe('0.1');
    expect(cellValue(r, 'attributes.duration')).toBe(10);
    expect(cellValue(r, 'params.missing')).toBeNull();
  });
  it('reads NaN and Infinity sent as strings', () => {
    const run = mk('a', 1);
    run.data.metrics = [
      { key: 'm', value: 'NaN', timestamp: 0, step: 0 },
      { key: 'i', value: 'Infinity', timestamp: 0, step: 0 },
    ];
    const r = normalizeRun(run);
    expect(Number.isNaN(r.metrics.m)).toBe(true);
    expect(r.metrics.i).toBe(Infinity);
  });
  it('collects column keys', () => {
    const rows = [normalizeRun(mk('a', 1, { acc: 1, lr: '1' })), normalizeRun(mk('b', 1))];
    expect(collectKeys(rows).metrics).toEqual(['acc']);
    expect(collectKeys(rows).tags).toEqual(['mlflow.runName']);
  });
});

describe('sorting', () => {
  it('compares numeric strings as numbers and puts missing values last', () => {
    expect(compareValues('10', '9')).toBe(1);
    expect(compareValues('a10', 'a9')).toBe(1);
    expect(compareValues(null, 1)).toBe(1);
    expect(compareValues(2, '')).toBe(-1);
    expect(compareValues(1, 'x')).toBe(-1);
  });
  it('sorts by any column, missing last in both directions', () => {
    const rows = [mk('a', 1, { acc: 0.2 }), mk('b', 2, { acc: 0.9 }), mk('c', 3), mk('d', 4, { acc: 0.5 })].map(normalizeRun);
    expect(sortRows(rows, 'metrics.acc', false).map((r) => r.id)).toEqual(['a', 'd', 'b', 'c']);
    expect(sortRows(rows, 'metrics.acc', true).map((r) => r.id)).toEqual(['b', 'd', 'a', 'c']);
    expect(sortRows(rows, '', true).map((r) => r.id)).toEqual(['d', 'c', 'b', 'a']);
  });
});

describe('groupNested', () => {
  const rows = [
    mk('p1', 10),
    mk('c1', 9, { parent: 'p1' }),
    mk('c2', 8, { parent: 'p1' }),
    mk('g1', 7, { parent: 'c1' }),
    mk('orphan', 6, { parent: 'gone' }),
    mk('p2', 5),
  ].map(normalizeRun);
  it('collapses children under their parent by default', () => {
    const t = groupNested(rows, new Set());
    expect(t.map((x) => x.row.id)).toEqual(['p1', 'orphan', 'p2']);
    expect(t[0].childCount).toBe(2);
    expect(t[0].expanded).toBe(false);
  });
  it('shows children after the parent, keeping sort order, with depth', () => {
    const t = groupNested(rows, new Set(['p1', 'c1']));
    expect(t.map((x) => [x.row.id, x.depth])).toEqual([
      ['p1', 0],
      ['c1', 1],
      ['g1', 2],
      ['c2', 1],
      ['orphan', 0],
      ['p2', 0],
    ]);
  });
  it('expands everything on request', () => {
    expect(groupNested(rows, new Set(), true).length).toBe(6);
  });
  it('survives a parent cycle', () => {
    const cyc = [mk('x', 1, { parent: 'y' }), mk('y', 2, { parent: 'x' })].map(normalizeRun);
    const t = groupNested(cyc, new Set(['x', 'y']));
    expect(t.map((r) => r.row.id).sort()).toEqual(['x', 'y']);
  });
});

describe('tableRow', () => {
  it('makes the row normalizeRun makes from the same run in runs/search shape', () => {
    const run = mk('c', 5, { parent: 'p', acc: 0.5, lr: '0.1' });
    run.outputs = { model_outputs: [{ model_id: 'm-1', step: 2 }] };
    const t = tableRow({
      info: run.info,
      params: { lr: '0.1' },
      metrics: { acc: 0.5 },
      tags: { 'mlflow.runName': 'run-c', 'mlflow.parentRunId': 'p' },
      outputs: run.outputs,
    });
    const n = normalizeRun(run);
    expect({ ...t, run: undefined }).toEqual({ ...n, run: undefined });
    expect(t.run.outputs).toEqual(run.outputs);
    expect(t.run.info).toEqual(run.info);
  });
  it('reads NaN sent as a string, and names an unnamed run by its id', () => {
    const t = tableRow({
      info: { run_id: 'abcdef0123', experiment_id: '0', status: 'RUNNING', lifecycle_stage: 'active' },
      params: {},
      metrics: { a: 'NaN', b: 1 },
      tags: {},
    });
    expect(Number.isNaN(t.metrics.a)).toBe(true);
    expect(t.metrics.b).toBe(1);
    expect(t.name).toBe('abcdef01');
  });
});
