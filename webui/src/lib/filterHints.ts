// Completion hints for the runs filter box, which takes MLflow's search syntax:
//   metrics.accuracy > 0.9 and params.optimizer = 'adam' and tags.`my tag` LIKE '%x%'

export interface Hint {
  label: string; // what the list shows
  insert: string; // what replaces the word at the cursor
  kind: 'prefix' | 'metric' | 'param' | 'tag' | 'attribute' | 'value' | 'keyword';
}

export interface HintResult {
  from: number; // start of the replaced word
  to: number; // end of the replaced word
  hints: Hint[];
}

export const ATTRIBUTES = ['run_id', 'run_name', 'status', 'user_id', 'start_time', 'end_time', 'artifact_uri', 'experiment_id'];
const STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'];
const KINDS: Record<string, 'metric' | 'param' | 'tag' | 'attribute'> = {
  metrics: 'metric',
  metric: 'metric',
  params: 'param',
  param: 'param',
  parameters: 'param',
  tags: 'tag',
  tag: 'tag',
  attributes: 'attribute',
  attribute: 'attribute',
  attr: 'attribute',
  run: 'attribute',
};

/** MLflow needs backticks around keys that are not plain identifiers. */
export function quoteKey(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : '`' + key.replace(/`/g, '') + '`';
}

const WORD = /[A-Za-z0-9_.`-]/;

/** Hints for the word at `cursor` in `text`. */
export function filterHints(text: string, cursor: number, keys: { metrics: string[]; params: string[]; tags: string[] }, limit = 12): HintResult {
  // inside a backticked key the word may contain spaces: extend back to the opening backtick
  let from = cursor;
  while (from > 0 && WORD.test(text[from - 1])) from--;
  const ticks = (text.slice(0, cursor).match(/`/g) || []).length;
  if (ticks % 2 === 1) {
    const open = text.lastIndexOf('`', cursor - 1);
    from = open;
    while (from > 0 && WORD.test(text[from - 1]) && text[from - 1] !== '`') from--;
  }
  let to = cursor;
  while (to < text.length && WORD.test(text[to])) to++;
  const word = text.slice(from, cursor);
  const before = text.slice(0, from);

  // a value after "attributes.status =" / "status !="
  const statusCtx = /(?:^|\s)(?:attributes?\.|attr\.|run\.)?status\s*(=|!=|IN\s*\(|LIKE)\s*'?$/i.exec(text.slice(0, cursor).replace(/'[A-Z]*$/i, ''));
  if (statusCtx && !word.includes('.')) {
    const q = text.slice(0, cursor).match(/'([A-Z]*)$/i);
    const typed = (q ? q[1] : word).toUpperCase();
    const start = q ? cursor - q[0].length : from;
    const hints = STATUSES.filter((s) => s.startsWith(typed)).map((s): Hint => ({ label: s, insert: `'${s}'`, kind: 'value' }));
    return { from: start, to, hints };
  }

  // after a complete comparison, suggest "and"
  if (word === '' && /('[^']*'|\d|\))\s+$/.test(before)) {
    return { from, to, hints: [{ label: 'and', insert: 'and ', kind: 'keyword' }] };
  }

  const dot = word.indexOf('.');
  if (dot < 0) {
    const w = word.toLowerCase();
    const hints: Hint[] = [];
    for (const p of ['metrics.', 'params.', 'tags.', 'attributes.']) if (p.startsWith(w)) hints.push({ label: p, insert: p, kind: 'prefix' });
    if (w) {
      // a bare key name: offer it under each kind that has it
      const add = (list: string[], prefix: string, kind: Hint['kind']) => {
        for (const k of list) if (k.toLowerCase().startsWith(w)) hints.push({ label: prefix + k, insert: prefix + quoteKey(k), kind });
      };
      add(keys.metrics, 'metrics.', 'metric');
      add(keys.params, 'params.', 'param');
      add(ATTRIBUTES, 'attributes.', 'attribute');
    }
    return { from, to, hints: hints.slice(0, limit) };
  }
  const prefix = word.slice(0, dot).toLowerCase();
  const kind = KINDS[prefix];
  if (!kind) return { from, to, hints: [] };
  const typed = word
    .slice(dot + 1)
    .replace(/`/g, '')
    .toLowerCase();
  const list = kind === 'metric' ? keys.metrics : kind === 'param' ? keys.params : kind === 'tag' ? keys.tags : ATTRIBUTES;
  const canonical = { metric: 'metrics.', param: 'params.', tag: 'tags.', attribute: 'attributes.' }[kind];
  const starts = list.filter((k) => k.toLowerCase().startsWith(typed));
  const contains = list.filter((k) => !k.toLowerCase().startsWith(typed) && k.toLowerCase().includes(typed));
  const hints = [...starts, ...contains].slice(0, limit).map((k): Hint => ({ label: canonical + k, insert: canonical + quoteKey(k), kind }));
  return { from, to, hints };
}
