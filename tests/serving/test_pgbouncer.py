"""PgBouncer in transaction pooling mode in front of PostgreSQL (``--db-transaction-pooler``).

Debian's pgbouncer, started by the test on a free port with its own ini (tests/pg_cluster.py),
with two server connections for many clients, so that consecutive transactions of one client
land on different server connections: exactly where asyncpg's prepared-statement cache and
session settings break.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pg_cluster import PgBouncer, cluster_root, pgbouncer_unavailable_reason, skip_or_fail

from aiotrack.config import Settings
from aiotrack.errors import AiotrackError, ConfigError
from aiotrack.stores.sql.connect import open_database


@pytest.fixture(scope="module")
def pgbouncer(pg_server: Any) -> Iterator[PgBouncer]:
    reason = pgbouncer_unavailable_reason()
    if reason:
        skip_or_fail(reason)
    root = cluster_root()
    try:
        try:
            bouncer = PgBouncer(root)
        except (RuntimeError, OSError) as exc:
            skip_or_fail(f"cannot start pgbouncer here: {exc}")
        yield bouncer
        bouncer.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def behind_pgbouncer(pg_server: Any, pgbouncer: PgBouncer) -> str:
    """A fresh database on the machine's PostgreSQL, as its URI through pgbouncer."""
    return pgbouncer.dsn(pg_server.create_sync().rsplit("/", 1)[1])


def test_without_the_setting_pgbouncer_refuses_the_session_settings(behind_pgbouncer: str) -> None:
    """The negative control: the plain connection options do not work behind the pooler."""

    async def attempt() -> None:
        db = await open_database(behind_pgbouncer, Settings(db_pool_size=2))
        try:
            await db.fetch("SELECT 1")
        finally:
            await db.close()

    with pytest.raises(ConfigError, match="--db-transaction-pooler"):
        asyncio.run(attempt())
    # A server so configured says so at once and exits (no retrying for --db-startup-timeout).
    done = subprocess.run(
        [sys.executable, "-m", "aiotrack", "server", "--backend-store-uri", behind_pgbouncer, "--port", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0 and "--db-transaction-pooler" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_aiotrack_db_reaches_pgbouncer_with_the_uri_switch(behind_pgbouncer: str) -> None:
    """`aiotrack db upgrade` has no server options: the URI says it instead."""
    uri = behind_pgbouncer + "?transaction_pooler=true"
    for command in ("upgrade", "current"):
        done = subprocess.run(
            [sys.executable, "-m", "aiotrack", "db", command, uri],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert "applied  0001_tracking_core" in done.stdout and "pending" not in done.stdout, done.stdout


def test_the_database_layer_works_behind_a_transaction_pooler(behind_pgbouncer: str) -> None:
    async def scenario() -> None:
        settings = Settings(db_transaction_pooler=True, db_pool_size=8, db_query_timeout=1)
        db = await open_database(behind_pgbouncer, settings)
        try:
            # The budget is set in every transaction, reads included (SET LOCAL, not the session).
            assert (await db.fetchrow("SHOW statement_timeout")) == ("1s",)
            async with db.transaction() as tx:
                assert (await tx.fetchrow("SHOW statement_timeout")) == ("1s",)
            with pytest.raises(AiotrackError) as stopped:
                await db.fetch("SELECT pg_sleep(3)")
            assert (
                stopped.value.error_code == "TEMPORARILY_UNAVAILABLE" and "--db-query-timeout" in stopped.value.message
            )
            # Many clients, many distinct statements, two server connections: no statement
            # prepared on one server connection is ever looked for on another.
            await db.fetch("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")

            async def client(i: int) -> int:
                async with db.transaction() as tx:
                    await tx.execute(f"INSERT INTO t (k, v) VALUES (?, ?) /* {i % 7} */", (i, str(i)))
                row = await db.fetchrow(f"SELECT v FROM t WHERE k = ? /* {i % 5} */", (i,))
                assert row == (str(i),)
                return i

            done = await asyncio.gather(*(client(i) for i in range(200)))
            assert sorted(done) == list(range(200))
            assert (await db.fetchrow("SELECT count(*) FROM t")) == (200,)
        finally:
            await db.close()

    asyncio.run(scenario())


def test_a_server_behind_pgbouncer_serves_concurrent_clients(behind_pgbouncer: str, start_server: Any) -> None:
    # Set by its variable alone (the behaviour probe of db_transaction_pooler); the schema is
    # created through pgbouncer too (migrations take a transaction-scoped advisory lock).
    server = start_server(
        ["--workers", "2"], env={"AIOTRACK_DB_TRANSACTION_POOLER": "true"}, store_uri=behind_pgbouncer
    )
    base = f"{server.url}/api/2.0/mlflow"
    s = requests.Session()
    created = s.post(f"{base}/experiments/create", json={"name": "pooled"}, timeout=30)
    assert created.status_code == 200, created.text
    experiment_id = created.json()["experiment_id"]
    run = s.post(f"{base}/runs/create", json={"experiment_id": experiment_id}, timeout=30).json()["run"]
    run_id = run["info"]["run_id"]

    def client(i: int) -> int:
        session = requests.Session()
        for step in range(25):
            body = {"run_id": run_id, "key": "loss", "value": step, "timestamp": 1, "step": i * 100 + step}
            answer = session.post(f"{base}/runs/log-metric", json=body, timeout=30)
            assert answer.status_code == 200, answer.text
            found = session.post(f"{base}/runs/search", json={"experiment_ids": [experiment_id]}, timeout=30)
            assert found.status_code == 200 and len(found.json()["runs"]) == 1, found.text
        return i

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(client, range(8))) == list(range(8))
    history = s.get(f"{base}/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"}, timeout=30)
    assert len(history.json()["metrics"]) == 8 * 25
    assert "Traceback" not in server.log()
