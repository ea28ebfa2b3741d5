"""The trace store contract on SQLite and PostgreSQL: spans before or after the trace info,
idempotent re-sends, cascading deletes, links, assessments, and the filter language compiled to
SQL against a table of expected trace sets."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from aiotrack.errors import AiotrackError
from aiotrack.stores.base import SpanRow, TracesToDelete
from aiotrack.stores.sql.traces import SqlTraceStore
from aiotrack.stores.sql.tracking import SqlTrackingStore

ROOT = "mlflow-artifacts:/"
MS = 1_000_000


@pytest.fixture
async def stores(database):
    tracking = SqlTrackingStore(database)
    await tracking.initialize(ROOT)
    eid = await tracking.create_experiment("traces", None, [], ROOT)
    return tracking, SqlTraceStore(database), eid


def span(trace: str, span_id: str, parent: str | None, start_ms: int, end_ms: int, **kw) -> SpanRow:
    attrs = {"mlflow.traceRequestId": f'"{trace}"', **kw.pop("attributes", {})}
    content = {"name": kw.get("name", span_id), "span_id": span_id, "attributes": attrs}
    return SpanRow(
        trace_id=trace,
        span_id=span_id,
        parent_span_id=parent,
        name=kw.pop("name", span_id),
        type=kw.pop("type", None),
        status=kw.pop("status", "OK"),
        start_time_unix_nano=start_ms * MS,
        end_time_unix_nano=end_ms * MS,
        content=orjson.dumps(content).decode(),
        **kw,
    )


def info(trace: str, eid: str, ts: int, duration: int, state: str = "OK", **kw) -> dict:
    return {
        "trace_id": trace,
        "experiment_id": eid,
        "timestamp_ms": ts,
        "execution_time_ms": duration,
        "state": state,
        "client_request_id": kw.get("client_request_id"),
        "request_preview": kw.get("request_preview"),
        "response_preview": None,
        "tags": kw.get("tags", {}),
        "metadata": kw.get("metadata", {}),
        "assessments": [],
    }


async def test_spans_first_then_info_and_widening(stores):
    _, traces, eid = stores
    await traces.log_spans(eid, [span("tr-a", "c1", "r", 120, 150)], [])
    (t,) = await traces.get_trace_infos(["tr-a"])
    assert t["state"] == "IN_PROGRESS" and t["timestamp_ms"] == 120 and t["execution_time_ms"] == 30
    # The root arrives later and widens the range; its status decides the trace's.
    await traces.log_spans(eid, [span("tr-a", "r", None, 100, 200, status="ERROR", request_preview="q")], [])
    (t,) = await traces.get_trace_infos(["tr-a"])
    assert (t["timestamp_ms"], t["execution_time_ms"], t["state"]) == (100, 100, "ERROR")
    assert t["request_preview"] == "q"
    assert t["tags"]["mlflow.trace.spansLocation"] == "TRACKING_STORE"
    # start_trace finalizes: its values win and later spans no longer move them.
    await traces.start_trace(info("tr-a", eid, 90, 500, "OK"), ("traces",))
    await traces.log_spans(eid, [span("tr-a", "late", "r", 10, 9999)], [])
    (t,) = await traces.get_trace_infos(["tr-a"])
    assert (t["timestamp_ms"], t["execution_time_ms"], t["state"]) == (90, 500, "OK")
    assert t["metadata"]["mlflow.trace.infoFinalized"] == "true"
    contents = (await traces.get_span_contents(["tr-a"]))["tr-a"]
    assert [orjson.loads(c)["span_id"] for c in contents] == ["late", "r", "c1"]
    # A re-sent span replaces its row (no duplicates).
    await traces.log_spans(eid, [span("tr-a", "c1", "r", 120, 150, name="renamed")], [])
    contents = (await traces.get_span_contents(["tr-a"]))["tr-a"]
    assert len(contents) == 3 and any(orjson.loads(c)["name"] == "renamed" for c in contents)


async def test_unknown_or_deleted_experiment(stores):
    tracking, traces, eid = stores
    with pytest.raises(AiotrackError) as err:
        await traces.log_spans("424242", [span("tr-x", "r", None, 1, 2)], [])
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    await tracking.delete_experiment(eid)
    with pytest.raises(AiotrackError) as err:
        await traces.start_trace(info("tr-y", eid, 1, 1), ("traces",))
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert await traces.get_trace_infos(["tr-x", "tr-y"]) == []


async def test_concurrent_batches_of_one_trace(stores):
    _, traces, eid = stores
    batches = [[span("tr-c", f"s{i}", "r", 100 + i, 110 + i)] for i in range(20)]
    await asyncio.gather(*(traces.log_spans(eid, b, []) for b in batches))
    (t,) = await traces.get_trace_infos(["tr-c"])
    assert t["timestamp_ms"] == 100 and t["execution_time_ms"] == 29
    assert len((await traces.get_span_contents(["tr-c"]))["tr-c"]) == 20


async def test_delete_cascades_and_returns_locations(stores, database):
    tracking, traces, eid = stores
    run = await tracking.create_run(eid, "u", 1, [], "r")
    for i in range(5):
        await traces.log_spans(eid, [span(f"tr-{i}", "r", None, 100 * i, 100 * i + 5)], [])
    await traces.link_traces(["tr-0", "tr-1"], "RUN", [run["info"]["run_id"]])
    a = {
        "assessment_id": "a-1",
        "assessment_name": "x",
        "feedback": {"value": 1},
        "_type": "feedback",
        "_value": "1",
        "_created": 1,
        "_updated": 1,
    }
    await traces.create_assessment("tr-0", a)
    count, locations = await traces.delete_traces(eid, TracesToDelete(max_timestamp_millis=250, max_traces=2))
    assert count == 2
    assert sorted(locations) == [f"mlflow-artifacts:/{eid}/traces/tr-{i}/artifacts" for i in (0, 1)]
    for table, column in (
        ("spans", "trace_id"),
        ("trace_tags", "request_id"),
        ("assessments", "trace_id"),
        ("trace_links", "trace_id"),
    ):
        rows = await database.fetch(f"SELECT COUNT(*) FROM {table} WHERE {column} IN ('tr-0', 'tr-1')")
        assert rows[0][0] == 0, table
    assert (await traces.delete_traces(eid, TracesToDelete(["tr-4", "tr-missing"])))[0] == 1
    assert [t["trace_id"] for t in await traces.search_traces([eid], None, [], 10, 0)] == ["tr-3", "tr-2"]


async def test_assessment_overrides(stores):
    _, traces, eid = stores
    await traces.log_spans(eid, [span("tr-o", "r", None, 1, 2)], [])

    def assessment(aid: str, overrides: str | None = None) -> dict:
        return {
            "assessment_id": aid,
            "assessment_name": "q",
            "feedback": {"value": "yes"},
            "overrides": overrides,
            "valid": True,
            "_type": "feedback",
            "_value": '"yes"',
            "_created": 1,
            "_updated": 1,
        }

    await traces.create_assessment("tr-o", assessment("a-1"))
    await traces.create_assessment("tr-o", assessment("a-2", "a-1"))
    assert (await traces.get_assessment("tr-o", "a-1"))["valid"] is False
    with pytest.raises(AiotrackError):
        await traces.create_assessment("tr-o", assessment("a-3", "a-nope"))
    await traces.delete_assessment("tr-o", "a-2")
    assert (await traces.get_assessment("tr-o", "a-1"))["valid"] is True
    await traces.delete_assessment("tr-o", "a-2")  # already gone: ignored, as in MLflow


async def test_filters_against_expected_sets(stores):
    _, traces, eid = stores
    rows = [
        ("tr-1", 1000, 10, "OK", "alpha", {"team": "a"}, {"mlflow.sourceRun": "run-1"}, "LLM", '"gpt"'),
        ("tr-2", 2000, 30, "ERROR", "beta", {"team": "b"}, {}, "TOOL", '"claude"'),
        ("tr-3", 3000, 20, "OK", "alpha", {}, {"mlflow.sourceRun": "run-2"}, "LLM", '{"n": 1}'),
    ]
    for tid, ts, dur, state, name, tags, md, stype, model in rows:
        await traces.log_spans(
            eid, [span(tid, "r", None, ts, ts + dur, type=stype, name=f"{name}-span", attributes={"model": model})], []
        )
        await traces.start_trace(
            info(tid, eid, ts, dur, state, tags={"mlflow.traceName": name, **tags}, metadata=md, request_preview=name),
            ("traces",),
        )
    await traces.link_traces(["tr-2"], "RUN", ["run-1"])
    expected = {
        "": ["tr-3", "tr-2", "tr-1"],
        "status = 'OK'": ["tr-3", "tr-1"],
        "trace.status != 'OK'": ["tr-2"],
        "attributes.status IN ('ERROR', 'IN_PROGRESS')": ["tr-2"],
        "timestamp_ms >= 2000": ["tr-3", "tr-2"],
        "execution_time > 15 AND execution_time_ms < 25": ["tr-3"],
        "end_time_ms = 2030": ["tr-2"],
        "name = 'alpha'": ["tr-3", "tr-1"],
        "trace.name IN ('beta')": ["tr-2"],
        "tag.team = 'a'": ["tr-1"],
        "tags.team LIKE '%'": ["tr-2", "tr-1"],
        "tag.team IS NULL": ["tr-3"],
        "tag.`team` ILIKE 'B'": ["tr-2"],
        "metadata.`mlflow.sourceRun` = 'run-2'": ["tr-3"],
        "request_metadata.`mlflow.sourceRun` IS NOT NULL": ["tr-3", "tr-1"],
        "run_id = 'run-1'": ["tr-2", "tr-1"],
        "run_id IN ('run-2')": ["tr-3"],
        "request_id = 'tr-2'": ["tr-2"],
        "request_preview LIKE 'al%'": ["tr-3", "tr-1"],
        "span.name = 'beta-span'": ["tr-2"],
        "span.type = 'LLM' AND span.name LIKE 'alpha%'": ["tr-3", "tr-1"],
        "span.type IN ('TOOL')": ["tr-2"],
        "span.attributes.model = 'gpt'": ["tr-1"],
        "span.attributes.model != 'gpt'": ["tr-3", "tr-2"],
        "span.attributes.model LIKE '%clau%'": ["tr-2"],
        "span.content ILIKE '%BETA-SPAN%'": ["tr-2"],
        "trace.text LIKE '%alpha-span%'": ["tr-3", "tr-1"],
    }
    for flt, ids in expected.items():
        got = [t["trace_id"] for t in await traces.search_traces([eid], flt or None, [], 10, 0)]
        assert got == ids, flt
    ordered = await traces.search_traces([eid], None, ["execution_time DESC"], 10, 0)
    assert [t["trace_id"] for t in ordered] == ["tr-2", "tr-3", "tr-1"]
    by_name = await traces.search_traces([eid], None, ["name ASC", "timestamp_ms ASC"], 10, 0)
    assert [t["trace_id"] for t in by_name] == ["tr-1", "tr-3", "tr-2"]
    page = await traces.search_traces([eid], None, ["timestamp ASC"], 2, 1)
    assert [t["trace_id"] for t in page] == ["tr-2", "tr-3"]
    assert await traces.count_matching([eid], [None, "status = 'OK'", "name = 'alpha'"]) == [3, 2, 2]
