import { useEffect, useMemo, useState } from 'preact/hooks';
import { fetchDownsampled } from '../lib/metrics';
import { seriesToXY, type DownsampledSeries } from '../lib/series';
import type { RunRow } from '../lib/types';
import type { XAxis } from '../lib/url';
import { runColor } from '../lib/colors';
import { ErrorBox, useVisible } from './common';
import { LineChart, type ChartSeries } from './LineChart';
import { BarChart } from './BarChart';

export interface ChartSettings {
  x: XAxis;
  smooth: number;
  log: boolean;
}

export function ChartControls({
  s,
  onChange,
  filter,
  onFilter,
  refreshing,
}: {
  s: ChartSettings;
  onChange: (s: ChartSettings) => void;
  filter: string;
  onFilter: (f: string) => void;
  refreshing?: boolean;
}) {
  return (
    <div class="toolbar chart-controls">
      <input
        type="search"
        class="grow"
        placeholder="Search metrics"
        aria-label="Search metrics"
        value={filter}
        onInput={(e) => onFilter((e.target as HTMLInputElement).value)}
      />
      <label>
        X axis{' '}
        <select aria-label="X axis" value={s.x} onChange={(e) => onChange({ ...s, x: (e.target as HTMLSelectElement).value as XAxis })}>
          <option value="step">Step</option>
          <option value="time">Wall time</option>
          <option value="relative">Relative time</option>
        </select>
      </label>
      <label class="slider">
        Smoothing{' '}
        <input
          type="range"
          aria-label="Smoothing"
          min={0}
          max={0.99}
          step={0.01}
          value={s.smooth}
          onInput={(e) => onChange({ ...s, smooth: Number((e.target as HTMLInputElement).value) })}
        />
        <span class="num">{s.smooth.toFixed(2)}</span>
      </label>
      <label>
        <input type="checkbox" aria-label="Log scale" checked={s.log} onChange={(e) => onChange({ ...s, log: (e.target as HTMLInputElement).checked })} /> Log
        scale
      </label>
      {refreshing && <span class="muted live">● live</span>}
    </div>
  );
}

/** A grid of line charts, one per metric key, each plotting every given run. */
export function MetricCharts({
  runs,
  keys,
  settings,
  refreshTick,
  buckets = 500,
}: {
  runs: RunRow[];
  keys: string[];
  settings: ChartSettings;
  refreshTick: number;
  buckets?: number;
}) {
  if (runs.length === 0) return <p class="muted">No runs to chart.</p>;
  if (keys.length === 0) return <p class="muted">No metrics logged.</p>;
  return (
    <div class="chart-grid">
      {keys.map((k) => (
        <MetricChart key={k} metricKey={k} runs={runs} settings={settings} refreshTick={refreshTick} buckets={buckets} />
      ))}
    </div>
  );
}

function MetricChart({
  metricKey,
  runs,
  settings,
  refreshTick,
  buckets,
}: {
  metricKey: string;
  runs: RunRow[];
  settings: ChartSettings;
  refreshTick: number;
  buckets: number;
}) {
  const [ref, visible] = useVisible<HTMLDivElement>();
  const [zoom, setZoom] = useState<[number, number] | null>(null);
  const [data, setData] = useState<DownsampledSeries[] | null>(null);
  const [err, setErr] = useState<Error>();
  const runIds = runs.map((r) => r.id).join(',');
  const reqAxis = settings.x === 'step' ? 'step' : 'time';
  useEffect(() => setZoom(null), [settings.x]);
  useEffect(() => {
    if (!visible) return;
    const ctl = new AbortController();
    // zoom ranges are refetched at full detail (step or absolute time); relative time zooms client-side
    const range = zoom && settings.x !== 'relative' ? (settings.x === 'time' ? ([zoom[0] * 1000, zoom[1] * 1000] as [number, number]) : zoom) : null;
    fetchDownsampled({ runIds: runs.map((r) => r.id), keys: [metricKey], buckets, axis: reqAxis, range }, ctl.signal).then(
      (d) => {
        setData(d);
        setErr(undefined);
      },
      (e) => e?.name !== 'AbortError' && setErr(e),
    );
    return () => ctl.abort();
  }, [visible, runIds, metricKey, reqAxis, zoom?.[0], zoom?.[1], refreshTick, buckets]);

  const series: ChartSeries[] = useMemo(() => {
    if (!data) return [];
    const byId = new Map(runs.map((r) => [r.id, r]));
    return data
      .filter((s) => s.step.length > 0 && byId.has(s.run_id))
      .map((s) => {
        const r = byId.get(s.run_id)!;
        return { label: r.name, color: runColor(r.id), data: seriesToXY(s, settings.x, r.run.info.start_time || 0) };
      });
  }, [data, runs, settings.x]);
  // every run logged this metric once: bars per run instead of a chart of lone points
  const single = series.length > 0 && !zoom && series.every((s) => s.data.x.length === 1);
  const total = data ? data.reduce((a, s) => a + (s.total || 0), 0) : 0;
  const shown = data ? data.reduce((a, s) => a + s.step.length, 0) : 0;
  return (
    <div class="card chart-card" ref={ref} data-metric={metricKey}>
      <div class="chart-title">
        <h3 title={metricKey}>{metricKey}</h3>
        {zoom && (
          <button class="link" onClick={() => setZoom(null)}>
            Reset zoom
          </button>
        )}
      </div>
      <ErrorBox error={err} />
      {!visible || !data ? (
        <div class="chart-placeholder">{visible ? 'Loading…' : ''}</div>
      ) : series.length === 0 ? (
        <div class="chart-placeholder muted">No data for the chosen runs</div>
      ) : single ? (
        <BarChart bars={series.map((s, i) => ({ id: String(i), label: s.label, color: s.color, value: s.data.y[0] as number }))} />
      ) : (
        <LineChart
          series={series}
          axis={settings.x}
          log={settings.log}
          smoothing={settings.smooth}
          range={zoom}
          onZoom={settings.x === 'relative' ? undefined : setZoom}
        />
      )}
      {data && total > shown && (
        <div class="chart-foot muted" title="Each bucket keeps its first, min, max and last point, so spikes stay visible">
          {shown.toLocaleString()} of {total.toLocaleString()} points (min/max kept) · drag to zoom
        </div>
      )}
    </div>
  );
}
