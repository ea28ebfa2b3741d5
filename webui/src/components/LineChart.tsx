import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useEffect, useMemo, useRef } from 'preact/hooks';
import { alignSeries, forLogScale, smooth, type XY } from '../lib/series';
import { fmtDuration, fmtNumber } from '../lib/format';
import type { XAxis } from '../lib/url';
import { useSize } from './common';

export interface ChartSeries {
  label: string;
  color: string;
  data: XY;
}

interface Props {
  series: ChartSeries[];
  axis: XAxis;
  log?: boolean;
  smoothing?: number;
  height?: number;
  range?: [number, number] | null; // x range shown (zoom), in chart x units
  onZoom?: (range: [number, number] | null) => void;
  /** Charts with the same key move one cursor together (each shows its own values at that x). */
  syncKey?: string;
}

/** Rows of the hover legend: every series with a value at the cursor, highest first. */
export function hoverRows(labels: string[], colors: string[], values: (number | null | undefined)[]): { label: string; color: string; value: number }[] {
  const rows: { label: string; color: string; value: number }[] = [];
  values.forEach((v, i) => {
    if (v !== null && v !== undefined && !Number.isNaN(v)) rows.push({ label: labels[i], color: colors[i], value: v });
  });
  return rows.sort((a, b) => b.value - a.value);
}

/** The hover legend beside the cursor, built with DOM nodes (run names are never parsed as HTML). */
function renderTip(tip: HTMLDivElement, title: string, rows: { label: string; color: string; value: number }[]) {
  tip.replaceChildren();
  const head = document.createElement('div');
  head.className = 'chart-tip-x';
  head.textContent = title;
  tip.appendChild(head);
  const MAX = 15;
  for (const r of rows.slice(0, MAX)) {
    const line = document.createElement('div');
    line.className = 'chart-tip-row';
    const sw = document.createElement('span');
    sw.className = 'swatch';
    sw.style.background = r.color;
    const name = document.createElement('span');
    name.className = 'chart-tip-name';
    name.textContent = r.label;
    const val = document.createElement('span');
    val.className = 'num';
    val.textContent = fmtNumber(r.value);
    line.append(sw, name, val);
    tip.appendChild(line);
  }
  if (rows.length > MAX) {
    const more = document.createElement('div');
    more.className = 'muted small';
    more.textContent = `+${rows.length - MAX} more`;
    tip.appendChild(more);
  }
}

/** Series with at most this many points are drawn with point markers. */
export const SHOW_POINTS_BELOW = 30;

/** Width of the y axis: its ticks and gap (15 px) and room for its longest tick label (12px text,
 * at most about 7.5 px a character). */
export function yAxisWidth(labels: (string | number | null | undefined)[]): number {
  const longest = labels.reduce<number>((m, v) => Math.max(m, v === null || v === undefined ? 0 : String(v).length), 0);
  return Math.max(40, Math.ceil(longest * 7.5 + 22));
}

const yAxisSize = (_u: uPlot, values: string[] | null) => yAxisWidth(values || []);

function withAlpha(hex: string, a: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) return hex;
  const n = parseInt(m[1], 16);
  return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${a})`;
}

/** A uPlot line chart: drag to zoom in on x, double-click to zoom out; values at the cursor in the legend. */
export function LineChart({ series, axis, log = false, smoothing = 0, height = 220, range, onZoom, syncKey = 'aiotrack-charts' }: Props) {
  const [wrap, size] = useSize<HTMLDivElement>();
  const plotEl = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const tipRef = useRef<HTMLDivElement | null>(null);
  const zoomCb = useRef(onZoom);
  zoomCb.current = onZoom;

  const data = useMemo(() => {
    const xy: XY[] = [];
    for (const s of series) {
      const y = smoothing > 0 ? smooth(s.data.y, smoothing) : s.data.y;
      if (smoothing > 0) xy.push({ x: s.data.x, y: log ? forLogScale(s.data.y) : s.data.y });
      xy.push({ x: s.data.x, y: log ? forLogScale(y) : y });
    }
    return alignSeries(xy) as uPlot.AlignedData;
  }, [series, smoothing, log]);

  useEffect(() => {
    const el = plotEl.current;
    if (!el || size.width < 50) return;
    const ser: uPlot.Series[] = [{ label: axis === 'step' ? 'Step' : axis === 'time' ? 'Time' : 'Relative time' }];
    for (const s of series) {
      if (smoothing > 0) ser.push({ label: s.label + ' (raw)', stroke: withAlpha(s.color, 0.22), width: 1, spanGaps: true, points: { show: false } });
      // a series of one or a few points has no line to speak of: draw its points
      const n = s.data.x.length;
      ser.push({
        label: s.label,
        stroke: s.color,
        width: 1.6,
        spanGaps: true,
        points: n <= SHOW_POINTS_BELOW ? { show: true, size: n === 1 ? 9 : 6, fill: s.color } : { show: false },
        value: (_u, v) => (v === null || v === undefined ? '–' : fmtNumber(v)),
      });
    }
    const opts: uPlot.Options = {
      width: Math.floor(size.width),
      height,
      series: ser,
      scales: {
        x: { time: axis === 'time', ...(range ? { min: range[0], max: range[1], auto: false } : {}) },
        y: log ? { distr: 3 } : {},
      },
      axes: [
        {
          stroke: '#667',
          grid: { stroke: '#eef0f3' },
          ticks: { stroke: '#dde' },
          values: axis === 'relative' ? (_u, vals) => vals.map((v) => fmtDuration(v * 1000)) : undefined,
        },
        { stroke: '#667', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#dde' }, size: yAxisSize, values: (_u, vals) => vals.map((v) => fmtNumber(v)) },
      ],
      legend: { live: true },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { size: 6 }, sync: { key: syncKey, setSeries: false } },
      hooks: {
        setCursor: [
          (u) => {
            const tip = tipRef.current;
            if (!tip) return;
            const idx = u.cursor.idx;
            const left = u.cursor.left ?? -1;
            if (idx === null || idx === undefined || left < 0) {
              tip.style.display = 'none';
              return;
            }
            // with smoothing every run has a faded raw series before its smoothed one: show the smoothed
            const step = smoothing > 0 ? 2 : 1;
            const labels: string[] = [],
              colors: string[] = [],
              values: (number | null)[] = [];
            for (let i = 0; i < series.length; i++) {
              labels.push(series[i].label);
              colors.push(series[i].color);
              values.push((u.data[1 + i * step + (step - 1)] as (number | null)[])[idx] ?? null);
            }
            const rows = hoverRows(labels, colors, values);
            if (rows.length === 0) {
              tip.style.display = 'none';
              return;
            }
            const x = u.data[0][idx];
            const title = axis === 'step' ? `step ${x}` : axis === 'time' ? new Date(x * 1000).toLocaleString() : fmtDuration(x * 1000);
            renderTip(tip, title, rows);
            tip.style.display = 'block';
            const w = tip.offsetWidth;
            const overW = u.over.clientWidth;
            tip.style.left = (left + 14 + w > overW ? Math.max(0, left - 14 - w) : left + 14) + 'px';
            tip.style.top = Math.max(0, Math.min((u.cursor.top ?? 0) - 10, u.over.clientHeight - tip.offsetHeight)) + 'px';
          },
        ],
        setSelect: [
          (u) => {
            if (u.select.width < 4) return;
            const a = u.posToVal(u.select.left, 'x');
            const b = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            zoomCb.current ? zoomCb.current([a, b]) : u.setScale('x', { min: a, max: b });
          },
        ],
      },
    };
    const u = new uPlot(opts, data, el);
    plot.current = u;
    const tip = document.createElement('div');
    tip.className = 'chart-tip';
    tip.setAttribute('role', 'tooltip');
    tip.style.display = 'none';
    u.over.appendChild(tip);
    tipRef.current = tip;
    // hide legend rows of the faded raw series
    if (smoothing > 0) {
      const rows = u.root.querySelectorAll<HTMLElement>('.u-legend .u-series');
      rows.forEach((r, i) => {
        if (i > 0 && i % 2 === 1) r.style.display = 'none';
      });
    }
    const dbl = () => (zoomCb.current ? zoomCb.current(null) : u.setScale('x', { min: data[0][0], max: data[0][data[0].length - 1] }));
    u.over.addEventListener('dblclick', dbl);
    return () => {
      u.over.removeEventListener('dblclick', dbl);
      u.destroy();
      plot.current = null;
      tipRef.current = null;
    };
  }, [data, size.width, height, axis, log, smoothing, range?.[0], range?.[1]]);

  return (
    <div class="chart" ref={wrap}>
      <div ref={plotEl} />
    </div>
  );
}
