"""Bounded work per request and the 400s that used to be 500s, on the real app in-process."""

from __future__ import annotations

import asyncio
import io
import logging

import orjson
import pytest
from http_calls import API, H, call

from aiotrack.http.bodies import MAX_JSON_ELEMENTS, BodyBudget, check_json_elements
from aiotrack.names import MAX_PARAM_VAL_LENGTH, MAX_TAG_VAL_LENGTH
from aiotrack.search.limits import MAX_FILTER_CLAUSES


def _is_error(data: dict, code: str = "INVALID_PARAMETER_VALUE") -> str:
    assert set(data) == {"error_code", "message"} and data["error_code"] == code, data
    return data["message"]


async def _run(client) -> str:
    return (await call(client, "POST", "runs/create", {"experiment_id": "0"}))["run"]["info"]["run_id"]


# --------------------------------------------------------------------------- search limits


@pytest.mark.parametrize("n", [MAX_FILTER_CLAUSES + 1, 1000])
async def test_many_filter_clauses_are_a_400_on_both_backends(client, n):
    flt = " AND ".join(f"params.a{i} = 'b'" for i in range(n))
    data = await call(client, "POST", "runs/search", {"experiment_ids": ["0"], "filter": flt}, status=400)
    assert "clauses" in _is_error(data)


async def test_filter_at_the_clause_limit_is_answered(client):
    flt = " AND ".join(f"params.a{i} = 'b'" for i in range(MAX_FILTER_CLAUSES))
    assert await call(client, "POST", "runs/search", {"experiment_ids": ["0"], "filter": flt}) == {}


# --------------------------------------------------------------------------- JSON bodies


async def test_body_with_too_many_elements_refused_before_decoding(make_client):
    client = await make_client()
    body = b'{"x": [' + b",".join([b"{}"] * (MAX_JSON_ELEMENTS + 10)) + b"]}"
    resp = await client.post(f"{API}/experiments/search", data=io.BytesIO(body), headers=H)
    assert resp.status == 400
    assert "JSON elements" in _is_error(await resp.json())


def test_element_scan_skips_strings():
    # A dataset profile is JSON inside a string: its braces and commas are not elements.
    profile = orjson.dumps({"cols": [{"a": i} for i in range(MAX_JSON_ELEMENTS)]}).decode()
    check_json_elements(orjson.dumps({"profile": profile, "escaped": 'say \\"{[,"'}))
    with pytest.raises(Exception, match="JSON elements"):
        check_json_elements(b"[" + b"0," * MAX_JSON_ELEMENTS + b"0]")


async def test_large_body_budget_waits_then_answers_503():
    budget = BodyBudget(budget=10, threshold=4, wait=0.2, max_body=100)
    async with budget.reserve(8):
        async with budget.reserve(3):  # small bodies never wait
            pass
        with pytest.raises(Exception) as info:
            async with budget.reserve(5):
                pass
        assert info.value.error_code == "TEMPORARILY_UNAVAILABLE" and info.value.status == 503
        waiter = asyncio.create_task(_hold(budget, 5))
        await asyncio.sleep(0.05)
    await asyncio.wait_for(waiter, 1)  # released by the first body, it proceeds
    assert budget.held == 0
    async with budget.reserve(1000):  # larger than the budget: uses all of it, alone
        assert budget.held == 10


async def _hold(budget: BodyBudget, size: int) -> None:
    async with budget.reserve(size):
        pass


async def test_legal_1_4_mb_log_batch_is_accepted(client, caplog):
    run_id = await _run(client)
    params = [{"key": f"p{i}", "value": "v" * MAX_PARAM_VAL_LENGTH} for i in range(100)]
    tags = [{"key": f"t{i}", "value": "w" * MAX_TAG_VAL_LENGTH} for i in range(100)]
    body = {"run_id": run_id, "params": params, "tags": tags}
    raw = orjson.dumps(body)
    assert len(raw) > 1_400_000
    resp = await client.post(f"{API}/runs/log-batch", data=io.BytesIO(raw), headers=H)
    assert resp.status == 200, await resp.text()
    run = (await call(client, "GET", "runs/get", params={"run_id": run_id}))["run"]
    assert len(run["data"]["params"]) == 100 and len(run["data"]["tags"]) >= 100


async def test_truncated_values_log_a_warning(client, caplog):
    run_id = await _run(client)
    caplog.set_level(logging.WARNING, logger="aiotrack.validation")
    await call(client, "POST", "runs/log-parameter", {"run_id": run_id, "key": "p", "value": "x" * 7000})
    await call(client, "POST", "runs/set-tag", {"run_id": run_id, "key": "t", "value": "y" * 9000})
    messages = [r.getMessage() for r in caplog.records if r.name == "aiotrack.validation"]
    assert any("Param value 'xxx" in m and "(7000 characters) is truncated to 6000" in m for m in messages)
    assert any("(9000 characters) is truncated to 8000" in m for m in messages)
    run = (await call(client, "GET", "runs/get", params={"run_id": run_id}))["run"]
    assert run["data"]["params"] == [{"key": "p", "value": "x" * MAX_PARAM_VAL_LENGTH}]


# --------------------------------------------------------------------------- former 500s


async def test_log_inputs_with_non_object_dataset_tags(client):
    run_id = await _run(client)
    dataset = {"name": "d", "digest": "1", "source_type": "local", "source": "x"}
    for tags in (["x"], "x", [1]):
        body = {"run_id": run_id, "datasets": [{"dataset": dataset, "tags": tags}]}
        data = await call(client, "POST", "runs/log-inputs", body, status=400)
        assert "datasets[0].tags" in _is_error(data)


@pytest.mark.parametrize("bad", [[1], 2**63, {"a": 1}, 1.5])
async def test_logged_models_search_with_non_string_dataset_fields(client, bad):
    for field in ("dataset_name", "dataset_digest"):
        body = {"experiment_ids": ["0"], "datasets": [{"dataset_name": "d", field: bad}]}
        data = await call(client, "POST", "logged-models/search", body, status=400)
        assert f"datasets[0].{field}" in _is_error(data)
    body = {"experiment_ids": ["0"], "order_by": [{"field_name": "metrics.m", "dataset_name": bad}]}
    data = await call(client, "POST", "logged-models/search", body, status=400)
    assert "order_by[0].dataset_name" in _is_error(data)


async def test_log_metric_names_the_key_field_as_mlflow_does(client):
    run_id = await _run(client)
    body = {"run_id": run_id, "value": 1.0, "timestamp": 1, "step": 0}
    data = await call(client, "POST", "runs/log-metric", {**body, "key": 5}, status=400)
    assert "parameter 'key'" in _is_error(data)
    data = await call(client, "POST", "runs/log-metric", body, status=400)
    assert _is_error(data).startswith("Missing value for required parameter 'key'.")


@pytest.mark.parametrize("step", ["-9223372036854775809", "9223372036854775808", "18446744073709551616", "1e19"])
async def test_step_outside_int64_refused_not_clamped(client, step):
    run_id = await _run(client)
    body = f'{{"run_id": "{run_id}", "key": "m", "value": 1.0, "timestamp": 1, "step": {step}}}'
    resp = await client.post(f"{API}/runs/log-metric", data=body, headers=H)
    assert resp.status == 400
    assert "'step'" in _is_error(await resp.json())
    history = await call(client, "GET", "metrics/get-history", params={"run_id": run_id, "metric_key": "m"})
    assert history == {}


async def test_int64_bounds_themselves_are_accepted(client):
    run_id = await _run(client)
    for step in (-(2**63), 2**63 - 1):
        body = {"run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1, "step": step}
        await call(client, "POST", "runs/log-metric", body)
    history = await call(client, "GET", "metrics/get-history", params={"run_id": run_id, "metric_key": "m"})
    assert sorted(m["step"] for m in history["metrics"]) == [-(2**63), 2**63 - 1]
