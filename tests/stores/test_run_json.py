"""search_runs_json (stores/sql/tracking/table.py): the page of search_runs with params, metrics
and tags as JSON texts built in SQL, in both shapes, equal to search_runs' dicts on each backend."""

from __future__ import annotations

import json

import pytest

from aiotrack.names import FLOAT_MAX
from aiotrack.stores.base import Batch, DatasetIn, MetricPoint, Page
from aiotrack.stores.sql.tracking import SqlTrackingStore

ROOT = "mlflow-artifacts:/"
ODD = ['q"uote', "back\\slash", "new\nline\ttab", "uni\u00e9\u4e2d\U0001f600", "ctl\x01\x1f", "</script>", ""]
# exact through SQL and back: SQLite's own JSON would print 15 digits, printf('%!.17g') misrounds past 1e200
VALUES = [
    0.1,
    -0.0,
    1e-310,
    5e-324,
    1.0279100698227017e232,
    -1.5738182964437674e277,
    123456789.12345679,
    3.0,
    FLOAT_MAX,
]


@pytest.fixture
async def store(database):
    s = SqlTrackingStore(database)
    await s.initialize(ROOT)
    return s


def _entries(run: dict) -> dict:
    """search_runs_json's entries row as search_runs' dict."""
    data = {f: json.loads(run[f]) for f in ("metrics", "params", "tags") if f in run}
    return {"info": run["info"], "data": data, "inputs": run.get("inputs", {}), "outputs": run.get("outputs", {})}


def _table(run: dict) -> dict:
    """search_runs' dict in the table shape, parsed."""
    data = run["data"]
    out = {
        "info": run["info"],
        "metrics": {m["key"]: m["value"] for m in data.get("metrics", [])},
        "params": {p["key"]: p["value"] for p in data.get("params", [])},
        "tags": {t["key"]: t["value"] for t in data.get("tags", [])},
    }
    return out | {f: run[f] for f in ("inputs", "outputs") if run[f]}


def _parsed_table(row: dict) -> dict:
    out = {f: json.loads(row.get(f, "{}")) for f in ("metrics", "params", "tags")}
    return {"info": row["info"], **out} | {f: row[f] for f in ("inputs", "outputs") if f in row}


def _by_key(run: dict) -> dict:
    """Entry lists compared as sets: neither path promises an order within a run."""
    data = {f: sorted(v, key=lambda e: e["key"]) for f, v in run["data"].items()}
    return run | {"data": data}


async def test_both_shapes_equal_search_runs(store):
    exp = await store.create_experiment("json", None, [], ROOT)
    ids = [(await store.create_run(exp, "u", 1000 + i, [], f"r{i}"))["info"]["run_id"] for i in range(6)]
    odd, nan, plain, bare, deleted = ids[0], ids[1], ids[2], ids[3], ids[4]
    await store.log_batch(
        odd,
        Batch(
            metrics=[MetricPoint(f"m{i}", v, 5, i) for i, v in enumerate(VALUES)],
            params=[{"key": f"p{i}", "value": v} for i, v in enumerate(ODD)],
            tags=[{"key": f"t{i}", "value": v} for i, v in enumerate(ODD)],
        ),
    )
    await store.log_batch(
        nan, Batch(metrics=[MetricPoint("n", 0.0, 1, 2, is_nan=True), MetricPoint("loss", 2.5, 3, 4)])
    )
    await store.log_batch(plain, Batch(metrics=[MetricPoint("loss", 0.5, 1, 0)]))
    dataset = DatasetIn("d", "abc", "local", "{}", None, None, (("mlflow.data.context", "train"),))
    await store.log_inputs(plain, [dataset], ["m-in"])
    await store.log_outputs(nan, [("m-out", 3)])
    await store.delete_run(deleted)
    pages = [
        ("ACTIVE_ONLY", Page(None, [], 100, 0)),
        ("ALL", Page(None, ["metrics.loss DESC"], 100, 0)),
        ("DELETED_ONLY", Page(None, [], 100, 0)),
        ("ACTIVE_ONLY", Page("metrics.loss > 1", [], 100, 0)),
        ("ALL", Page(None, [], 2, 2)),
    ]
    for view, page in pages:
        runs, more = await store.search_runs([exp, "nope"], view, page)
        entries, more_entries = await store.search_runs_json([exp, "nope"], view, page, "entries")
        table, more_table = await store.search_runs_json([exp], view, page, "table")
        assert more == more_entries == more_table, (view, page)
        assert [_by_key(_entries(r)) for r in entries] == [_by_key(r) for r in runs], (view, page)
        assert [_parsed_table(r) for r in table] == [_table(r) for r in runs], (view, page)
    assert await store.search_runs_json(["nope"], "ALL", Page(None, [], 10, 0), "entries") == ([], False)
    table, _ = await store.search_runs_json([exp], "ALL", Page(None, [], 100, 0), "table")
    by_id = {r["info"]["run_id"]: _parsed_table(r) for r in table}
    assert [by_id[odd]["metrics"][f"m{i}"] for i in range(len(VALUES))] == VALUES
    assert by_id[odd]["params"]["p5"] == "</script>" and by_id[odd]["tags"]["t3"] == ODD[3]
    assert by_id[nan]["metrics"] == {"n": "NaN", "loss": 2.5}
    assert by_id[nan]["outputs"] == {"model_outputs": [{"model_id": "m-out", "step": 3}]}
    assert by_id[plain]["inputs"]["model_inputs"] == [{"model_id": "m-in"}]
    assert by_id[plain]["inputs"]["dataset_inputs"][0]["tags"] == [{"key": "mlflow.data.context", "value": "train"}]
    assert by_id[bare]["metrics"] == {} and by_id[bare]["params"] == {}
    entries, _ = await store.search_runs_json([exp], "ALL", Page(None, [], 100, 0), "entries")
    bare_row = next(r for r in entries if r["info"]["run_id"] == bare)
    assert "metrics" not in bare_row and "params" not in bare_row  # left out, as MLflow's JSON leaves empty lists out
