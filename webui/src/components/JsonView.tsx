import { useState } from 'preact/hooks';

/** Strings longer than this are cut, with a button that shows the rest. */
const LONG_STRING = 2000;
/** Objects and arrays with more entries than this show the first ones and a button for the rest. */
const MANY_ENTRIES = 200;

function Str({ s }: { s: string }) {
  const [all, setAll] = useState(false);
  if (s.length <= LONG_STRING || all) return <span class="json-str">"{s}"</span>;
  return (
    <span class="json-str">
      "{s.slice(0, LONG_STRING)}…"{' '}
      <button class="link small" onClick={() => setAll(true)}>
        show all {s.length.toLocaleString('en-US')} characters
      </button>
    </span>
  );
}

function Leaf({ v }: { v: unknown }) {
  if (v === null) return <span class="json-null">null</span>;
  if (typeof v === 'string') return <Str s={v} />;
  if (typeof v === 'number') return <span class="json-num">{String(v)}</span>;
  if (typeof v === 'boolean') return <span class="json-bool">{String(v)}</span>;
  if (v === undefined) return <span class="json-null">undefined</span>;
  return <span>{String(v)}</span>;
}

function Node({ name, v, depth, open: initiallyOpen }: { name?: string; v: unknown; depth: number; open: number }) {
  const isObj = v !== null && typeof v === 'object';
  const [open, setOpen] = useState(depth < initiallyOpen);
  const [more, setMore] = useState(false);
  const label = name !== undefined ? <span class="json-key">{name}: </span> : null;
  if (!isObj) {
    return (
      <div class="json-row" style={{ paddingLeft: depth * 14 + 'px' }}>
        {label}
        <Leaf v={v} />
      </div>
    );
  }
  const entries: [string, unknown][] = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v as Record<string, unknown>);
  const brackets = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
  const summary = Array.isArray(v) ? `${entries.length} items` : `${entries.length} keys`;
  // children are rendered only when expanded, so a span with megabytes of inputs opens at once
  const shown = more ? entries : entries.slice(0, MANY_ENTRIES);
  return (
    <div class="json-node">
      <div class="json-row" style={{ paddingLeft: depth * 14 + 'px' }}>
        <button class="json-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? '▾' : '▸'}
        </button>
        {label}
        <span class="json-brace">{brackets[0]}</span>
        {!open && <span class="muted small"> {summary} </span>}
        {!open && <span class="json-brace">{brackets[1]}</span>}
      </div>
      {open && shown.map(([k, x]) => <Node key={k} name={Array.isArray(v) ? undefined : k} v={x} depth={depth + 1} open={initiallyOpen} />)}
      {open && !more && entries.length > MANY_ENTRIES && (
        <div class="json-row" style={{ paddingLeft: (depth + 1) * 14 + 'px' }}>
          <button class="link small" onClick={() => setMore(true)}>
            show {entries.length - MANY_ENTRIES} more
          </button>
        </div>
      )}
      {open && (
        <div class="json-row" style={{ paddingLeft: depth * 14 + 'px' }}>
          <span class="json-brace">{brackets[1]}</span>
        </div>
      )}
    </div>
  );
}

/** A collapsible JSON viewer: the first `open` levels expanded, the rest on click. */
export function JsonView({ value, open = 2, label }: { value: unknown; open?: number; label?: string }) {
  const [raw, setRaw] = useState(false);
  const text = () => {
    try {
      return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
    } catch {
      return String(value);
    }
  };
  return (
    <div class="json-view" aria-label={label}>
      <div class="json-tools">
        <button class="link small" onClick={() => setRaw(!raw)}>
          {raw ? 'tree' : 'raw'}
        </button>
        <button class="link small" onClick={() => navigator.clipboard?.writeText(text())}>
          copy
        </button>
      </div>
      {raw ? <pre class="json-raw">{text()}</pre> : <Node v={value} depth={0} open={open} />}
    </div>
  );
}
