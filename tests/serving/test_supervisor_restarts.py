"""The supervisor never gives up on a configuration that started: kill -9 under write load loses no
acknowledged write, and a worker that cannot start while the database is away is restarted with
backoff until the database returns."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import asyncpg
import requests
from server_process import wait_until

from aiotrack.cli.workers import BACKOFF_CAP, BACKOFF_FIRST, restart_delay

API = "/api/2.0/mlflow"


def test_restart_delay_doubles_and_is_capped():
    assert restart_delay(0) == 0.0
    assert [restart_delay(n) for n in (1, 2, 3)] == [BACKOFF_FIRST, 2 * BACKOFF_FIRST, 4 * BACKOFF_FIRST]
    assert restart_delay(100) == BACKOFF_CAP
    assert restart_delay(10**6) == BACKOFF_CAP  # days of crashing never overflow


def _post(url: str, path: str, body: dict) -> requests.Response:
    return requests.post(f"{url}{API}/{path}", json=body, timeout=30)


def _writer(url: str, run_id: str, prefix: str, stop: threading.Event, acked: list[str]) -> None:
    i = 0
    with requests.Session() as http:
        while not stop.is_set():
            key = f"{prefix}_{i}"
            i += 1
            try:
                resp = http.post(
                    f"{url}{API}/runs/log-parameter", json={"run_id": run_id, "key": key, "value": "v"}, timeout=30
                )
            except requests.RequestException:
                continue  # not acknowledged: the worker died under it
            if resp.status_code == 200:
                acked.append(key)


def test_kill_9_under_write_load_loses_no_acknowledged_write(start_server, store_uri):
    server = start_server(["--workers", "2"], store_uri=store_uri)
    workers = wait_until(lambda: len(server.workers()) == 2 and server.workers(), 20, "two workers")
    run_id = _post(server.url, "runs/create", {"experiment_id": "0"}).json()["run"]["info"]["run_id"]
    stop = threading.Event()
    acked: list[list[str]] = [[] for _ in range(4)]
    threads = [threading.Thread(target=_writer, args=(server.url, run_id, f"w{n}", stop, acked[n])) for n in range(4)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: sum(map(len, acked)) >= 40, 30, "writes before the kill")
        os.kill(workers[0], signal.SIGKILL)
        before = sum(map(len, acked))
        wait_until(lambda: sum(map(len, acked)) >= before + 40, 30, "writes after the kill")
        wait_until(lambda: len(server.workers()) == 2 and workers[0] not in server.workers(), 20, "a replacement")
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    run = requests.get(f"{server.url}{API}/runs/get", params={"run_id": run_id}, timeout=30).json()["run"]
    stored = {p["key"] for p in run["data"].get("params", [])}
    acknowledged = {k for keys in acked for k in keys}
    assert acknowledged <= stored, sorted(acknowledged - stored)[:10]
    assert "died (killed by SIGKILL)" in server.log()
    assert "stopping" not in server.log().split("died (killed by SIGKILL)", 1)[1].split("received")[0]
    assert server.stop() == 0


async def _allow_connections(admin_dsn: str, name: str, allow: bool) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(allow).lower()}')
        if not allow:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
    finally:
        await conn.close()


def test_database_away_then_back_the_supervisor_keeps_restarting(start_server, pg_server, pg_template):
    uri = asyncio.run(pg_server.clone(pg_template))
    name = uri.rsplit("/", 1)[1]
    server = start_server(["--workers", "2"], store_uri=uri)
    workers = wait_until(lambda: len(server.workers()) == 2 and server.workers(), 20, "two workers")
    asyncio.run(_allow_connections(pg_server.admin_dsn, name, False))
    try:
        os.kill(workers[0], signal.SIGKILL)
        # The old supervisor gave up within 3 s of such a kill; this one is still there well after.
        time.sleep(8)
        assert server.proc.poll() is None, server.log()
        assert "stopping" not in server.log(), server.log()
    finally:
        asyncio.run(_allow_connections(pg_server.admin_dsn, name, True))

    def serves() -> bool:
        try:
            resp = requests.get(f"{server.url}{API}/experiments/get", params={"experiment_id": "0"}, timeout=5)
        except requests.RequestException:
            return False
        return resp.status_code == 200 and len(server.workers()) == 2

    wait_until(serves, 60, "the server to serve again once the database is back", interval=0.5)
    assert server.stop() == 0
