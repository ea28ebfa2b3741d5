// Metric series for charts: the server's min/max-preserving downsampled points, smoothing, and
// aligning several runs onto one x axis for uPlot.
import { toNumber } from './runs';
import type { XAxis } from './url';

/** One series as returned by GET ajax-api/2.0/aiotrack/metrics/downsampled. */
export interface DownsampledSeries {
  run_id: string;
  metric_key: string;
  total: number; // points the run has for this key (in range)
  min: number | string | null; // over all points, not only the returned ones
  max: number | string | null;
  step: number[];
  timestamp: number[];
  value: (number | string | null)[];
}

export interface XY {
  x: number[];
  y: (number | null)[];
}

/** Turn a server series into chart coordinates; NaN becomes a gap (null), points sorted by x. */
export function seriesToXY(s: DownsampledSeries, axis: XAxis, runStartMs = 0): XY {
  const n = Math.min(s.step.length, s.timestamp.length, s.value.length);
  const idx = new Array<number>(n);
  const xs = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    idx[i] = i;
    xs[i] = axis === 'step' ? s.step[i] : axis === 'time' ? s.timestamp[i] / 1000 : (s.timestamp[i] - runStartMs) / 1000;
  }
  let sorted = true;
  for (let i = 1; i < n; i++)
    if (xs[i] < xs[i - 1]) {
      sorted = false;
      break;
    }
  if (!sorted) idx.sort((a, b) => xs[a] - xs[b] || a - b);
  const x: number[] = new Array(n),
    y: (number | null)[] = new Array(n);
  for (let j = 0; j < n; j++) {
    const i = idx[j];
    x[j] = xs[i];
    const v = s.value[i] === null ? NaN : toNumber(s.value[i] as number | string);
    y[j] = Number.isNaN(v) ? null : v;
  }
  return { x, y };
}

/**
 * Reference implementation of the server's downsampling (used when the server lacks the endpoint,
 * e.g. against a plain mlflow server, and in tests): split the x range into `buckets` equal-width
 * buckets and keep, per bucket, the first, min, max and last point, in x order. Spikes survive.
 */
export function minMaxDownsample(x: number[], y: (number | null)[], buckets: number): XY {
  const n = x.length;
  if (n <= buckets * 4 || buckets < 1) return { x: x.slice(), y: y.slice() };
  const lo = x[0],
    hi = x[n - 1];
  const width = (hi - lo) / buckets || 1;
  const keep: number[] = [];
  let b = -1,
    first = -1,
    last = -1,
    mn = -1,
    mx = -1;
  const flush = () => {
    if (first < 0) return;
    const sel = [first, mn, mx, last].filter((i) => i >= 0);
    sel.sort((a, c) => a - c);
    let prev = -1;
    for (const i of sel)
      if (i !== prev) {
        keep.push(i);
        prev = i;
      }
  };
  for (let i = 0; i < n; i++) {
    const bi = Math.min(buckets - 1, Math.floor((x[i] - lo) / width));
    if (bi !== b) {
      flush();
      b = bi;
      first = i;
      last = i;
      mn = -1;
      mx = -1;
    }
    last = i;
    const v = y[i];
    if (v !== null && Number.isFinite(v)) {
      if (mn < 0 || v < (y[mn] as number)) mn = i;
      if (mx < 0 || v > (y[mx] as number)) mx = i;
    }
  }
  flush();
  return { x: keep.map((i) => x[i]), y: keep.map((i) => y[i]) };
}

/**
 * TensorBoard-style exponential moving average with debiasing, weight in [0, 1). Gaps (null) and
 * non-finite values are passed through and do not disturb the average.
 */
export function smooth(y: (number | null)[], weight: number): (number | null)[] {
  if (!(weight > 0)) return y.slice();
  const w = Math.min(weight, 0.999);
  let last = 0,
    n = 0;
  return y.map((v) => {
    if (v === null || !Number.isFinite(v)) return v;
    last = last * w + (1 - w) * v;
    n++;
    return last / (1 - w ** n);
  });
}

/**
 * Put several (x, y) series on one shared, sorted x array (the union of all x values), with null
 * where a series has no point; the format uPlot takes: [x, y1, y2, ...]. Points at the same x in
 * one series (a repeated step) keep only the last one.
 */
export function alignSeries(series: XY[]): [number[], ...(number | null)[][]] {
  const all: number[] = [];
  for (const s of series) for (const v of s.x) all.push(v);
  all.sort((a, b) => a - b);
  const xs: number[] = [];
  for (const v of all) if (xs.length === 0 || xs[xs.length - 1] !== v) xs.push(v);
  const pos = new Map<number, number>();
  xs.forEach((v, i) => pos.set(v, i));
  const ys = series.map((s) => {
    const out: (number | null)[] = new Array(xs.length).fill(null);
    for (let i = 0; i < s.x.length; i++) out[pos.get(s.x[i])!] = s.y[i];
    return out;
  });
  return [xs, ...ys];
}

/** Positive-only copy for a log scale (uPlot cannot place values <= 0 on a log axis). */
export function forLogScale(y: (number | null)[]): (number | null)[] {
  return y.map((v) => (v === null || v <= 0 ? null : v));
}
