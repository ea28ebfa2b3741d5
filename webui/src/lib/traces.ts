// Traces: MLflow 3's TraceInfoV3 and span shapes, normalized once for the table and the trace page.
// The server speaks MLflow's wire format: trace infos from ajax-api/3.0/mlflow/traces/search, spans
// from ajax-api/2.0/mlflow/get-trace-artifact (MLflow's traces.json: {"spans": [...]}, attributes as
// JSON-encoded strings), assessments under ajax-api/3.0/mlflow/traces/<id>/assessments.

import { qs, request } from './api';

export const TRACES_V3 = 'ajax-api/3.0/mlflow/traces';
export const TRACE_ARTIFACT = 'ajax-api/2.0/mlflow/get-trace-artifact';
/** MLflow's search_traces page limit used by the UI (the server's maximum page is larger). */
export const TRACE_PAGE = 500;

export interface AssessmentSource {
  source_type?: string;
  source_id?: string;
}
export interface Assessment {
  assessment_id?: string;
  assessment_name: string;
  trace_id?: string;
  span_id?: string;
  source?: AssessmentSource;
  create_time?: string | number;
  last_update_time?: string | number;
  feedback?: { value?: unknown; error?: { error_code?: string; error_message?: string } };
  expectation?: { value?: unknown; serialized_value?: { serialization_format?: string; value?: string } };
  rationale?: string;
  metadata?: Record<string, string>;
  overrides?: string;
  valid?: boolean;
}

export interface TraceInfo {
  trace_id: string;
  client_request_id?: string;
  trace_location?: { type?: string; mlflow_experiment?: { experiment_id?: string } };
  request_preview?: string;
  response_preview?: string;
  request_time?: string | number;
  execution_duration?: string | number;
  state?: string;
  trace_metadata?: Record<string, string>;
  tags?: Record<string, string>;
  assessments?: Assessment[];
}

/** A trace info with the values the table sorts and shows, computed once. */
export interface TraceRow {
  id: string;
  info: TraceInfo;
  experimentId: string;
  timeMs: number;
  durationMs: number | null;
  state: string;
  name: string;
  request: string;
  response: string;
  runId: string;
  tokens: TokenUsage | null;
  tags: Record<string, string>;
  assessments: Assessment[];
}

export interface TokenUsage {
  input_tokens?: number;
  output_tokens?: number;
  total_tokens?: number;
}

/** A proto Timestamp as JSON ("2026-11-29T08:34:40.024Z") or epoch milliseconds. */
export function timestampMs(v: string | number | undefined | null): number {
  if (v === undefined || v === null || v === '') return 0;
  if (typeof v === 'number') return v;
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : 0;
}

/** A proto Duration as JSON ("1.5s", "0.001s") or milliseconds. */
export function durationMs(v: string | number | undefined | null): number | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'number') return v;
  const m = /^(-?\d+(?:\.\d+)?)s$/.exec(v.trim());
  if (m) return Number(m[1]) * 1000;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** Parse a JSON-encoded value, returning the text itself where it is not JSON. */
export function parseJsonValue(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const t = v.trim();
  if (t === '') return v;
  const c = t[0];
  if (c === '{' || c === '[' || c === '"' || c === '-' || (c >= '0' && c <= '9') || t === 'true' || t === 'false' || t === 'null') {
    try {
      return JSON.parse(t);
    } catch {
      return v;
    }
  }
  return v;
}

export function tokenUsage(meta: Record<string, string> | undefined): TokenUsage | null {
  const raw = meta?.['mlflow.trace.tokenUsage'];
  if (!raw) return null;
  const u = parseJsonValue(raw);
  if (!u || typeof u !== 'object') return null;
  const o = u as Record<string, unknown>;
  const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
  const r: TokenUsage = { input_tokens: n(o.input_tokens), output_tokens: n(o.output_tokens), total_tokens: n(o.total_tokens) };
  if (r.total_tokens === undefined && (r.input_tokens !== undefined || r.output_tokens !== undefined)) {
    r.total_tokens = (r.input_tokens || 0) + (r.output_tokens || 0);
  }
  return r;
}

/** One line of preview text for a cell: JSON previews are shown compactly, not re-indented. */
export function previewText(s: string | undefined): string {
  if (!s) return '';
  return s.length > 300 ? s.slice(0, 300) + '…' : s;
}

export function normalizeTrace(info: TraceInfo): TraceRow {
  const meta = info.trace_metadata || {};
  const tags = info.tags || {};
  return {
    id: info.trace_id,
    info,
    experimentId: info.trace_location?.mlflow_experiment?.experiment_id || '',
    timeMs: timestampMs(info.request_time),
    durationMs: durationMs(info.execution_duration),
    state: info.state || 'STATE_UNSPECIFIED',
    name: tags['mlflow.traceName'] || '',
    request: info.request_preview || '',
    response: info.response_preview || '',
    runId: meta['mlflow.sourceRun'] || '',
    tokens: tokenUsage(meta),
    tags,
    assessments: info.assessments || [],
  };
}

/** The value an assessment shows in a cell: feedback value, expectation value, or its error. */
export function assessmentValue(a: Assessment): unknown {
  if (a.feedback) {
    if (a.feedback.error && a.feedback.value === undefined) return 'error: ' + (a.feedback.error.error_code || a.feedback.error.error_message || '');
    return a.feedback.value;
  }
  if (a.expectation) {
    if (a.expectation.value !== undefined) return a.expectation.value;
    const sv = a.expectation.serialized_value;
    if (sv?.value !== undefined) return parseJsonValue(sv.value);
  }
  return undefined;
}

/** The valid (not overridden) assessments, latest first per name. */
export function currentAssessments(list: Assessment[]): Assessment[] {
  return list.filter((a) => a.valid !== false);
}

// ---- spans ----

export interface SpanEvent {
  name: string;
  timeNs: number;
  attributes: Record<string, unknown>;
}
export interface Span {
  id: string;
  parentId: string | null;
  name: string;
  type: string;
  startNs: number;
  endNs: number | null;
  status: string;
  statusMessage: string;
  inputs: unknown;
  outputs: unknown;
  attributes: Record<string, unknown>;
  events: SpanEvent[];
}

export interface SpanNode {
  span: Span;
  depth: number;
  children: SpanNode[];
}

const nanos = (v: unknown): number => {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : 0;
  }
  return 0;
};

/** An OTLP JSON attribute value ({"stringValue": ...} / {"string_value": ...}) to a plain value. */
function otlpValue(v: any): unknown {
  if (v === null || typeof v !== 'object') return v;
  for (const k of ['stringValue', 'string_value']) if (k in v) return v[k];
  for (const k of ['boolValue', 'bool_value']) if (k in v) return v[k];
  for (const k of ['intValue', 'int_value']) if (k in v) return Number(v[k]);
  for (const k of ['doubleValue', 'double_value']) if (k in v) return v[k];
  for (const k of ['arrayValue', 'array_value']) if (k in v) return ((v[k]?.values as any[]) || []).map(otlpValue);
  for (const k of ['kvlistValue', 'kvlist_value']) if (k in v) return attrsOf(v[k]?.values);
  return v;
}

function attrsOf(raw: unknown): Record<string, unknown> {
  if (!raw) return {};
  if (Array.isArray(raw)) {
    const o: Record<string, unknown> = {};
    for (const kv of raw) if (kv && typeof kv.key === 'string') o[kv.key] = otlpValue(kv.value);
    return o;
  }
  return typeof raw === 'object' ? { ...(raw as Record<string, unknown>) } : {};
}

function statusName(code: unknown): string {
  const c = String(code ?? '');
  if (c === '1' || c.endsWith('_OK') || c === 'OK') return 'OK';
  if (c === '2' || c.endsWith('_ERROR') || c === 'ERROR') return 'ERROR';
  return 'UNSET';
}

/** Spans from MLflow's traces.json ({"spans": [...]}) or a v3 Trace's OTLP-shaped spans. */
export function parseSpans(raw: any[]): Span[] {
  return (raw || []).map((s: any) => {
    const attrs = attrsOf(s.attributes);
    const decoded: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(attrs)) decoded[k] = parseJsonValue(v);
    const type = decoded['mlflow.spanType'];
    const parent = s.parent_span_id ?? s.parentSpanId ?? null;
    const start = nanos(s.start_time_unix_nano ?? s.startTimeUnixNano);
    const endRaw = s.end_time_unix_nano ?? s.endTimeUnixNano;
    const inputs = decoded['mlflow.spanInputs'];
    const outputs = decoded['mlflow.spanOutputs'];
    const shown: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(decoded)) {
      if (k !== 'mlflow.spanInputs' && k !== 'mlflow.spanOutputs') shown[k] = v;
    }
    return {
      id: String(s.span_id ?? s.spanId ?? ''),
      parentId: parent ? String(parent) : null,
      name: String(s.name ?? ''),
      type: typeof type === 'string' && type ? type : 'UNKNOWN',
      startNs: start,
      endNs: endRaw === undefined || endRaw === null || endRaw === '' ? null : nanos(endRaw),
      status: statusName(s.status?.code),
      statusMessage: String(s.status?.message ?? ''),
      inputs,
      outputs,
      attributes: shown,
      events: ((s.events as any[]) || []).map((e: any) => ({
        name: String(e.name ?? ''),
        timeNs: nanos(e.time_unix_nano ?? e.timeUnixNano),
        attributes: Object.fromEntries(Object.entries(attrsOf(e.attributes)).map(([k, v]) => [k, parseJsonValue(v)])),
      })),
    };
  });
}

/** The span tree in display order (depth-first, children by start time); orphans become roots. */
export function spanTree(spans: Span[]): SpanNode[] {
  const byId = new Map<string, SpanNode>();
  for (const s of spans) byId.set(s.id, { span: s, depth: 0, children: [] });
  const roots: SpanNode[] = [];
  for (const n of byId.values()) {
    const p = n.span.parentId ? byId.get(n.span.parentId) : undefined;
    if (p && p !== n) p.children.push(n);
    else roots.push(n);
  }
  const order = (a: SpanNode, b: SpanNode) => a.span.startNs - b.span.startNs;
  const fix = (list: SpanNode[], depth: number, seen: Set<SpanNode>) => {
    list.sort(order);
    for (const n of list) {
      if (seen.has(n)) continue;
      seen.add(n);
      n.depth = depth;
      fix(n.children, depth + 1, seen);
    }
  };
  fix(roots, 0, new Set());
  return roots;
}

/** Flatten a span tree to rows, skipping the children of collapsed nodes. */
export function flattenTree(roots: SpanNode[], collapsed: Set<string> = new Set()): SpanNode[] {
  const out: SpanNode[] = [];
  const walk = (list: SpanNode[]) => {
    for (const n of list) {
      out.push(n);
      if (!collapsed.has(n.span.id)) walk(n.children);
    }
  };
  walk(roots);
  return out;
}

/** The time window of a trace's spans, in nanoseconds. An open span ends at the latest known time. */
export function traceWindow(spans: Span[]): { start: number; end: number } {
  let start = Infinity;
  let end = -Infinity;
  for (const s of spans) {
    start = Math.min(start, s.startNs);
    end = Math.max(end, s.endNs ?? s.startNs);
  }
  if (!Number.isFinite(start)) return { start: 0, end: 0 };
  return { start, end: Math.max(end, start) };
}

/** A bar of the Gantt timeline: left offset and width as fractions of the trace window. */
export function ganttBar(s: Span, win: { start: number; end: number }): { left: number; width: number } {
  const total = win.end - win.start;
  if (total <= 0) return { left: 0, width: 1 };
  const left = (s.startNs - win.start) / total;
  const width = ((s.endNs ?? win.end) - s.startNs) / total;
  return { left: Math.min(Math.max(left, 0), 1), width: Math.min(Math.max(width, 0), 1 - Math.max(left, 0)) };
}

export function spanDurationMs(s: Span): number | null {
  return s.endNs === null ? null : (s.endNs - s.startNs) / 1e6;
}

// ---- the API calls the pages make ----

const quote = (s: string) => "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
/** MLflow's filter for a run's traces (what `mlflow.search_traces(run_id=...)` sends). */
export const traceFilterForRun = (runId: string) => `attribute.run_id = ${quote(runId)}`;
/** MLflow's filter for a logged model's traces (trace metadata `mlflow.modelId`). */
export const traceFilterForModel = (modelId: string) => `metadata.\`mlflow.modelId\` = ${quote(modelId)}`;

export function experimentLocation(expId: string) {
  return { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: expId } };
}

export async function searchTracesPage(
  expIds: string[],
  filter: string,
  orderBy: string[],
  pageToken: string | undefined,
  signal?: AbortSignal,
  maxResults = TRACE_PAGE,
): Promise<{ traces: TraceInfo[]; next_page_token?: string }> {
  return request(TRACES_V3 + '/search', {
    method: 'POST',
    signal,
    body: { locations: expIds.map(experimentLocation), filter: filter || undefined, max_results: maxResults, order_by: orderBy, page_token: pageToken },
  });
}

export async function getTraceInfo(traceId: string, signal?: AbortSignal): Promise<TraceInfo> {
  const r = await request<{ trace?: { trace_info?: TraceInfo } }>(TRACES_V3 + '/' + encodeURIComponent(traceId), { signal });
  if (!r.trace?.trace_info) throw new Error('The server returned no trace info for ' + traceId);
  return r.trace.trace_info;
}

export async function getTraceSpans(traceId: string, signal?: AbortSignal): Promise<Span[]> {
  const r = await request<{ spans?: any[] }>(TRACE_ARTIFACT + qs({ request_id: traceId }), { signal });
  return parseSpans(r.spans || []);
}

export function createAssessment(traceId: string, a: Assessment): Promise<{ assessment: Assessment }> {
  return request(`${TRACES_V3}/${encodeURIComponent(traceId)}/assessments`, { method: 'POST', body: { assessment: { ...a, trace_id: traceId } } });
}

export function updateAssessment(traceId: string, id: string, a: Partial<Assessment>, mask: string[]): Promise<{ assessment: Assessment }> {
  return request(`${TRACES_V3}/${encodeURIComponent(traceId)}/assessments/${encodeURIComponent(id)}`, {
    method: 'PATCH',
    body: { assessment: { ...a, trace_id: traceId, assessment_id: id }, update_mask: mask.join(',') },
  });
}

export function deleteAssessment(traceId: string, id: string): Promise<unknown> {
  return request(`${TRACES_V3}/${encodeURIComponent(traceId)}/assessments/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

export function setTraceTag(traceId: string, key: string, value: string): Promise<unknown> {
  return request(`${TRACES_V3}/${encodeURIComponent(traceId)}/tags`, { method: 'PATCH', body: { key, value } });
}

export function deleteTraceTag(traceId: string, key: string): Promise<unknown> {
  return request(`${TRACES_V3}/${encodeURIComponent(traceId)}/tags`, { method: 'DELETE', body: { key } });
}

export function deleteTraces(expId: string, traceIds: string[]): Promise<{ traces_deleted?: number }> {
  return request(`${TRACES_V3}/delete-traces`, { method: 'POST', body: { experiment_id: expId, request_ids: traceIds } });
}

/** The sort of the traces table as MLflow's order_by. */
export const TRACE_SORTS: Record<string, string> = {
  time: 'timestamp_ms',
  duration: 'execution_time_ms',
  state: 'status',
  name: 'name',
};
export function traceOrderBy(sort: string, desc: boolean): string[] {
  const key = TRACE_SORTS[sort] || 'timestamp_ms';
  return [`${key} ${desc ? 'DESC' : 'ASC'}`, ...(key === 'timestamp_ms' ? [] : ['timestamp_ms DESC'])];
}
