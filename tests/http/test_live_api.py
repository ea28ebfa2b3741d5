"""Live run updates (Server-Sent Events) for the UI, in-process on both backends."""

from __future__ import annotations

import asyncio
import json

import pytest

from aiotrack.services import live

URL = "/ajax-api/2.0/aiotrack/live/runs"


@pytest.fixture(autouse=True)
def _fast_polls(monkeypatch):
    monkeypatch.setattr(live, "POLL_SECONDS", 0.05)


async def post(client, path: str, body: dict) -> dict:
    resp = await client.post(f"/api/2.0/mlflow/{path}", json=body)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def next_update(resp, timeout: float = 10.0) -> dict:
    """The next `event: runs` of the stream, skipping comments."""
    event = None

    async def read():
        nonlocal event
        while True:
            line = (await resp.content.readline()).decode()
            assert line, "the stream ended"
            if line.startswith("event: "):
                event = line[7:].strip()
            elif line.startswith("data: ") and event == "runs":
                return json.loads(line[6:])

    return await asyncio.wait_for(read(), timeout)


async def test_new_runs_logged_values_and_ends_are_pushed(client):
    exp = (await post(client, "experiments/create", {"name": "live"}))["experiment_id"]
    before = (await post(client, "runs/create", {"experiment_id": exp, "start_time": 1000}))["run"]["info"]["run_id"]
    resp = await client.get(URL, params={"experiment_id": exp})
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    assert resp.headers["Cache-Control"] == "no-store"
    await asyncio.sleep(0.2)  # the poller's first look (the baseline) is taken

    run = (await post(client, "runs/create", {"experiment_id": exp, "start_time": 2000}))["run"]["info"]["run_id"]
    u = await next_update(resp)
    assert u["new"] == [run] and u["reload"] is False
    assert [r["info"]["run_id"] for r in u["runs"]] == [run]

    await post(client, "runs/log-metric", {"run_id": run, "key": "loss", "value": 0.5, "timestamp": 5, "step": 1})
    u = await next_update(resp)
    assert u["changed"] == [run]
    (pushed,) = u["runs"]
    assert pushed["data"]["metrics"][0]["value"] == 0.5

    await post(client, "runs/update", {"run_id": run, "status": "FINISHED", "end_time": 3000})
    u = await next_update(resp)
    assert u["changed"] == [run]
    assert u["runs"][0]["info"]["status"] == "FINISHED"
    # the run created before the stream opened was not announced as new
    assert before not in u["new"]
    resp.close()


async def test_other_experiments_are_not_pushed(client):
    a = (await post(client, "experiments/create", {"name": "a"}))["experiment_id"]
    b = (await post(client, "experiments/create", {"name": "b"}))["experiment_id"]
    resp = await client.get(URL, params={"experiment_id": a})
    await asyncio.sleep(0.2)
    await post(client, "runs/create", {"experiment_id": b})
    mine = (await post(client, "runs/create", {"experiment_id": a}))["run"]["info"]["run_id"]
    u = await next_update(resp)
    assert u["new"] == [mine]
    resp.close()


async def test_watchers_of_one_experiment_share_one_poller(client):
    exp = (await post(client, "experiments/create", {"name": "shared"}))["experiment_id"]
    r1 = await client.get(URL, params={"experiment_id": exp})
    r2 = await client.get(URL, params={"experiment_id": exp})
    await asyncio.sleep(0.2)
    hub = client.app[live_key()]
    assert hub.subscribers == 2 and len(hub.watches) == 1
    run = (await post(client, "runs/create", {"experiment_id": exp}))["run"]["info"]["run_id"]
    assert (await next_update(r1))["new"] == [run]
    assert (await next_update(r2))["new"] == [run]
    r1.close()
    r2.close()
    for _ in range(50):  # the server notices the browsers left and stops polling
        if hub.subscribers == 0:
            break
        await asyncio.sleep(0.1)
    assert hub.subscribers == 0 and not hub.watches


def live_key():
    from aiotrack.http import keys

    return keys.LIVE


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({}, 400, "INVALID_PARAMETER_VALUE"),
        ({"experiment_id": "424242"}, 404, "RESOURCE_DOES_NOT_EXIST"),
        ({"experiment_id": [str(i) for i in range(21)]}, 400, "INVALID_PARAMETER_VALUE"),
    ],
)
async def test_bad_requests_get_mlflow_errors(client, params, status, code):
    resp = await client.get(
        URL, params=[(k, x) for k, v in params.items() for x in (v if isinstance(v, list) else [v])]
    )
    assert resp.status == status
    assert (await resp.json())["error_code"] == code


async def test_too_many_watchers_is_503(client, monkeypatch):
    monkeypatch.setattr(live, "MAX_SUBSCRIBERS", 1)
    exp = (await post(client, "experiments/create", {"name": "full"}))["experiment_id"]
    first = await client.get(URL, params={"experiment_id": exp})
    assert first.status == 200
    second = await client.get(URL, params={"experiment_id": exp})
    assert second.status == 503
    assert (await second.json())["error_code"] == "TEMPORARILY_UNAVAILABLE"
    first.close()


async def test_shutdown_ends_open_streams(client):
    exp = (await post(client, "experiments/create", {"name": "bye"}))["experiment_id"]
    resp = await client.get(URL, params={"experiment_id": exp})
    await asyncio.sleep(0.1)
    await client.app[live_key()].close()
    body = await asyncio.wait_for(resp.content.read(), 10)
    assert b": live" in body  # the stream ended cleanly instead of hanging
