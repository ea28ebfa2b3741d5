import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { ApiError } from '../lib/api';
import { renderMarkdown } from '../lib/markdown';
import type { KV } from '../lib/types';

export function navigate(hash: string, replace = false) {
  if (replace) {
    history.replaceState(history.state, '', hash);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else location.hash = hash;
}

export interface AsyncState<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  reload: () => void;
  setData: (d: T) => void;
}

/** Run an async loader when deps change; stale results of superseded calls are dropped. */
export function useAsync<T>(fn: (signal: AbortSignal) => Promise<T>, deps: unknown[]): AsyncState<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ data: s.data, loading: true }));
    fn(ctl.signal).then(
      (data) => !ctl.signal.aborted && setState({ data, loading: false }),
      (error) => !ctl.signal.aborted && error?.name !== 'AbortError' && setState({ error, loading: false }),
    );
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const setData = useCallback((data: T) => setState({ data, loading: false }), []);
  return { data: state.data, error: state.error, loading: state.loading, reload, setData };
}

/** A state-changing call from a form or a button: its error is kept for an ErrorBox (cleared
 * when the next call starts); on success ``onDone`` runs. The promise it returns tells whether
 * the call succeeded, for callers that reset their inputs only then. */
export function useAction(onDone: () => void): [Error | undefined, (p: Promise<unknown>) => Promise<boolean>] {
  const [err, setErr] = useState<Error>();
  const act = (p: Promise<unknown>) => {
    setErr(undefined);
    return p.then(
      () => {
        onDone();
        return true;
      },
      (e) => {
        setErr(e);
        return false;
      },
    );
  };
  return [err, act];
}

export function ErrorBox({ error, title }: { error?: Error | null; title?: string }) {
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : '';
  return (
    <div class="error" role="alert">
      {title && <strong>{title}: </strong>}
      {error.message}
      {code && <span class="error-code"> ({code})</span>}
    </div>
  );
}

export const Spinner = ({ label = 'Loading…' }: { label?: string }) => (
  <div class="loading">
    <span class="spin" />
    {label}
  </div>
);

export function Tabs({ tabs, active, onChange }: { tabs: [string, string][]; active: string; onChange: (id: string) => void }) {
  return (
    <div class="tabs" role="tablist">
      {tabs.map(([id, label]) => (
        <button role="tab" aria-selected={id === active} class={id === active ? 'tab active' : 'tab'} onClick={() => onChange(id)} key={id}>
          {label}
        </button>
      ))}
    </div>
  );
}

export function Modal({ title, onClose, children }: { title: string; onClose: () => void; children: ComponentChildren }) {
  useEffect(() => {
    const k = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', k);
    return () => window.removeEventListener('keydown', k);
  }, [onClose]);
  return (
    <div class="modal-back" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div class="modal" role="dialog" aria-label={title}>
        <div class="modal-head">
          <h2>{title}</h2>
          <button class="icon" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </div>
        {children}
      </div>
    </div>
  );
}

export function Markdown({ text, class: cls }: { text: string; class?: string }) {
  // renderMarkdown escapes every bit of input HTML before adding its own tags.
  return <div class={'markdown ' + (cls || '')} dangerouslySetInnerHTML={{ __html: renderMarkdown(text) }} />;
}

/** Markdown text with an Edit button (description of a run/experiment/model). */
export function EditableMarkdown({
  text,
  onSave,
  placeholder = 'No description',
}: {
  text: string;
  onSave: (t: string) => Promise<void>;
  placeholder?: string;
}) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(text);
  const [err, setErr] = useState<Error>();
  const [busy, setBusy] = useState(false);
  useEffect(() => setDraft(text), [text]);
  if (!editing)
    return (
      <div class="description">
        {text ? <Markdown text={text} /> : <p class="muted">{placeholder}</p>}
        <button class="link" onClick={() => setEditing(true)}>
          Edit description
        </button>
      </div>
    );
  return (
    <div class="description editing">
      <textarea aria-label="Description" rows={6} value={draft} onInput={(e) => setDraft((e.target as HTMLTextAreaElement).value)} />
      <div class="row">
        <button
          class="primary"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            try {
              await onSave(draft);
              setEditing(false);
              setErr(undefined);
            } catch (e: any) {
              setErr(e);
            } finally {
              setBusy(false);
            }
          }}
        >
          Save
        </button>
        <button
          onClick={() => {
            setEditing(false);
            setDraft(text);
          }}
        >
          Cancel
        </button>
      </div>
      <ErrorBox error={err} />
    </div>
  );
}

/** Key/value tag table with add, edit and delete. System tags (mlflow.*) are hidden unless asked. */
export function TagEditor({
  tags,
  onSet,
  onDelete,
  hideSystem = true,
}: {
  tags: KV[];
  onSet?: (k: string, v: string) => Promise<void>;
  onDelete?: (k: string) => Promise<void>;
  hideSystem?: boolean;
}) {
  const [showSys, setShowSys] = useState(!hideSystem);
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [editKey, setEditKey] = useState<string | null>(null);
  const [editVal, setEditVal] = useState('');
  const [err, setErr] = useState<Error>();
  const sys = tags.filter((t) => t.key.startsWith('mlflow.'));
  const shown = showSys ? tags : tags.filter((t) => !t.key.startsWith('mlflow.'));
  const wrap = async (f: () => Promise<void>) => {
    try {
      await f();
      setErr(undefined);
    } catch (e: any) {
      setErr(e);
    }
  };
  return (
    <div class="tags-editor">
      {shown.length === 0 && <p class="muted">No tags</p>}
      {shown.length > 0 && (
        <table class="kv">
          <tbody>
            {shown.map((t) => (
              <tr key={t.key}>
                <th>{t.key}</th>
                <td>
                  {editKey === t.key ? (
                    <span class="row">
                      <input aria-label={'Value of ' + t.key} value={editVal} onInput={(e) => setEditVal((e.target as HTMLInputElement).value)} />
                      <button
                        class="primary"
                        onClick={() =>
                          wrap(async () => {
                            await onSet!(t.key, editVal);
                            setEditKey(null);
                          })
                        }
                      >
                        Save
                      </button>
                      <button onClick={() => setEditKey(null)}>Cancel</button>
                    </span>
                  ) : (
                    <span class="tag-value">{t.value}</span>
                  )}
                </td>
                {(onSet || onDelete) && (
                  <td class="actions">
                    {onSet && editKey !== t.key && (
                      <button
                        class="link"
                        onClick={() => {
                          setEditKey(t.key);
                          setEditVal(t.value);
                        }}
                      >
                        Edit
                      </button>
                    )}
                    {onDelete && (
                      <button class="link danger" aria-label={'Delete tag ' + t.key} onClick={() => wrap(() => onDelete(t.key))}>
                        Delete
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {sys.length > 0 && hideSystem && (
        <button class="link" onClick={() => setShowSys(!showSys)}>
          {showSys ? 'Hide' : 'Show'} system tags ({sys.length})
        </button>
      )}
      {onSet && (
        <form
          class="row add-tag"
          onSubmit={(e) => {
            e.preventDefault();
            if (!key.trim()) return;
            wrap(async () => {
              await onSet(key.trim(), value);
              setKey('');
              setValue('');
            });
          }}
        >
          <input placeholder="Tag key" aria-label="New tag key" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
          <input placeholder="Value" aria-label="New tag value" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
          <button type="submit">Add tag</button>
        </form>
      )}
      <ErrorBox error={err} />
    </div>
  );
}

/** Observe an element's size. */
export function useSize<T extends HTMLElement>(): [preact.RefObject<T | null>, { width: number; height: number }] {
  const ref = useRef<T>(null);
  const [size, setSize] = useState({ width: 0, height: 0 });
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(() => {
      const r = el.getBoundingClientRect();
      setSize((s) => (Math.abs(s.width - r.width) < 1 && Math.abs(s.height - r.height) < 1 ? s : { width: r.width, height: r.height }));
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, size];
}

/** True once the element has scrolled into view (charts render lazily). */
export function useVisible<T extends HTMLElement>(): [preact.RefObject<T | null>, boolean] {
  const ref = useRef<T>(null);
  const [vis, setVis] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!el || vis) return;
    const io = new IntersectionObserver((es) => es.some((e) => e.isIntersecting) && setVis(true), { rootMargin: '200px' });
    io.observe(el);
    return () => io.disconnect();
  }, [vis]);
  return [ref, vis];
}

export function StatusBadge({ status }: { status: string }) {
  return (
    <span class={'status status-' + (status || '').toLowerCase()}>
      {status === 'RUNNING' ? '● ' : ''}
      {status?.toLowerCase()}
    </span>
  );
}

export function Copyable({ text }: { text: string }) {
  return (
    <code class="copyable" title="Click to copy" onClick={() => navigator.clipboard?.writeText(text)}>
      {text}
    </code>
  );
}
