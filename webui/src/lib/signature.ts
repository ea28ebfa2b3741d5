// The model signature in an MLmodel file (YAML written by MLflow):
//   signature:
//     inputs: '[{"type": "double", "name": "x", "required": true}]'
//     outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]'
//     params: '[{"name": "k", "type": "long", "default": 3, "shape": null}]'
// Each value is JSON in a single-quoted YAML scalar, which PyYAML folds over several lines when long.

export interface SignatureField {
  name: string;
  type: string;
  required?: boolean;
  default?: unknown;
  shape?: unknown;
}
export interface Signature {
  inputs: SignatureField[];
  outputs: SignatureField[];
  params: SignatureField[];
}

/** One single- or double-quoted (possibly folded) YAML scalar, or a plain one, as text. */
function yamlScalar(lines: string[]): string {
  const text = lines
    .map((l, i) => (i === 0 ? l : l.trim()))
    .join(' ')
    .trim();
  if (text.startsWith("'")) return text.slice(1, text.endsWith("'") ? -1 : undefined).replace(/''/g, "'");
  if (text.startsWith('"')) {
    try {
      return JSON.parse(text);
    } catch {
      return text.slice(1, -1);
    }
  }
  return text;
}

function fields(json: string | undefined): SignatureField[] {
  if (!json || json === 'null') return [];
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(v)) return [];
  return v.map((f: any, i: number) => {
    let type = String(f?.type ?? '');
    if (type === 'tensor' && f['tensor-spec']) type = `tensor ${f['tensor-spec'].dtype ?? ''} ${JSON.stringify(f['tensor-spec'].shape ?? '')}`.trim();
    if (type === 'array' && f.items) type = `array<${f.items.type ?? '?'}>`;
    return { name: f?.name !== undefined ? String(f.name) : `(${i})`, type, required: f?.required, default: f?.default, shape: f?.shape };
  });
}

/** The signature of an MLmodel file, or null when it has none. */
export function parseSignature(mlmodel: string): Signature | null {
  const lines = mlmodel.split(/\r?\n/);
  const start = lines.findIndex((l) => /^signature:\s*$/.test(l));
  if (start < 0) return null;
  const values: Record<string, string> = {};
  let key: string | null = null;
  let buf: string[] = [];
  const flush = () => {
    if (key) values[key] = yamlScalar(buf);
    key = null;
    buf = [];
  };
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i];
    if (l.trim() === '') continue;
    if (!/^\s/.test(l)) break; // the next top-level key
    const m = /^ {2}([A-Za-z_]+):\s?(.*)$/.exec(l);
    if (m) {
      flush();
      key = m[1];
      buf = [m[2]];
    } else if (key) buf.push(l);
  }
  flush();
  const sig = { inputs: fields(values.inputs), outputs: fields(values.outputs), params: fields(values.params) };
  return sig.inputs.length || sig.outputs.length || sig.params.length ? sig : null;
}
