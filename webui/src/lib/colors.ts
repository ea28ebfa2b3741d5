// Run colours: stable per run id (hash into a palette), overridable by the user (kept in localStorage).
export const PALETTE = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b',
  '#e377c2', '#17becf', '#bcbd22', '#f59f00', '#0b3d91', '#7a0177',
];

export function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

const KEY = 'aiotrack.runColors';
let overrides: Record<string, string> | null = null;
function load(): Record<string, string> {
  if (overrides) return overrides;
  try {
    overrides = JSON.parse(localStorage.getItem(KEY) || '{}') || {};
  } catch {
    overrides = {};
  }
  return overrides!;
}

export function runColor(runId: string): string {
  const o = typeof localStorage !== 'undefined' ? load()[runId] : undefined;
  return o || PALETTE[hashString(runId) % PALETTE.length];
}

export function setRunColor(runId: string, color: string) {
  const o = load();
  o[runId] = color;
  try {
    localStorage.setItem(KEY, JSON.stringify(o));
  } catch {
    /* storage full or disabled */
  }
}
