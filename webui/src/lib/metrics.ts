import { AIOTRACK, ApiError, get, request } from './api';
import { minMaxDownsample } from './series';
import type { DownsampledSeries } from './series';
import type { Metric } from './types';
import { toNumber } from './runs';

let endpointMissing = false;

export interface DownsampleQuery {
  runIds: string[];
  keys: string[];
  buckets: number;
  axis: 'step' | 'time';
  range?: [number, number] | null; // in the axis' unit (step, or ms for time)
}

/**
 * Fetch min/max-preserving downsampled series from our endpoint
 * GET ajax-api/2.0/aiotrack/metrics/downsampled. Against a server without it (plain mlflow) fall
 * back to MLflow's get-history-bulk-interval (sampled, at most 2500 points per run) and apply the
 * same downsampling locally.
 */
export async function fetchDownsampled(q: DownsampleQuery, signal?: AbortSignal): Promise<DownsampledSeries[]> {
  if (q.runIds.length === 0 || q.keys.length === 0) return [];
  // the endpoint takes at most 100 runs, 100 keys and 1000 series per request
  const parts = chunkQuery(q);
  if (parts.length > 1) {
    const out: DownsampledSeries[] = [];
    for (const part of parts) out.push(...(await fetchDownsampled(part, signal)));
    return out;
  }
  if (!endpointMissing) {
    try {
      const res = await request<{ series: DownsampledSeries[] }>(AIOTRACK + 'metrics/downsampled', {
        signal,
        query: {
          run_id: q.runIds,
          metric_key: q.keys,
          buckets: q.buckets,
          x_axis: q.axis,
          min_x: q.range ? Math.floor(q.range[0]) : undefined,
          max_x: q.range ? Math.ceil(q.range[1]) : undefined,
        },
      });
      return res.series || [];
    } catch (e) {
      if (!(e instanceof ApiError && (e.status === 404 || e.status === 405))) throw e;
      endpointMissing = true;
    }
  }
  return fallback(q, signal);
}

async function fallback(q: DownsampleQuery, signal?: AbortSignal): Promise<DownsampledSeries[]> {
  const out: DownsampledSeries[] = [];
  for (const key of q.keys) {
    const res = await get<{ metrics?: Metric[] }>(
      'metrics/get-history-bulk-interval',
      {
        run_ids: q.runIds,
        metric_key: key,
        max_results: 2500,
        start_step: q.range && q.axis === 'step' ? Math.floor(q.range[0]) : undefined,
        end_step: q.range && q.axis === 'step' ? Math.ceil(q.range[1]) : undefined,
      },
      signal,
    );
    const byRun = new Map<string, Metric[]>();
    for (const m of res.metrics || []) {
      const id = m.run_id || '';
      if (!byRun.has(id)) byRun.set(id, []);
      byRun.get(id)!.push(m);
    }
    for (const runId of q.runIds) {
      let ms = byRun.get(runId) || [];
      if (q.range && q.axis === 'time') ms = ms.filter((m) => m.timestamp >= q.range![0] && m.timestamp <= q.range![1]);
      const xs = ms.map((m) => (q.axis === 'step' ? m.step : m.timestamp));
      const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b] || a - b);
      const ys = order.map((i) => toNumber(ms[i].value));
      const d = minMaxDownsample(
        order.map((i) => xs[i]),
        ys.map((v) => (Number.isNaN(v) ? null : v)),
        q.buckets,
      );
      // map kept x back to points
      const keep = new Set(d.x);
      const pts = order.map((i) => ms[i]).filter((m) => keep.has(q.axis === 'step' ? m.step : m.timestamp));
      const finite = ys.filter((v) => Number.isFinite(v));
      out.push({
        run_id: runId,
        metric_key: key,
        total: ms.length,
        min: finite.length ? Math.min(...finite) : null,
        max: finite.length ? Math.max(...finite) : null,
        step: pts.map((m) => m.step),
        timestamp: pts.map((m) => m.timestamp),
        value: pts.map((m) => m.value),
      });
    }
  }
  return out;
}

export function chunkQuery(q: DownsampleQuery, maxRuns = 100, maxKeys = 100, maxSeries = 1000): DownsampleQuery[] {
  const runsPer = Math.min(maxRuns, q.runIds.length);
  const keysPer = Math.max(1, Math.min(maxKeys, Math.floor(maxSeries / runsPer)));
  const out: DownsampleQuery[] = [];
  for (let i = 0; i < q.runIds.length; i += runsPer)
    for (let j = 0; j < q.keys.length; j += keysPer) out.push({ ...q, runIds: q.runIds.slice(i, i + runsPer), keys: q.keys.slice(j, j + keysPer) });
  return out;
}
