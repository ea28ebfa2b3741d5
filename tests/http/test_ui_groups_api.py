"""The web UI's grouped-runs chart endpoint (POST 2.0/aiotrack/metrics/grouped) in-process, on
each backend: aggregates summed in SQL over many runs, checked against plain Python."""

from __future__ import annotations

import math
import statistics

import pytest
from http_calls import call  # (tests/http is on sys.path)

from aiotrack.stores.sql import ui_queries

UI = "/ajax-api/2.0/aiotrack"


async def _runs(client, values_per_run: list[list[float]]) -> list[str]:
    ids = []
    for values in values_per_run:
        run = (await call(client, "POST", "runs/create", {"experiment_id": "0"}))["run"]["info"]["run_id"]
        metrics = [{"key": "loss", "value": v, "timestamp": 1000 + s, "step": s} for s, v in enumerate(values)]
        await call(client, "POST", "runs/log-batch", {"run_id": run, "metrics": metrics})
        ids.append(run)
    return ids


async def test_mean_std_min_max_per_step_for_each_group(client, monkeypatch):
    monkeypatch.setattr(ui_queries, "AGGREGATE_CHUNK", 2)  # several chunks per group, summed together
    adam = await _runs(client, [[1.0, 2.0, 3.0], [3.0, 4.0, 5.0], [5.0, 6.0, 10.0]])
    sgd = await _runs(client, [[10.0, 20.0], [30.0, 40.0]])
    body = await call(
        client,
        "POST",
        "metrics/grouped",
        {"groups": {"adam": adam, "sgd": sgd}, "metric_key": "loss", "buckets": 3},
        base=UI,
    )
    assert body["metric_key"] == "loss"
    a, s = body["groups"]
    assert a["group"] == "adam" and a["runs"] == 3 and s["group"] == "sgd" and s["runs"] == 2
    assert a["step"] == [0, 1, 2] and a["count"] == [3, 3, 3]
    assert a["mean"] == [3.0, 4.0, 6.0]
    assert a["min"] == [1.0, 2.0, 3.0] and a["max"] == [5.0, 6.0, 10.0]
    assert a["std"][2] == pytest.approx(statistics.pstdev([3.0, 5.0, 10.0]))
    # one step range for all groups: sgd's two steps fall in the same buckets as adam's
    assert s["step"] == [0, 1] and s["mean"] == [20.0, 30.0]


async def test_nan_and_infinities_left_out_and_empty_groups(client):
    (run,) = await _runs(client, [[1.0, 3.0]])
    await call(
        client,
        "POST",
        "runs/log-batch",
        {
            "run_id": run,
            "metrics": [
                {"key": "loss", "value": "NaN", "timestamp": 5000, "step": 1},
                {"key": "loss", "value": "Infinity", "timestamp": 5001, "step": 1},
            ],
        },
    )
    (empty,) = await _runs(client, [[]])
    body = await call(
        client, "POST", "metrics/grouped", {"groups": {"g": [run], "none": [empty]}, "metric_key": "loss"}, base=UI
    )
    g, none = body["groups"]
    assert g["mean"] == [1.0, 3.0] and all(math.isfinite(x) for x in g["max"])
    assert none["step"] == [] and none["runs"] == 1


async def test_ten_thousand_runs_answer_buckets_not_points(client, store_uri):
    # many runs in one request: the answer has a row per bucket, whatever the number of runs
    ids = [f"{i:032x}" for i in range(10_000)]  # unknown ids simply have no points
    (real,) = await _runs(client, [[float(v) for v in range(300)]])
    body = await call(
        client,
        "POST",
        "metrics/grouped",
        {"groups": {"all": [*ids, real]}, "metric_key": "loss", "buckets": 50},
        base=UI,
    )
    (g,) = body["groups"]
    assert g["runs"] == 10_001 and len(g["step"]) == 50 and sum(g["count"]) == 300


@pytest.mark.parametrize(
    "body",
    [
        {"metric_key": "loss"},
        {"groups": {}, "metric_key": "loss"},
        {"groups": {"a": "not-a-list"}, "metric_key": "loss"},
        {"groups": {"a": [1, 2]}, "metric_key": "loss"},
        {"groups": {"a": ["x"]}},
        {"groups": {"a": ["x"]}, "metric_key": "loss", "buckets": 0},
        {"groups": {"a": ["x"]}, "metric_key": "loss", "buckets": 1001},
        {"groups": {"a": ["x"]}, "metric_key": "loss", "buckets": True},
        {"groups": {str(i): ["x"] for i in range(51)}, "metric_key": "loss"},
        {"groups": {"a": [f"{i}" for i in range(20_001)]}, "metric_key": "loss"},
    ],
)
async def test_refusals(client, body):
    resp = await client.post(f"{UI}/metrics/grouped", json=body)
    assert resp.status == 400
    assert (await resp.json())["error_code"] == "INVALID_PARAMETER_VALUE"
