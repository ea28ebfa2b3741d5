import { describe, expect, it } from 'vitest';
import { alignSeries, forLogScale, minMaxDownsample, seriesToXY, smooth } from '../src/lib/series';

describe('seriesToXY', () => {
  const s = {
    run_id: 'r',
    metric_key: 'm',
    total: 3,
    min: 1,
    max: 3,
    step: [2, 0, 1],
    timestamp: [3000, 1000, 2000],
    value: [3, 'NaN', 1] as (number | string)[],
  };
  it('sorts by x and turns NaN into gaps', () => {
    expect(seriesToXY(s, 'step')).toEqual({ x: [0, 1, 2], y: [null, 1, 3] });
  });
  it('uses seconds for wall time and relative time', () => {
    expect(seriesToXY(s, 'time').x).toEqual([1, 2, 3]);
    expect(seriesToXY(s, 'relative', 1000).x).toEqual([0, 1, 2]);
  });
});

describe('minMaxDownsample', () => {
  it('keeps short series unchanged', () => {
    expect(minMaxDownsample([0, 1, 2], [1, 2, 3], 10)).toEqual({ x: [0, 1, 2], y: [1, 2, 3] });
  });
  it('keeps a single spike in a long series', () => {
    const n = 100_000;
    const x = Array.from({ length: n }, (_, i) => i);
    const y = x.map((i) => (i === 54_321 ? 1000 : Math.sin(i / 1000)));
    const d = minMaxDownsample(x, y, 100);
    expect(d.x.length).toBeLessThanOrEqual(400);
    expect(Math.max(...(d.y as number[]))).toBe(1000);
    expect(d.x).toContain(54_321);
    expect(d.x[0]).toBe(0);
    expect(d.x[d.x.length - 1]).toBe(n - 1);
    // x stays sorted
    for (let i = 1; i < d.x.length; i++) expect(d.x[i]).toBeGreaterThan(d.x[i - 1]);
  });
  it('keeps the minimum too', () => {
    const x = Array.from({ length: 5000 }, (_, i) => i);
    const y = x.map((i) => (i === 777 ? -50 : 1));
    expect(Math.min(...(minMaxDownsample(x, y, 10).y as number[]))).toBe(-50);
  });
});

describe('smooth', () => {
  it('is the identity at weight 0', () => {
    expect(smooth([1, 2, 3], 0)).toEqual([1, 2, 3]);
  });
  it('debiases the first point', () => {
    expect(smooth([5, 5, 5], 0.9)[0]).toBeCloseTo(5);
    expect(smooth([5, 5, 5], 0.9)[2]).toBeCloseTo(5);
  });
  it('damps a step and passes gaps through', () => {
    const out = smooth([0, 0, null, 10, 10], 0.5);
    expect(out[2]).toBeNull();
    expect(out[3]!).toBeGreaterThan(0);
    expect(out[3]!).toBeLessThan(10);
    expect(out[4]!).toBeGreaterThan(out[3]!);
  });
});

describe('alignSeries', () => {
  it('joins series on the union of x values with gaps', () => {
    expect(
      alignSeries([
        { x: [0, 2], y: [1, 3] },
        { x: [1, 2], y: [5, 6] },
      ]),
    ).toEqual([
      [0, 1, 2],
      [1, null, 3],
      [null, 5, 6],
    ]);
  });
  it('drops non-positive values for log scale', () => {
    expect(forLogScale([1, 0, -1, null, 2])).toEqual([1, null, null, null, 2]);
  });
});

import { chunkQuery } from '../src/lib/metrics';

describe('chunkQuery', () => {
  const ids = (n: number, p: string) => Array.from({ length: n }, (_, i) => p + i);
  it('keeps a small query whole', () => {
    expect(chunkQuery({ runIds: ['a'], keys: ['k'], buckets: 10, axis: 'step' })).toHaveLength(1);
  });
  it('splits runs by 100 and keys so each request has at most 1000 series', () => {
    const parts = chunkQuery({ runIds: ids(250, 'r'), keys: ids(25, 'k'), buckets: 10, axis: 'step' });
    for (const p of parts) {
      expect(p.runIds.length).toBeLessThanOrEqual(100);
      expect(p.runIds.length * p.keys.length).toBeLessThanOrEqual(1000);
    }
    const pairs = new Set(parts.flatMap((p) => p.runIds.flatMap((r) => p.keys.map((k) => r + '/' + k))));
    expect(pairs.size).toBe(250 * 25);
  });
  it('splits many keys for one run', () => {
    const parts = chunkQuery({ runIds: ['r'], keys: ids(250, 'k'), buckets: 0, axis: 'step' });
    expect(parts.map((p) => p.keys.length)).toEqual([100, 100, 50]);
  });
});
