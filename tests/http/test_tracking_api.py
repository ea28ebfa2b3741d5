"""Every tracking endpoint in-process: MLflow's JSON shapes, methods, and error contract."""

from __future__ import annotations

import orjson
import pytest

API = "/api/2.0/mlflow"
H = {"Content-Type": "application/json"}


async def post(client, path, body, status=200, base=API):
    resp = await client.post(f"{base}/{path}", data=orjson.dumps(body), headers=H)
    data = await resp.json()
    assert resp.status == status, data
    return data


async def get(client, path, params=None, status=200, base=API):
    resp = await client.get(f"{base}/{path}", params=params)
    data = await resp.json()
    assert resp.status == status, data
    return data


async def make_run(client, experiment_id="0", **extra):
    body = {"experiment_id": experiment_id, "start_time": 1000, **extra}
    return (await post(client, "runs/create", body))["run"]["info"]["run_id"]


def assert_error(data, code):
    assert set(data) == {"error_code", "message"}, data
    assert data["error_code"] == code
    assert "SELECT" not in data["message"] and "sqlite" not in data["message"].lower()


async def test_health_version_server_info(client):
    resp = await client.get("/health")
    assert resp.status == 200 and await resp.text() == "OK"
    resp = await client.get("/version")
    assert resp.content_type == "text/html"
    major, minor = (int(x) for x in (await resp.text()).split(".")[:2])
    assert (major, minor) >= (3, 4)  # the client only uses newer features against >= 3.4
    info = await get(client, "server-info", base="/api/3.0/mlflow")
    assert info["store_type"] == "SqlStore"


async def test_experiment_endpoints(client):
    created = await post(client, "experiments/create", {"name": "exp", "tags": [{"key": "a", "value": "b"}]})
    eid = created["experiment_id"]
    assert isinstance(eid, str)
    exp = (await get(client, "experiments/get", {"experiment_id": eid}))["experiment"]
    assert exp["name"] == "exp" and exp["tags"] == [{"key": "a", "value": "b"}]
    assert isinstance(exp["creation_time"], int)  # int64 as a JSON number
    by_name = (await get(client, "experiments/get-by-name", {"experiment_name": "exp"}))["experiment"]
    assert by_name["experiment_id"] == eid
    assert_error(
        await get(client, "experiments/get-by-name", {"experiment_name": "nope"}, 404), "RESOURCE_DOES_NOT_EXIST"
    )
    assert_error(await post(client, "experiments/create", {"name": "exp"}, 400), "RESOURCE_ALREADY_EXISTS")

    assert await post(client, "experiments/update", {"experiment_id": eid, "new_name": "exp2"}) == {}
    await post(client, "experiments/set-experiment-tag", {"experiment_id": eid, "key": "k", "value": "v"})
    await post(client, "experiments/delete-experiment-tag", {"experiment_id": eid, "key": "a"})
    exp = (await get(client, "experiments/get", {"experiment_id": eid}))["experiment"]
    assert exp["name"] == "exp2" and exp["tags"] == [{"key": "k", "value": "v"}]

    await post(client, "experiments/delete", {"experiment_id": eid})
    found = await get(client, "experiments/search", {"view_type": "DELETED_ONLY"})
    assert [e["experiment_id"] for e in found["experiments"]] == [eid]
    await post(client, "experiments/restore", {"experiment_id": eid})
    found = await post(client, "experiments/search", {"filter": "name = 'exp2'"})
    assert [e["experiment_id"] for e in found["experiments"]] == [eid]


async def test_experiment_search_pages_by_get_and_post(client):
    for i in range(5):
        await post(client, "experiments/create", {"name": f"p{i}"})
    page = await get(
        client, "experiments/search", {"max_results": "2", "order_by": "name ASC", "filter": "name LIKE 'p%'"}
    )
    assert [e["name"] for e in page["experiments"]] == ["p0", "p1"]
    token = page["next_page_token"]
    page = await post(
        client,
        "experiments/search",
        {"max_results": 2, "order_by": ["name ASC"], "filter": "name LIKE 'p%'", "page_token": token},
    )
    assert [e["name"] for e in page["experiments"]] == ["p2", "p3"]
    page = await post(
        client,
        "experiments/search",
        {"max_results": 2, "order_by": ["name ASC"], "filter": "name LIKE 'p%'", "page_token": page["next_page_token"]},
    )
    assert [e["name"] for e in page["experiments"]] == ["p4"] and "next_page_token" not in page
    assert_error(await post(client, "experiments/search", {"max_results": 0}, 400), "INVALID_PARAMETER_VALUE")
    assert_error(await post(client, "experiments/search", {"max_results": 50001}, 400), "INVALID_PARAMETER_VALUE")
    assert_error(
        await post(client, "experiments/search", {"page_token": "not-base64!"}, 400), "INVALID_PARAMETER_VALUE"
    )


async def test_run_lifecycle_and_shapes(client):
    run = (
        await post(
            client,
            "runs/create",
            {
                "experiment_id": "0",
                "start_time": 1000,
                "run_name": "n",
                "tags": [{"key": "t", "value": "v"}],
                "user_id": "u",
            },
        )
    )["run"]
    info = run["info"]
    assert info["run_id"] == info["run_uuid"]
    assert info["status"] == "RUNNING" and info["start_time"] == 1000 and "end_time" not in info
    rid = info["run_id"]
    got = (await get(client, "runs/get", {"run_id": rid}))["run"]
    assert got["info"] == info
    assert (await get(client, "runs/get", {"run_uuid": rid}))["run"]["info"]["run_id"] == rid
    updated = await post(
        client, "runs/update", {"run_id": rid, "run_uuid": rid, "status": "FINISHED", "end_time": 2000}
    )
    assert updated["run_info"]["status"] == "FINISHED" and updated["run_info"]["end_time"] == 2000
    assert_error(await post(client, "runs/update", {"run_id": rid, "status": "BOGUS"}, 400), "INVALID_PARAMETER_VALUE")
    await post(client, "runs/delete", {"run_id": rid})
    assert (await get(client, "runs/get", {"run_id": rid}))["run"]["info"]["lifecycle_stage"] == "deleted"
    await post(client, "runs/restore", {"run_id": rid})
    assert_error(await get(client, "runs/get", {"run_id": "a" * 32}, 404), "RESOURCE_DOES_NOT_EXIST")
    assert_error(await get(client, "runs/get", {}, 400), "INVALID_PARAMETER_VALUE")
    assert_error(await post(client, "runs/create", {"experiment_id": "999"}, 404), "RESOURCE_DOES_NOT_EXIST")


async def test_logging_endpoints(client):
    rid = await make_run(client)
    await post(client, "runs/log-metric", {"run_id": rid, "key": "m", "value": 1.5, "timestamp": 10, "step": 2})
    await post(client, "runs/log-metric", {"run_id": rid, "key": "nan", "value": "NaN", "timestamp": 10})
    await post(
        client, "runs/log-metric", {"run_id": rid, "key": "inf", "value": "Infinity", "timestamp": "10", "step": "1"}
    )
    await post(client, "runs/log-metric", {"run_id": rid, "key": "ninf", "value": "-Infinity", "timestamp": 10})
    await post(client, "runs/log-parameter", {"run_id": rid, "key": "p", "value": "v"})
    await post(client, "runs/set-tag", {"run_id": rid, "key": "t", "value": "x"})
    await post(client, "runs/set-tag", {"run_uuid": rid, "key": "t2", "value": "y"})
    await post(client, "runs/delete-tag", {"run_id": rid, "key": "t2"})
    data = (await get(client, "runs/get", {"run_id": rid}))["run"]["data"]
    metrics = {m["key"]: m for m in data["metrics"]}
    assert metrics["m"] == {"key": "m", "value": 1.5, "timestamp": 10, "step": 2}
    assert metrics["nan"]["value"] == "NaN"
    assert metrics["inf"]["value"] == 1.7976931348623157e308
    assert metrics["ninf"]["value"] == -1.7976931348623157e308
    assert data["params"] == [{"key": "p", "value": "v"}]
    assert {t["key"] for t in data["tags"]} == {"t", "mlflow.runName"}


async def test_log_batch_rules(client):
    rid = await make_run(client)
    metrics = [{"key": "m", "value": float(i), "timestamp": i, "step": i} for i in range(998)]
    await post(
        client,
        "runs/log-batch",
        {
            "run_id": rid,
            "metrics": metrics,
            "params": [{"key": "a", "value": "1"}],
            "tags": [{"key": "b", "value": "2"}],
        },
    )
    hist = await get(client, "metrics/get-history", {"run_id": rid, "metric_key": "m"})
    assert len(hist["metrics"]) == 998
    too_many = [{"key": "m", "value": 1, "timestamp": 1, "step": i} for i in range(1001)]
    err = await post(client, "runs/log-batch", {"run_id": rid, "metrics": too_many}, 400)
    assert_error(err, "INVALID_PARAMETER_VALUE")
    assert "at most 1000 metrics" in err["message"]
    params = [{"key": f"p{i}", "value": "v"} for i in range(101)]
    assert (
        "at most 100 params"
        in (await post(client, "runs/log-batch", {"run_id": rid, "params": params}, 400))["message"]
    )
    tags = [{"key": f"t{i}", "value": "v"} for i in range(101)]
    assert "at most 100 tags" in (await post(client, "runs/log-batch", {"run_id": rid, "tags": tags}, 400))["message"]
    dup = [{"key": "d", "value": "1"}, {"key": "d", "value": "2"}]
    assert (
        "Duplicate parameter keys"
        in (await post(client, "runs/log-batch", {"run_id": rid, "params": dup}, 400))["message"]
    )
    changed = await post(client, "runs/log-batch", {"run_id": rid, "params": [{"key": "a", "value": "2"}]}, 400)
    assert "Changing param values is not allowed" in changed["message"]


async def test_value_lengths_truncate_like_mlflow(client):
    rid = await make_run(client)
    await post(client, "runs/log-parameter", {"run_id": rid, "key": "long", "value": "x" * 7000})
    await post(client, "runs/set-tag", {"run_id": rid, "key": "long", "value": "y" * 9000})
    data = (await get(client, "runs/get", {"run_id": rid}))["run"]["data"]
    assert len(data["params"][0]["value"]) == 6000
    assert len({t["key"]: t["value"] for t in data["tags"]}["long"]) == 8000
    err = await post(client, "runs/log-parameter", {"run_id": rid, "key": "k" * 251, "value": "v"}, 400)
    assert_error(err, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize(
    "metric, fragment",
    [
        ({"key": "../x", "value": 1, "timestamp": 1}, "would resolve to"),
        ({"key": "bad\u00e9?", "value": 1, "timestamp": 1}, "Names may only contain"),
        ({"key": "m", "value": "abc", "timestamp": 1}, "valid double"),
        ({"key": "m", "value": True, "timestamp": 1}, "valid double"),
        ({"key": "m", "value": 1, "timestamp": -1}, "nonnegative"),
        ({"key": "m", "value": 1}, "timestamp"),
        ({"key": "m", "value": 1, "timestamp": 1, "step": "x"}, "step"),
        ({"key": "m", "value": 1, "timestamp": str(2**64)}, "timestamp"),
    ],
)
async def test_bad_metrics_are_refused(client, metric, fragment):
    rid = await make_run(client)
    err = await post(client, "runs/log-metric", {"run_id": rid, **metric}, 400)
    assert_error(err, "INVALID_PARAMETER_VALUE")
    assert fragment in err["message"]


async def test_logging_to_deleted_run_is_refused(client):
    rid = await make_run(client)
    await post(client, "runs/delete", {"run_id": rid})
    err = await post(client, "runs/log-metric", {"run_id": rid, "key": "m", "value": 1, "timestamp": 1}, 400)
    assert "must be in the 'active' state" in err["message"]


async def test_log_inputs_and_outputs(client):
    rid = await make_run(client)
    await post(
        client,
        "runs/log-inputs",
        {
            "run_id": rid,
            "datasets": [
                {
                    "tags": [{"key": "mlflow.data.context", "value": "eval"}],
                    "dataset": {
                        "name": "d",
                        "digest": "abc",
                        "source_type": "local",
                        "source": "{}",
                        "schema": "{}",
                        "profile": "{}",
                    },
                }
            ],
            "models": [{"model_id": "m-abc"}],
        },
    )
    await post(client, "runs/outputs", {"run_id": rid, "models": [{"model_id": "m-out", "step": 4}]})
    run = (await get(client, "runs/get", {"run_id": rid}))["run"]
    assert run["inputs"]["dataset_inputs"][0]["dataset"]["name"] == "d"
    assert run["inputs"]["model_inputs"] == [{"model_id": "m-abc"}]
    assert run["outputs"]["model_outputs"] == [{"model_id": "m-out", "step": 4}]
    err = await post(client, "runs/log-inputs", {"run_id": rid, "datasets": [{"dataset": {"name": "x"}}]}, 400)
    assert_error(err, "INVALID_PARAMETER_VALUE")


async def test_search_runs_endpoint(client):
    eid = (await post(client, "experiments/create", {"name": "s"}))["experiment_id"]
    ids = []
    for i in range(5):
        rid = await make_run(client, eid, start_time=1000 + i)
        await post(client, "runs/log-metric", {"run_id": rid, "key": "acc", "value": i / 10, "timestamp": 1})
        ids.append(rid)
    res = await post(
        client,
        "runs/search",
        {"experiment_ids": [eid], "filter": "metrics.acc > 0.15", "order_by": ["metrics.acc ASC"], "max_results": 2},
    )
    assert [r["info"]["run_id"] for r in res["runs"]] == ids[2:4]
    assert res["next_page_token"] == "eyJvZmZzZXQiOiAyfQ=="  # base64 of {"offset": 2}, MLflow's token
    res = await post(
        client,
        "runs/search",
        {
            "experiment_ids": [eid],
            "filter": "metrics.acc > 0.15",
            "order_by": ["metrics.acc ASC"],
            "max_results": 2,
            "page_token": res["next_page_token"],
        },
    )
    assert [r["info"]["run_id"] for r in res["runs"]] == ids[4:] and "next_page_token" not in res
    assert await post(client, "runs/search", {"experiment_ids": [eid], "filter": "metrics.acc > 5"}) == {}
    err = await post(client, "runs/search", {"experiment_ids": [eid], "filter": "foo bar"}, 400)
    assert_error(err, "INVALID_PARAMETER_VALUE")
    assert_error(
        await post(client, "runs/search", {"experiment_ids": [eid], "max_results": 50001}, 400),
        "INVALID_PARAMETER_VALUE",
    )
    res = await post(
        client, "runs/search", {"experiment_ids": [eid], "run_view_type": "ALL"}, base="/ajax-api/2.0/mlflow"
    )
    assert len(res["runs"]) == 5


async def test_metric_history_endpoints(client):
    a, b = await make_run(client), await make_run(client)
    for rid in (a, b):
        metrics = [{"key": "loss", "value": i, "timestamp": 100 + i, "step": i} for i in range(30)]
        await post(client, "runs/log-batch", {"run_id": rid, "metrics": metrics})
    page = await get(client, "metrics/get-history", {"run_id": a, "metric_key": "loss", "max_results": "10"})
    assert [m["step"] for m in page["metrics"]] == list(range(10))
    page2 = await get(
        client,
        "metrics/get-history",
        {"run_id": a, "metric_key": "loss", "max_results": "10", "page_token": page["next_page_token"]},
    )
    assert [m["step"] for m in page2["metrics"]] == list(range(10, 20))
    bulk = await get(
        client,
        "metrics/get-history-bulk",
        [("run_id", a), ("run_id", b), ("metric_key", "loss")],
        base="/ajax-api/2.0/mlflow",
    )
    assert len(bulk["metrics"]) == 60 and {m["run_id"] for m in bulk["metrics"]} == {a, b}
    sampled = await get(
        client,
        "metrics/get-history-bulk-interval",
        [("run_ids", a), ("run_ids", b), ("metric_key", "loss"), ("max_results", "5")],
    )
    by_run = {}
    for m in sampled["metrics"]:
        by_run.setdefault(m["run_id"], []).append(m["step"])
    assert by_run[a][0] == 0 and by_run[a][-1] == 29 and len(by_run[a]) == 5
    err = await get(
        client,
        "metrics/get-history-bulk-interval",
        [("run_ids", a), ("metric_key", "loss"), ("max_results", "2501")],
        status=400,
    )
    assert "between 1 and 2500" in err["message"]
    err = await get(
        client,
        "metrics/get-history-bulk-interval",
        [("run_ids", a), ("metric_key", "loss"), ("start_step", "5")],
        status=400,
    )
    assert_error(err, "INVALID_PARAMETER_VALUE")
    assert_error(
        await get(client, "metrics/get-history-bulk", [("metric_key", "loss")], 400, base="/ajax-api/2.0/mlflow"),
        "INVALID_PARAMETER_VALUE",
    )


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'"text"', b"[" * 5000 + b"]" * 5000, b'{"name": 5}', b'{"name": ["a"]}'],
)
async def test_malformed_bodies_get_400_never_500(client, body):
    resp = await client.post(f"{API}/experiments/create", data=body, headers=H)
    assert resp.status == 400
    assert_error(await resp.json(), "INVALID_PARAMETER_VALUE")


async def test_wrong_types_in_batch_get_400(client):
    rid = await make_run(client)
    for body in (
        {"run_id": rid, "metrics": "nope"},
        {"run_id": rid, "metrics": [1, 2]},
        {"run_id": rid, "params": [{"key": 1, "value": "x"}]},
        {"run_id": 123},
        {"run_id": rid, "tags": [{"key": "k", "value": {"x": 1}}]},
    ):
        resp = await client.post(f"{API}/runs/log-batch", data=orjson.dumps(body), headers=H)
        assert resp.status == 400, (body, await resp.text())
        assert_error(await resp.json(), "INVALID_PARAMETER_VALUE")


async def test_huge_body_is_413(client):
    import asyncio

    size = 40 * 1024 * 1024
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(
        f"POST {API}/experiments/create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {size}\r\nConnection: close\r\n\r\n".encode()
    )
    chunk = b"x" * (1024 * 1024)
    try:
        for _ in range(size // len(chunk)):
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass  # the server may stop reading once it has answered
    status_line = await reader.readline()
    assert b" 413 " in status_line
    rest = await reader.read()
    assert b'"error_code":"INVALID_PARAMETER_VALUE"' in rest
    writer.close()


async def test_unknown_endpoint_and_wrong_method(client):
    resp = await client.get(f"{API}/no-such-thing")
    assert resp.status == 404
    assert_error(await resp.json(), "ENDPOINT_NOT_FOUND")
    resp = await client.get(f"{API}/runs/create")
    assert resp.status == 405
    assert (await resp.json())["error_code"] == "BAD_REQUEST"


async def test_static_prefix_serves_api_health_and_version(make_client):
    client = await make_client(static_prefix="/mlflow/")
    assert (await client.get("/mlflow/health")).status == 200
    assert (await client.get("/mlflow/version")).status == 200
    resp = await client.get("/mlflow/api/2.0/mlflow/experiments/get", params={"experiment_id": "0"})
    assert (await resp.json())["experiment"]["name"] == "Default"
    assert (await client.get("/api/2.0/mlflow/experiments/get", params={"experiment_id": "0"})).status == 404


async def test_log_model_history_tag(client):
    import json

    rid = await make_run(client)
    model = {
        "run_id": rid,
        "artifact_path": "model",
        "utc_time_created": "2026-01-01 00:00:00.000000",
        "flavors": {"python_function": {"loader_module": "x", "config": {"secret": 1}}},
        "signature": {"a": 1},
    }
    await post(client, "runs/log-model", {"run_id": rid, "model_json": json.dumps(model)})
    await post(client, "runs/log-model", {"run_id": rid, "model_json": json.dumps({**model, "artifact_path": "m2"})})
    tags = {t["key"]: t["value"] for t in (await get(client, "runs/get", {"run_id": rid}))["run"]["data"]["tags"]}
    history = json.loads(tags["mlflow.log-model.history"])
    assert [h["artifact_path"] for h in history] == ["model", "m2"]
    assert history[0]["flavors"] == {"python_function": {"loader_module": "x"}}
    assert "signature" not in history[0]
    err = await post(client, "runs/log-model", {"run_id": rid, "model_json": "{"}, 400)
    assert "not a valid JSON" in err["message"]
    err = await post(client, "runs/log-model", {"run_id": rid, "model_json": "{}"}, 400)
    assert "missing mandatory fields" in err["message"]


async def test_search_datasets(client):
    rid = await make_run(client)
    for name, context in (("a", "train"), ("b", None)):
        tags = [{"key": "mlflow.data.context", "value": context}] if context else []
        await post(
            client,
            "runs/log-inputs",
            {
                "run_id": rid,
                "datasets": [
                    {"tags": tags, "dataset": {"name": name, "digest": "d1", "source_type": "local", "source": "{}"}}
                ],
            },
        )
    res = await post(client, "experiments/search-datasets", {"experiment_ids": ["0"]}, base="/ajax-api/2.0/mlflow")
    assert res["dataset_summaries"] == [
        {"experiment_id": "0", "name": "a", "digest": "d1", "context": "train"},
        {"experiment_id": "0", "name": "b", "digest": "d1"},
    ]
    assert_error(
        await post(client, "experiments/search-datasets", {"experiment_ids": []}, 400), "INVALID_PARAMETER_VALUE"
    )
