import { beforeEach, describe, expect, it } from 'vitest';
import { MAX_REMEMBERED, PALETTE, assignRunColors, flushRunColors, runColor, setColorStore, setRunColor } from '../src/lib/colors';

function memoryStore() {
  const m = new Map<string, string>();
  return { get: (k: string) => m.get(k) ?? null, set: (k: string, v: string) => void m.set(k, v), m };
}

describe('run colours', () => {
  let store: ReturnType<typeof memoryStore>;
  beforeEach(() => {
    store = memoryStore();
    setColorStore(store);
  });

  it('give the runs shown together distinct colours, up to the palette size', () => {
    const ids = Array.from({ length: PALETTE.length }, (_, i) => 'run' + i);
    assignRunColors(ids);
    expect(new Set(ids.map(runColor)).size).toBe(PALETTE.length);
    // two runs whose hashes collide in the palette still differ
    assignRunColors(['a', 'b']);
    expect(runColor('a')).not.toBe(runColor('b'));
  });

  it("keep a run's colour as new runs arrive and after a reload", () => {
    assignRunColors(['r1', 'r2']);
    const before = [runColor('r1'), runColor('r2')];
    assignRunColors(['r1', 'r2', 'r3']);
    expect([runColor('r1'), runColor('r2')]).toEqual(before);
    expect(runColor('r3')).not.toBe(before[0]);
    expect(runColor('r3')).not.toBe(before[1]);
    setColorStore(store); // a new page load reads what was remembered
    expect([runColor('r1'), runColor('r2')]).toEqual(before);
  });

  it('resolve a clash between runs first coloured apart', () => {
    assignRunColors(['x']);
    setColorStore(memoryStore());
    assignRunColors(['y']); // in another store both got index 0
    const s = memoryStore();
    setColorStore(s);
    assignRunColors(['x']);
    assignRunColors(['y']);
    expect(runColor('x')).toBe(runColor('y')); // each alone took the first colour
    assignRunColors(['x', 'y']);
    expect(runColor('x')).not.toBe(runColor('y'));
  });

  it('let the user override a colour', () => {
    assignRunColors(['r1']);
    setRunColor('r1', '#123456');
    expect(runColor('r1')).toBe('#123456');
  });

  it('bound what it remembers', () => {
    assignRunColors(Array.from({ length: MAX_REMEMBERED + 50 }, (_, i) => 'id' + i));
    flushRunColors();
    expect(JSON.parse(store.m.get('aiotrack.runColorIndex')!).length).toBe(MAX_REMEMBERED);
  });

  it('write the assignments once, after the pages of runs rendered, not on every call', async () => {
    const writes: string[] = [];
    setColorStore({ get: () => null, set: (_k, v) => void writes.push(v) });
    assignRunColors(['a', 'b']);
    assignRunColors(['a', 'b', 'c']);
    expect(writes).toEqual([]); // the colours are assigned already, the write waits
    expect(new Set([runColor('a'), runColor('b'), runColor('c')]).size).toBe(3);
    await new Promise((r) => setTimeout(r, 300));
    expect(writes.length).toBe(1);
    expect(JSON.parse(writes[0]).map((e: [string, number]) => e[0])).toEqual(['a', 'b', 'c']);
    assignRunColors(['a', 'b', 'c']); // nothing new: nothing to write
    flushRunColors();
    expect(writes.length).toBe(1);
  });

  it('fall back to a hashed colour for a run never shown in a list', () => {
    expect(PALETTE).toContain(runColor('never-seen'));
  });
});
