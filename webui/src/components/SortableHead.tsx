import { useMemo, useState } from 'preact/hooks';
import { compareValues } from '../lib/runs';

export interface SortState {
  id: string;
  desc: boolean;
}

/** Client-side sorting of a fully loaded table: missing values last, numbers numerically. */
export function useSorted<R>(rows: R[], value: (r: R, id: string) => string | number | null, initial: SortState | null = null) {
  const [sort, setSort] = useState<SortState | null>(initial);
  const sorted = useMemo(() => {
    if (!sort) return rows;
    const out = rows.slice();
    out.sort((a, b) => {
      const va = value(a, sort.id);
      const vb = value(b, sort.id);
      const missingA = va === null || va === '';
      const missingB = vb === null || vb === '';
      if (missingA || missingB) return missingA === missingB ? 0 : missingA ? 1 : -1;
      const c = compareValues(va, vb);
      return sort.desc ? -c : c;
    });
    return out;
  }, [rows, sort]);
  const toggle = (id: string, descFirst = false) => setSort((s) => (s && s.id === id ? { id, desc: !s.desc } : { id, desc: descFirst }));
  return { sorted, sort, toggle };
}

/** A sortable column header: click to sort, again to reverse. */
export function SortTh({
  id,
  label,
  sort,
  onSort,
  descFirst = false,
  class: cls,
}: {
  id: string;
  label: preact.ComponentChildren;
  sort: SortState | null;
  onSort: (id: string, descFirst?: boolean) => void;
  descFirst?: boolean;
  class?: string;
}) {
  const active = sort?.id === id;
  return (
    <th
      class={'sortable' + (cls ? ' ' + cls : '')}
      aria-sort={active ? (sort!.desc ? 'descending' : 'ascending') : undefined}
      onClick={() => onSort(id, descFirst)}
    >
      {label}
      {active && <span class="sort-arrow">{sort!.desc ? ' ▼' : ' ▲'}</span>}
    </th>
  );
}
