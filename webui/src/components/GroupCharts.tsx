import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { PALETTE } from '../lib/colors';
import { fmtNumber } from '../lib/format';
import { fetchGrouped, groupRuns, type Group, type GroupSeries } from '../lib/groups';
import type { RunRow } from '../lib/types';
import { ErrorBox, useSize, useVisible } from './common';

/** Buckets per grouped chart: the server sums every run's points into these. */
export const GROUP_BUCKETS = 200;

function withAlpha(hex: string, a: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) return hex;
  const n = parseInt(m[1], 16);
  return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${a})`;
}

/** The groups' series on one x (bucket steps): mean, band low and band high per group. */
export function alignGroups(series: GroupSeries[], band: string): { x: number[]; cols: (number | null)[][] } {
  const xs = [...new Set(series.flatMap((s) => s.step))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const cols: (number | null)[][] = [];
  for (const s of series) {
    const mean: (number | null)[] = new Array(xs.length).fill(null);
    const lo: (number | null)[] = new Array(xs.length).fill(null);
    const hi: (number | null)[] = new Array(xs.length).fill(null);
    s.step.forEach((x, i) => {
      const j = at.get(x)!;
      mean[j] = s.mean[i];
      lo[j] = band === 'std' ? s.mean[i] - s.std[i] : s.min[i];
      hi[j] = band === 'std' ? s.mean[i] + s.std[i] : s.max[i];
    });
    cols.push(mean, lo, hi);
  }
  return { x: xs, cols };
}

function GroupChart({ metricKey, groups, band, refreshTick }: { metricKey: string; groups: Group[]; band: string; refreshTick: number }) {
  const [ref, visible] = useVisible<HTMLDivElement>();
  const [wrap, size] = useSize<HTMLDivElement>();
  const el = useRef<HTMLDivElement>(null);
  const [data, setData] = useState<GroupSeries[] | null>(null);
  const [err, setErr] = useState<Error>();
  const key = groups.map((g) => g.value + ':' + g.rows.length).join('|');
  useEffect(() => {
    if (!visible) return;
    const ctl = new AbortController();
    fetchGrouped(groups, metricKey, GROUP_BUCKETS, ctl.signal).then(
      (d) => {
        setData(d);
        setErr(undefined);
      },
      (e) => e?.name !== 'AbortError' && setErr(e),
    );
    return () => ctl.abort();
  }, [visible, key, metricKey, refreshTick]);
  const aligned = useMemo(() => (data ? alignGroups(data, band) : null), [data, band]);
  useEffect(() => {
    if (!aligned || !el.current || size.width < 50 || !data) return;
    const series: uPlot.Series[] = [{ label: 'Step' }];
    const bands: uPlot.Band[] = [];
    data.forEach((g, i) => {
      const color = PALETTE[i % PALETTE.length];
      const base = 1 + i * 3;
      series.push({
        label: `${g.group} (${g.runs})`,
        stroke: color,
        width: 1.8,
        spanGaps: true,
        points: { show: aligned.x.length <= 30 },
        value: (_u, v) => (v === null || v === undefined ? '–' : fmtNumber(v)),
      });
      series.push({ label: '', stroke: 'transparent', spanGaps: true, points: { show: false } });
      series.push({ label: '', stroke: 'transparent', spanGaps: true, points: { show: false } });
      bands.push({ series: [base + 2, base + 1], fill: withAlpha(color, 0.16) });
    });
    const u = new uPlot(
      {
        width: Math.floor(size.width),
        height: 220,
        series,
        bands,
        axes: [
          { stroke: '#667', grid: { stroke: '#eef0f3' } },
          { stroke: '#667', grid: { stroke: '#eef0f3' }, size: 64, values: (_u, vals) => vals.map((v) => fmtNumber(v)) },
        ],
        legend: { live: true },
        cursor: { sync: { key: 'aiotrack-charts', setSeries: false } },
      },
      [aligned.x, ...aligned.cols] as uPlot.AlignedData,
      el.current,
    );
    // only the mean series are listed in the legend
    u.root.querySelectorAll<HTMLElement>('.u-legend .u-series').forEach((r, i) => {
      if (i > 0 && (i - 1) % 3 !== 0) r.style.display = 'none';
    });
    return () => u.destroy();
  }, [aligned, size.width]);
  return (
    <div class="card chart-card group-chart" ref={ref} data-metric={metricKey}>
      <div class="chart-title">
        <h3 title={metricKey}>{metricKey}</h3>
      </div>
      <ErrorBox error={err} />
      {/* the chart box is always there, so its width is known before the data arrives */}
      <div class="chart" ref={wrap}>
        {!data ? (
          <div class="chart-placeholder">{visible ? 'Loading…' : ''}</div>
        ) : data.every((g) => g.step.length === 0) ? (
          <div class="chart-placeholder muted">No data for these runs</div>
        ) : null}
        <div ref={el} />
      </div>
      {data && (
        <div class="chart-foot muted">
          {band === 'std' ? 'mean ± 1 std' : 'mean, min–max band'} over {data.reduce((n, g) => n + g.runs, 0).toLocaleString('en-US')} runs
        </div>
      )}
    </div>
  );
}

/** One chart per metric, one mean series with a band per group of runs. */
export function GroupCharts({
  rows,
  groupBy,
  band,
  keys,
  refreshTick,
}: {
  rows: RunRow[];
  groupBy: string;
  band: string;
  keys: string[];
  refreshTick: number;
}) {
  const groups = useMemo(() => groupRuns(rows, groupBy), [rows, groupBy]);
  if (rows.length === 0) return <p class="muted">No runs to chart.</p>;
  if (keys.length === 0) return <p class="muted">No metrics logged.</p>;
  return (
    <>
      <div class="chart-legend">
        <span class="muted">{groups.length} groups:</span>
        {groups.map((g, i) => (
          <span key={g.value} class="legend-item">
            <span class="swatch" style={{ background: PALETTE[i % PALETTE.length] }} />
            {g.value} <span class="muted small">({g.rows.length})</span>
          </span>
        ))}
      </div>
      <div class="chart-grid">
        {keys.map((k) => (
          <GroupChart key={k} metricKey={k} groups={groups} band={band} refreshTick={refreshTick} />
        ))}
      </div>
    </>
  );
}
