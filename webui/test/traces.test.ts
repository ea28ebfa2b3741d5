import { describe, expect, it } from 'vitest';
import {
  durationMs,
  flattenTree,
  ganttBar,
  normalizeTrace,
  parseJsonValue,
  parseSpans,
  spanTree,
  timestampMs,
  tokenUsage,
  traceFilterForModel,
  traceFilterForRun,
  traceOrderBy,
  traceWindow,
} from '../src/lib/traces';
import { parseRoute, routeToHash } from '../src/lib/url';

describe('trace info', () => {
  it('reads proto Timestamp and Duration JSON as MLflow 3 sends them', () => {
    expect(timestampMs('2026-11-29T08:34:40.024Z')).toBe(Date.UTC(2026, 10, 29, 8, 34, 40, 24));
    expect(timestampMs(1700000000000)).toBe(1700000000000);
    expect(timestampMs('1700000000000')).toBe(1700000000000);
    expect(timestampMs(undefined)).toBe(0);
    expect(durationMs('0.001s')).toBeCloseTo(1);
    expect(durationMs('12s')).toBe(12000);
    expect(durationMs(undefined)).toBeNull();
    expect(durationMs('garbage')).toBeNull();
  });

  it('normalizes a TraceInfoV3 with token usage, run, name and assessments', () => {
    const row = normalizeTrace({
      trace_id: 'tr-1',
      request_time: '2026-01-01T00:00:00Z',
      execution_duration: '1.5s',
      state: 'OK',
      trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: '7' } },
      trace_metadata: { 'mlflow.sourceRun': 'abc', 'mlflow.trace.tokenUsage': '{"input_tokens": 3, "output_tokens": 4}' },
      tags: { 'mlflow.traceName': 'predict', env: 'prod' },
      assessments: [{ assessment_name: 'correct', feedback: { value: true } }],
    });
    expect(row).toMatchObject({ id: 'tr-1', experimentId: '7', durationMs: 1500, state: 'OK', name: 'predict', runId: 'abc' });
    expect(row.tokens).toEqual({ input_tokens: 3, output_tokens: 4, total_tokens: 7 });
    expect(row.assessments).toHaveLength(1);
  });

  it('ignores token usage that is not a JSON object', () => {
    expect(tokenUsage({ 'mlflow.trace.tokenUsage': 'not json' })).toBeNull();
    expect(tokenUsage(undefined)).toBeNull();
  });

  it('parses JSON-encoded attribute values and keeps plain text', () => {
    expect(parseJsonValue('"CHAIN"')).toBe('CHAIN');
    expect(parseJsonValue('{"a": [1, 2]}')).toEqual({ a: [1, 2] });
    expect(parseJsonValue('hello world')).toBe('hello world');
    expect(parseJsonValue('{broken')).toBe('{broken');
    expect(parseJsonValue(5)).toBe(5);
  });
});

describe('spans', () => {
  const raw = [
    {
      span_id: 'c',
      parent_span_id: 'a',
      name: 'llm',
      start_time_unix_nano: 3_000_000,
      end_time_unix_nano: 9_000_000,
      status: { code: 'STATUS_CODE_ERROR', message: 'boom' },
      attributes: { 'mlflow.spanType': '"LLM"', 'mlflow.spanInputs': '{"q": "hi"}', 'mlflow.spanOutputs': '"yo"', custom: '1' },
      events: [{ name: 'exception', time_unix_nano: 8_000_000, attributes: { 'exception.type': 'ValueError' } }],
    },
    {
      span_id: 'a',
      parent_span_id: null,
      name: 'root',
      start_time_unix_nano: 1_000_000,
      end_time_unix_nano: 11_000_000,
      status: { code: 'STATUS_CODE_OK' },
      attributes: { 'mlflow.spanType': '"CHAIN"' },
      events: [],
    },
    {
      span_id: 'b',
      parent_span_id: 'a',
      name: 'retrieve',
      start_time_unix_nano: 2_000_000,
      end_time_unix_nano: 2_500_000,
      status: { code: 'STATUS_CODE_UNSET' },
      attributes: {},
      events: [],
    },
    { span_id: 'z', parent_span_id: 'missing', name: 'orphan', start_time_unix_nano: '12000000', end_time_unix_nano: null, attributes: {} },
  ];

  it("parse MLflow's traces.json span dicts", () => {
    const spans = parseSpans(raw);
    const llm = spans.find((s) => s.id === 'c')!;
    expect(llm).toMatchObject({ type: 'LLM', status: 'ERROR', statusMessage: 'boom', inputs: { q: 'hi' }, outputs: 'yo' });
    expect(llm.attributes).toEqual({ 'mlflow.spanType': 'LLM', custom: 1 });
    expect(llm.events[0].attributes['exception.type']).toBe('ValueError');
    expect(spans.find((s) => s.id === 'z')!.endNs).toBeNull();
  });

  it('parse OTLP-shaped spans (camelCase, attribute lists, numeric status codes)', () => {
    const [s] = parseSpans([
      {
        spanId: 'x',
        parentSpanId: '',
        name: 'otel',
        startTimeUnixNano: '5',
        endTimeUnixNano: '7',
        status: { code: 2 },
        attributes: [
          { key: 'mlflow.spanType', value: { stringValue: '"TOOL"' } },
          { key: 'n', value: { intValue: '4' } },
        ],
      },
    ]);
    expect(s).toMatchObject({ id: 'x', parentId: null, type: 'TOOL', status: 'ERROR', startNs: 5, endNs: 7 });
    expect(s.attributes.n).toBe(4);
  });

  it('build the tree in start order, orphans as roots, collapsible', () => {
    const tree = spanTree(parseSpans(raw));
    expect(tree.map((n) => n.span.id)).toEqual(['a', 'z']);
    expect(tree[0].children.map((n) => n.span.id)).toEqual(['b', 'c']);
    expect(flattenTree(tree).map((n) => [n.span.id, n.depth])).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 1],
      ['z', 0],
    ]);
    expect(flattenTree(tree, new Set(['a'])).map((n) => n.span.id)).toEqual(['a', 'z']);
  });

  it('survive a parent cycle without looping', () => {
    const tree = spanTree(
      parseSpans([
        { span_id: 'p', parent_span_id: 'q', name: 'p', start_time_unix_nano: 1 },
        { span_id: 'q', parent_span_id: 'p', name: 'q', start_time_unix_nano: 2 },
      ]),
    );
    expect(flattenTree(tree).length).toBeLessThanOrEqual(2);
  });

  it('place Gantt bars inside the trace window', () => {
    const spans = parseSpans(raw);
    const win = traceWindow(spans);
    expect(win).toEqual({ start: 1_000_000, end: 12_000_000 });
    const bar = ganttBar(spans.find((s) => s.id === 'c')!, win);
    expect(bar.left).toBeCloseTo(2 / 11);
    expect(bar.width).toBeCloseTo(6 / 11);
    const open = ganttBar(spans.find((s) => s.id === 'z')!, win);
    expect(open.left + open.width).toBeLessThanOrEqual(1);
    expect(traceWindow([])).toEqual({ start: 0, end: 0 });
  });
});

describe('trace search and routes', () => {
  it("sort with MLflow's order_by keys", () => {
    expect(traceOrderBy('time', true)).toEqual(['timestamp_ms DESC']);
    expect(traceOrderBy('duration', false)).toEqual(['execution_time_ms ASC', 'timestamp_ms DESC']);
    expect(traceOrderBy('bogus', false)).toEqual(['timestamp_ms ASC']);
  });

  it('quote ids in the filters for linked traces', () => {
    expect(traceFilterForRun('abc')).toBe("attribute.run_id = 'abc'");
    expect(traceFilterForModel("m-'x")).toBe("metadata.`mlflow.modelId` = 'm-\\'x'");
  });

  it("open our trace URLs and MLflow 3's", () => {
    expect(parseRoute('#/experiments/3/traces/tr-9')).toEqual({ page: 'trace', expId: '3', traceId: 'tr-9' });
    expect(parseRoute('#/experiments/3/traces?selectedEvaluationId=tr-9')).toEqual({ page: 'trace', expId: '3', traceId: 'tr-9' });
    expect(parseRoute('#/experiments/3/traces?selectedTraceId=tr-9')).toEqual({ page: 'trace', expId: '3', traceId: 'tr-9' });
    const tab = parseRoute('#/experiments/3/traces');
    expect(tab.page === 'runs' && tab.state.view).toBe('traces');
    expect(routeToHash({ page: 'trace', expId: '3', traceId: 'tr-9' })).toBe('#/experiments/3/traces/tr-9');
    const r = parseRoute('#/experiments/3?view=traces&tf=trace.status%20%3D%20%27OK%27&ts=-duration');
    expect(r.page === 'runs' && [r.state.view, r.state.tf, r.state.ts]).toEqual(['traces', "trace.status = 'OK'", '-duration']);
    expect(routeToHash(r)).toBe('#/experiments/3?view=traces&tf=trace.status+%3D+%27OK%27&ts=-duration');
  });
});
