import { useEffect, useState } from 'preact/hooks';
import { MLFLOW, artifactUrl, get, qs } from '../lib/api';
import { parseCsv } from '../lib/csv';
import { sortTable, tableFromJson, type Table } from '../lib/table';
import { fmtBytes } from '../lib/format';
import { ErrorBox, Markdown, Spinner } from './common';

interface FileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

const MAX_PREVIEW = 4 * 1024 * 1024;

export type PreviewKind = 'image' | 'svg' | 'html' | 'json' | 'yaml' | 'csv' | 'tsv' | 'markdown' | 'text' | 'binary';

export function previewKind(path: string): PreviewKind {
  const name = path.split('/').pop()!.toLowerCase();
  const ext = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1) : '';
  if (['png', 'jpg', 'jpeg', 'gif', 'webp', 'bmp', 'ico', 'avif'].includes(ext)) return 'image';
  if (ext === 'svg') return 'svg';
  if (ext === 'html' || ext === 'htm') return 'html';
  if (ext === 'json' || ext === 'jsonl' || ext === 'geojson' || ext === 'ipynb') return 'json';
  if (ext === 'yaml' || ext === 'yml' || name === 'mlmodel') return 'yaml';
  if (ext === 'csv') return 'csv';
  if (ext === 'tsv') return 'tsv';
  if (ext === 'md' || ext === 'markdown') return 'markdown';
  if (
    [
      'txt',
      'log',
      'py',
      'sh',
      'toml',
      'ini',
      'cfg',
      'conf',
      'r',
      'sql',
      'js',
      'ts',
      'java',
      'scala',
      'c',
      'h',
      'cpp',
      'go',
      'rs',
      'xml',
      'properties',
      'env',
      'lock',
      'rst',
      'out',
      'err',
    ].includes(ext) ||
    ext === '' ||
    name === 'requirements.txt' ||
    name === 'dockerfile'
  )
    return 'text';
  return 'binary';
}

const sortFiles = (files: FileInfo[]) => files.sort((a, b) => Number(b.is_dir) - Number(a.is_dir) || a.path.localeCompare(b.path));

/** Where a browser's files come from: a run's artifacts, or a logged model's. */
export interface ArtifactSource {
  key: string;
  list: (dir: string) => Promise<FileInfo[]>;
  url: (path: string) => string;
}

export const runArtifacts = (runId: string): ArtifactSource => ({
  key: 'run:' + runId,
  list: async (dir) => sortFiles((await get<{ files?: FileInfo[] }>('artifacts/list', { run_id: runId, path: dir || undefined })).files || []),
  url: (path) => artifactUrl(runId, path),
});

export const loggedModelArtifacts = (modelId: string): ArtifactSource => ({
  key: 'model:' + modelId,
  list: async (dir) =>
    sortFiles(
      (await get<{ files?: FileInfo[] }>(`logged-models/${encodeURIComponent(modelId)}/artifacts/directories`, { artifact_directory_path: dir || undefined }))
        .files || [],
    ),
  url: (path) => `${MLFLOW}logged-models/${encodeURIComponent(modelId)}/artifacts/files${qs({ artifact_file_path: path })}`,
});

export function ArtifactBrowser({ source, path, onPath }: { source: ArtifactSource; path: string; onPath: (p: string) => void }) {
  const [dirs, setDirs] = useState<Map<string, FileInfo[]>>(new Map());
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [err, setErr] = useState<Error>();
  const load = async (dir: string) => {
    if (dirs.has(dir)) return;
    try {
      const files = await source.list(dir);
      setDirs((m) => new Map(m).set(dir, files));
    } catch (e: any) {
      setErr(e);
    }
  };
  useEffect(() => {
    // root, and the folders leading to the selected path
    load('');
    const parts = path.split('/');
    const anc = new Set<string>();
    for (let i = 1; i < parts.length; i++) anc.add(parts.slice(0, i).join('/'));
    anc.forEach((d) => load(d));
    setOpen((o) => new Set([...o, ...anc]));
  }, [source.key]);
  const root = dirs.get('');
  const sizeOf = (p: string) => {
    const dir = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
    return dirs.get(dir)?.find((f) => f.path === p);
  };
  const sel = sizeOf(path);
  const renderDir = (dir: string, depth: number): any =>
    (dirs.get(dir) || []).map((f) => {
      const name = f.path.slice(f.path.lastIndexOf('/') + 1);
      const isOpen = open.has(f.path);
      return (
        <div key={f.path}>
          <button
            class={'tree-item' + (f.path === path ? ' active' : '')}
            style={{ paddingLeft: 8 + depth * 14 + 'px' }}
            aria-expanded={f.is_dir ? isOpen : undefined}
            onClick={() => {
              if (f.is_dir) {
                const s = new Set(open);
                if (isOpen) s.delete(f.path);
                else {
                  s.add(f.path);
                  load(f.path);
                }
                setOpen(s);
              } else onPath(f.path);
            }}
          >
            <span class="tree-icon">{f.is_dir ? (isOpen ? '▾' : '▸') : '·'}</span>
            <span class="tree-name">{name}</span>
            {!f.is_dir && <span class="muted small">{fmtBytes(f.file_size)}</span>}
          </button>
          {f.is_dir &&
            isOpen &&
            (dirs.has(f.path) ? (
              renderDir(f.path, depth + 1)
            ) : (
              <div class="muted small" style={{ paddingLeft: 22 + depth * 14 + 'px' }}>
                Loading…
              </div>
            ))}
        </div>
      );
    });
  return (
    <div class="artifacts card flush">
      <div class="artifact-tree" aria-label="Artifact files">
        {!root && !err && <Spinner />}
        {root && root.length === 0 && <p class="muted pad">No artifacts recorded</p>}
        {root && renderDir('', 0)}
        <ErrorBox error={err} />
      </div>
      <div class="artifact-view">
        {path && !sel?.is_dir ? (
          <ArtifactPreview key={path} path={path} url={source.url(path)} size={sel?.file_size} />
        ) : (
          <p class="muted pad">Select a file to preview it.</p>
        )}
      </div>
    </div>
  );
}

/** Preview of one artifact. HTML and SVG never run script in our origin. */
export function ArtifactPreview({ path, url, size }: { path: string; url: string; size?: number }) {
  const kind = previewKind(path);
  const name = path.split('/').pop()!;
  const [text, setText] = useState<string | null>(null);
  const [err, setErr] = useState<Error>();
  const [showSource, setShowSource] = useState(false);
  const tooBig = size !== undefined && size > MAX_PREVIEW;
  const needsText = !tooBig && !['image', 'svg', 'binary'].includes(kind);
  useEffect(() => {
    if (!needsText) return;
    const ctl = new AbortController();
    fetch(url, { signal: ctl.signal })
      .then(async (r) => {
        if (!r.ok) throw new Error(`Could not load ${name}: HTTP ${r.status} ${(await r.text()).slice(0, 200)}`);
        const buf = await r.arrayBuffer();
        return new TextDecoder().decode(buf.byteLength > MAX_PREVIEW ? buf.slice(0, MAX_PREVIEW) : buf);
      })
      .then(setText, (e) => e?.name !== 'AbortError' && setErr(e));
    return () => ctl.abort();
  }, [url]);
  let body: preact.JSX.Element;
  if (tooBig) body = <p class="muted pad">This file is {fmtBytes(size)}, too large to preview. Download it instead.</p>;
  else if (kind === 'image' || kind === 'svg')
    body = (
      <div class="image-preview">
        <img src={url} alt={name} />
      </div>
    );
  else if (kind === 'binary') body = <p class="muted pad">No preview for this file type.</p>;
  else if (err) body = <ErrorBox error={err} />;
  else if (text === null) body = <Spinner />;
  else if (kind === 'html')
    body = showSource ? (
      <pre class="code">{text}</pre>
    ) : (
      // sandbox without allow-scripts (and without allow-same-origin): scripts in the artifact never run
      <iframe class="html-preview" title={name} sandbox="" srcdoc={text} referrerpolicy="no-referrer" />
    );
  else if (kind === 'json') {
    const table = loggedTable(text);
    body = table ? <DataTable table={table} /> : <pre class="code">{prettyJson(text)}</pre>;
  } else if (kind === 'markdown')
    body = (
      <div class="pad">
        <Markdown text={text} />
      </div>
    );
  else if (kind === 'csv' || kind === 'tsv') body = <CsvTable text={text} delimiter={kind === 'tsv' ? '\t' : ','} />;
  else body = <pre class="code">{text}</pre>;
  return (
    <div class="preview">
      <div class="preview-head">
        <span class="mono strong">{path}</span>
        {size !== undefined && <span class="muted small">{fmtBytes(size)}</span>}
        <span class="grow" />
        {kind === 'html' && (
          <button class="link" onClick={() => setShowSource(!showSource)}>
            {showSource ? 'Rendered (no scripts)' : 'Source'}
          </button>
        )}
        <a class="button" href={url} download={name}>
          Download
        </a>
      </div>
      {body}
    </div>
  );
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** An mlflow.log_table artifact ({"columns": [...], "data": [...]}) as a table, or null. */
function loggedTable(text: string): Table | null {
  try {
    return tableFromJson(JSON.parse(text));
  } catch {
    return null;
  }
}

const SHOWN_ROWS = 1000;

function CsvTable({ text, delimiter }: { text: string; delimiter: string }) {
  const rows = parseCsv(text, delimiter);
  if (rows.length === 0) return <p class="muted pad">Empty file</p>;
  const [head, ...body] = rows;
  return <DataTable table={{ head, rows: body }} />;
}

/** A table preview: click a column header to sort by it (numbers numerically), again to reverse. */
function DataTable({ table }: { table: Table }) {
  const [sort, setSort] = useState<{ col: number; desc: boolean } | null>(null);
  const rows = sort ? sortTable(table.rows, sort.col, sort.desc) : table.rows;
  const onSort = (col: number) => setSort((s) => (s && s.col === col ? { col, desc: !s.desc } : { col, desc: false }));
  return (
    <div class="csv-wrap">
      <table class="grid compact csv" aria-label="Table preview">
        <thead>
          <tr>
            {table.head.map((h, i) => (
              <th key={i} class="sortable" aria-sort={sort?.col === i ? (sort.desc ? 'descending' : 'ascending') : undefined} onClick={() => onSort(i)}>
                {h}
                {sort?.col === i && <span class="sort-arrow">{sort.desc ? ' ▼' : ' ▲'}</span>}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, SHOWN_ROWS).map((r, i) => (
            <tr key={i}>
              {r.map((c, j) => (
                <td key={j}>{c}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > SHOWN_ROWS && (
        <p class="muted small pad">
          Showing {SHOWN_ROWS.toLocaleString('en-US')} of {rows.length.toLocaleString('en-US')} rows{sort ? ', sorted over all of them' : ''}.
        </p>
      )}
    </div>
  );
}
