"""Concurrent writers on one SQLite file through 4 worker processes: no "database is locked"
reaches a client, and every acknowledged point is there afterwards."""

from __future__ import annotations

import asyncio

import aiohttp
import requests

CLIENTS = 8
CALLS = 200
METRICS_PER_CALL = 3


async def _client(url: str, run_id: str, errors: list, workers: set):
    # A fresh connection per call: with keep-alive, whichever worker happened to accept the eight
    # connections would serve every call, and the writes would not cross processes at all.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        for step in range(CALLS):
            body = {
                "run_id": run_id,
                "metrics": [
                    {"key": f"m{k}", "value": step * 0.5, "timestamp": 1700000000000 + step, "step": step}
                    for k in range(METRICS_PER_CALL)
                ],
                "params": [{"key": f"p{step}", "value": str(step)}] if step % 20 == 0 else [],
                "tags": [{"key": "t", "value": str(step)}],
            }
            async with http.post(url + "/api/2.0/mlflow/runs/log-batch", json=body) as resp:
                workers.add(resp.headers.get("X-Aiotrack-Worker"))
                if resp.status != 200:
                    errors.append((resp.status, await resp.text()))


def test_eight_clients_through_four_workers_lose_nothing(start_server):
    server = start_server(["--workers", "4", "--worker-header"])
    http = requests.Session()
    exp = http.post(server.url + "/api/2.0/mlflow/experiments/create", json={"name": "concurrency"}).json()
    run_ids = [
        http.post(server.url + "/api/2.0/mlflow/runs/create", json={"experiment_id": exp["experiment_id"]}).json()[
            "run"
        ]["info"]["run_id"]
        for _ in range(CLIENTS)
    ]
    errors: list = []
    workers: set = set()

    async def all_clients():
        await asyncio.gather(*(_client(server.url, run_id, errors, workers) for run_id in run_ids))

    asyncio.run(all_clients())
    assert errors == []
    assert len(workers) >= 2, workers  # the writes really came through several processes
    assert "database is locked" not in server.log()
    for run_id in run_ids:
        for k in range(METRICS_PER_CALL):
            history = http.get(
                server.url + "/api/2.0/mlflow/metrics/get-history",
                params={"run_id": run_id, "metric_key": f"m{k}", "max_results": 10000},
            ).json()["metrics"]
            assert sorted(m["step"] for m in history) == list(range(CALLS))
        run = http.get(server.url + "/api/2.0/mlflow/runs/get", params={"run_id": run_id}).json()["run"]
        assert len(run["data"]["params"]) == CALLS // 20
        assert {t["key"]: t["value"] for t in run["data"]["tags"]}["t"] == str(CALLS - 1)
