"""The database handles: transactions, deferred statements, errors made neutral, time budgets,
cancellation, pool exhaustion, unreachable servers, concurrent schema creation."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from dataclasses import replace

import asyncpg
import pytest

from aiotrack.errors import AiotrackError, IntegrityViolation
from aiotrack.stores.sql.connect import open_database
from aiotrack.stores.sql.database import (
    DatabaseOptions,
    ExecMany,
    Fetch,
    FetchRow,
    SqliteDatabase,
)
from aiotrack.stores.sql.sqlite_thread import ConnectionGone, SqliteThread


async def test_commit_applies_deferred_statements(database):
    async with database.transaction() as tx:
        await tx.executemany("INSERT INTO experiments (name, lifecycle_stage) VALUES (?, 'active')", [("a",), ("b",)])
        rows = await tx.fetch("SELECT name FROM experiments WHERE name IN ('a', 'b') ORDER BY name")
        assert [r[0] for r in rows] == ["a", "b"]  # deferred writes run before a read
        await tx.executemany("INSERT INTO experiments (name, lifecycle_stage) VALUES (?, 'active')", [("c",)])
    rows = await database.fetch("SELECT name FROM experiments WHERE name IN ('a', 'b', 'c') ORDER BY name")
    assert [r[0] for r in rows] == ["a", "b", "c"]


async def test_error_in_a_deferred_statement_rolls_everything_back(database):
    with pytest.raises(IntegrityViolation):
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO experiments (name, lifecycle_stage) VALUES ('x', 'active')")
            await tx.executemany("INSERT INTO experiments (name, lifecycle_stage) VALUES (?, 'active')", [("x",)])
    assert await database.fetch("SELECT name FROM experiments WHERE name = 'x'") == []


async def test_exception_in_the_body_rolls_back(database):
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with database.transaction() as tx:
            await tx.executemany("INSERT INTO experiments (name, lifecycle_stage) VALUES (?, 'active')", [("y",)])
            await tx.fetch("SELECT 1")
            raise Boom
    assert await database.fetch("SELECT name FROM experiments WHERE name = 'y'") == []
    async with database.transaction() as tx:  # the connection is usable again
        assert await tx.execute("UPDATE experiments SET name = name WHERE name = 'none'") == 0


async def test_a_transaction_that_writes_nothing(database):
    async with database.transaction():
        pass
    async with database.transaction() as tx:
        assert (await tx.fetchrow("SELECT COUNT(*) FROM experiments"))[0] >= 0


# --------------------------------------------------------------------------- bounds and faults


# A query that runs for as long as it is allowed to: a recursive count to a billion.
SLOW_SQLITE = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT MAX(x) FROM c"
)


def _options(**changes) -> DatabaseOptions:
    return replace(DatabaseOptions.from_settings(), **changes)


def _slow_query(db) -> str:
    return SLOW_SQLITE if db.dialect.name == "sqlite" else "SELECT pg_sleep(600)"


def _assert_budget_error(exc: AiotrackError) -> None:
    assert (exc.status, exc.error_code) == (503, "TEMPORARILY_UNAVAILABLE")
    assert "--db-query-timeout" in exc.message
    assert "sqlite" not in exc.message.lower() and "postgres" not in exc.message.lower()


async def _reopened(database, **changes):
    """The same database as the fixture's, opened again with other options."""
    if database.dialect.name == "sqlite":
        return await SqliteDatabase(database.path, options=_options(**changes)).open()
    return await open_database(database.url + "?" + "&".join(f"{k}={v}" for k, v in changes.items()))


async def test_a_read_past_the_query_budget_is_stopped_with_503(database):
    db = await _reopened(database, query_timeout=0.5)
    try:
        with pytest.raises(AiotrackError) as info:
            await asyncio.wait_for(db.fetch(_slow_query(db)), 60)  # wait_for: a hang guard only
        _assert_budget_error(info.value)
        assert (await db.fetch("SELECT 1"))[0][0] == 1  # still serving
    finally:
        await db.close()


async def test_a_write_past_the_query_budget_is_rolled_back_with_503(database):
    db = await _reopened(database, query_timeout=0.5)
    slow = _slow_query(db)

    def body():
        yield ExecMany("INSERT INTO experiments (name, lifecycle_stage) VALUES (?, 'active')", [("budget",)])
        yield Fetch(slow)

    try:
        with pytest.raises(AiotrackError) as info:
            await asyncio.wait_for(db.run(body), 60)
        _assert_budget_error(info.value)
        with pytest.raises(AiotrackError) as info:
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO experiments (name, lifecycle_stage) VALUES ('budget2', 'active')")
                await tx.fetch(slow)
        _assert_budget_error(info.value)
        rows = await db.fetch("SELECT name FROM experiments WHERE name IN ('budget', 'budget2')")
        assert list(rows) == []  # nothing of either half-done transaction remains
    finally:
        await db.close()


async def test_sqlites_expression_tree_limit_is_a_400(tmp_path):
    db = await SqliteDatabase(str(tmp_path / "e.db")).open()
    clauses = " AND ".join(["x <> ?"] * 1100)  # "Expression tree is too large (maximum depth 1000)"
    try:
        with pytest.raises(AiotrackError) as info:
            await db.fetch(f"SELECT 1 FROM (SELECT 1 AS x) WHERE {clauses}", [2] * 1100)
        assert (info.value.status, info.value.error_code) == (400, "INVALID_PARAMETER_VALUE")
        assert "too complex" in info.value.message
    finally:
        await db.close()


async def test_too_many_bind_values_is_a_400(database):
    # Beyond the engine's limit of bound values per statement: asyncpg's 32,767; SQLite's is a
    # build option (32,766 by default, 250,000 in Debian's build).
    n = 40_000 if database.dialect.name == "postgresql" else 300_000
    with pytest.raises(AiotrackError) as info:
        await database.fetch(f"SELECT 1 FROM experiments WHERE name IN ({', '.join(['?'] * n)})", ["x"] * n)
    assert (info.value.status, info.value.error_code) == (400, "INVALID_PARAMETER_VALUE")


async def test_a_cancelled_read_stops_its_query(database):
    db = await _reopened(database, query_timeout=600)
    try:
        task = asyncio.create_task(db.fetch(_slow_query(db)))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The connection is free again long before the 600 s budget: the query was stopped.
        assert (await asyncio.wait_for(db.fetch("SELECT 42"), 20))[0][0] == 42
        if db.dialect.name == "postgresql":
            probe = await asyncpg.connect(db.url)
            try:
                for _ in range(100):
                    running = await probe.fetchval(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE query = 'SELECT pg_sleep(600)' AND state = 'active'"
                    )
                    if running == 0:
                        break
                    await asyncio.sleep(0.1)
                assert running == 0, "the cancelled query still runs on the server"
            finally:
                await probe.close()
    finally:
        await db.close()


async def test_a_cancelled_write_is_interrupted_and_rolled_back(database):
    db = await _reopened(database, query_timeout=600)
    slow = _slow_query(db)

    def body():
        yield ExecMany("INSERT INTO experiments (name, lifecycle_stage) VALUES (?, 'active')", [("cancelled",)])
        yield Fetch(slow)

    try:
        task = asyncio.create_task(db.run(body))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        def probe():
            row = yield FetchRow("SELECT COUNT(*) FROM experiments WHERE name = 'cancelled'")
            return row[0]

        assert await asyncio.wait_for(db.run(probe), 20) == 0  # the writer is free, nothing was kept
    finally:
        await db.close()


async def test_a_closed_sqlite_database_fails_at_once(tmp_path):
    db = await SqliteDatabase(str(tmp_path / "c.db")).open()
    await db.close()
    for attempt in (db.fetch("SELECT 1"), db.run(lambda: iter(()))):
        with pytest.raises(AiotrackError) as info:
            await asyncio.wait_for(attempt, 10)
        assert info.value.status == 503


async def test_work_queued_on_a_dead_sqlite_thread_fails_at_once(tmp_path):

    thread = await SqliteThread(str(tmp_path / "t.db"), name="t", budget=60, setup=lambda c: None).start()
    release = threading.Event()

    def hold(conn):
        release.wait(10)
        return "held"

    first = asyncio.ensure_future(thread.call(hold))
    queued = [asyncio.ensure_future(thread.call(lambda c: c.execute("SELECT 1").fetchall())) for _ in range(3)]
    closing = asyncio.ensure_future(thread.close())  # finishes queued work, then ends the thread
    await asyncio.sleep(0.1)
    with pytest.raises(ConnectionGone):
        await thread.call(lambda c: 1)  # after close: refused at once, never queued
    release.set()
    assert await first == "held"
    assert [await q for q in queued] == [[(1,)]] * 3
    await closing

    broken = SqliteThread(str(tmp_path / "missing" / "x.db"), name="b", budget=60, setup=lambda c: None)
    with pytest.raises(sqlite3.OperationalError):
        await broken.start()
    with pytest.raises(ConnectionGone):
        await broken.call(lambda c: 1)


async def test_postgres_pool_exhaustion_is_a_503_naming_the_setting(pg_server):
    dsn = await pg_server.create()
    db = await open_database(dsn + "?pool_size=1&pool_timeout=0.5")
    try:
        async with db.transaction() as tx:
            await tx.fetch("SELECT 1")
            with pytest.raises(AiotrackError) as info:
                await asyncio.wait_for(db.fetch("SELECT 1"), 30)
        assert info.value.status == 503 and "--db-pool-timeout" in info.value.message
        assert (await db.fetch("SELECT 7"))[0][0] == 7  # the connection went back to the pool
    finally:
        await db.close()


async def test_postgres_unreachable_is_a_503_without_host_or_driver(pg_server):
    from server_process import free_port

    db = await open_database(f"postgresql://root@127.0.0.1:{free_port()}/nothing?connect_timeout=2")
    try:
        with pytest.raises(AiotrackError) as info:
            await asyncio.wait_for(db.fetch("SELECT 1"), 30)
        assert (info.value.status, info.value.error_code) == (503, "TEMPORARILY_UNAVAILABLE")
        for leak in ("127.0.0.1", "asyncpg", "Errno", "refused"):
            assert leak not in info.value.message
    finally:
        await db.close()


async def test_concurrent_schema_creation_on_one_empty_postgres_database(pg_server):
    from aiotrack.stores.sql import migrations

    dsn = await pg_server.create()
    dbs = [await open_database(dsn) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrations.upgrade(db) for db in dbs))
        assert sorted(len(r) for r in results) == [0, 0, 0, len(migrations.MIGRATIONS)]  # one did it all
        await asyncio.gather(*(migrations.ensure_current(db) for db in dbs))
    finally:
        for db in dbs:
            await db.close()


async def test_concurrent_schema_creation_on_one_new_sqlite_file(tmp_path):
    from aiotrack.stores.sql import migrations

    path = str(tmp_path / "race.db")
    dbs = [await SqliteDatabase(path).open() for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrations.upgrade(db) for db in dbs))
        assert sorted(len(r) for r in results) == [0, 0, 0, len(migrations.MIGRATIONS)]
        await asyncio.gather(*(migrations.ensure_current(db) for db in dbs))
    finally:
        for db in dbs:
            await db.close()
