import { describe, expect, it } from 'vitest';
import { parseSignature } from '../src/lib/signature';

const MLMODEL = `artifact_path: model
flavors:
  sklearn:
    sklearn_version: 1.5.0
signature:
  inputs: '[{"type": "double", "name": "sepal length (cm)", "required": true}, {"type":
    "double", "name": "petal width", "required": false}, {"type": "string", "name": "it''s"}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
  params: '[{"name": "k", "type": "long", "default": 3, "shape": null}]'
utc_time_created: '2026-01-01 00:00:00.000000'
`;

describe('model signature', () => {
  it('reads inputs, outputs and params from an MLmodel file, folded lines and quotes included', () => {
    const s = parseSignature(MLMODEL)!;
    expect(s.inputs.map((f) => [f.name, f.type, f.required])).toEqual([
      ['sepal length (cm)', 'double', true],
      ['petal width', 'double', false],
      ["it's", 'string', undefined],
    ]);
    expect(s.outputs).toEqual([{ name: '(0)', type: 'tensor int64 [-1]', required: undefined, default: undefined, shape: undefined }]);
    expect(s.params[0]).toMatchObject({ name: 'k', type: 'long', default: 3 });
  });
  it('say null without a signature or with a broken one', () => {
    expect(parseSignature('flavors:\n  sklearn: {}\n')).toBeNull();
    expect(parseSignature("signature:\n  inputs: '[broken'\n")).toBeNull();
    expect(parseSignature('signature:\n  inputs: null\n  outputs: null\n')).toBeNull();
  });
});
