// Small SVG plots for the compare page: scatter of two columns, parallel coordinates over many.
import { useState } from 'preact/hooks';
import { fmtNumber } from '../lib/format';
import { useSize } from './common';

export interface PlotRun {
  id: string;
  name: string;
  color: string;
  values: Record<string, string | number | null>;
}

export interface Axis {
  id: string;
  numeric: boolean;
  min: number;
  max: number;
  cats: string[];
}

export function buildAxis(id: string, runs: PlotRun[]): Axis {
  const vals = runs.map((r) => r.values[id]).filter((v) => v !== null && v !== undefined && v !== '');
  const nums = vals.map((v) => (typeof v === 'number' ? v : Number(v)));
  const numeric = vals.length > 0 && nums.every((n) => Number.isFinite(n));
  if (numeric) {
    let min = Math.min(...nums),
      max = Math.max(...nums);
    if (min === max) {
      min -= 0.5;
      max += 0.5;
    }
    return { id, numeric, min, max, cats: [] };
  }
  const cats = [...new Set(vals.map(String))].sort();
  return { id, numeric: false, min: 0, max: Math.max(cats.length - 1, 1), cats };
}

/** Position of a value on an axis in [0, 1] (0 = bottom/left), or null when missing. */
export function axisPos(a: Axis, v: string | number | null | undefined): number | null {
  if (v === null || v === undefined || v === '') return null;
  if (a.numeric) {
    const n = typeof v === 'number' ? v : Number(v);
    return Number.isFinite(n) ? (n - a.min) / (a.max - a.min) : null;
  }
  const i = a.cats.indexOf(String(v));
  if (i < 0) return null;
  return a.cats.length === 1 ? 0.5 : i / (a.cats.length - 1);
}

const label = (id: string) => id.slice(id.indexOf('.') + 1);
/** Tick positions and labels; categorical axes keep every k-th category so labels stay `minGap` px apart. */
export const ticks = (a: Axis, length = 300, minGap = 14): [number, string][] => {
  if (a.numeric) return [0, 0.25, 0.5, 0.75, 1].map((t) => [t, fmtNumber(a.min + t * (a.max - a.min))]);
  const n = a.cats.length;
  const every = Math.max(1, Math.ceil((n * minGap) / Math.max(length, 1)));
  const out: [number, string][] = [];
  for (let i = 0; i < n; i += every) out.push([n === 1 ? 0.5 : i / (n - 1), a.cats[i]]);
  return out;
};

/** A label cut to fit `px` pixels of 12px text (about 6.5 px a character), with an ellipsis. */
export function fitLabel(text: string, px: number): string {
  const max = Math.max(3, Math.floor(px / 6.5));
  return text.length <= max ? text : text.slice(0, max - 1) + '…';
}

export function ScatterPlot({ runs, x, y }: { runs: PlotRun[]; x: string; y: string }) {
  const [ref, size] = useSize<HTMLDivElement>();
  const [hover, setHover] = useState<PlotRun | null>(null);
  const W = Math.max(size.width, 300),
    H = 340,
    m = { l: 70, r: 20, t: 16, b: 44 };
  const ax = buildAxis(x, runs),
    ay = buildAxis(y, runs);
  // keep points off the frame: data spans the middle 88% of each axis
  const pad = (p: number) => 0.06 + p * 0.88;
  const px = (p: number) => m.l + pad(p) * (W - m.l - m.r),
    py = (p: number) => H - m.b - pad(p) * (H - m.t - m.b);
  const pts = runs.map((r) => ({ r, x: axisPos(ax, r.values[x]), y: axisPos(ay, r.values[y]) })).filter((p) => p.x !== null && p.y !== null);
  return (
    <div ref={ref} class="plot">
      <svg width={W} height={H} role="img" aria-label={`Scatter plot of ${label(y)} against ${label(x)}`}>
        <rect x={m.l} y={m.t} width={W - m.l - m.r} height={H - m.t - m.b} fill="#fafbfc" stroke="#e3e6ea" />
        {ticks(ax, W - m.l - m.r, 60).map(([t, s]) => (
          <g key={'x' + t}>
            <line x1={px(t)} x2={px(t)} y1={m.t} y2={H - m.b} stroke="#eef0f3" />
            <text x={px(t)} y={H - m.b + 16} text-anchor="middle" class="tick">
              {fitLabel(s, 90)}
              <title>{s}</title>
            </text>
          </g>
        ))}
        {ticks(ay, H - m.t - m.b).map(([t, s]) => (
          <g key={'y' + t}>
            <line x1={m.l} x2={W - m.r} y1={py(t)} y2={py(t)} stroke="#eef0f3" />
            <text x={m.l - 6} y={py(t) + 4} text-anchor="end" class="tick">
              {fitLabel(s, m.l - 8)}
              <title>{s}</title>
            </text>
          </g>
        ))}
        <text x={(W + m.l) / 2} y={H - 6} text-anchor="middle" class="axis-label">
          {label(x)}
        </text>
        <text transform={`translate(14 ${(H - m.b) / 2}) rotate(-90)`} text-anchor="middle" class="axis-label">
          {label(y)}
        </text>
        {pts.map((p) => (
          <circle
            key={p.r.id}
            cx={px(p.x!)}
            cy={py(p.y!)}
            r={hover === p.r ? 8 : 6}
            fill={p.r.color}
            fill-opacity={0.85}
            stroke="#fff"
            onMouseEnter={() => setHover(p.r)}
            onMouseLeave={() => setHover(null)}
          >
            <title>{`${p.r.name}\n${label(x)}: ${p.r.values[x]}\n${label(y)}: ${p.r.values[y]}`}</title>
          </circle>
        ))}
      </svg>
      {pts.length < runs.length && <p class="muted small">{runs.length - pts.length} run(s) lack one of the two values.</p>}
    </div>
  );
}

export function ParallelCoordinates({ runs, axes }: { runs: PlotRun[]; axes: string[] }) {
  const [ref, size] = useSize<HTMLDivElement>();
  const [hover, setHover] = useState<string | null>(null);
  const W = Math.max(size.width, 300),
    H = 380,
    m = { l: 50, r: 70, t: 48, b: 24 };
  if (axes.length < 2) return <p class="muted">Choose at least two columns.</p>;
  const built = axes.map((a) => buildAxis(a, runs));
  const gap = (W - m.l - m.r) / (axes.length - 1);
  // neighbouring axis titles alternate between two lines when they are close, and are cut to fit
  const stagger = gap < 140;
  const titleRoom = stagger ? gap * 2 - 8 : gap - 8;
  const ax = (i: number) => m.l + i * gap;
  const py = (p: number) => H - m.b - p * (H - m.t - m.b);
  return (
    <div ref={ref} class="plot">
      <svg width={W} height={H} role="img" aria-label="Parallel coordinates plot">
        {runs.map((r) => {
          const pts: string[] = [];
          built.forEach((a, i) => {
            const p = axisPos(a, r.values[a.id]);
            if (p !== null) pts.push(`${ax(i)},${py(p)}`);
          });
          return (
            <polyline
              key={r.id}
              points={pts.join(' ')}
              fill="none"
              stroke={r.color}
              stroke-width={hover === r.id ? 3.5 : 1.8}
              stroke-opacity={hover && hover !== r.id ? 0.2 : 0.85}
              onMouseEnter={() => setHover(r.id)}
              onMouseLeave={() => setHover(null)}
            >
              <title>{r.name}</title>
            </polyline>
          );
        })}
        {built.map((a, i) => (
          <g key={a.id}>
            <line x1={ax(i)} x2={ax(i)} y1={m.t} y2={H - m.b} stroke="#556" />
            <text x={ax(i)} y={m.t - (stagger && i % 2 ? 28 : 12)} text-anchor="middle" class="axis-label">
              {fitLabel(label(a.id), titleRoom)}
              <title>{a.id}</title>
            </text>
            {ticks(a, H - m.t - m.b).map(([t, s]) => (
              <text key={t} x={ax(i) + 5} y={py(t) + 4} class="tick">
                {fitLabel(s, Math.min(gap - 10, 120))}
                <title>{s}</title>
              </text>
            ))}
          </g>
        ))}
      </svg>
    </div>
  );
}
