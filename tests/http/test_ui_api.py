"""The web UI's chart endpoint (GET 2.0/aiotrack/metrics/downsampled) in-process, on each backend:
the request limits of services/charts.py, the 404 for an unknown run, the series shape."""

from __future__ import annotations

from http_calls import API, call  # (tests/http is on sys.path)

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


# ---------------------------------------------------------------------------- runs/table

ODD = ['q"uote', "back\\slash", "new\nline\ttab", "uni\u00e9\u4e2d\U0001f600", "ctl\x01\x1f", "</script>", ""]
VALUES = [0.1, -0.0, 1e-310, 5e-324, 1.0279100698227017e232, -1.5738182964437674e277, 123456789.12345679, 3.0]


def _as_table(run: dict) -> dict:
    """A runs/search run in runs/table's shape."""
    data = run.get("data", {})
    out = {
        "info": run["info"],
        "params": {p["key"]: p["value"] for p in data.get("params", [])},
        "metrics": {m["key"]: m["value"] for m in data.get("metrics", [])},
        "tags": {t["key"]: t["value"] for t in data.get("tags", [])},
    }
    for field in ("inputs", "outputs"):
        if run.get(field):
            out[field] = run[field]
    return out


async def _both(client, body: dict) -> tuple[dict, dict]:
    search = await call(client, "POST", "runs/search", body)
    table = await call(client, "POST", "runs/table", body, base=UI)
    return search, table


async def test_run_table_is_runs_search_as_maps(client):
    exp = (await call(client, "POST", "experiments/create", {"name": "table"}))["experiment_id"]
    ids = []
    for i in range(7):
        run = await call(client, "POST", "runs/create", {"experiment_id": exp, "start_time": 1000 + i})
        ids.append(run["run"]["info"]["run_id"])
    odd, plain, nan, bare, deleted = ids[0], ids[1], ids[2], ids[3], ids[4]
    await call(
        client,
        "POST",
        "runs/log-batch",
        {
            "run_id": odd,
            "params": [{"key": f"p{i}", "value": v} for i, v in enumerate(ODD)]
            + [{"key": "a b:c/d.e-f", "value": "x"}],
            "tags": [{"key": f"t{i}", "value": v} for i, v in enumerate(ODD)],
            # every value must come back exactly (SQLite's own JSON prints 15 digits: not used for metrics)
            "metrics": [{"key": f"m{i}", "value": v, "timestamp": 5, "step": i} for i, v in enumerate(VALUES)],
        },
    )
    await call(client, "POST", "runs/log-metric", {"run_id": plain, "key": "loss", "value": 2.5, "timestamp": 1})
    for value in ("NaN", "Infinity", "-Infinity"):
        await call(client, "POST", "runs/log-metric", {"run_id": nan, "key": value, "value": value, "timestamp": 1})
    await call(
        client,
        "POST",
        "runs/log-inputs",
        {
            "run_id": plain,
            "datasets": [
                {
                    "tags": [{"key": "mlflow.data.context", "value": "train"}],
                    "dataset": {"name": "d", "digest": "abc", "source_type": "local", "source": "{}"},
                }
            ],
        },
    )
    await call(client, "POST", "runs/outputs", {"run_id": nan, "models": [{"model_id": "m-1", "step": 3}]})
    await call(client, "POST", "runs/delete", {"run_id": deleted})
    bodies = [
        {"experiment_ids": [exp]},
        {"experiment_ids": [exp], "run_view_type": "ALL", "order_by": ["metrics.loss DESC"]},
        {"experiment_ids": [exp], "run_view_type": "DELETED_ONLY"},
        {"experiment_ids": [exp], "filter": "metrics.loss > 1"},
        {"experiment_ids": [exp, "nope"], "max_results": 2},
        {"experiment_ids": ["nope"]},
    ]
    for body in bodies:
        search, table = await _both(client, body)
        assert table.get("next_page_token") == search.get("next_page_token"), body
        assert table.get("runs", []) == [_as_table(r) for r in search.get("runs", [])], body
    # the next pages too
    search, table = await _both(client, {"experiment_ids": [exp], "max_results": 2})
    while search.get("next_page_token"):
        token = search["next_page_token"]
        search, table = await _both(client, {"experiment_ids": [exp], "max_results": 2, "page_token": token})
        assert table.get("runs", []) == [_as_table(r) for r in search.get("runs", [])]
    by_id = {r["info"]["run_id"]: r for r in (await call(client, "POST", "runs/table", bodies[1], base=UI))["runs"]}
    assert by_id[odd]["params"]["p5"] == "</script>" and by_id[odd]["tags"]["t3"] == ODD[3]
    assert [by_id[odd]["metrics"][f"m{i}"] for i in range(len(VALUES))] == VALUES
    assert by_id[nan]["metrics"] == {
        "NaN": "NaN",
        "Infinity": 1.7976931348623157e308,
        "-Infinity": -1.7976931348623157e308,
    }
    assert by_id[bare]["params"] == {} and by_id[bare]["metrics"] == {}
    assert by_id[plain]["inputs"]["dataset_inputs"][0]["dataset"]["digest"] == "abc"
    assert by_id[nan]["outputs"] == {"model_outputs": [{"model_id": "m-1", "step": 3}]}


async def test_run_table_refuses_as_runs_search(client):
    bad = [
        {"experiment_ids": ["0"], "max_results": 0},
        {"experiment_ids": ["0"], "max_results": 50001},
        {"experiment_ids": ["0"], "filter": "metrics.loss >"},
        {"experiment_ids": ["0"], "order_by": ["nope DESC"]},
        {"experiment_ids": ["0"], "run_view_type": "SOME"},
        {"experiment_ids": ["0"], "page_token": "garbage"},
    ]
    for body in [*bad, {"experiment_ids": "0"}]:
        search = await client.post(f"{API}/runs/search", json=body)
        table = await client.post(f"{UI}/runs/table", json=body)
        assert (table.status, await table.json()) == (search.status, await search.json()), body
        assert table.status == (400 if body in bad else 200), body
