import { describe, expect, it } from 'vitest';
import { DEFAULT_RUNS_STATE, decodeRunsState, encodeRunsState, parseRoute, routeToHash, type Route } from '../src/lib/url';

describe('runs view state in the URL', () => {
  it('round-trips every field', () => {
    const s = {
      ...DEFAULT_RUNS_STATE,
      view: 'charts' as const,
      filter: "metrics.acc > 0.9 and params.opt = 'a,b&c'",
      lifecycle: 'all' as const,
      sort: 'metrics.acc',
      desc: false,
      cols: ['params.lr', 'tags.a,b', 'metrics.loss'],
      sel: ['r1', 'r2'],
      x: 'relative' as const,
      smooth: 0.6,
      log: true,
      mq: 'loss',
    };
    const back = decodeRunsState(new URLSearchParams(encodeRunsState(s)));
    expect(back).toEqual(s);
  });
  it('keeps the defaults out of the URL', () => {
    expect(encodeRunsState(DEFAULT_RUNS_STATE)).toBe('');
  });
  it('distinguishes "no columns chosen" from "default columns"', () => {
    const empty = decodeRunsState(new URLSearchParams(encodeRunsState({ ...DEFAULT_RUNS_STATE, cols: [] })));
    expect(empty.cols).toEqual([]);
    expect(decodeRunsState(new URLSearchParams('')).cols).toBeNull();
  });
  it('clamps bad numbers', () => {
    expect(decodeRunsState(new URLSearchParams('smooth=7')).smooth).toBe(0.99);
    expect(decodeRunsState(new URLSearchParams('smooth=abc')).smooth).toBe(0);
  });
});

describe('routes', () => {
  const cases: Route[] = [
    { page: 'experiments', q: 'bert', lifecycle: 'deleted' },
    { page: 'runs', expIds: ['0', '12'], state: { ...DEFAULT_RUNS_STATE, filter: 'x', sel: ['a'] } },
    { page: 'run', expId: '3', runId: 'abc', tab: 'artifacts', path: 'dir/a b.csv' },
    { page: 'compare', runIds: ['a', 'b'], diff: true, x: 'params.lr', y: 'metrics.acc' },
    { page: 'models', q: '' },
    { page: 'model', name: 'my model/v2' },
    { page: 'version', name: 'm', version: '3' },
    { page: 'logged-model', expId: '1', modelId: 'm-123' },
  ];
  for (const r of cases) {
    it(`round-trips ${r.page}`, () => {
      expect(parseRoute(routeToHash(r))).toEqual(r);
    });
  }
  it('opens the experiments list at the root', () => {
    expect(parseRoute('').page).toBe('experiments');
    expect(parseRoute('#/').page).toBe('experiments');
  });
  it('reads MLflow-style run links', () => {
    expect(parseRoute('#/experiments/0/runs/xyz')).toMatchObject({ page: 'run', expId: '0', runId: 'xyz', tab: 'overview' });
  });
});

describe("MLflow's own UI addresses", () => {
  it('open the matching page', () => {
    expect(parseRoute('#/experiments/1/runs/abc/artifacts/model/MLmodel')).toEqual({
      page: 'run',
      expId: '1',
      runId: 'abc',
      tab: 'artifacts',
      path: 'model/MLmodel',
    });
    expect(parseRoute('#/experiments/1/runs/abc/model-metrics')).toMatchObject({ page: 'run', runId: 'abc', tab: 'charts' });
    expect(parseRoute('#/experiments/1/runs/abc/overview')).toMatchObject({ page: 'run', tab: 'overview' });
    expect(parseRoute('#/experiments/1/runs/abc/traces')).toMatchObject({ page: 'run', tab: 'traces' });
    expect(parseRoute('#/experiments/1/runs')).toMatchObject({ page: 'runs', expIds: ['1'] });
    expect(parseRoute('#/experiments/1/models/m-123')).toEqual({ page: 'logged-model', expId: '1', modelId: 'm-123' });
    const models = parseRoute('#/experiments/1/models');
    expect(models.page === 'runs' && models.state.view).toBe('models');
    expect(parseRoute('#/compare-runs?runs=%5B%22a%22%2C%22b%22%5D&experiments=%5B%221%22%5D')).toMatchObject({ page: 'compare', runIds: ['a', 'b'] });
    expect(parseRoute('#/compare-runs?runs=["a","b"]&experiments=["1"]')).toMatchObject({ page: 'compare', runIds: ['a', 'b'] });
    expect(parseRoute('#/compare-experiments/s?experiments=["1","2"]')).toMatchObject({ page: 'runs', expIds: ['1', '2'] });
    expect(parseRoute('#/metric/loss?runs=["a"]&experiments=["1"]')).toMatchObject({ page: 'run', expId: '1', runId: 'a', tab: 'charts' });
    expect(parseRoute('#/metric/loss?runs=["a","b"]&experiments=["1"]')).toMatchObject({ page: 'compare', runIds: ['a', 'b'] });
    expect(parseRoute('#/models/m/versions/2')).toEqual({ page: 'version', name: 'm', version: '2' });
  });
});
