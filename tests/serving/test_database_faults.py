"""Database faults against real servers: PostgreSQL outages through a proxy the test controls,
a database that is down at start, concurrent starts on one empty database, a full disk under
the SQLite store. Every bound asserted here is loose (tens of seconds): the point is "answers,
and never a 500 or a hang", not speed."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import time
import uuid

import pytest
import requests
from db_proxy import DbProxy
from server_process import wait_until

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
API = "/api/2.0/mlflow"
# Small bounds, so that outages are noticed in seconds: 503 must come well inside ANSWER_BOUND.
FAST_DB = ("--db-connect-timeout", "2", "--db-pool-timeout", "3", "--db-query-timeout", "3")
ANSWER_BOUND = 30.0


def _post(url: str, path: str, body: dict, timeout: float = 60) -> requests.Response:
    return requests.post(url + API + path, json=body, timeout=timeout)


def _get(url: str, path: str, params: dict, timeout: float = 60) -> requests.Response:
    return requests.get(url + API + path, params=params, timeout=timeout)


@pytest.fixture
def proxy():
    p = DbProxy()
    yield p
    p.close()


@pytest.fixture
def pg_database(pg_server, pg_template) -> str:
    """The name of a fresh PostgreSQL database holding the current schema."""
    return asyncio.run(pg_server.clone(pg_template)).rsplit("/", 1)[1]


def _via(proxy: DbProxy, name: str) -> str:
    return f"postgresql://root@127.0.0.1:{proxy.port}/{name}"


def _assert_unavailable(resp: requests.Response, elapsed: float, proxy: DbProxy) -> None:
    assert resp.status_code == 503, resp.text
    body = resp.json()
    assert body["error_code"] == "TEMPORARILY_UNAVAILABLE"
    for leak in ("127.0.0.1", str(proxy.port), "5432", "asyncpg", "postgres", "Errno"):
        assert leak not in body["message"], body["message"]
    assert elapsed < ANSWER_BOUND, f"503 took {elapsed:.1f}s"


def _timed(call, *args):
    start = time.monotonic()
    resp = call(*args)
    return resp, time.monotonic() - start


def _requests_during_outage(url: str, exp_id: str, run_id: str) -> list:
    """One read and one write of each kind the client makes, as (callable, args)."""
    return [
        (_get, url, "/experiments/get", {"experiment_id": exp_id}),
        (_get, url, "/runs/get", {"run_id": run_id}),
        (_post, url, "/runs/log-metric", {"run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1, "step": 1}),
        (_post, url, "/runs/search", {"experiment_ids": [exp_id]}),
        (_post, url, "/experiments/create", {"name": f"during-{uuid.uuid4().hex[:6]}"}),
    ]


@pytest.mark.parametrize("outage", ["close", "blackhole"])
def test_postgres_outage_answers_503_then_recovers(start_server, proxy, pg_database, outage):
    server = start_server(["--workers", "2", *FAST_DB], store_uri=_via(proxy, pg_database))
    exp_id = _post(server.url, "/experiments/create", {"name": "outage"}).json()["experiment_id"]
    run_id = _post(server.url, "/runs/create", {"experiment_id": exp_id}).json()["run"]["info"]["run_id"]
    workers = sorted(server.workers())

    proxy.set_mode(outage)
    for call, url, path, body in _requests_during_outage(server.url, exp_id, run_id) * 2:
        resp, elapsed = _timed(call, url, path, body)
        _assert_unavailable(resp, elapsed, proxy)
    assert requests.get(server.url + "/health", timeout=10).status_code == 200
    assert sorted(server.workers()) == workers, "a worker died during the outage"

    proxy.set_mode("forward")
    # The first request after recovery succeeds (each worker reconnects by itself); a dozen, so
    # that both workers answer some.
    for i in range(12):
        resp = _post(
            server.url, "/runs/log-metric", {"run_id": run_id, "key": "m", "value": i, "timestamp": i, "step": i}
        )
        assert resp.status_code == 200, resp.text
    history = _get(server.url, "/metrics/get-history", {"run_id": run_id, "metric_key": "m"}).json()["metrics"]
    assert {m["step"] for m in history} == set(range(12))
    assert sorted(server.workers()) == workers


def test_start_waits_for_a_database_that_is_down_then_up(start_server, proxy, pg_database):
    proxy.set_mode("close")
    server = start_server(
        ["--workers", "1", "--db-startup-timeout", "120"], store_uri=_via(proxy, pg_database), ready=None
    )
    wait_until(lambda: "retrying" in server.log(), 60, "the server to report that it retries")
    assert server.proc.poll() is None, server.log()
    proxy.set_mode("forward")
    server.wait_ready(timeout=90)
    assert _post(server.url, "/experiments/create", {"name": "after-wait"}).status_code == 200


def test_start_gives_up_with_one_line_after_the_startup_timeout(start_server, proxy, pg_database):
    proxy.set_mode("blackhole")
    server = start_server(["--db-startup-timeout", "3", *FAST_DB], store_uri=_via(proxy, pg_database), ready=None)
    code = server.proc.wait(90)
    log = server.log()
    assert code != 0, log
    assert "Traceback" not in log, log
    errors = [line for line in log.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "--db-startup-timeout" in errors[0], log
    assert f"127.0.0.1:{proxy.port}/{pg_database}" in errors[0]  # the store, named (no password here)


def test_three_servers_started_at_once_on_one_empty_postgres_database(start_server, pg_server):
    uri = pg_server.create_sync()
    servers = [start_server(["--workers", "2"], store_uri=uri, ready=None) for _ in range(3)]
    for server in servers:
        server.wait_ready(timeout=90)
    for i, server in enumerate(servers):
        assert _post(server.url, "/experiments/create", {"name": f"s{i}"}).status_code == 200
    names = {e["name"] for e in _post(servers[0].url, "/experiments/search", {"max_results": 10}).json()["experiments"]}
    assert names == {"s0", "s1", "s2", "Default"}


# --------------------------------------------------------------------------- a full disk (SQLite)


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MiB tmpfs, 1 MiB of it taken by a file the test may delete to free space."""
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if result.returncode != 0:
        reason = f"cannot mount a tmpfs here: {result.stderr.strip() or result.returncode}"
        if IN_CI:
            pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
        pytest.skip(reason)
    (mount / "filler").write_bytes(b"\0" * (1024 * 1024))
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_answers_a_clean_error_and_loses_nothing_acknowledged(start_server, small_disk):
    server = start_server(["--workers", "2"], store_uri=f"sqlite:///{small_disk}/store.db")
    exp_id = _post(server.url, "/experiments/create", {"name": "full"}).json()["experiment_id"]
    run_id = _post(server.url, "/runs/create", {"experiment_id": exp_id}).json()["run"]["info"]["run_id"]
    acknowledged: list[str] = []
    refused = 0
    for i in range(400):
        key = f"k{i}"
        metrics = [{"key": key, "value": float(j), "timestamp": j, "step": j} for j in range(1000)]
        resp = _post(server.url, "/runs/log-batch", {"run_id": run_id, "metrics": metrics})
        if resp.status_code == 200:
            acknowledged.append(key)
            continue
        assert resp.status_code == 503, resp.text
        assert resp.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
        assert "disk is full" in resp.json()["message"]
        refused += 1
        if refused == 3:
            break
    assert refused == 3, "the disk never filled up"
    assert acknowledged, "nothing fit on the disk at all"
    # Reads go on while the disk is full.
    assert _get(server.url, "/runs/get", {"run_id": run_id}).status_code == 200

    (small_disk / "filler").unlink()  # space again: writes succeed again
    metrics = [{"key": "after", "value": 1.0, "timestamp": 1, "step": 1}]
    assert _post(server.url, "/runs/log-batch", {"run_id": run_id, "metrics": metrics}).status_code == 200
    acknowledged.append("after")

    assert server.stop() == 0
    conn = sqlite3.connect(small_disk / "store.db")
    try:
        counts = dict(
            conn.execute("SELECT key, COUNT(*) FROM metrics WHERE run_uuid = ? GROUP BY key", (run_id,)).fetchall()
        )
    finally:
        conn.close()
    for key in acknowledged:
        assert counts.get(key) == (1 if key == "after" else 1000), f"acknowledged {key} lost: {counts.get(key)}"
    assert set(counts) == set(acknowledged), "a refused batch left rows behind"
