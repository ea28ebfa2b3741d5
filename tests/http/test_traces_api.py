"""Trace endpoints in-process on both backends: MLflow's wire shapes, OTLP ingest (protobuf, JSON,
gzip, partial success), artifact-backed traces, the v2 routes, and bad input answered with
MLflow's error JSON and nothing written."""

from __future__ import annotations

import base64
import gzip
import io
import json

import orjson
from http_calls import H, call  # tests/http is on sys.path
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

V3 = "/api/3.0/mlflow"
TRACE_HEX = "0af7651916cd43dd8448eb211c80319c"
ROOT, CHILD = bytes.fromhex("b7ad6b7169203331"), bytes.fromhex("00f067aa0ba902b7")
T0 = 1_700_000_000_000_000_000  # ns


def otlp_request(
    trace_hex: str = TRACE_HEX, *, error: bool = False, big: str | None = None, bad_span: bool = False
) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="svc")))
    rs.resource.attributes.append(KeyValue(key="telemetry.sdk.name", value=AnyValue(string_value="x")))
    spans = rs.scope_spans.add().spans
    tid = bytes.fromhex(trace_hex)
    root = Span(trace_id=tid, span_id=ROOT, name="root", start_time_unix_nano=T0, end_time_unix_nano=T0 + 5_000_000)
    root.attributes.append(KeyValue(key="mlflow.spanType", value=AnyValue(string_value="CHAIN")))
    # As the mlflow client sends them: structured values, not JSON text.
    inputs = KeyValueList(values=[KeyValue(key="q", value=AnyValue(string_value=big or "hello"))])
    root.attributes.append(KeyValue(key="mlflow.spanInputs", value=AnyValue(kvlist_value=inputs)))
    root.attributes.append(KeyValue(key="mlflow.traceTag.team", value=AnyValue(string_value="search")))
    root.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR if error else Status.STATUS_CODE_OK))
    child = Span(
        trace_id=tid,
        span_id=CHILD,
        parent_span_id=ROOT,
        name="llm",
        start_time_unix_nano=T0 + 1_000_000,
        end_time_unix_nano=T0 + 4_000_000,
    )
    child.attributes.append(KeyValue(key="model", value=AnyValue(string_value="gpt-x")))
    child.attributes.append(KeyValue(key="tokens", value=AnyValue(int_value=12)))
    spans.extend([root, child])
    if bad_span:
        spans.add(trace_id=b"\x01", span_id=b"\x02", name="broken")
    return req


async def post_otlp(
    client, body: bytes | io.BytesIO, exp: str | None, content_type="application/x-protobuf", **headers
):
    # A fresh connection each time: after a body it cannot inflate, aiohttp closes the connection.
    h = {"Content-Type": content_type, "Connection": "close", **headers}
    if exp is not None:
        h["x-mlflow-experiment-id"] = exp
    return await client.post("/v1/traces", data=body, headers=h)


async def new_experiment(client, name="traces") -> str:
    return (await call(client, "POST", "experiments/create", {"name": name}))["experiment_id"]


async def assert_error(resp, status: int, code: str = "INVALID_PARAMETER_VALUE", contains: str = ""):
    body = await resp.json()
    assert resp.status == status, body
    assert body["error_code"] == code
    assert contains in body["message"]


async def trace_count(client, exp: str) -> int:
    found = await call(client, "POST", "traces/search", {"locations": [_loc(exp)]}, base=V3)
    return len(found.get("traces", []))


def _loc(exp: str) -> dict:
    return {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}}


async def test_otlp_ingest_then_start_trace_wire_shapes(client):
    exp = await new_experiment(client)
    resp = await post_otlp(client, otlp_request().SerializeToString(), exp)
    assert resp.status == 200
    assert resp.content_type == "application/x-protobuf"
    assert not ExportTraceServiceResponse.FromString(await resp.read()).HasField("partial_success")
    trace_id = "tr-" + TRACE_HEX

    info = (await call(client, "GET", f"traces/{trace_id}", params={}, base=V3))["trace"]["trace_info"]
    assert info["trace_location"] == _loc(exp)
    assert info["state"] == "OK"
    assert info["request_time"] == "2023-11-14T22:13:20Z"
    assert info["execution_duration"] == "0.005s"
    assert info["request_preview"] == '{"q": "hello"}'
    assert info["tags"]["mlflow.trace.spansLocation"] == "TRACKING_STORE"
    assert info["tags"]["service.name"] == "svc" and info["tags"]["team"] == "search"
    assert "telemetry.sdk.name" not in info["tags"]
    assert info["tags"]["mlflow.artifactLocation"] == f"mlflow-artifacts:/{exp}/traces/{trace_id}/artifacts"

    # The client's start-trace after the spans: its values win, tags and metadata merge.
    body = {
        "trace": {
            "trace_info": {
                "trace_id": trace_id,
                "trace_location": _loc(exp),
                "request_time": "2023-11-14T22:13:20.001Z",
                "execution_duration": "1.250s",
                "state": "OK",
                "request_preview": "client preview",
                "trace_metadata": {"mlflow.user": "alice"},
                "tags": {"mlflow.traceName": "root"},
            }
        }
    }
    started = (await call(client, "POST", "traces", body, base=V3))["trace"]["trace_info"]
    assert started["request_time"] == "2023-11-14T22:13:20.001Z"
    assert started["execution_duration"] == "1.250s"
    assert started["request_preview"] == "client preview"
    assert started["trace_metadata"] == {"mlflow.user": "alice", "mlflow.trace.infoFinalized": "true"}
    assert started["tags"]["mlflow.traceName"] == "root"
    assert started["tags"]["mlflow.trace.spansLocation"] == "TRACKING_STORE"

    trace = (await call(client, "GET", "traces/get", params={"trace_id": trace_id}, base=V3))["trace"]
    spans = {s["name"]: s for s in trace["spans"]}
    assert spans["llm"]["parent_span_id"] == base64.b64encode(ROOT).decode()  # proto JSON writes bytes so
    attrs = {a["key"]: a["value"] for a in spans["llm"]["attributes"]}
    assert attrs["model"] == {"string_value": "gpt-x"}
    assert attrs["tokens"] == {"int_value": 12}
    assert attrs["mlflow.traceRequestId"] == {"string_value": trace_id}
    assert spans["root"]["status"] == {"code": "STATUS_CODE_OK"}

    # Spans arriving after start-trace do not move the finalized time range.
    await post_otlp(client, otlp_request().SerializeToString(), exp)
    again = (await call(client, "GET", f"traces/{trace_id}", params={}, base=V3))["trace"]["trace_info"]
    assert again["execution_duration"] == "1.250s"

    data = await client.get("/ajax-api/2.0/mlflow/get-trace-artifact", params={"request_id": trace_id})
    assert data.status == 200
    assert {s["name"] for s in orjson.loads(await data.read())["spans"]} == {"root", "llm"}

    batch = await call(client, "GET", "traces/batchGet", params={"trace_ids": trace_id}, base=V3)
    assert [t["trace_info"]["trace_id"] for t in batch["traces"]] == [trace_id]
    infos = await call(client, "POST", "traces/batchGetInfos", {"trace_ids": [trace_id, "tr-missing"]}, base=V3)
    assert [i["trace_id"] for i in infos["trace_infos"]] == [trace_id]


async def test_otlp_json_gzip_and_partial_success(client):
    exp = await new_experiment(client)
    req = otlp_request(error=True, bad_span=True)
    resp = await post_otlp(client, gzip.compress(req.SerializeToString()), exp, **{"Content-Encoding": "gzip"})
    assert resp.status == 200
    answer = ExportTraceServiceResponse.FromString(await resp.read())
    assert answer.partial_success.rejected_spans == 1
    assert "trace_id" in answer.partial_success.error_message
    info = (await call(client, "GET", f"traces/tr-{TRACE_HEX}", params={}, base=V3))["trace"]["trace_info"]
    assert info["state"] == "ERROR"

    other = "1" * 32
    doc = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": other,
                                "spanId": "1" * 16,
                                "name": "json-root",
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000001000000000",
                                "status": {"code": 1},
                            }
                        ]
                    }
                ]
            }
        ]
    }
    resp = await post_otlp(client, orjson.dumps(doc), exp, content_type="application/json")
    assert resp.status == 200 and await resp.json() == {}
    info = (await call(client, "GET", f"traces/tr-{other}", params={}, base=V3))["trace"]["trace_info"]
    assert info["execution_duration"] == "1s"


async def test_otlp_bad_input_writes_nothing(client):
    exp = await new_experiment(client)
    good = otlp_request().SerializeToString()
    await assert_error(await post_otlp(client, b"\xff\xfe not protobuf", exp), 400, contains="Invalid OpenTelemetry")
    await assert_error(await post_otlp(client, good, None), 400, contains="x-mlflow-experiment-id")
    await assert_error(await post_otlp(client, good, exp, content_type="text/plain"), 400, contains="Content-Type")
    await assert_error(await post_otlp(client, b"{", exp, content_type="application/json"), 400)
    await assert_error(await post_otlp(client, good, exp, **{"Content-Encoding": "gzip"}), 400, contains="decompress")
    await assert_error(await post_otlp(client, good, exp, **{"Content-Encoding": "snappy"}), 400)
    await assert_error(await post_otlp(client, b"", exp), 400, contains="no spans")
    await assert_error(await post_otlp(client, good, "12345"), 404, "RESOURCE_DOES_NOT_EXIST")
    await assert_error(await post_otlp(client, good, "not-a-number"), 400)
    bomb = gzip.compress(b"\0" * (40 * 1024 * 1024))  # inflates past the 32 MiB body limit
    await assert_error(await post_otlp(client, bomb, exp, **{"Content-Encoding": "gzip"}), 413)
    await assert_error(await post_otlp(client, io.BytesIO(b"\0" * (33 * 1024 * 1024)), exp), 413)
    assert await trace_count(client, exp) == 0


async def test_otlp_run_header_links_finished_traces(client):
    exp = await new_experiment(client)
    run = (await call(client, "POST", "runs/create", {"experiment_id": exp}))["run"]["info"]["run_id"]
    body = otlp_request().SerializeToString()
    await assert_error(
        await post_otlp(client, body, exp, **{"x-mlflow-run-id": "nope"}), 404, "RESOURCE_DOES_NOT_EXIST"
    )
    assert await trace_count(client, exp) == 0
    assert (await post_otlp(client, body, exp, **{"x-mlflow-run-id": run})).status == 200
    found = await call(
        client, "POST", "traces/search", {"locations": [_loc(exp)], "filter": f"run_id = '{run}'"}, base=V3
    )
    assert [t["trace_id"] for t in found["traces"]] == ["tr-" + TRACE_HEX]


async def test_large_span_is_accepted(client):
    exp = await new_experiment(client)
    big = "x" * (6 * 1024 * 1024)
    resp = await post_otlp(client, io.BytesIO(otlp_request(big=big).SerializeToString()), exp)
    assert resp.status == 200
    trace_id = "tr-" + TRACE_HEX
    info = (await call(client, "GET", f"traces/{trace_id}", params={}, base=V3))["trace"]["trace_info"]
    assert len(info["request_preview"]) == 1000 and info["request_preview"].endswith("...")
    trace = (await call(client, "GET", "traces/get", params={"trace_id": trace_id}, base=V3))["trace"]
    root = next(s for s in trace["spans"] if s["name"] == "root")
    inputs = next(a["value"] for a in root["attributes"] if a["key"] == "mlflow.spanInputs")
    assert inputs["kvlist_value"]["values"][0]["value"]["string_value"] == big


async def test_artifact_backed_trace_reads_traces_json(client):
    exp = await new_experiment(client)
    trace_id = "tr-" + "ab" * 16
    body = {
        "trace": {
            "trace_info": {
                "trace_id": trace_id,
                "trace_location": _loc(exp),
                "request_time": "2024-01-01T00:00:00Z",
                "execution_duration": "0.5s",
                "state": "OK",
            }
        }
    }
    info = (await call(client, "POST", "traces", body, base=V3))["trace"]["trace_info"]
    assert "mlflow.trace.spansLocation" not in info["tags"]
    # Not uploaded yet: not fully exported (unless partial traces are allowed).
    await call(client, "GET", "traces/get", params={"trace_id": trace_id}, base=V3, status=404)
    partial = await call(client, "GET", "traces/get", params={"trace_id": trace_id, "allow_partial": "true"}, base=V3)
    assert partial["trace"]["spans"] == []

    span = {
        "trace_id": "q83vOrze+s6rzavN7/r+zQ==",
        "span_id": "AAAAAAAAAAE=",
        "parent_span_id": None,
        "name": "uploaded",
        "start_time_unix_nano": 1,
        "end_time_unix_nano": 2,
        "events": [],
        "status": {"code": "STATUS_CODE_OK", "message": ""},
        "attributes": {"mlflow.traceRequestId": json.dumps(trace_id), "mlflow.spanInputs": '{"a": 1}'},
    }
    path = f"/api/2.0/mlflow-artifacts/artifacts/{exp}/traces/{trace_id}/artifacts/traces.json"
    put = await client.put(path, data=orjson.dumps({"spans": [span]}))
    assert put.status == 200
    trace = (await call(client, "GET", "traces/get", params={"trace_id": trace_id}, base=V3))["trace"]
    (got,) = trace["spans"]
    assert got["name"] == "uploaded"
    assert {
        "key": "mlflow.spanInputs",
        "value": {"kvlist_value": {"values": [{"key": "a", "value": {"int_value": 1}}]}},
    } in got["attributes"]

    # Deleting the trace deletes its artifacts too.
    deleted = await call(
        client, "POST", "traces/delete-traces", {"experiment_id": exp, "request_ids": [trace_id]}, base=V3
    )
    assert deleted == {"traces_deleted": 1}
    assert (await client.get(path)).status == 404


async def test_v2_routes(client):
    exp = await new_experiment(client)
    started = await call(
        client,
        "POST",
        "traces",
        {"experiment_id": exp, "timestamp_ms": 1000, "request_metadata": [{"key": "m", "value": "1"}], "tags": []},
    )
    info = started["trace_info"]
    rid = info["request_id"]
    assert info["status"] == "IN_PROGRESS" and info["timestamp_ms"] == 1000
    ended = await call(
        client, "PATCH", f"traces/{rid}", {"timestamp_ms": 3500, "status": "OK", "tags": [{"key": "t", "value": "v"}]}
    )
    assert ended["trace_info"]["execution_time_ms"] == 2500
    assert ended["trace_info"]["status"] == "OK"
    got = await call(client, "GET", f"traces/{rid}/info", params={})
    assert {"key": "t", "value": "v"} in got["trace_info"]["tags"]
    await call(client, "PATCH", f"traces/{rid}/tags", {"key": "x", "value": "y"})
    # The artifact folder (deleted with the trace) is the server's to set.
    await call(client, "PATCH", f"traces/{rid}/tags", {"key": "mlflow.artifactLocation", "value": "/"}, status=400)
    await call(client, "DELETE", f"traces/{rid}/tags", {"key": "x"})
    await call(client, "DELETE", f"traces/{rid}/tags", {"key": "x"}, status=404)
    found = await call(client, "GET", "traces", params={"experiment_ids": exp, "filter": "tags.t = 'v'"})
    assert [t["request_id"] for t in found["traces"]] == [rid]
    assert (await call(client, "POST", "traces/delete-traces", {"experiment_id": exp, "max_timestamp_millis": 2000}))[
        "traces_deleted"
    ] == 1


async def test_bad_requests_answer_mlflow_errors(client):
    exp = await new_experiment(client)
    bad = [
        ("traces/search", {"locations": [_loc(exp)], "filter": "span.bogus = 'x'"}, "Invalid span attribute"),
        ("traces/search", {"locations": [_loc(exp)], "filter": "foo.bar = 'x'"}, "Invalid entity type"),
        ("traces/search", {"locations": [_loc(exp)], "filter": "timestamp_ms > 'x'"}, "numeric"),
        ("traces/search", {"locations": [_loc(exp)], "filter": "status ="}, "Invalid clause"),
        ("traces/search", {"locations": [_loc(exp)], "filter": "tag.a IN ('x')"}, "Invalid comparator"),
        ("traces/search", {"locations": [_loc(exp)], "order_by": ["span.name"]}, "Invalid"),
        ("traces/search", {"locations": [_loc(exp)], "max_results": 501}, "max_results"),
        ("traces/search", {"locations": [_loc(exp)], "page_token": "@@"}, "page token"),
        ("traces/search", {}, "locations"),
        ("traces", {"trace": {"trace_info": {"trace_id": "tr-1"}}}, "trace_location"),
        ("traces", {"trace": {"trace_info": {"trace_id": "..", "trace_location": _loc(exp)}}}, "trace_id"),
        ("traces", {"trace": {"trace_info": {"trace_id": "a/../b", "trace_location": _loc(exp)}}}, "trace_id"),
        ("traces", {"trace": {"trace_info": {"trace_id": "tr-1", "trace_location": _loc(exp)}}}, "request_time"),
        (
            "traces",
            {"trace": {"trace_info": {"trace_id": "tr-1", "trace_location": _loc(exp), "request_time": "yesterday"}}},
            "RFC 3339",
        ),
        ("traces/delete-traces", {"experiment_id": exp}, "max_timestamp_millis"),
        ("traces/calculate-filter-correlation", {"experiment_ids": [exp], "filter_string1": "x"}, "filter_string2"),
        ("traces/metrics", {"experiment_ids": [exp], "view_type": "TRACES", "metric_name": "nope"}, "metric_name"),
    ]
    for path, body, text in bad:
        resp = await client.post(f"{V3}/{path}", data=orjson.dumps(body), headers=H)
        await assert_error(resp, 400, contains=text)
    missing_exp = {
        "trace": {
            "trace_info": {"trace_id": "tr-1", "trace_location": _loc("999"), "request_time": "2024-01-01T00:00:00Z"}
        }
    }
    await assert_error(
        await client.post(f"{V3}/traces", data=orjson.dumps(missing_exp), headers=H), 404, "RESOURCE_DOES_NOT_EXIST"
    )
    await assert_error(await client.get(f"{V3}/traces/tr-nope"), 404, "RESOURCE_DOES_NOT_EXIST")
    await assert_error(await client.get(f"{V3}/traces/get"), 400)
    assert await trace_count(client, exp) == 0


async def test_assessments_correlation_and_metrics(client):
    exp = await new_experiment(client)
    for i, hexid in enumerate(("11" * 16, "22" * 16, "33" * 16)):
        await post_otlp(client, otlp_request(hexid, error=i == 2).SerializeToString(), exp)
    tid = "tr-" + "11" * 16
    fb = {
        "assessment_name": "good",
        "trace_id": tid,
        "source": {"source_type": "HUMAN", "source_id": "me"},
        "feedback": {"value": 4},
    }
    created = (await call(client, "POST", f"traces/{tid}/assessments", {"assessment": fb}, base=V3))["assessment"]
    aid = created["assessment_id"]
    assert created["valid"] is True and created["feedback"] == {"value": 4}
    found = await call(
        client, "POST", "traces/search", {"locations": [_loc(exp)], "filter": "feedback.good > 3"}, base=V3
    )
    assert [t["trace_id"] for t in found["traces"]] == [tid]
    upd = {"assessment": {"rationale": "why"}, "update_mask": "rationale"}
    assert (await call(client, "PATCH", f"traces/{tid}/assessments/{aid}", upd, base=V3))["assessment"][
        "rationale"
    ] == "why"
    wrong = {"assessment": {"expectation": {"value": 1}}, "update_mask": "expectation"}
    await call(client, "PATCH", f"traces/{tid}/assessments/{aid}", wrong, base=V3, status=400)
    await call(client, "POST", "traces/tr-none/assessments", {"assessment": fb}, base=V3, status=404)

    corr = await call(
        client,
        "POST",
        "traces/calculate-filter-correlation",
        {"experiment_ids": [exp], "filter_string1": "status = 'ERROR'", "filter_string2": "feedback.good IS NOT NULL"},
        base=V3,
    )
    assert (corr["total_count"], corr["filter1_count"], corr["filter2_count"], corr["joint_count"]) == (3, 1, 1, 0)
    assert corr["npmi"] == -1.0

    metrics = await call(
        client,
        "POST",
        "traces/metrics",
        {
            "experiment_ids": [exp],
            "view_type": "TRACES",
            "metric_name": "trace_count",
            "aggregations": [{"aggregation_type": "COUNT"}],
            "dimensions": ["trace_status"],
        },
        base=V3,
    )
    by_status = {p["dimensions"]["trace_status"]: p["values"]["COUNT"] for p in metrics["data_points"]}
    assert by_status == {"ERROR": 1.0, "OK": 2.0}

    await call(client, "DELETE", f"traces/{tid}/assessments/{aid}", base=V3)
    await call(client, "GET", f"traces/{tid}/assessments/{aid}", params={}, base=V3, status=404)
