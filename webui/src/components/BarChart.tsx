import { fmtNumber } from '../lib/format';
import { fitLabel } from './Plots';
import { useSize } from './common';

export interface Bar {
  id: string;
  label: string;
  color: string;
  value: number;
}

/** The horizontal extent of bars over [min(0, values), max(0, values)]: where 0 sits and the scale. */
export function barScale(values: number[]): { zero: number; span: number } {
  const finite = values.filter((v) => Number.isFinite(v));
  const lo = Math.min(0, ...finite);
  const hi = Math.max(0, ...finite);
  const span = hi - lo || 1;
  return { zero: -lo / span, span };
}

/**
 * One bar per run, for a metric each run logged once (sklearn autolog's training scores, a final
 * accuracy): a line chart of single points says nothing, bars compare them at a glance.
 */
export function BarChart({ bars }: { bars: Bar[] }) {
  const [ref, size] = useSize<HTMLDivElement>();
  const W = Math.max(size.width, 260);
  const rowH = 22;
  const labelW = Math.min(180, Math.max(80, W * 0.3));
  const valueW = 76;
  const plotW = W - labelW - valueW - 8;
  const { zero, span } = barScale(bars.map((b) => b.value));
  const H = bars.length * rowH + 8;
  return (
    <div ref={ref} class="plot bar-chart">
      <svg width={W} height={H} role="img" aria-label="Bar chart, one bar per run">
        <line x1={labelW + zero * plotW} x2={labelW + zero * plotW} y1={0} y2={H} stroke="#c9ced6" />
        {bars.map((b, i) => {
          const y = 4 + i * rowH;
          const finite = Number.isFinite(b.value);
          const w = finite ? (Math.abs(b.value) / span) * plotW : 0;
          const x = labelW + zero * plotW - (b.value < 0 ? w : 0);
          return (
            <g key={b.id} data-run={b.id}>
              <text x={labelW - 6} y={y + 15} text-anchor="end" class="tick">
                {fitLabel(b.label, labelW - 10)}
                <title>{b.label}</title>
              </text>
              <rect x={x} y={y + 3} width={Math.max(w, finite ? 1 : 0)} height={rowH - 6} fill={b.color} rx={2}>
                <title>{`${b.label}: ${fmtNumber(b.value)}`}</title>
              </rect>
              <text x={labelW + plotW + 6} y={y + 15} class="tick bar-value">
                {fmtNumber(b.value)}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}
