// Run colours. A palette of clearly distinct hues, assigned by index: the runs shown together
// (in start order) take the palette's colours in turn, so a sweep of up to PALETTE.length runs
// never shows two runs in one colour. Each run keeps the colour it was first given (remembered in
// localStorage, bounded), so colours stay put as new runs arrive; the user can override any.

/** 24 hues that stay apart from each other on a white background (no near-white, no near-grey pairs). */
export const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#bcbd22',
  '#0b3d91',
  '#f59f00',
  '#7a0177',
  '#00a087',
  '#e64b35',
  '#3c5488',
  '#91d1c2',
  '#b09c85',
  '#4dbbd5',
  '#ff6f91',
  '#6a4c93',
  '#2f9e44',
  '#c2255c',
  '#495057',
  '#a9e34b',
];

export function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

const OVERRIDES = 'aiotrack.runColors';
const ASSIGNED = 'aiotrack.runColorIndex';
/** At most this many remembered assignments (oldest dropped first): about 400 KB of localStorage. */
export const MAX_REMEMBERED = 10000;

type Store = { get(k: string): string | null; set(k: string, v: string): void };
const browserStore: Store = {
  get: (k) => {
    try {
      return typeof localStorage === 'undefined' ? null : localStorage.getItem(k);
    } catch {
      return null;
    }
  },
  set: (k, v) => {
    try {
      if (typeof localStorage !== 'undefined') localStorage.setItem(k, v);
    } catch {
      /* storage full or disabled: colours then last for this page only */
    }
  },
};

let store: Store = browserStore;
let overrides: Record<string, string> | null = null;
let assigned: Map<string, number> | null = null;

// The remembered assignments are written to the store once the page is idle, not while the
// runs that got them are being rendered: with 10,000 runs that is 400 KB of JSON into
// localStorage on every page of runs. Leaving the page first writes it at once.
let pendingWrite: { cancel: () => void } | null = null;
let listening = false;

/** Write the remembered assignments now if a write is pending. */
export function flushRunColors() {
  if (pendingWrite === null) return;
  pendingWrite.cancel();
  pendingWrite = null;
  if (assigned) store.set(ASSIGNED, JSON.stringify([...assigned]));
}

function persistAssigned() {
  if (pendingWrite !== null) return;
  if (!listening && typeof addEventListener === 'function') {
    listening = true;
    addEventListener('pagehide', flushRunColors);
  }
  if (typeof requestIdleCallback === 'function') {
    const h = requestIdleCallback(flushRunColors, { timeout: 2000 });
    pendingWrite = { cancel: () => cancelIdleCallback(h) };
  } else {
    const h = setTimeout(flushRunColors, 200);
    pendingWrite = { cancel: () => clearTimeout(h) };
  }
}

/** For tests: use another key-value store and forget what was loaded (pending writes go to the old one). */
export function setColorStore(s: Store) {
  flushRunColors();
  store = s;
  overrides = null;
  assigned = null;
}

function readJson<T>(key: string, fallback: T): T {
  try {
    const v = JSON.parse(store.get(key) || 'null');
    return v ?? fallback;
  } catch {
    return fallback;
  }
}

function loadOverrides(): Record<string, string> {
  if (!overrides) overrides = readJson<Record<string, string>>(OVERRIDES, {});
  return overrides;
}

function loadAssigned(): Map<string, number> {
  if (!assigned) {
    const list = readJson<[string, number][]>(ASSIGNED, []);
    assigned = new Map(Array.isArray(list) ? list.filter((e) => Array.isArray(e) && typeof e[1] === 'number') : []);
  }
  return assigned;
}

/**
 * Give every run of `runIds` (in the order they are shown together, oldest first) a palette index:
 * a run keeps an index it already has unless another run of this set holds it; new runs take the
 * lowest index no run of the set uses yet.
 */
export function assignRunColors(runIds: string[]) {
  const map = loadAssigned();
  const used = new Set<number>();
  const fresh: string[] = [];
  for (const id of runIds) {
    const i = map.get(id);
    if (i !== undefined && !used.has(i)) used.add(i);
    else fresh.push(id);
  }
  if (fresh.length === 0) return;
  let next = 0;
  for (const id of fresh) {
    if (used.size >= PALETTE.length) used.clear(); // more runs than colours: start the palette over
    while (used.has(next % PALETTE.length)) next++;
    const i = next % PALETTE.length;
    used.add(i);
    map.delete(id);
    map.set(id, i);
  }
  while (map.size > MAX_REMEMBERED) map.delete(map.keys().next().value as string);
  persistAssigned();
}

export function runColor(runId: string): string {
  const o = loadOverrides()[runId];
  if (o) return o;
  const i = loadAssigned().get(runId);
  return PALETTE[i ?? hashString(runId) % PALETTE.length];
}

export function setRunColor(runId: string, color: string) {
  const o = loadOverrides();
  o[runId] = color;
  store.set(OVERRIDES, JSON.stringify(o));
}
