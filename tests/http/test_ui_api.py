"""The web UI's chart endpoint (GET 2.0/aiotrack/metrics/downsampled) in-process, on each backend:
the request limits of services/charts.py, the 404 for an unknown run, the series shape."""

from __future__ import annotations

from http_calls import call  # (tests/http is on sys.path)

UI = "/ajax-api/2.0/aiotrack"


async def _run_with_history(client, n: int) -> str:
    run = (await call(client, "POST", "runs/create", {"experiment_id": "0"}))["run"]["info"]["run_id"]
    metrics = [{"key": "loss", "value": 1.0 if s != 7 else 50.0, "timestamp": 1000 + s, "step": s} for s in range(n)]
    await call(client, "POST", "runs/log-batch", {"run_id": run, "metrics": metrics})
    return run


async def test_series_and_their_shape(client):
    run = await _run_with_history(client, 40)
    body = await call(
        client, "GET", "metrics/downsampled", params={"run_id": run, "metric_key": "loss", "buckets": 2}, base=UI
    )
    assert body["x_axis"] == "step" and body["buckets"] == 2
    (series,) = body["series"]
    assert series["run_id"] == run and series["metric_key"] == "loss"
    assert series["total"] == 40 and series["max"] == 50.0 and 7 in series["step"]  # the spike survives
    assert len(series["step"]) <= 8
    whole = await call(client, "GET", "metrics/downsampled", params={"run_id": run, "metric_key": "loss"}, base=UI)
    assert whole["series"][0]["step"] == list(range(40))  # few points come back whole


async def test_refusals(client):
    run = await _run_with_history(client, 3)
    bad = [
        {"metric_key": "loss"},
        {"run_id": run},
        {"run_id": run, "metric_key": "loss", "buckets": 5001},
        {"run_id": run, "metric_key": "loss", "buckets": -1},
        {"run_id": run, "metric_key": "loss", "x_axis": "wall"},
        {"run_id": run, "metric_key": "loss", "min_x": 5, "max_x": 1},
        {"run_id": [f"r{i}" for i in range(101)], "metric_key": "loss"},
        {"run_id": run, "metric_key": [f"k{i}" for i in range(101)]},
        {"run_id": [f"r{i}" for i in range(40)], "metric_key": [f"k{i}" for i in range(26)]},
    ]
    for params in bad:
        data = await call(client, "GET", "metrics/downsampled", params=params, status=400, base=UI)
        assert data["error_code"] == "INVALID_PARAMETER_VALUE", params
    data = await call(
        client,
        "GET",
        "metrics/downsampled",
        params={"run_id": [run, "nope"], "metric_key": "loss"},
        status=404,
        base=UI,
    )
    assert data == {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Run with id=nope not found"}
