"""Trace rows for `aiotrack import`, in aiotrack's trace tables' layout (``TRACE_TABLES``).

Every source reads traces its own way (MLflow's SQL columns, the file store's ``trace_info.yaml``
and assessment YAML files, the REST API's trace info JSON); the rows they become are built here
once, with the same helpers the trace service and store use for a live write
(``stamp_assessment``, ``assessment_row``, ``span_row_from_dict``), so an imported trace reads
back exactly like one logged to aiotrack.

MLflow keeps a trace's links to runs and prompt versions in its ``entity_associations`` table
with lowercase types (``trace`` -> ``run`` / ``prompt_version``); aiotrack's ``trace_links``
names the destination in capitals (``RUN``, ``PROMPT_VERSION``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aiotrack.errors import ConfigError
from aiotrack.services.importing.source import Row
from aiotrack.services.trace_spans import span_row_from_dict
from aiotrack.services.traces import format_timestamp, parse_duration, parse_timestamp, stamp_assessment
from aiotrack.stores.sql.traces import assessment_row, span_values

ASSESSMENT_KINDS = ("feedback", "expectation")
LINK_TYPES = {"run": "RUN", "prompt_version": "PROMPT_VERSION"}


def info_row(
    trace_id: str,
    experiment_id: int,
    timestamp_ms: int,
    execution_time_ms: int | None,
    state: str,
    client_request_id: str | None,
    request_preview: str | None,
    response_preview: str | None,
) -> Row:
    """A ``trace_info`` row; an imported trace is finalized (no span may move its time range)."""
    return (
        trace_id,
        experiment_id,
        timestamp_ms,
        execution_time_ms,
        state,
        client_request_id,
        request_preview,
        response_preview,
        1,
    )


def assessment_row_of(trace_id: str, body: dict[str, Any]) -> Row:
    """An assessment in MLflow's JSON form (``Assessment.to_dictionary()``: the file store's YAML,
    the REST API's answer) -> its ``assessments`` row."""
    kind = next((k for k in ASSESSMENT_KINDS if k in body), None)
    if kind is None:
        raise ConfigError(
            f"Trace {trace_id} has assessment {body.get('assessment_id')!r}, which is neither feedback nor an "
            "expectation; aiotrack stores only those two kinds. Delete it in the source, or import with "
            "--skip-traces."
        )
    body = {**body, "trace_id": trace_id}
    created = parse_timestamp(body["create_time"], "create_time") if body.get("create_time") else 0
    updated = parse_timestamp(body["last_update_time"], "last_update_time") if body.get("last_update_time") else 0
    body.setdefault("valid", True)
    return assessment_row(trace_id, stamp_assessment(body, created_ms=created, updated_ms=updated))


def assessment_row_of_columns(
    *,
    assessment_id: str,
    trace_id: str,
    name: str,
    kind: str,
    value: str | None,
    error: str | None,
    created_ms: int,
    updated_ms: int,
    source_type: str,
    source_id: str | None,
    run_id: str | None,
    span_id: str | None,
    rationale: str | None,
    overrides: str | None,
    valid: bool,
    metadata: str | None,
) -> Row:
    """An assessment from the columns of MLflow's ``assessments`` table (JSON text in ``value``,
    ``error`` and ``assessment_metadata``) -> its row, the body in the JSON form MLflow answers."""
    if kind not in ASSESSMENT_KINDS:
        return assessment_row_of(trace_id, {"assessment_id": assessment_id})  # refused, naming it
    body: dict[str, Any] = {"assessment_id": assessment_id, "assessment_name": name, "trace_id": trace_id}
    if run_id:
        body["run_id"] = run_id
    if span_id:
        body["span_id"] = span_id
    source: dict[str, Any] = {"source_type": source_type}
    if source_id:
        source["source_id"] = source_id
    body["source"] = source
    body["create_time"] = format_timestamp(created_ms)
    body["last_update_time"] = format_timestamp(updated_ms)
    content: dict[str, Any] = {}
    if value is not None:
        parsed = json.loads(value)
        if parsed is not None:
            content["value"] = parsed
    if kind == "feedback" and error:
        content["error"] = json.loads(error)
    body[kind] = content
    if rationale:
        body["rationale"] = rationale
    if metadata:
        body["metadata"] = json.loads(metadata)
    if overrides:
        body["overrides"] = overrides
    body["valid"] = bool(valid)
    return assessment_row(trace_id, stamp_assessment(body, created_ms=created_ms, updated_ms=updated_ms))


def span_rows(trace_id: str, spans: Iterable[dict[str, Any]]) -> list[Row]:
    """Span dicts (the ``traces.json`` form) -> ``spans`` rows."""
    return [span_values(span_row_from_dict(d, trace_id)) for d in spans]


def v3_info_rows(info: dict[str, Any], experiment_id: int) -> tuple[Row, list[Row], list[Row], list[dict[str, Any]]]:
    """A trace info in MLflow's v3 form (the REST API's JSON; the file store's ``trace_info.yaml``,
    ``TraceInfo.to_dict()``, has the duration in ``execution_duration_ms``) -> (its
    ``trace_info`` row, tag rows, metadata rows, assessment bodies). Tags and metadata are read
    from ``tags`` / ``trace_metadata`` when the form holds them."""
    trace_id = str(info["trace_id"])
    request_time = info.get("request_time")
    timestamp = parse_timestamp(request_time, "request_time") if isinstance(request_time, str) else request_time
    duration: int | None = None
    if info.get("execution_duration"):  # the REST API's proto Duration ("0.130s")
        duration = parse_duration(info["execution_duration"], "execution_duration")
    elif info.get("execution_duration_ms") is not None:  # the file store's trace_info.yaml
        duration = int(info["execution_duration_ms"])
    row = info_row(
        trace_id,
        experiment_id,
        int(timestamp or 0),
        duration,
        str(info.get("state") or "STATE_UNSPECIFIED"),
        info.get("client_request_id") or None,
        info.get("request_preview"),
        info.get("response_preview"),
    )
    tags = [(trace_id, str(k), v) for k, v in sorted((info.get("tags") or {}).items())]
    metadata = [(trace_id, str(k), v) for k, v in sorted((info.get("trace_metadata") or {}).items())]
    return row, tags, metadata, list(info.get("assessments") or [])
