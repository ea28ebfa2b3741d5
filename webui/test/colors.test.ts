import { beforeEach, describe, expect, it } from 'vitest';
import { MAX_REMEMBERED, PALETTE, assignRunColors, runColor, setColorStore, setRunColor } from '../src/lib/colors';

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
    expect(JSON.parse(store.m.get('aiotrack.runColorIndex')!).length).toBe(MAX_REMEMBERED);
  });

  it('fall back to a hashed colour for a run never shown in a list', () => {
    expect(PALETTE).toContain(runColor('never-seen'));
  });
});
