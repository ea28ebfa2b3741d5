"""Spans in MLflow's three shapes, converted without MLflow's code.

- **OTLP protobuf** (``opentelemetry.proto.trace.v1.Span``), as any OpenTelemetry SDK and the
  mlflow 3 client send it to ``/v1/traces``.
- **MLflow's span dict** (``Span.to_dict``; the elements of ``traces.json``): ids in base64,
  every attribute value a JSON text (``json.dumps(value, ensure_ascii=False)``), status as
  ``{"code": "STATUS_CODE_OK", "message": ""}``. This is what the store keeps in ``spans.content``
  and what ``get-trace-artifact`` answers.
- **OTLP JSON** (proto3 JSON of the OTel span, field names as in the proto), what ``GetTrace`` and
  ``BatchGetTraces`` answer: attributes decoded back to ``AnyValue``s.

A :class:`~aiotrack.stores.base.SpanRow` is what the store writes for one span.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import orjson

from aiotrack.stores.base import SpanRow

# MLflow's span attribute keys (mlflow/tracing/constant.py, SpanAttributeKey).
REQUEST_ID_ATTR = "mlflow.traceRequestId"
SPAN_TYPE_ATTR = "mlflow.spanType"
INPUTS_ATTR = "mlflow.spanInputs"
OUTPUTS_ATTR = "mlflow.spanOutputs"
TRACE_TAG_PREFIX = "mlflow.traceTag."

# OTLP status codes (proto enum numbers) -> MLflow's names.
_STATUS_NAMES = {0: "STATUS_CODE_UNSET", 1: "STATUS_CODE_OK", 2: "STATUS_CODE_ERROR"}
# ... and the short form MLflow keeps in spans.status (SpanStatusCode).
_STATUS_SHORT = {"STATUS_CODE_UNSET": "UNSET", "STATUS_CODE_OK": "OK", "STATUS_CODE_ERROR": "ERROR"}


class SpanError(ValueError):
    """A span that cannot be converted (missing or malformed ids)."""


def dump_attribute(value: Any) -> str:
    """MLflow's ``dump_span_attribute_value``: every attribute is stored as JSON text."""
    return json.dumps(value, ensure_ascii=False, default=str)


def mlflow_trace_id(otel_trace_id: bytes) -> str:
    return "tr-" + otel_trace_id.hex()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def decode_any_value(v: Any) -> Any:
    """An OTLP ``AnyValue`` message -> the Python value it holds."""
    which = v.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [decode_any_value(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: decode_any_value(kv.value) for kv in v.kvlist_value.values}
    if which == "bytes_value":
        return _b64(v.bytes_value)
    return getattr(v, which)


def _unjson(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def span_row_from_otlp(span: Any, resource_service_name: str | None = None) -> SpanRow:
    """One OTLP protobuf span -> the row the store writes. Raises SpanError on bad ids."""
    if len(span.trace_id) != 16 or not any(span.trace_id):
        raise SpanError("trace_id must be 16 non-zero bytes")
    if len(span.span_id) != 8 or not any(span.span_id):
        raise SpanError("span_id must be 8 non-zero bytes")
    if span.parent_span_id and len(span.parent_span_id) != 8:
        raise SpanError("parent_span_id must be 8 bytes")
    trace_id = mlflow_trace_id(span.trace_id)
    attributes: dict[str, str] = {}
    for kv in span.attributes:
        attributes[kv.key] = dump_attribute(decode_any_value(kv.value))
    # MLflow derives the request id from the OTLP trace id; a client-sent one is not trusted.
    attributes[REQUEST_ID_ATTR] = dump_attribute(trace_id)
    parent = span.parent_span_id or None
    if parent is None and resource_service_name is not None:
        attributes.setdefault("service.name", dump_attribute(resource_service_name))
    status_name = _STATUS_NAMES.get(span.status.code, "STATUS_CODE_UNSET")
    end = span.end_time_unix_nano or None
    content = {
        "trace_id": _b64(span.trace_id),
        "span_id": _b64(span.span_id),
        "parent_span_id": _b64(parent) if parent else None,
        "name": span.name,
        "start_time_unix_nano": span.start_time_unix_nano,
        "end_time_unix_nano": end,
        "events": [
            {
                "name": e.name,
                "time_unix_nano": e.time_unix_nano,
                "attributes": {kv.key: decode_any_value(kv.value) for kv in e.attributes},
            }
            for e in span.events
        ],
        "status": {"code": status_name, "message": span.status.message},
        "attributes": attributes,
        "links": [
            {
                "trace_id": mlflow_trace_id(link.trace_id) if len(link.trace_id) == 16 else _b64(link.trace_id),
                "span_id": link.span_id.hex(),
                "attributes": {kv.key: decode_any_value(kv.value) for kv in link.attributes},
            }
            for link in span.links
        ],
    }
    span_type = _unjson(attributes.get(SPAN_TYPE_ATTR))
    tags: tuple[tuple[str, str], ...] = ()
    if parent is None:
        tags = tuple(
            (k[len(TRACE_TAG_PREFIX) :], str(_unjson(v)))
            for k, v in attributes.items()
            if k.startswith(TRACE_TAG_PREFIX) and len(k) > len(TRACE_TAG_PREFIX)
        )
    return SpanRow(
        trace_id=trace_id,
        span_id=span.span_id.hex(),
        parent_span_id=parent.hex() if parent else None,
        name=span.name,
        type=span_type if isinstance(span_type, str) else None,
        status=_STATUS_SHORT[status_name],
        start_time_unix_nano=span.start_time_unix_nano,
        end_time_unix_nano=end,
        content=orjson.dumps(content).decode(),
        request_preview=truncated_preview(attributes.get(INPUTS_ATTR), "user") if parent is None else None,
        response_preview=truncated_preview(attributes.get(OUTPUTS_ATTR), "assistant") if parent is None else None,
        trace_tags=tags,
    )


# --------------------------------------------------------------------------- previews

PREVIEW_MAX_LENGTH = 1000  # MLflow's TRACE_REQUEST_RESPONSE_PREVIEW_MAX_LENGTH_OSS


def _messages(obj: Any) -> list[dict[str, Any]] | None:
    """Chat messages in the shapes MLflow recognises (OpenAI chat and responses, ResponsesAgent)."""
    if not isinstance(obj, dict):
        return None

    def is_message(item: Any) -> bool:
        return isinstance(item, dict) and "role" in item and "content" in item

    messages = obj.get("messages")
    if messages and isinstance(messages, list):
        return [m for m in messages if is_message(m)]
    choices = obj.get("choices")
    if choices and isinstance(choices, list) and isinstance(choices[0], dict):
        msg = choices[0].get("message")
        if msg and is_message(msg):
            return [msg]
    for field in ("input", "output"):
        items = obj.get(field)
        if items and isinstance(items, list):
            return [m for m in items if is_message(m)]
    if "request" in obj:
        return _messages(obj["request"])
    return None


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                return part
            if isinstance(part, dict) and part.get("type") in ("text", "output_text"):
                return str(part.get("text") or "")
    elif isinstance(content, str):
        return content
    return ""


def truncated_preview(text: str | None, role: str) -> str | None:
    """MLflow's request/response preview of a root span's inputs or outputs (JSON text): the
    last message of the role for chat payloads, else the text; at most 1,000 characters."""
    if text is None:
        return None
    content = None
    try:
        # Only an object can hold chat messages; other JSON is previewed as its text.
        obj = json.loads(text) if text.lstrip()[:1] == "{" else None
    except ValueError:
        obj = None
    messages = _messages(obj)
    if messages:
        chosen = next((m for m in reversed(messages) if m.get("role") == role), messages[-1])
        content = _message_text(chosen)
    content = content or text
    if len(content) <= PREVIEW_MAX_LENGTH:
        return content
    return content[: PREVIEW_MAX_LENGTH - 3] + "..."


# --------------------------------------------------------------------------- span dict -> OTLP JSON


def _any_value_json(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"bool_value": value}
    if isinstance(value, str):
        return {"string_value": value}
    if isinstance(value, int):
        return {"int_value": value}
    if isinstance(value, float):
        return {"double_value": value}
    if isinstance(value, (list, tuple)):
        return {"array_value": {"values": [_any_value_json(x) for x in value]}}
    if isinstance(value, dict):
        return {"kvlist_value": {"values": [{"key": str(k), "value": _any_value_json(x)} for k, x in value.items()]}}
    return {"string_value": str(value)}


def otlp_json_from_span_dict(d: dict[str, Any]) -> dict[str, Any]:
    """MLflow's span dict (as stored) -> the OTLP JSON of ``Trace.spans`` in a GetTrace answer."""
    out: dict[str, Any] = {"trace_id": d.get("trace_id"), "span_id": d.get("span_id")}
    if d.get("parent_span_id"):
        out["parent_span_id"] = d["parent_span_id"]
    out["name"] = d.get("name") or ""
    out["start_time_unix_nano"] = d.get("start_time_unix_nano") or 0
    if d.get("end_time_unix_nano"):
        out["end_time_unix_nano"] = d["end_time_unix_nano"]
    attrs = d.get("attributes") or {}
    out["attributes"] = [
        {"key": k, "value": _any_value_json(_unjson(v) if isinstance(v, str) else v)} for k, v in attrs.items()
    ]
    events = []
    for e in d.get("events") or []:
        ev: dict[str, Any] = {"name": e.get("name") or "", "time_unix_nano": e.get("time_unix_nano") or 0}
        if e.get("attributes"):
            ev["attributes"] = [{"key": k, "value": _any_value_json(x)} for k, x in e["attributes"].items()]
        events.append(ev)
    if events:
        out["events"] = events
    status = d.get("status") or {}
    st: dict[str, Any] = {"code": status.get("code") or "STATUS_CODE_UNSET"}
    if status.get("message"):
        st["message"] = status["message"]
    out["status"] = st
    return out


def span_row_from_dict(d: dict[str, Any], trace_id: str) -> SpanRow:
    """A span dict from a ``traces.json`` artifact -> a row (used to read artifact-backed traces)."""
    raw_span = base64.b64decode(d.get("span_id") or "")
    raw_parent = base64.b64decode(d["parent_span_id"]) if d.get("parent_span_id") else None
    status = (d.get("status") or {}).get("code") or "STATUS_CODE_UNSET"
    attrs = d.get("attributes") or {}
    span_type = _unjson(attrs.get(SPAN_TYPE_ATTR))
    return SpanRow(
        trace_id=trace_id,
        span_id=raw_span.hex(),
        parent_span_id=raw_parent.hex() if raw_parent else None,
        name=d.get("name") or "",
        type=span_type if isinstance(span_type, str) else None,
        status=_STATUS_SHORT.get(status, "UNSET"),
        start_time_unix_nano=int(d.get("start_time_unix_nano") or 0),
        end_time_unix_nano=d.get("end_time_unix_nano"),
        content=orjson.dumps(d).decode(),
    )
