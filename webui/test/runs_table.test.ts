import { describe, expect, it } from 'vitest';
import { collectKeys, composeFilter, defaultColumns, DEFAULT_ATTRIBUTES, normalizeRun, runsToCsv } from '../src/lib/runs';
import type { Run } from '../src/lib/types';

function run(id: string, metrics: Record<string, number>, params: Record<string, string>, extra: Partial<Run> = {}): Run {
  return {
    info: { run_id: id, experiment_id: '1', status: 'FINISHED', start_time: 1700000000000, end_time: 1700000001000, lifecycle_stage: 'active' },
    data: {
      tags: [{ key: 'mlflow.runName', value: 'run-' + id }],
      metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, timestamp: 0, step: 0 })),
      params: Object.entries(params).map(([key, value]) => ({ key, value })),
    },
    ...extra,
  };
}

describe('default columns', () => {
  it('show the metrics and params that vary across the runs, not the first alphabetically', () => {
    const rows = [
      run('a', { aaa_const: 1, score: 0.5, zz_loss: 3 }, { alpha: '0.1', const_p: 'x', solver: 'auto' }),
      run('b', { aaa_const: 1, score: 0.7, zz_loss: 2 }, { alpha: '1.0', const_p: 'x', solver: 'auto' }),
    ].map(normalizeRun);
    const cols = defaultColumns(collectKeys(rows), rows);
    expect(cols.slice(0, DEFAULT_ATTRIBUTES.length)).toEqual(DEFAULT_ATTRIBUTES);
    expect(cols).toContain('metrics.score');
    expect(cols).toContain('metrics.zz_loss');
    expect(cols).toContain('params.alpha');
    expect(cols).not.toContain('metrics.aaa_const');
    expect(cols).not.toContain('params.const_p');
  });
  it('compare values as values: a metric NaN in every run does not vary, 0.1 and 0.10 logged alike do not either', () => {
    const rows = [run('a', { nan: NaN, same: 0.1, moved: 1 }, { p: '1' }), run('b', { nan: NaN, same: 0.1, moved: 2 }, { p: '1' })].map(normalizeRun);
    const cols = defaultColumns(collectKeys(rows), rows);
    expect(cols.filter((c) => c.startsWith('metrics.'))).toEqual(['metrics.moved']);
  });
  it('fall back to the logged keys for a single run, and add Dataset and Models where runs have them', () => {
    const rows = [
      run(
        'a',
        { m: 1 },
        { p: '1' },
        {
          inputs: { dataset_inputs: [{ dataset: { name: 'iris', digest: 'd1' }, tags: [{ key: 'mlflow.data.context', value: 'train' }] }] },
          outputs: { model_outputs: [{ model_id: 'm-1', step: 0 }] },
        },
      ),
    ].map(normalizeRun);
    const cols = defaultColumns(collectKeys(rows), rows);
    expect(cols).toEqual([...DEFAULT_ATTRIBUTES, 'attributes.datasets', 'attributes.models', 'metrics.m', 'params.p']);
  });
});

describe('CSV export', () => {
  it('writes the rows and columns as shown, quoting what needs it and defusing formulas', () => {
    const rows = [run('a', { acc: 0.5 }, { note: 'has, comma "q"', f: '=HYPERLINK("x")', neg: '-1.5' })].map(normalizeRun);
    const csv = runsToCsv(rows, ['attributes.start_time', 'metrics.acc', 'params.note', 'params.f', 'params.neg']);
    const [head, line] = csv.trim().split('\r\n');
    expect(head).toBe('Run ID,Run name,Created,metrics.acc,params.note,params.f,params.neg');
    expect(line).toBe(`a,run-a,2023-11-14T22:13:20.000Z,0.5,"has, comma ""q""","'=HYPERLINK(""x"")",-1.5`);
  });
});

describe('time range and dataset filters', () => {
  it('AND with the typed filter', () => {
    expect(composeFilter('', '', '')).toBe('');
    expect(composeFilter("params.a = '1'", '1h', '', 10_000_000)).toBe("params.a = '1' AND attributes.start_time >= 6400000");
    expect(composeFilter('', '', "it's")).toBe("dataset.name = 'it\\'s'");
    expect(composeFilter('metrics.x > 1', 'bogus', 'iris')).toBe("metrics.x > 1 AND dataset.name = 'iris'");
  });
});
