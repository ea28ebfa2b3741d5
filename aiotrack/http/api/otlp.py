"""OTLP/HTTP span ingest: ``POST /v1/traces`` (https://opentelemetry.io/docs/specs/otlp/#otlphttp).

Protobuf (``application/x-protobuf``) or OTLP JSON (``application/json``, hex ids), optionally
``Content-Encoding: gzip`` or ``deflate``; the ``x-mlflow-experiment-id`` header names the
experiment new traces land in (``x-mlflow-run-id`` links the finished ones to a run). Decoding
uses the ``opentelemetry-proto`` messages. The answer is an ``ExportTraceServiceResponse`` in the
request's encoding, with OTLP's ``partial_success`` when some spans were rejected (spans with
malformed ids); a malformed body or an unknown experiment writes nothing and answers MLflow's
error JSON. Bodies are bounded by the app's client_max_size (after inflation).
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
from aiohttp import web
from google.protobuf.json_format import ParseDict
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from aiotrack.errors import AiotrackError, invalid
from aiotrack.http import keys
from aiotrack.http.codec import json_response
from aiotrack.http.routing import Routes

routes = Routes()

OTLP_TRACES_PATH = "/v1/traces"
EXPERIMENT_HEADER = "x-mlflow-experiment-id"
RUN_HEADER = "x-mlflow-run-id"
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# aiohttp's request parser inflates gzip and deflate bodies itself as they stream in (and
# counts the inflated bytes against client_max_size, so a decompression bomb ends in a 413).
ENCODINGS = ("", "identity", "gzip", "deflate")
_HEX_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


async def read_body(request: web.Request) -> bytes:
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ENCODINGS:
        raise invalid(f"Unsupported Content-Encoding: {encoding}. Expected gzip or deflate.")
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise
    except Exception:  # the parser could not inflate the body (aiohttp's ContentEncodingError)
        raise invalid(f"Failed to decompress {encoding or 'the'} payload") from None


def _hex_ids_to_base64(node: object) -> None:
    """OTLP JSON writes trace and span ids in hex; protobuf's JSON mapping wants base64."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _HEX_ID_FIELDS and isinstance(value, str) and value:
                try:
                    node[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
                except ValueError:
                    raise invalid(f"Invalid OpenTelemetry format: {key} {value!r} is not hex") from None
            else:
                _hex_ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids_to_base64(item)


def parse_request(body: bytes, media_type: str) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    try:
        if media_type == JSON:
            data = orjson.loads(body)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            _hex_ids_to_base64(data)
            ParseDict(data, request, ignore_unknown_fields=True)
        else:
            request.ParseFromString(body)
    except AiotrackError:
        raise
    except (DecodeError, ValueError, TypeError, orjson.JSONDecodeError, Exception):
        raise invalid("Invalid OpenTelemetry format") from None
    if not request.resource_spans:
        raise invalid("Invalid OpenTelemetry format - no spans found")
    return request


@routes.post(OTLP_TRACES_PATH, api=False)
async def export_traces(request: web.Request) -> web.Response:
    experiment_id = request.headers.get(EXPERIMENT_HEADER)
    if not experiment_id:
        raise invalid(f"Missing required header '{EXPERIMENT_HEADER}' naming the experiment to log the spans to.")
    content_type = request.headers.get("Content-Type")
    media_type = content_type.split(";")[0].strip().lower() if content_type else ""
    if media_type not in (PROTOBUF, JSON):
        raise invalid(f"Invalid Content-Type: {content_type}. Expected: {PROTOBUF} or {JSON}")
    body = await read_body(request)
    parsed = parse_request(body, media_type)
    del body  # the spans are decoded; do not keep the raw copy alive while storing them
    service = request.app[keys.TRACES]
    tracking = request.app[keys.TRACKING]

    async def run_exists(rid: str) -> None:
        await tracking.store.get_run_info(rid)

    run_id = request.headers.get(RUN_HEADER)
    if run_id:
        await run_exists(run_id)  # before anything is written
    _, rejected, why, finished = await service.ingest_otlp(experiment_id, parsed)
    if run_id and finished:
        for i in range(0, len(finished), 100):  # MLflow's limit per link request
            await service.link_traces_to_run(finished[i : i + 100], run_id, run_exists)
    answer = ExportTraceServiceResponse()
    if rejected:
        answer.partial_success.rejected_spans = rejected
        answer.partial_success.error_message = why
    if media_type == JSON:
        out: dict[str, Any] = {}
        if rejected:
            out["partialSuccess"] = {"rejectedSpans": str(rejected), "errorMessage": why}
        return json_response(out)
    return web.Response(body=answer.SerializeToString(), content_type=PROTOBUF)
