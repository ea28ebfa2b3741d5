"""MLflow 3 trace semantics over a TraceStore: the v3 and v2 wire shapes, span ingest, search
paging, assessments, links, deletion (with the traces' artifacts) and artifact-backed spans.

A trace's spans are either in the tracking database (tag ``mlflow.trace.spansLocation =
TRACKING_STORE``, written by span ingest) or in the ``traces.json`` artifact the client uploaded
to the trace's ``mlflow.artifactLocation`` (older clients, or when span logging failed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson

from aiotrack.errors import INVALID_PARAMETER_VALUE, AiotrackError, invalid, not_found
from aiotrack.services import validation as v
from aiotrack.services.paging import make_token, parse_token
from aiotrack.services.trace_spans import (
    SpanError,
    decode_any_value,
    dump_attribute,
    otlp_json_from_span_dict,
    span_row_from_otlp,
)
from aiotrack.stores.base import SpanRow, TracesToDelete, TraceStore, TraceUpdate

SEARCH_TRACES_DEFAULT_MAX_RESULTS = 100
SEARCH_TRACES_MAX_RESULTS = 500  # the handler's limit in 3.17
MAX_TRACE_LINKS_PER_REQUEST = 100
TRACE_DATA_FILE_NAME = "traces.json"
SPANS_LOCATION_TAG = "mlflow.trace.spansLocation"
ARTIFACT_LOCATION_TAG = "mlflow.artifactLocation"
TRACKING_STORE = "TRACKING_STORE"
LINKED_PROMPTS_TAG = "mlflow.linkedPrompts"
TRACE_STATES = ("STATE_UNSPECIFIED", "OK", "ERROR", "IN_PROGRESS")
V2_STATUS = {
    "STATE_UNSPECIFIED": "TRACE_STATUS_UNSPECIFIED",
    "OK": "OK",
    "ERROR": "ERROR",
    "IN_PROGRESS": "IN_PROGRESS",
}
V2_TO_STATE = {v2: v3 for v3, v2 in V2_STATUS.items()}
# Tags only the server writes: where the spans are, and the artifact folder (deleted with the
# trace, so a client must not point it elsewhere). MLflow's handlers guard the spans location.
SERVER_TAGS = frozenset({SPANS_LOCATION_TAG, ARTIFACT_LOCATION_TAG})
_INT64_MAX = 2**63 - 1
_TRACE_ID_RE = re.compile(r"[A-Za-z0-9_:-][A-Za-z0-9._:-]{0,249}")

ArtifactReader = Callable[[str], Awaitable[bytes | None]]
ArtifactDeleter = Callable[[str], Awaitable[None]]


# --------------------------------------------------------------------------- proto JSON times


def format_timestamp(ms: int) -> str:
    """A proto Timestamp in JSON: RFC 3339 UTC with 0, 3 digits of fraction (ms precision)."""
    seconds, millis = divmod(int(ms), 1000)
    text = dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def format_duration(ms: int) -> str:
    seconds, millis = divmod(int(ms), 1000)
    return f"{seconds}.{millis:03d}s" if millis else f"{seconds}s"


_TS_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$")
_DUR_RE = re.compile(r"^(-?\d+)(?:\.(\d{1,9}))?s$")


def parse_timestamp(value: Any, name: str) -> int:
    """A proto Timestamp as JSON (RFC 3339) -> epoch milliseconds."""
    if isinstance(value, str):
        m = _TS_RE.match(value.strip())
        if m:
            try:
                base = dt.datetime.fromisoformat(
                    f"{m.group(1)}T{m.group(2)}{'+00:00' if m.group(4) == 'Z' else m.group(4)}"
                )
            except ValueError:
                base = None
            if base is not None:
                frac = (m.group(3) or "").ljust(9, "0")
                return int(base.timestamp()) * 1000 + int(frac[:3] or 0)
    raise invalid(f"Invalid value {value!r} for parameter '{name}': expected an RFC 3339 timestamp.")


def parse_duration(value: Any, name: str) -> int:
    if isinstance(value, str):
        m = _DUR_RE.match(value.strip())
        if m:
            frac = (m.group(2) or "").ljust(9, "0")
            seconds = int(m.group(1))
            millis = int(frac[:3])
            return seconds * 1000 + (-millis if m.group(1).startswith("-") else millis)
    raise invalid(f"Invalid value {value!r} for parameter '{name}': expected a duration such as '1.5s'.")


# --------------------------------------------------------------------------- wire shapes


def trace_info_v3(info: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "trace_id": info["trace_id"],
        "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": info["experiment_id"]}},
        "request_time": format_timestamp(info["timestamp_ms"]),
    }
    if info.get("client_request_id"):
        out["client_request_id"] = info["client_request_id"]
    if info.get("execution_time_ms") is not None:
        out["execution_duration"] = format_duration(info["execution_time_ms"])
    out["state"] = info["state"]
    if info["metadata"]:
        out["trace_metadata"] = info["metadata"]
    if info["assessments"]:
        out["assessments"] = info["assessments"]
    if info["tags"]:
        out["tags"] = info["tags"]
    if info.get("request_preview") is not None:
        out["request_preview"] = info["request_preview"]
    if info.get("response_preview") is not None:
        out["response_preview"] = info["response_preview"]
    return out


def trace_info_v2(info: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "request_id": info["trace_id"],
        "experiment_id": info["experiment_id"],
        "timestamp_ms": info["timestamp_ms"],
    }
    if info.get("execution_time_ms") is not None:
        out["execution_time_ms"] = info["execution_time_ms"]
    out["status"] = V2_STATUS.get(info["state"], "TRACE_STATUS_UNSPECIFIED")
    if info["metadata"]:
        out["request_metadata"] = [{"key": k, "value": val} for k, val in info["metadata"].items()]
    if info["tags"]:
        out["tags"] = [{"key": k, "value": val} for k, val in info["tags"].items()]
    return out


def _str_map(value: Any, name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(v.invalid_value(name, value, "Expected an object of strings."))
    out = {}
    for k, val in value.items():
        if not isinstance(val, str):
            raise invalid(v.invalid_value(f"{name}.{k}", val, "Expected a string."))
        out[k] = val
    return out


def _client_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: val for k, val in tags.items() if k not in SERVER_TAGS}


def _kv_list(value: Any, name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise invalid(v.invalid_value(name, value, "Expected a list of objects."))
    out = {}
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise invalid(v.missing_value(f"{name}[{i}].key"))
        val = item.get("value", "")
        if not isinstance(val, str):
            raise invalid(v.invalid_value(f"{name}[{i}].value", val, "Expected a string."))
        out[item["key"]] = val
    return out


def _experiment_of(location: Any) -> str:
    if not isinstance(location, dict):
        raise invalid(v.missing_value("trace.trace_info.trace_location"))
    exp = location.get("mlflow_experiment")
    if not isinstance(exp, dict) or not isinstance(exp.get("experiment_id"), str) or not exp["experiment_id"]:
        kind = location.get("type")
        if kind not in (None, "MLFLOW_EXPERIMENT"):
            raise invalid(f"Trace location type {kind!r} is not supported by this server; use MLFLOW_EXPERIMENT.")
        raise invalid(v.missing_value("trace.trace_info.trace_location.mlflow_experiment.experiment_id"))
    experiment_id: str = exp["experiment_id"]
    return experiment_id


def _state(value: Any, name: str) -> str:
    if value is None:
        return "STATE_UNSPECIFIED"
    if isinstance(value, str) and value in TRACE_STATES:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(TRACE_STATES):
        return TRACE_STATES[value]
    raise invalid(v.invalid_value(name, value, f"Expected one of {list(TRACE_STATES)}."))


# --------------------------------------------------------------------------- assessments


def _json_value_of(assessment: dict[str, Any]) -> tuple[str, str | None]:
    """(kind, the value as MLflow's SQL store keeps it: JSON text)."""
    if "feedback" in assessment:
        fb = assessment["feedback"] or {}
        return "feedback", (json.dumps(fb["value"]) if "value" in fb else None)
    ex = assessment["expectation"] or {}
    if "serialized_value" in ex:
        sv = ex["serialized_value"] or {}
        return "expectation", sv.get("value")
    return "expectation", (json.dumps(ex["value"]) if "value" in ex else None)


def _check_assessment(a: Any, trace_id: str) -> dict[str, Any]:
    if not isinstance(a, dict):
        raise invalid(v.missing_value("assessment"))
    name = a.get("assessment_name")
    if not isinstance(name, str) or not name:
        raise invalid(v.missing_value("assessment.assessment_name"))
    has_fb, has_ex = isinstance(a.get("feedback"), dict), isinstance(a.get("expectation"), dict)
    if has_fb == has_ex:
        raise invalid("An assessment must have exactly one of `feedback` or `expectation`.")
    source = a.get("source")
    if source is not None and not isinstance(source, dict):
        raise invalid(v.invalid_value("assessment.source", source, "Expected an object."))
    md = a.get("metadata")
    if md is not None:
        _str_map(md, "assessment.metadata")
    for field in ("rationale", "span_id", "overrides", "run_id"):
        if a.get(field) is not None and not isinstance(a[field], str):
            raise invalid(v.invalid_value(f"assessment.{field}", a[field], "Expected a string."))
    if a.get("valid") is not None and not isinstance(a["valid"], bool):
        raise invalid(v.invalid_value("assessment.valid", a["valid"], "Expected a boolean."))
    return a


def stamp_assessment(a: dict[str, Any], *, created_ms: int, updated_ms: int) -> dict[str, Any]:
    """Attach the store-only fields (prefixed ``_``; never part of the JSON answered)."""
    kind, value = _json_value_of(a)
    a["_type"], a["_value"] = kind, value
    a["_created"], a["_updated"] = created_ms, updated_ms
    return a


def _new_assessment(a: dict[str, Any], trace_id: str) -> dict[str, Any]:
    now = int(time.time() * 1000)
    out: dict[str, Any] = {"assessment_id": "a-" + uuid.uuid4().hex, "assessment_name": a["assessment_name"]}
    out["trace_id"] = trace_id
    for field in ("run_id", "span_id"):
        if a.get(field):
            out[field] = a[field]
    out["source"] = a.get("source") or {"source_type": "SOURCE_TYPE_UNSPECIFIED"}
    created = parse_timestamp(a["create_time"], "assessment.create_time") if a.get("create_time") else now
    out["create_time"] = format_timestamp(created)
    out["last_update_time"] = format_timestamp(now)
    for field in ("feedback", "expectation", "rationale", "metadata", "overrides"):
        if a.get(field) is not None:
            out[field] = a[field]
    out["valid"] = a["valid"] if isinstance(a.get("valid"), bool) else True
    return stamp_assessment(out, created_ms=created, updated_ms=now)


# --------------------------------------------------------------------------- the service


class TraceService:
    def __init__(
        self,
        store: TraceStore,
        read_artifact: ArtifactReader,
        delete_artifacts: ArtifactDeleter,
    ):
        self.store = store
        self._read_artifact = read_artifact
        self._delete_artifacts = delete_artifacts

    # ---- creation

    def parse_trace_info_v3(self, trace: Any) -> dict[str, Any]:
        if not isinstance(trace, dict):
            raise invalid(v.missing_value("trace"))
        ti = trace.get("trace_info")
        if not isinstance(ti, dict):
            raise invalid(v.missing_value("trace.trace_info"))
        trace_id = ti.get("trace_id")
        if not isinstance(trace_id, str) or not trace_id:
            raise invalid(v.missing_value("trace.trace_info.trace_id"))
        if not _TRACE_ID_RE.fullmatch(trace_id):
            # The id becomes a folder of the experiment's artifacts: no separators, no dot-only names.
            raise invalid(
                v.invalid_value(
                    "trace.trace_info.trace_id", trace_id, "Expected letters, digits, '-', '_', '.' or ':'."
                )
            )
        experiment_id = _experiment_of(ti.get("trace_location"))
        if ti.get("request_time") is None:
            raise invalid(v.missing_value("trace.trace_info.request_time"))
        info: dict[str, Any] = {
            "trace_id": trace_id,
            "experiment_id": experiment_id,
            "timestamp_ms": parse_timestamp(ti["request_time"], "trace.trace_info.request_time"),
            "execution_time_ms": (
                parse_duration(ti["execution_duration"], "trace.trace_info.execution_duration")
                if ti.get("execution_duration") is not None
                else None
            ),
            "state": _state(ti.get("state"), "trace.trace_info.state"),
            "tags": _client_tags(_str_map(ti.get("tags"), "trace.trace_info.tags")),
            "metadata": _str_map(ti.get("trace_metadata"), "trace.trace_info.trace_metadata"),
        }
        for field in ("client_request_id", "request_preview", "response_preview"):
            value = ti.get(field)
            if value is not None and not isinstance(value, str):
                raise invalid(v.invalid_value(f"trace.trace_info.{field}", value, "Expected a string."))
            info[field] = value
        raw = ti.get("assessments") or []
        if not isinstance(raw, list):
            raise invalid(v.invalid_value("trace.trace_info.assessments", raw, "Expected a list."))
        info["assessments"] = [_new_assessment(_check_assessment(a, trace_id), trace_id) for a in raw]
        return info

    async def start_trace_v3(self, trace: Any) -> dict[str, Any]:
        info = self.parse_trace_info_v3(trace)
        return trace_info_v3(await self.store.start_trace(info, ("traces",)))

    async def start_trace_v2(
        self, experiment_id: str | None, timestamp_ms: int | None, metadata: Any, tags: Any
    ) -> dict[str, Any]:
        if not experiment_id:
            raise invalid(v.missing_value("experiment_id"))
        info = {
            "trace_id": "tr-" + uuid.uuid4().hex,
            "experiment_id": experiment_id,
            "timestamp_ms": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
            "execution_time_ms": None,
            "state": "IN_PROGRESS",
            "client_request_id": None,
            "request_preview": None,
            "response_preview": None,
            "tags": _client_tags(_kv_list(tags, "tags")),
            "metadata": _kv_list(metadata, "request_metadata"),
            "assessments": [],
        }
        return trace_info_v2(await self.store.start_trace(info, ("traces",)))

    async def end_trace_v2(
        self, request_id: str, timestamp_ms: int | None, status: Any, metadata: Any, tags: Any
    ) -> dict[str, Any]:
        info = await self.get_trace_info(request_id)
        state = None
        if status is not None:
            if status not in V2_TO_STATE:
                raise invalid(v.invalid_value("status", status, f"Expected one of {list(V2_TO_STATE)}."))
            state = V2_TO_STATE[status]
        duration = None if timestamp_ms is None else max(0, timestamp_ms - info["timestamp_ms"])
        updated = await self.store.update_trace(
            request_id,
            TraceUpdate(
                execution_time_ms=duration,
                state=state,
                tags=_client_tags(_kv_list(tags, "tags")),
                metadata=_kv_list(metadata, "request_metadata"),
            ),
        )
        return trace_info_v2(updated)

    # ---- span ingest (OTLP)

    async def ingest_otlp(self, experiment_id: str, request: Any) -> tuple[int, int, str, list[str]]:
        """Store every span of an ExportTraceServiceRequest; return (accepted, rejected, why, the
        ids of traces whose root span came). Each span is dropped from the request as soon as it
        is converted, so a large span is not held in two shapes longer than its own conversion."""
        rows: list[SpanRow] = []
        rejected = 0
        why = ""
        resource_tags: list[tuple[str, str]] = []
        for rs in request.resource_spans:
            service_name = None
            tags_here: list[tuple[str, str]] = []
            for kv in rs.resource.attributes:
                value = decode_any_value(kv.value)
                if kv.key == "service.name" and value is not None:
                    service_name = str(value)
                if kv.key.startswith(("telemetry.sdk.", "mlflow.")) or not kv.key or len(kv.key) > 250:
                    continue
                tags_here.append((kv.key, value if isinstance(value, str) else dump_attribute(value)))
            resource_tags = tags_here or resource_tags
            for ss in rs.scope_spans:
                spans = ss.spans
                while len(spans):
                    try:
                        row = span_row_from_otlp(spans[len(spans) - 1], service_name)
                        if row.trace_tags:
                            kept = tuple((k, val) for k, val in row.trace_tags if k not in SERVER_TAGS)
                            row = dataclasses.replace(row, trace_tags=kept)
                        rows.append(row)
                    except SpanError as exc:
                        rejected += 1
                        why = f"Cannot convert OpenTelemetry span to MLflow span: {exc}"
                    del spans[-1]
        if not rows and not rejected:
            raise invalid("Invalid OpenTelemetry format - no spans found")
        rows.reverse()  # converted from the end; keep the request's order
        if rows:
            await self.store.log_spans(experiment_id, rows, resource_tags)
        finished = sorted({r.trace_id for r in rows if r.parent_span_id is None})
        return len(rows), rejected, why, finished

    # ---- reads

    async def get_trace_info(self, trace_id: str) -> dict[str, Any]:
        infos = await self.store.get_trace_infos([trace_id])
        if not infos:
            raise not_found(f"Trace with ID {trace_id} is not found.")
        return infos[0]

    async def _span_dicts(self, infos: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]] | None]:
        """Each trace's span dicts: from the database or the traces.json artifact (None when
        neither has them yet)."""
        in_db = [i["trace_id"] for i in infos if i["tags"].get(SPANS_LOCATION_TAG) == TRACKING_STORE]
        stored = await self.store.get_span_contents(in_db) if in_db else {}
        out: dict[str, list[dict[str, Any]] | None] = {}
        for info in infos:
            tid = info["trace_id"]
            if tid in stored:
                out[tid] = [orjson.loads(c) for c in stored[tid]]
            elif tid in in_db:
                out[tid] = []
            else:
                out[tid] = await self._artifact_spans(info)
        return out

    async def _artifact_spans(self, info: dict[str, Any]) -> list[dict[str, Any]] | None:
        location = info["tags"].get(ARTIFACT_LOCATION_TAG)
        if not location:
            return None
        data = await self._read_artifact(location.rstrip("/") + "/" + TRACE_DATA_FILE_NAME)
        if data is None:
            return None
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise AiotrackError(
                f"Trace data of {info['trace_id']} is corrupted: its {TRACE_DATA_FILE_NAME} is not JSON.",
                "INVALID_STATE",
            ) from None
        spans = parsed.get("spans") if isinstance(parsed, dict) else None
        return spans if isinstance(spans, list) else []

    def _trace_json(self, info: dict[str, Any], spans: list[dict[str, Any]]) -> dict[str, Any]:
        return {"trace_info": trace_info_v3(info), "spans": [otlp_json_from_span_dict(s) for s in spans]}

    async def get_trace(self, trace_id: str, allow_partial: bool) -> dict[str, Any]:
        info = await self.get_trace_info(trace_id)
        spans = (await self._span_dicts([info]))[trace_id]
        if not spans and not allow_partial:
            raise not_found(f"Trace with ID {trace_id} is not fully exported yet, please try again later.")
        return self._trace_json(info, spans or [])

    async def batch_get_traces(self, trace_ids: list[str], experiment_ids: list[str] | None) -> list[dict[str, Any]]:
        infos = await self.store.get_trace_infos(trace_ids, experiment_ids)
        spans = await self._span_dicts(infos)
        return [self._trace_json(i, spans[i["trace_id"]] or []) for i in infos]

    async def batch_get_trace_infos(
        self, trace_ids: list[str], experiment_ids: list[str] | None
    ) -> list[dict[str, Any]]:
        return [trace_info_v3(i) for i in await self.store.get_trace_infos(trace_ids, experiment_ids)]

    async def trace_data_json(self, trace_id: str) -> bytes:
        """``{"spans": [...]}`` as ``traces.json`` holds it (the UI's get-trace-artifact)."""
        info = await self.get_trace_info(trace_id)
        spans = (await self._span_dicts([info]))[trace_id]
        if spans is None:
            raise not_found(f"Trace data of {trace_id} was not found: no spans are stored for it yet.")
        return orjson.dumps({"spans": spans})

    async def search_traces(
        self,
        experiment_ids: list[str],
        filter_string: str | None,
        max_results: int | None,
        order_by: list[str],
        page_token: str | None,
        *,
        max_allowed: int = SEARCH_TRACES_MAX_RESULTS,
    ) -> tuple[list[dict[str, Any]], str | None]:
        if max_results is None or max_results == 0:
            max_results = SEARCH_TRACES_DEFAULT_MAX_RESULTS
        if max_results < 1 or max_results > max_allowed:
            raise invalid(
                f"Invalid value {max_results} for parameter 'max_results' supplied. It must be at most {max_allowed}."
                if max_results > max_allowed
                else f"Invalid value {max_results} for parameter 'max_results' supplied. It must be a positive integer"
            )
        offset = parse_token(page_token)
        infos = await self.store.search_traces(experiment_ids, filter_string or None, order_by, max_results + 1, offset)
        token = make_token(offset + max_results) if len(infos) > max_results else None
        return infos[:max_results], token

    # ---- tags

    async def set_trace_tag(self, trace_id: str, key: str | None, value: str | None) -> None:
        if not key:
            raise invalid(v.missing_value("key"))
        if key in SERVER_TAGS:
            raise invalid(f"Tag '{key}' is set by the server and cannot be set.")
        if len(key) > 250:
            raise invalid(f"Tag key '{key[:32]}...' exceeds the maximum length of 250 characters.")
        await self.store.set_trace_tag(trace_id, key, value or "")

    async def delete_trace_tag(self, trace_id: str, key: str | None) -> None:
        if not key:
            raise invalid(v.missing_value("key"))
        if key in SERVER_TAGS:
            raise invalid(f"Tag '{key}' is set by the server and cannot be deleted.")
        await self.store.delete_trace_tag(trace_id, key)

    # ---- deletion

    async def delete_traces(
        self,
        experiment_id: str | None,
        max_timestamp_millis: int | None,
        max_traces: int | None,
        trace_ids: list[str],
    ) -> int:
        if not experiment_id:
            raise invalid(v.missing_value("experiment_id"))
        if max_timestamp_millis is None and not trace_ids:
            raise invalid("Either `max_timestamp_millis` or `request_ids` must be specified.")
        if max_timestamp_millis is not None and trace_ids:
            raise invalid("Only one of `max_timestamp_millis` and `request_ids` can be specified.")
        if max_traces is not None and trace_ids:
            raise invalid("`max_traces` can't be specified if `request_ids` is specified.")
        if max_traces is not None and max_traces <= 0:
            raise invalid(f"`max_traces` must be a positive integer, received {max_traces}.")
        count, locations = await self.store.delete_traces(
            experiment_id, TracesToDelete(trace_ids, max_timestamp_millis, max_traces)
        )
        for location in locations:
            await self._delete_artifacts(location)
        return count

    # ---- links

    async def link_traces_to_run(
        self, trace_ids: list[str], run_id: str | None, run_exists: Callable[[str], Awaitable[None]]
    ) -> None:
        if not run_id:
            raise invalid(v.missing_value("run_id"))
        if not trace_ids:
            return
        if len(trace_ids) > MAX_TRACE_LINKS_PER_REQUEST:
            raise invalid(
                f"Cannot link more than {MAX_TRACE_LINKS_PER_REQUEST} traces to a run in a single request. "
                f"Provided {len(trace_ids)} traces."
            )
        await run_exists(run_id)
        await self.store.link_traces(trace_ids, "RUN", [run_id])

    async def link_prompts_to_trace(self, trace_id: str | None, prompt_versions: list[dict[str, Any]]) -> None:
        if not trace_id:
            raise invalid(v.missing_value("trace_id"))
        refs = []
        for i, pv in enumerate(prompt_versions):
            name, version = pv.get("name"), pv.get("version")
            if not isinstance(name, str) or not name:
                raise invalid(v.missing_value(f"prompt_versions[{i}].name"))
            if isinstance(version, int) and not isinstance(version, bool):
                version = str(version)
            if not isinstance(version, str) or not version.isdigit():
                raise invalid(v.invalid_value(f"prompt_versions[{i}].version", version, "Expected an integer."))
            refs.append({"name": name, "version": str(int(version))})
        if not refs:
            return
        info = await self.get_trace_info(trace_id)
        await self.store.link_traces([trace_id], "PROMPT_VERSION", [f"{r['name']}/{r['version']}" for r in refs])
        current = info["tags"].get(LINKED_PROMPTS_TAG)
        try:
            linked = json.loads(current) if current else []
        except ValueError:
            linked = []
        if not isinstance(linked, list):
            linked = []
        fresh = [r for r in refs if r not in linked]
        if fresh:
            await self.store.set_trace_tag(trace_id, LINKED_PROMPTS_TAG, json.dumps(linked + fresh))

    # ---- assessments

    async def create_assessment(self, trace_id: str, assessment: Any) -> dict[str, Any]:
        a = _new_assessment(_check_assessment(assessment, trace_id), trace_id)
        return await self.store.create_assessment(trace_id, a)

    async def get_assessment(self, trace_id: str, assessment_id: str) -> dict[str, Any]:
        return await self.store.get_assessment(trace_id, assessment_id)

    async def update_assessment(
        self, trace_id: str, assessment_id: str, assessment: Any, update_mask: Any
    ) -> dict[str, Any]:
        if not isinstance(assessment, dict):
            raise invalid(v.missing_value("assessment"))
        if isinstance(update_mask, dict):
            paths = update_mask.get("paths")
        elif isinstance(update_mask, str):
            paths = [p.strip() for p in update_mask.split(",") if p.strip()]
        else:
            paths = None
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise invalid(v.missing_value("update_mask"))
        # A FieldMask in proto JSON is one comma-separated string of camelCase paths.
        paths = [re.sub(r"(?<!^)([A-Z])", lambda m: "_" + m.group(1).lower(), p) for p in paths]
        existing = await self.store.get_assessment(trace_id, assessment_id)
        kind = "feedback" if "feedback" in existing else "expectation"
        updated = dict(existing)
        for path in paths:
            if path == "assessment_name":
                name = assessment.get("assessment_name")
                if not isinstance(name, str) or not name:
                    raise invalid(v.missing_value("assessment.assessment_name"))
                updated["assessment_name"] = name
            elif path in ("feedback", "expectation"):
                if path != kind:
                    raise invalid(
                        "Cannot update expectation value on a Feedback assessment."
                        if path == "expectation"
                        else "Cannot update feedback value on an Expectation assessment."
                    )
                value = assessment.get(path)
                if not isinstance(value, dict):
                    raise invalid(v.missing_value(f"assessment.{path}"))
                updated[path] = value
            elif path == "rationale":
                updated["rationale"] = assessment.get("rationale")
            elif path == "metadata":
                merged = dict(existing.get("metadata") or {})
                merged.update(_str_map(assessment.get("metadata"), "assessment.metadata"))
                updated["metadata"] = merged
            elif path == "valid":
                valid = assessment.get("valid", True)
                if not isinstance(valid, bool):
                    raise invalid(v.invalid_value("assessment.valid", valid, "Expected a boolean."))
                updated["valid"] = valid
            else:
                raise AiotrackError(f"Invalid update_mask path '{path}' for an assessment.", INVALID_PARAMETER_VALUE)
        now = int(time.time() * 1000)
        updated["last_update_time"] = format_timestamp(now)
        updated = {k: val for k, val in updated.items() if val is not None}
        created = parse_timestamp(existing["create_time"], "create_time")
        stamped = stamp_assessment(updated, created_ms=created, updated_ms=now)
        return await self.store.replace_assessment(trace_id, stamped)

    async def delete_assessment(self, trace_id: str, assessment_id: str) -> None:
        await self.store.delete_assessment(trace_id, assessment_id)

    # ---- metrics

    async def query_metrics(
        self,
        experiment_ids: list[str],
        view_type: Any,
        metric_name: str | None,
        aggregations: list[dict[str, Any]],
        dimensions: list[str],
        filters: list[str],
        time_interval_seconds: int | None,
        start_time_ms: int | None,
        end_time_ms: int | None,
        max_results: int | None,
        page_token: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        from aiotrack.services.trace_metrics import query_trace_metrics

        if page_token:
            raise invalid("Trace metrics answer in one page; a page_token is not accepted.")
        points = await query_trace_metrics(
            self.store,
            experiment_ids,
            view_type,
            metric_name,
            aggregations,
            dimensions,
            filters,
            time_interval_seconds,
            start_time_ms,
            end_time_ms,
            max_results,
        )
        return points, None

    # ---- correlation

    async def filter_correlation(
        self, experiment_ids: list[str], filter1: str | None, filter2: str | None, base_filter: str | None
    ) -> dict[str, Any]:
        """MLflow's NPMI between two filters over the traces matching ``base_filter``."""
        if not experiment_ids:
            raise invalid(v.missing_value("experiment_ids"))
        if not filter1:
            raise invalid(v.missing_value("filter_string1"))
        if not filter2:
            raise invalid(v.missing_value("filter_string2"))

        def joined(*parts: str | None) -> str | None:
            return " AND ".join(p for p in parts if p) or None

        total, c1, c2, c12 = await self.store.count_matching(
            experiment_ids,
            [
                base_filter or None,
                joined(base_filter, filter1),
                joined(base_filter, filter2),
                joined(base_filter, filter1, filter2),
            ],
        )
        npmi, smoothed = npmi_from_counts(c12, c1, c2, total)
        return {
            "npmi": npmi,
            "npmi_smoothed": smoothed,
            "filter1_count": c1,
            "filter2_count": c2,
            "joint_count": c12,
            "total_count": total,
        }


JEFFREYS_PRIOR = 0.5


def _npmi_core(n11: float, n10: float, n01: float, n00: float, smoothing: float) -> float:
    a, b, c, d = n11 + smoothing, n10 + smoothing, n01 + smoothing, n00 + smoothing
    n = a + b + c + d
    n1, n2 = a + b, a + c
    if n1 <= 0 or n2 <= 0 or a <= 0:
        return math.nan
    if n10 == 0 and n01 == 0 and n00 == 0:
        return 1.0
    pmi = (math.log(a) + math.log(n)) - (math.log(n1) + math.log(n2))
    denominator = -(math.log(a) - math.log(n))
    if denominator == 0:
        return 1.0
    return max(-1.0, min(1.0, pmi / denominator))


def npmi_from_counts(joint: int, c1: int, c2: int, total: int) -> tuple[float, float]:
    """(NPMI, NPMI smoothed with Jeffreys' prior) of a 2x2 table, with MLflow's rules: NaN
    without support, -1 when both filters match something but never together."""
    if total <= 0 or c1 == 0 or c2 == 0:
        return math.nan, math.nan
    n11, n10, n01 = joint, c1 - joint, c2 - joint
    n00 = total - c1 - c2 + joint
    if min(n11, n10, n01, n00) < 0:
        return math.nan, math.nan
    raw = -1.0 if joint == 0 else _npmi_core(n11, n10, n01, n00, 0)
    return raw, _npmi_core(n11, n10, n01, n00, JEFFREYS_PRIOR)


def parse_int(value: Any, name: str) -> int | None:
    return v.parse_int64(value, name, required=False, default=None)
