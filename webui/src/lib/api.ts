// All URLs are relative to the document, so the UI works under a static prefix (/p/).
export const MLFLOW = 'ajax-api/2.0/mlflow/';
export const AIOTRACK = 'ajax-api/2.0/aiotrack/';

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Query = Record<string, string | number | boolean | undefined | null | (string | number)[]>;

export function qs(query?: Query): string {
  if (!query) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) v.forEach((x) => p.append(k, String(x)));
    else p.append(k, String(v));
  }
  const s = p.toString();
  return s ? '?' + s : '';
}

async function parse(resp: Response): Promise<any> {
  const text = await resp.text();
  let body: any = {};
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = { message: text.slice(0, 300) };
    }
  }
  if (!resp.ok) {
    throw new ApiError(resp.status, body.error_code || 'HTTP_' + resp.status, body.message || resp.statusText || 'Request failed');
  }
  return body;
}

export async function request<T = any>(url: string, init?: { method?: string; body?: unknown; query?: Query; signal?: AbortSignal }): Promise<T> {
  const method = init?.method || 'GET';
  const opts: RequestInit = { method, signal: init?.signal, headers: {} };
  if (init?.body !== undefined) {
    opts.body = JSON.stringify(init.body);
    (opts.headers as Record<string, string>)['Content-Type'] = 'application/json';
  }
  let resp: Response;
  try {
    resp = await fetch(url + qs(init?.query), opts);
  } catch (e: any) {
    if (e?.name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK', 'Cannot reach the server: ' + (e?.message || e));
  }
  return parse(resp);
}

export const get = <T = any>(path: string, query?: Query, signal?: AbortSignal) => request<T>(MLFLOW + path, { query, signal });
export const post = <T = any>(path: string, body: unknown, signal?: AbortSignal) => request<T>(MLFLOW + path, { method: 'POST', body, signal });
export const patch = <T = any>(path: string, body: unknown) => request<T>(MLFLOW + path, { method: 'PATCH', body });
export const del = <T = any>(path: string, body: unknown) => request<T>(MLFLOW + path, { method: 'DELETE', body });

export function artifactUrl(runId: string, path: string): string {
  return 'get-artifact' + qs({ path, run_uuid: runId });
}
export function modelVersionArtifactUrl(name: string, version: string, path: string): string {
  return 'model-versions/get-artifact' + qs({ path, name, version });
}

/** Load every page of a paginated MLflow search, calling onPage after each page. */
export async function searchAll<T>(
  fetchPage: (token: string | undefined) => Promise<{ items: T[]; next?: string }>,
  onPage?: (loaded: T[]) => void,
): Promise<T[]> {
  const all: T[] = [];
  let token: string | undefined;
  for (let i = 0; i < 10000; i++) {
    const { items, next } = await fetchPage(token);
    for (const x of items) all.push(x);
    onPage?.(all);
    if (!next || items.length === 0) break;
    token = next;
  }
  return all;
}
