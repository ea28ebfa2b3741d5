"""Several nodes on one PostgreSQL: a read replica, and two servers sharing one database and one S3.

The replica tests make their own primary and streaming replica (tests/pg_cluster.py: initdb and
pg_basebackup into tmp, free ports) and prove where each read went by pausing the replica's WAL
replay: a write the replica has not replayed is invisible to a read the replica served. The
two-node tests run two `aiotrack server` processes on the machine's PostgreSQL and a moto S3.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from db_proxy import DbProxy
from pg_cluster import PgCluster, cluster_root, skip_or_fail, unavailable_reason, wait_replayed

from aiotrack.http.middleware.read_routing import COOKIE


@pytest.fixture(scope="module")
def pg_pair() -> Iterator[tuple[PgCluster, PgCluster]]:
    reason = unavailable_reason()
    if reason:
        skip_or_fail(f"cannot make a PostgreSQL primary and replica here: {reason}")
    root = cluster_root()
    clusters: list[PgCluster] = []
    try:
        try:
            clusters.append(PgCluster.primary(root))
            clusters.append(PgCluster.replica_of(clusters[0], root))
        except (RuntimeError, OSError) as exc:
            skip_or_fail(f"cannot make a PostgreSQL primary and replica here: {exc}")
        yield clusters[0], clusters[1]
    finally:
        for cluster in reversed(clusters):
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def replicated(pg_pair: tuple[PgCluster, PgCluster]) -> Iterator[tuple[str, str]]:
    """A fresh database on the primary, replayed on the replica: (primary URI, replica URI)."""
    primary, replica = pg_pair
    name = f"nodes_{uuid.uuid4().hex[:10]}"
    asyncio.run(primary.create_database(name))
    asyncio.run(wait_replayed(primary, replica))
    yield primary.dsn(name), replica.dsn(name)
    asyncio.run(replica.query("SELECT pg_wal_replay_resume()"))


def call(session: requests.Session, base: str, method: str, path: str, body: Any = None) -> requests.Response:
    if method == "GET":
        return session.get(f"{base}/api/2.0/mlflow/{path}", params=body, timeout=30)
    return session.request(method, f"{base}/api/2.0/mlflow/{path}", json=body or {}, timeout=30)


def ok(response: requests.Response) -> Any:
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()


def run_ids(session: requests.Session, base: str, experiment_id: str) -> set[str]:
    found = ok(call(session, base, "POST", "runs/search", {"experiment_ids": [experiment_id]}))
    return {r["info"]["run_id"] for r in found.get("runs", [])}


# --------------------------------------------------------------------------- the read replica


def test_reads_go_to_the_replica_writes_and_read_after_write_to_the_primary(
    replicated: tuple[str, str], pg_pair: tuple[PgCluster, PgCluster], start_server: Any
) -> None:
    primary_uri, replica_uri = replicated
    primary, replica = pg_pair
    # Set by MLflow's variable alone (the behaviour probe of read_replica_backend_store_uri).
    server = start_server(
        ["--workers", "2"], env={"MLFLOW_READ_REPLICA_BACKEND_STORE_URI": replica_uri}, store_uri=primary_uri
    )
    writer, stranger = requests.Session(), requests.Session()
    experiment_id = ok(call(writer, server.url, "POST", "experiments/create", {"name": "replicated"}))["experiment_id"]
    assert COOKIE in writer.cookies  # the write handed the client its read-after-write position
    asyncio.run(wait_replayed(primary, replica))
    asyncio.run(replica.query("SELECT pg_wal_replay_pause()"))

    run = ok(call(writer, server.url, "POST", "runs/create", {"experiment_id": experiment_id}))["run"]
    run_id = run["info"]["run_id"]
    # The replica has not replayed the new run: a client that never wrote reads there, on every
    # worker, whether by GET or by a POST search, and does not see it yet...
    for _ in range(4):
        assert run_ids(stranger, server.url, experiment_id) == set()
        missing = call(stranger, server.url, "GET", "runs/get", {"run_id": run_id})
        assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    # ...while the client that wrote reads its own write (from the primary), on every worker.
    for _ in range(4):
        assert run_ids(writer, server.url, experiment_id) == {run_id}
        assert ok(call(writer, server.url, "GET", "runs/get", {"run_id": run_id}))["run"]["info"]["run_id"] == run_id
    # The unchanged mlflow client keeps the cookie in its HTTP session: a script reads its writes.
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=server.url)
    own = client.create_run(experiment_id).info.run_id
    client.log_metric(own, "acc", 0.75, step=3)
    assert client.get_run(own).data.metrics == {"acc": 0.75}
    assert [m.step for m in client.get_metric_history(own, "acc")] == [3]
    assert own in {r.info.run_id for r in client.search_runs([experiment_id])}
    assert own not in run_ids(stranger, server.url, experiment_id)
    # The replica serves the reads again once it has replayed the write, for everyone.
    asyncio.run(replica.query("SELECT pg_wal_replay_resume()"))
    asyncio.run(wait_replayed(primary, replica))
    assert run_ids(stranger, server.url, experiment_id) == {run_id, own}

    # Writes never go to the replica (a hot standby refuses them), and each client's position
    # is its own: the new writer reads its metric, the old one (its position replayed) does not.
    asyncio.run(replica.query("SELECT pg_wal_replay_pause()"))
    point = {"run_id": run_id, "key": "m", "value": 1, "timestamp": 1}
    ok(call(stranger, server.url, "POST", "runs/log-metric", point))
    assert COOKIE in stranger.cookies
    for _ in range(4):
        history = call(stranger, server.url, "GET", "metrics/get-history", {"run_id": run_id, "metric_key": "m"})
        assert [p["value"] for p in ok(history)["metrics"]] == [1]
        history = call(writer, server.url, "GET", "metrics/get-history", {"run_id": run_id, "metric_key": "m"})
        assert ok(history).get("metrics", []) == []
    assert "Traceback" not in server.log()


def test_a_replica_that_is_down_or_silent_falls_back_to_the_primary_in_bounded_time(
    replicated: tuple[str, str], pg_pair: tuple[PgCluster, PgCluster], start_server: Any
) -> None:
    primary_uri, _ = replicated
    _, replica = pg_pair
    proxy = DbProxy(target_port=replica.port)
    try:
        replica_uri = f"postgresql://root@127.0.0.1:{proxy.port}/{primary_uri.rsplit('/', 1)[1]}"
        server = start_server(
            ["--workers", "1", "--read-replica-backend-store-uri", replica_uri, "--db-query-timeout", "2"],
            env={"AIOTRACK_DB_CONNECT_TIMEOUT": "2", "AIOTRACK_DB_POOL_TIMEOUT": "2"},
            store_uri=primary_uri,
        )
        client = requests.Session()
        experiment_id = ok(call(client, server.url, "POST", "experiments/create", {"name": "x"}))["experiment_id"]
        reader = requests.Session()
        ok(call(reader, server.url, "GET", "experiments/get", {"experiment_id": experiment_id}))  # a replica connection

        for mode in ("blackhole", "close"):
            proxy.set_mode(mode)
            started = time.monotonic()
            found = ok(call(reader, server.url, "GET", "experiments/get", {"experiment_id": "0"}))
            first = time.monotonic() - started
            assert found["experiment"]["name"] == "Default"
            # Bounded: the statement budget, its 2 s margin and the pool timeout while the dead
            # connection is given up (silent); at once (refused).
            assert first < 2 + 2 + 2 + 2, (mode, first)
            started = time.monotonic()
            for _ in range(5):  # the replica is left alone meanwhile: no more waits
                ok(call(reader, server.url, "POST", "experiments/search", {"max_results": 10}))
            assert time.monotonic() - started < 2, mode
            proxy.set_mode("forward")
            time.sleep(5.5)  # past REPLICA_RETRY_AFTER: the replica is tried again
            ok(call(reader, server.url, "GET", "experiments/get", {"experiment_id": experiment_id}))
        assert server.log().count("The read replica failed a read") >= 2
    finally:
        proxy.close()


def test_a_replica_needs_postgresql(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "aiotrack", "server", "--backend-store-uri", f"sqlite:///{tmp_path}/x.db",
         "--read-replica-backend-store-uri", f"sqlite:///{tmp_path}/y.db", "--port", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "--read-replica-backend-store-uri needs PostgreSQL" in done.stderr
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------- two nodes, one database


@pytest.fixture
def two_nodes(pg_server: Any, moto_s3: Any, start_server: Any) -> tuple[Any, Any]:
    store = pg_server.create_sync()
    bucket = moto_s3.create_bucket()
    args = ["--workers", "2", "--artifacts-destination", f"s3://{bucket}/artifacts"]
    first = start_server(args, env=moto_s3.env, store_uri=store)
    second = start_server(args, env=moto_s3.env, store_uri=store)
    return first, second


def test_writes_through_one_node_are_read_through_the_other(two_nodes: tuple[Any, Any]) -> None:
    first, second = two_nodes
    s = requests.Session()
    experiment_id = ok(call(s, first.url, "POST", "experiments/create", {"name": "shared"}))["experiment_id"]
    run_id = ok(call(s, first.url, "POST", "runs/create", {"experiment_id": experiment_id}))["run"]["info"]["run_id"]
    batch = {
        "run_id": run_id,
        "metrics": [{"key": "loss", "value": 0.5, "timestamp": 1, "step": 0}],
        "params": [{"key": "lr", "value": "0.1"}],
        "tags": [{"key": "team", "value": "a"}],
    }
    ok(call(s, first.url, "POST", "runs/log-batch", batch))
    content = b"shared artifact " * 1000
    put = s.put(
        f"{first.url}/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/artifacts/a.txt", data=content
    )
    assert put.status_code == 200, put.text

    data = ok(call(s, second.url, "GET", "runs/get", {"run_id": run_id}))["run"]["data"]
    assert data["metrics"][0]["key"] == "loss" and data["params"] == [{"key": "lr", "value": "0.1"}]
    assert {"key": "team", "value": "a"} in data["tags"]
    assert ok(call(s, second.url, "GET", "experiments/get-by-name", {"experiment_name": "shared"}))
    listed = ok(call(s, second.url, "GET", "artifacts/list", {"run_id": run_id}))
    assert [f["path"] for f in listed["files"]] == ["a.txt"]
    got = s.get(f"{second.url}/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/artifacts/a.txt")
    assert got.status_code == 200 and got.content == content
    # And back: a write through the second node is read through the first.
    ok(call(s, second.url, "POST", "runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": 5}))
    assert ok(call(s, first.url, "GET", "runs/get", {"run_id": run_id}))["run"]["info"]["status"] == "FINISHED"


def test_concurrent_writers_through_both_nodes_lose_nothing(two_nodes: tuple[Any, Any]) -> None:
    first, second = two_nodes
    s = requests.Session()
    experiment_id = ok(call(s, first.url, "POST", "experiments/create", {"name": "busy"}))["experiment_id"]
    run_id = ok(call(s, first.url, "POST", "runs/create", {"experiment_id": experiment_id}))["run"]["info"]["run_id"]
    writers, points, batch = 8, 40, 5  # each writer: 40 single points and 40 batches of 5

    def write(writer: int) -> int:
        base = (first, second)[writer % 2].url
        session = requests.Session()
        for i in range(points):
            step = writer * 10_000 + i
            body = {"run_id": run_id, "key": "single", "value": step, "timestamp": 1, "step": step}
            ok(call(session, base, "POST", "runs/log-metric", body))
            many = [{"key": "batched", "value": j, "timestamp": 1, "step": step * batch + j} for j in range(batch)]
            ok(call(session, base, "POST", "runs/log-batch", {"run_id": run_id, "metrics": many}))
        return writer

    with concurrent.futures.ThreadPoolExecutor(writers) as pool:
        assert sorted(pool.map(write, range(writers))) == list(range(writers))

    for node in (first, second):
        for key, expected in (("single", writers * points), ("batched", writers * points * batch)):
            history = ok(call(s, node.url, "GET", "metrics/get-history", {"run_id": run_id, "metric_key": key}))
            steps = {p["step"] for p in history["metrics"]}
            assert len(history["metrics"]) == expected and len(steps) == expected, (key, len(history["metrics"]))
    # The run's latest value is the one of the highest step, whichever node wrote it.
    data = ok(call(s, second.url, "GET", "runs/get", {"run_id": run_id}))["run"]["data"]
    latest = {m["key"]: m["step"] for m in data["metrics"]}
    assert latest["single"] == (writers - 1) * 10_000 + points - 1
