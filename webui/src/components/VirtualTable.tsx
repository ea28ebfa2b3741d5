import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { useSize } from './common';

export interface Column<R> {
  id: string;
  label: ComponentChildren;
  width: number;
  render: (row: R, index: number) => ComponentChildren;
  sortable?: boolean;
  align?: 'left' | 'right';
  sticky?: boolean; // pinned to the left while scrolling sideways
  title?: string;
}

interface Props<R> {
  rows: R[];
  columns: Column<R>[];
  rowKey: (r: R) => string;
  rowHeight?: number;
  sortId?: string;
  sortDesc?: boolean;
  onSort?: (id: string) => void;
  rowClass?: (r: R) => string;
  empty?: ComponentChildren;
  label?: string;
  /** Column resize: drag the right edge of a header; called once with the final width. */
  onResize?: (id: string, width: number) => void;
  /** Column reorder: drag a (non-sticky) header onto another. */
  onReorder?: (from: string, to: string) => void;
}

/**
 * A virtualized table: fixed row height, one scroll container, only the rows in view (plus a small
 * overscan) are in the DOM, so 100,000 rows scroll as smoothly as 100.
 */
export function VirtualTable<R>({
  rows,
  columns: given,
  rowKey,
  rowHeight = 30,
  sortId,
  sortDesc,
  onSort,
  rowClass,
  empty,
  label,
  onResize,
  onReorder,
}: Props<R>) {
  // the width of the column being resized follows the pointer; the owner learns the final width
  const [live, setLive] = useState<{ id: string; width: number } | null>(null);
  const resizing = useRef(false);
  const [dropAt, setDropAt] = useState<string | null>(null);
  const columns = live ? given.map((c) => (c.id === live.id ? { ...c, width: live.width } : c)) : given;
  const startResize = (e: PointerEvent, c: Column<R>) => {
    e.preventDefault();
    e.stopPropagation();
    resizing.current = true;
    const x0 = e.clientX;
    const w0 = c.width;
    let w = w0;
    const move = (ev: PointerEvent) => {
      w = Math.max(50, w0 + ev.clientX - x0);
      setLive({ id: c.id, width: w });
    };
    const up = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      resizing.current = false;
      setLive(null);
      if (w !== w0) onResize?.(c.id, w);
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  };
  const [ref, size] = useSize<HTMLDivElement>();
  const [scrollTop, setScrollTop] = useState(0);
  const raf = useRef(0);
  const onScroll = (e: Event) => {
    const el = e.currentTarget as HTMLDivElement;
    if (raf.current) return;
    raf.current = requestAnimationFrame(() => {
      raf.current = 0;
      setScrollTop(el.scrollTop);
    });
  };
  useEffect(() => () => cancelAnimationFrame(raf.current), []);

  const headerH = 34;
  const overscan = 8;
  const viewH = Math.max(size.height - headerH, rowHeight * 10);
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(rows.length, Math.ceil((scrollTop + viewH) / rowHeight) + overscan);
  const totalW = columns.reduce((a, c) => a + c.width, 0);
  let left = 0;
  const stickyLeft = columns.map((c) => {
    const l = left;
    if (c.sticky) left += c.width;
    return c.sticky ? l : null;
  });
  const cellStyle = (c: Column<R>, i: number) => {
    const s: Record<string, string | number> = { width: c.width + 'px', minWidth: c.width + 'px' };
    if (stickyLeft[i] !== null) {
      s.left = stickyLeft[i] + 'px';
    }
    return s;
  };
  const cellClass = (c: Column<R>, i: number, base: string) => base + (c.align === 'right' ? ' right' : '') + (stickyLeft[i] !== null ? ' sticky' : '');

  // Rows are keyed by their slot in a fixed-size pool (index modulo pool size), so scrolling
  // patches the same DOM nodes with new content instead of unmounting and mounting rows.
  const pool = Math.ceil(viewH / rowHeight) + 2 * overscan + 2;
  const items = [];
  for (let i = first; i < last; i++) {
    const r = rows[i];
    items.push(
      <div
        role="row"
        aria-rowindex={i + 2}
        data-key={rowKey(r)}
        class={'vt-row ' + (i % 2 ? 'odd ' : '') + (rowClass ? rowClass(r) : '')}
        key={i % pool}
        style={{ transform: `translateY(${i * rowHeight}px)`, height: rowHeight + 'px', width: totalW + 'px', minWidth: '100%' }}
      >
        {columns.map((c, ci) => (
          <div role="gridcell" class={cellClass(c, ci, 'vt-cell')} style={cellStyle(c, ci)} key={c.id}>
            {c.render(r, i)}
          </div>
        ))}
      </div>,
    );
  }
  return (
    <div class="vt" ref={ref} onScroll={onScroll} role="grid" aria-label={label} aria-rowcount={rows.length + 1}>
      <div class="vt-inner" style={{ width: totalW + 'px' }}>
        <div class="vt-head" role="row" aria-rowindex={1} style={{ height: headerH + 'px' }}>
          {columns.map((c, ci) => {
            const active = sortId === c.id;
            const movable = !!onReorder && !c.sticky;
            return (
              <div
                role="columnheader"
                key={c.id}
                title={c.title}
                data-col={c.id}
                aria-sort={active ? (sortDesc ? 'descending' : 'ascending') : undefined}
                class={cellClass(c, ci, 'vt-hcell') + (c.sortable ? ' sortable' : '') + (active ? ' sorted' : '') + (dropAt === c.id ? ' drop-target' : '')}
                style={cellStyle(c, ci)}
                onClick={c.sortable && onSort ? () => !resizing.current && onSort(c.id) : undefined}
                draggable={movable}
                onDragStart={
                  movable
                    ? (e) => {
                        if (resizing.current) {
                          e.preventDefault();
                          return;
                        }
                        e.dataTransfer?.setData('text/x-aiotrack-column', c.id);
                        if (e.dataTransfer) e.dataTransfer.effectAllowed = 'move';
                      }
                    : undefined
                }
                onDragOver={
                  movable
                    ? (e) => {
                        e.preventDefault();
                        if (dropAt !== c.id) setDropAt(c.id);
                      }
                    : undefined
                }
                onDragLeave={movable ? () => setDropAt(null) : undefined}
                onDrop={
                  movable
                    ? (e) => {
                        e.preventDefault();
                        setDropAt(null);
                        const from = e.dataTransfer?.getData('text/x-aiotrack-column');
                        if (from && from !== c.id) onReorder!(from, c.id);
                      }
                    : undefined
                }
              >
                <span class="vt-label">{c.label}</span>
                {active && <span class="sort-arrow">{sortDesc ? '▼' : '▲'}</span>}
                {onResize && c.id !== '_sel' && (
                  <span
                    class="vt-resize"
                    role="separator"
                    aria-orientation="vertical"
                    aria-label={'Resize column ' + (c.title || c.id)}
                    onPointerDown={(e) => startResize(e as unknown as PointerEvent, c)}
                    onClick={(e) => e.stopPropagation()}
                  />
                )}
              </div>
            );
          })}
        </div>
        <div class="vt-body" style={{ height: rows.length * rowHeight + 'px' }}>
          {items}
        </div>
        {rows.length === 0 && empty && <div class="vt-empty">{empty}</div>}
      </div>
    </div>
  );
}
