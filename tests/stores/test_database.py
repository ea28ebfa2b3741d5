"""The database handles: transactions, deferred statements, errors made neutral, time budgets,
cancellation, pool exhaustion, unreachable servers, concurrent schema creation, group commit."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import threading
from collections.abc import Generator
from dataclasses import replace
from typing import Any

import asyncpg
import pytest

from aiotrack.errors import AiotrackError, IntegrityViolation
from aiotrack.stores.sql import database as database_module
from aiotrack.stores.sql import migrations
from aiotrack.stores.sql.connect import open_database
from aiotrack.stores.sql.database import (
    DatabaseOptions,
    ExecMany,
    Execute,
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

    path = str(tmp_path / "race.db")
    dbs = [await SqliteDatabase(path).open() for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrations.upgrade(db) for db in dbs))
        assert sorted(len(r) for r in results) == [0, 0, 0, len(migrations.MIGRATIONS)]
        await asyncio.gather(*(migrations.ensure_current(db) for db in dbs))
    finally:
        for db in dbs:
            await db.close()


# --------------------------------------------------------------------------- group commit
# Concurrent run() calls share one transaction, and each caller still gets exactly its own
# outcome (its value, or its own error with nothing of its writes kept), answered only after the
# commit that holds its writes. On both engines.

INSERT = "INSERT INTO experiments (name, lifecycle_stage) VALUES (?, 'active')"


def _insert(name: str) -> Generator[Fetch, Any, str]:
    yield Execute(INSERT, (name,))
    row = yield FetchRow("SELECT COUNT(*) FROM experiments WHERE name = ?", (name,))
    assert row[0] == 1
    return name


class Refused(Exception):
    pass


def _insert_then_refuse(name: str) -> Generator[Fetch, Any, None]:
    yield Execute(INSERT, (name,))
    raise Refused(name)


def _insert_then_slow(name: str, dialect: str) -> Generator[Fetch, Any, None]:
    yield Execute(INSERT, (name,))
    if dialect == "sqlite":  # a slow *write*: SQLite rolls the whole transaction back when it is stopped
        yield Execute(f"INSERT INTO experiments (name, lifecycle_stage) SELECT 'x' || ({SLOW_SQLITE}), 'active'")
    else:
        yield Fetch("SELECT pg_sleep(600)")


async def _names(db, prefix: str) -> set[str]:
    rows = await db.fetch("SELECT name FROM experiments WHERE name LIKE ?", (prefix + "%",))
    return {r[0] for r in rows}


class _Held:
    """Keeps the database's writer busy until released, so that run() calls gather in one
    group: SQLite's writer thread runs a job that waits; PostgreSQL's group slots are taken."""

    async def hold(self, db) -> _Held:
        self.db = db
        if db.dialect.name == "sqlite":
            self.gate = threading.Event()
            self.job = db._writer.submit(lambda _conn: self.gate.wait(30))
        else:
            self.slots = database_module.PG_GROUPS_IN_FLIGHT
            for _ in range(self.slots):
                await db._group_slots.acquire()
        return self

    async def release(self) -> None:
        if self.db.dialect.name == "sqlite":
            self.gate.set()
            await self.job.future
        else:
            for _ in range(self.slots):
                self.db._group_slots.release()


async def _gathered(db, calls: list[Any]) -> list[asyncio.Task[Any]]:
    held = await _Held().hold(db)
    tasks = [asyncio.create_task(db.run(body, *args)) for body, *args in calls]
    await asyncio.sleep(0.05)  # every call has queued
    group = db._gathering
    assert group is not None and len(group.entries) == len(calls), "the calls did not gather in one group"
    await held.release()
    await asyncio.wait(tasks, timeout=30)
    return tasks


async def test_concurrent_writes_share_one_transaction_and_all_commit(database):
    tasks = await _gathered(database, [(_insert, f"g{i}") for i in range(20)])
    assert [t.result() for t in tasks] == [f"g{i}" for i in range(20)]
    assert await _names(database, "g") == {f"g{i}" for i in range(20)}


async def test_a_failing_caller_undoes_only_its_own_writes(database):
    calls = [(_insert, "a1"), (_insert_then_refuse, "a2"), (_insert, "a3"), (_insert, "a1"), (_insert, "a4")]
    tasks = await _gathered(database, calls)
    assert tasks[0].result() == "a1"
    with pytest.raises(Refused):
        tasks[1].result()
    assert tasks[2].result() == "a3"
    with pytest.raises(IntegrityViolation):  # the duplicate name: its own error, nobody else's
        tasks[3].result()
    assert tasks[4].result() == "a4"
    assert await _names(database, "a") == {"a1", "a3", "a4"}


async def test_a_lone_failing_write_keeps_nothing(database):
    with pytest.raises(Refused):
        await database.run(_insert_then_refuse, "h1")
    assert await database.run(_insert, "h2") == "h2"
    assert await _names(database, "h") == {"h2"}


async def test_a_write_stopped_by_its_budget_fails_alone(database):
    # On SQLite the stopped write rolls the whole transaction back: the others in the group are
    # run again in a new one, so they still commit, and only the slow caller gets the 503.
    db = await _reopened(database, query_timeout=0.5)
    try:
        slow = (_insert_then_slow, "b2", db.dialect.name)
        tasks = await _gathered(db, [(_insert, "b1"), slow, (_insert, "b3")])
        assert tasks[0].result() == "b1"
        with pytest.raises(AiotrackError) as info:
            tasks[1].result()
        _assert_budget_error(info.value)
        assert tasks[2].result() == "b3"
        assert await _names(db, "b") == {"b1", "b3"}
    finally:
        await db.close()


async def test_a_cancelled_caller_in_a_group_is_interrupted_and_the_others_commit(database):
    db = await _reopened(database, query_timeout=600)
    try:
        held = await _Held().hold(db)
        first = asyncio.create_task(db.run(_insert, "c1"))
        slow = asyncio.create_task(db.run(_insert_then_slow, "c2", db.dialect.name))
        last = asyncio.create_task(db.run(_insert, "c3"))
        await asyncio.sleep(0.05)
        await held.release()
        await asyncio.sleep(0.5)  # the slow caller's statement is running now
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        assert await asyncio.wait_for(first, 20) == "c1"
        assert await asyncio.wait_for(last, 20) == "c3"
        assert await _names(db, "c") == {"c1", "c3"}
    finally:
        await db.close()


async def test_a_caller_cancelled_before_its_group_starts_is_skipped(database):
    held = await _Held().hold(database)
    kept = asyncio.create_task(database.run(_insert, "d1"))
    dropped = asyncio.create_task(database.run(_insert, "d2"))
    await asyncio.sleep(0.05)
    dropped.cancel()
    with pytest.raises(asyncio.CancelledError):
        await dropped
    await held.release()
    assert await asyncio.wait_for(kept, 20) == "d1"
    assert await _names(database, "d") == {"d1"}


async def test_a_group_is_bounded(database, monkeypatch):
    monkeypatch.setattr(database_module, "MAX_GROUP", 3)
    held = await _Held().hold(database)
    tasks = [asyncio.create_task(database.run(_insert, f"e{i}")) for i in range(7)]
    await asyncio.sleep(0.05)
    group = database._gathering
    assert group is not None and len(group.entries) == 1  # 3 + 3 + 1
    await held.release()
    assert sorted(await asyncio.gather(*tasks)) == [f"e{i}" for i in range(7)]


async def test_sqlite_writes_join_a_group_waiting_for_another_process_lock(database, monkeypatch):
    """A group closes only once its process holds the writers' flock: a write arriving while
    another process commits joins the group already waiting, one transaction for both."""
    if database.dialect.name != "sqlite":
        pytest.skip("the writers' flock is SQLite's")
    sizes: list[int] = []
    original = database_module.SqliteDatabase._group_transaction

    def counted(entries, *args):
        sizes.append(len(entries))
        return original(entries, *args)

    monkeypatch.setattr(database_module.SqliteDatabase, "_group_transaction", staticmethod(counted))
    other = os.open(database.path + ".lock", os.O_RDWR)  # another open file: flock conflicts as another process's
    try:
        fcntl.flock(other, fcntl.LOCK_EX)
        first = asyncio.create_task(database.run(_insert, "w1"))
        await asyncio.sleep(0.05)  # its group is on the writer's thread, waiting for the lock
        assert database._gathering is not None and database._gathering.job is not None
        second = asyncio.create_task(database.run(_insert, "w2"))
        await asyncio.sleep(0.05)
        fcntl.flock(other, fcntl.LOCK_UN)
        assert await asyncio.wait_for(asyncio.gather(first, second), 20) == ["w1", "w2"]
    finally:
        os.close(other)
    assert sizes == [2]
    assert await _names(database, "w") == {"w1", "w2"}


async def test_a_deadlock_in_a_group_runs_its_writes_one_by_one(database, monkeypatch):
    if database.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer: no deadlock between transactions")

    def deadlocked(name: str) -> Generator[Fetch, Any, str]:
        yield Execute(INSERT, (name,))
        if getattr(deadlocked, "first", True):
            deadlocked.first = False  # type: ignore[attr-defined]
            raise asyncpg.DeadlockDetectedError("deadlock detected")
        return name

    tasks = await _gathered(database, [(_insert, "k1"), (deadlocked, "k2"), (_insert, "k3")])
    assert [t.result() for t in tasks] == ["k1", "k2", "k3"]
    assert await _names(database, "k") == {"k1", "k2", "k3"}


async def test_postgresql_connections_run_without_jit(database):
    """JIT compilation costs the short indexed queries more than it saves (database.py)."""
    if database.dialect.name == "sqlite":
        pytest.skip("PostgreSQL's setting")
    assert (await database.fetch("SHOW jit"))[0][0] == "off"
    async with database.transaction() as tx:
        assert (await tx.fetch("SHOW jit"))[0][0] == "off"


def _cross_update(first: str, second: str) -> Generator[Fetch, Any, str]:
    """Lock ``first``'s row, wait, then ``second``'s: two of these in opposite order deadlock."""
    yield Execute("UPDATE experiments SET last_update_time = last_update_time + 1 WHERE name = ?", (first,))
    yield Fetch("SELECT pg_sleep(0.3)")
    yield Execute("UPDATE experiments SET last_update_time = last_update_time + 1 WHERE name = ?", (second,))
    return first


async def test_a_lone_write_chosen_as_a_deadlock_victim_runs_again(database):
    """Two nodes (two pools), one write each, locking two rows in opposite order: PostgreSQL
    breaks the deadlock by failing one; that write is run again and both commit."""
    if database.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer: no deadlock between transactions")
    for name in ("x1", "x2"):
        await database.run(_insert, name)
    async with database.transaction() as tx:
        await tx.execute("UPDATE experiments SET last_update_time = 0 WHERE name IN ('x1', 'x2')")
    other = await _reopened(database)
    try:
        done = await asyncio.wait_for(
            asyncio.gather(database.run(_cross_update, "x1", "x2"), other.run(_cross_update, "x2", "x1")), 30
        )
    finally:
        await other.close()
    assert sorted(done) == ["x1", "x2"]
    rows = await database.fetch("SELECT last_update_time FROM experiments WHERE name IN ('x1', 'x2')")
    assert [r[0] for r in rows] == [2, 2]  # each write changed each row once: nothing lost, nothing twice


async def test_writes_one_at_a_time_each_commit(database):
    for i in range(3):
        assert await asyncio.wait_for(database.run(_insert, f"f{i}"), 5) == f"f{i}"
    assert await _names(database, "f") == {"f0", "f1", "f2"}
