import { describe, expect, it } from 'vitest';
import { sortTable, tableFromJson } from '../src/lib/table';

describe('table previews', () => {
  it("read mlflow.log_table's JSON (pandas orient=split)", () => {
    const t = tableFromJson({
      columns: ['q', 'score', 'meta'],
      data: [
        ['a', 0.5, { k: 1 }],
        ['b', null, [1]],
      ],
    });
    expect(t).toEqual({
      head: ['q', 'score', 'meta'],
      rows: [
        ['a', '0.5', '{"k":1}'],
        ['b', '', '[1]'],
      ],
    });
  });
  it('refuse JSON that is not a table', () => {
    expect(tableFromJson({ columns: ['a'] })).toBeNull();
    expect(tableFromJson({ columns: ['a'], data: [1, 2] })).toBeNull();
    expect(tableFromJson([1, 2])).toBeNull();
    expect(tableFromJson(null)).toBeNull();
  });
  it('sort numbers numerically, numbers before text, stable, both ways', () => {
    const rows = [['10'], ['9'], ['x'], [''], ['9'], ['-1']];
    expect(sortTable(rows, 0, false).map((r) => r[0])).toEqual(['-1', '9', '9', '10', '', 'x']);
    expect(sortTable(rows, 0, true).map((r) => r[0])).toEqual(['x', '', '10', '9', '9', '-1']);
    expect(sortTable([['b2'], ['b10'], ['a']], 0, false).map((r) => r[0])).toEqual(['a', 'b2', 'b10']);
  });
});
