"""Trace filter AST (aiotrack.search.traces) -> one parameterized query over trace_info.

Semantics follow MLflow's SQL store (``_get_filter_clauses_for_search_traces``):

- attributes compare ``trace_info`` columns; ``end_time_ms`` is ``timestamp_ms +
  execution_time_ms``; tag and metadata comparisons hold for traces that have the key
  (``IS NULL`` means the trace lacks it);
- ``run_id = 'r'`` (and ``IN``) holds when the ``mlflow.sourceRun`` metadata names the run or the
  trace is linked to it; other comparators look at the metadata only;
- all span clauses of a filter must hold for the same span (one correlated EXISTS);
  ``span.attributes.k`` compares the attribute's stored JSON text, ``=``/``!=`` matching either the
  text itself or its JSON string form (so ``= 'gpt-4'`` matches the attribute "gpt-4");
- ``feedback.n``/``expectation.n`` hold when a valid assessment of that kind and name matches,
  values compared as JSON text (``= 'yes'`` matches "yes", ``= 'true'`` the boolean, ``> 3`` the
  numbers); ``IS NULL`` means there is no such assessment;
- order: the given keys (NULLs last), then ``timestamp_ms DESC`` and ``request_id ASC`` unless
  already ordered by them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aiotrack.search.ast import ATTRIBUTE, EQ, GE, GT, IN, LE, LT, NE, NOT_IN, TAG, Comparison
from aiotrack.search.traces import (
    EXPECTATION,
    FEEDBACK,
    METADATA,
    RUN_LINK,
    SPAN,
    SPAN_CONTENT,
    parse_trace_filter,
    parse_trace_order_by,
)
from aiotrack.stores.sql.dialect import Dialect
from aiotrack.stores.sql.search_sql import _limit_offset, _Sql, child_condition

INFO_COLUMNS = (
    "trace_info.request_id, trace_info.experiment_id, trace_info.timestamp_ms, trace_info.execution_time_ms, "
    "trace_info.status, trace_info.client_request_id, trace_info.request_preview, trace_info.response_preview"
)
_COLUMNS = {
    "request_id": "trace_info.request_id",
    "client_request_id": "trace_info.client_request_id",
    "status": "trace_info.status",
    "request_preview": "trace_info.request_preview",
    "response_preview": "trace_info.response_preview",
    "timestamp_ms": "trace_info.timestamp_ms",
    "execution_time_ms": "trace_info.execution_time_ms",
    "end_time_ms": "(trace_info.timestamp_ms + trace_info.execution_time_ms)",
    "experiment_id": "trace_info.experiment_id",
}
_NUMERIC = {"timestamp_ms", "execution_time_ms", "end_time_ms", "experiment_id"}
_SPAN_COLUMNS = {"name": "name", "type": "type", "status": "status"}
RUN = "RUN"


def _json_equal(q: _Sql, lhs: str, op: str, value: str) -> str:
    """JSON text ``lhs`` equal (or not) to a value given as text: the text itself or its JSON string."""
    cond = f"({lhs} = {q.bind(value)} OR {lhs} = {q.bind(json.dumps(value))})"
    return f"NOT {cond}" if op == NE else cond


def _json_number(q: _Sql, lhs: str) -> str:
    """A JSON text as a number, NULL for strings, lists, objects, booleans and null."""
    return (
        f"CASE WHEN SUBSTR({lhs}, 1, 1) IN ('\"', '[', '{{') OR LOWER({lhs}) IN "
        f"('true', 'false', 'null', 'nan', 'infinity', '-infinity') THEN NULL "
        f"ELSE CAST({lhs} AS {q.dialect.float_type}) END"
    )


def _kv_condition(q: _Sql, table: str, c: Comparison) -> str:
    a = q.alias("kv")
    head = f"SELECT 1 FROM {table} {a} WHERE {a}.request_id = trace_info.request_id AND {a}.key = {q.bind(c.key)}"
    return child_condition(head, c.op, lambda: q.compare(f"{a}.value", c.op, c.value))


def _run_condition(q: _Sql, c: Comparison) -> str:
    meta = _kv_condition(q, "trace_request_metadata", c)
    a = q.alias("ln")
    runs = c.value if isinstance(c.value, tuple) else (c.value,)
    head = f"SELECT 1 FROM trace_links {a} WHERE {a}.trace_id = trace_info.request_id AND {a}.destination_type = "
    head += q.bind(RUN)  # bound before the run ids: parameters follow the text
    link = f"EXISTS ({head} AND {a}.destination_id IN ({', '.join(q.bind(r) for r in runs)}))"
    return f"({meta} OR {link})"


def _span_condition(q: _Sql, alias: str, c: Comparison) -> str:
    if c.key == SPAN_CONTENT:
        return q.compare(f"{alias}.content", c.op, c.value)
    if c.key.startswith("attributes."):
        path = q.dialect.json_path(("attributes", c.key[len("attributes.") :]))

        def lhs() -> str:  # a fresh placeholder for each use, bound in the order of the text
            return q.dialect.json_text.format(column=f"{alias}.content", path=q.bind(path))

        if c.op in (EQ, NE):
            assert isinstance(c.value, str)
            first = lhs()
            cond = f"({first} = {q.bind(c.value)} OR {lhs()} = {q.bind(json.dumps(c.value))})"
            return f"NOT {cond}" if c.op == NE else cond
        if c.op in (IN, NOT_IN):
            assert isinstance(c.value, tuple)
            both = [x for v in c.value for x in (v, json.dumps(v))]
            return q.compare(lhs(), c.op, tuple(both))
        return q.compare(lhs(), c.op, c.value)
    return q.compare(f"{alias}.{_SPAN_COLUMNS[c.key]}", c.op, c.value)


def _assessment_condition(q: _Sql, c: Comparison) -> str:
    a = q.alias("as")
    head = (
        f"SELECT 1 FROM assessments {a} WHERE {a}.trace_id = trace_info.request_id"
        f" AND {a}.assessment_type = {q.bind(c.kind)} AND {a}.name = {q.bind(c.key)} AND {a}.valid = 1"
    )

    def on_value() -> str:
        if c.op in (GT, GE, LT, LE):
            return f"{_json_number(q, f'{a}.value')} {c.op} {q.number(float(str(c.value)))}"
        if c.op in (EQ, NE):
            return _json_equal(q, f"{a}.value", c.op, str(c.value))
        return q.compare(f"{a}.value", c.op, c.value)

    return child_condition(head, c.op, on_value)


def _condition(q: _Sql, c: Comparison) -> str:
    if c.kind == ATTRIBUTE:
        return q.compare(_COLUMNS[c.key], c.op, c.value, numeric=c.key in _NUMERIC)
    if c.kind == TAG:
        return _kv_condition(q, "trace_tags", c)
    if c.kind == METADATA:
        return _kv_condition(q, "trace_request_metadata", c)
    if c.kind == RUN_LINK:
        return _run_condition(q, c)
    if c.kind in (FEEDBACK, EXPECTATION):
        return _assessment_condition(q, c)
    raise AssertionError(c.kind)


def search_query(
    dialect: Dialect,
    experiment_ids: Sequence[int],
    filter_string: str | None,
    order_by: Sequence[str],
    limit: int,
    offset: int,
) -> tuple[str, list[Any]]:
    comparisons = parse_trace_filter(filter_string)
    orders = parse_trace_order_by(order_by)
    q = _Sql(dialect)
    joins: list[str] = []
    terms: list[str] = []
    has_ts = has_id = False
    for ob in orders:
        direction = "ASC" if ob.ascending else "DESC"
        if ob.kind == ATTRIBUTE:
            column = _COLUMNS[ob.key]
            has_ts |= ob.key == "timestamp_ms"
            has_id |= ob.key == "request_id"
        else:
            table = "trace_tags" if ob.kind == TAG else "trace_request_metadata"
            a = q.alias("ob")
            joins.append(
                f" LEFT JOIN {table} {a} ON {a}.request_id = trace_info.request_id AND {a}.key = {q.bind(ob.key)}"
            )
            column = f"{a}.value"
        terms += [f"CASE WHEN {column} IS NULL THEN 1 ELSE 0 END", f"{column} {direction}"]
    if not has_ts:
        terms.append("trace_info.timestamp_ms DESC")
    if not has_id:
        terms.append("trace_info.request_id ASC")
    where = [f"trace_info.experiment_id IN ({', '.join(q.bind(e) for e in experiment_ids)})"]
    span_clauses = [c for c in comparisons if c.kind == SPAN]
    for c in comparisons:
        if c.kind != SPAN:
            where.append(_condition(q, c))
    if span_clauses:
        s = q.alias("sp")
        conds = " AND ".join(_span_condition(q, s, c) for c in span_clauses)
        where.append(f"EXISTS (SELECT 1 FROM spans {s} WHERE {s}.trace_id = trace_info.request_id AND {conds})")
    sql = (
        f"SELECT {INFO_COLUMNS} FROM trace_info{''.join(joins)} WHERE {' AND '.join(where)} ORDER BY {', '.join(terms)}"
    )
    sql += _limit_offset(q, limit, offset)
    return sql, q.params


def filter_condition(dialect: Dialect, filter_string: str | None) -> tuple[str, list[Any]]:
    """The WHERE condition of a filter alone (``1 = 1`` for none), over ``trace_info``."""
    comparisons = parse_trace_filter(filter_string)
    q = _Sql(dialect)
    parts = [_condition(q, c) for c in comparisons if c.kind != SPAN]
    spans = [c for c in comparisons if c.kind == SPAN]
    if spans:
        s = q.alias("sp")
        conds = " AND ".join(_span_condition(q, s, c) for c in spans)
        parts.append(f"EXISTS (SELECT 1 FROM spans {s} WHERE {s}.trace_id = trace_info.request_id AND {conds})")
    return (" AND ".join(parts) or "1 = 1"), q.params
