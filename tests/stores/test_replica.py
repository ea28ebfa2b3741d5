"""ReplicatedDatabase's routing, in-process: which database each read and write reaches.

Two SQLite files stand in for the two ends (the routing is engine-neutral; the WAL-position
check and the real replica are PostgreSQL's, tested in tests/serving/test_nodes.py): each holds
a table naming itself, so a read shows where it went.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aiotrack.config import Settings
from aiotrack.errors import ConfigError
from aiotrack.stores.sql.database import Execute, SqliteDatabase
from aiotrack.stores.sql.replica import ReplicatedDatabase, replica_uri, request_routing

WHERE = "SELECT name FROM whoami"


async def _named(path: Path, name: str) -> SqliteDatabase:
    db = await SqliteDatabase(str(path)).open()
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE whoami (name TEXT)")
        await tx.execute("INSERT INTO whoami VALUES (?)", (name,))
    return db


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[ReplicatedDatabase, SqliteDatabase]]:
    replica = await _named(tmp_path / "replica.db", "replica")
    db = ReplicatedDatabase(await _named(tmp_path / "primary.db", "primary"), replica, retry_after=0.3)
    yield db, replica
    await db.close()


async def where(db: ReplicatedDatabase) -> str:
    row = await db.fetchrow(WHERE)
    assert row is not None
    return str(row[0])


async def test_reads_outside_a_request_and_in_writing_requests_use_the_primary(pair) -> None:
    db, _ = pair
    assert await where(db) == "primary"  # start-up, migrations, background work
    with request_routing(read_only=False):
        assert await where(db) == "primary"


async def test_a_read_only_request_reads_the_replica_until_it_writes(pair) -> None:
    db, _ = pair
    with request_routing(read_only=True) as routing:
        assert await where(db) == "replica"
        assert routing.replica_reads == 1 and not routing.wrote

        def body():
            yield Execute("CREATE TABLE IF NOT EXISTS written (x INTEGER)")

        await db.run(body)  # writes go to the primary...
        assert routing.wrote
        assert await where(db) == "primary"  # ...and the request's later reads follow them
    with request_routing(read_only=True) as routing:
        async with db.transaction() as tx:
            assert (await tx.fetchrow(WHERE)) == ("primary",)
        assert routing.wrote and await where(db) == "primary"
    assert (await db.primary.fetch("SELECT name FROM sqlite_master WHERE name = 'written'")) == [("written",)]


async def test_scopes_are_per_task(pair) -> None:
    db, _ = pair

    async def request(read_only: bool) -> str:
        with request_routing(read_only):
            await asyncio.sleep(0.01)
            return await where(db)

    assert await asyncio.gather(request(True), request(False), request(True)) == ["replica", "primary", "replica"]


async def test_an_unavailable_replica_falls_back_to_the_primary_then_is_retried(pair, caplog) -> None:
    db, replica = pair
    await replica.close()  # every read there now fails with MLflow's 503
    with caplog.at_level(logging.WARNING), request_routing(read_only=True) as routing:
        assert await where(db) == "primary"
        assert await where(db) == "primary"
        assert routing.replica_reads == 0
    assert sum("The read replica failed a read" in r.message for r in caplog.records) == 1  # left alone
    await replica.open()
    with request_routing(read_only=True):
        assert await where(db) == "primary"  # still within retry_after
        await asyncio.sleep(0.35)
        assert await where(db) == "replica"


async def test_errors_that_are_not_outages_are_not_masked(pair) -> None:
    db, _ = pair
    await db.primary.fetch("SELECT 1")
    with request_routing(read_only=True), pytest.raises(Exception, match="no such table"):
        await db.fetch("SELECT * FROM only_on_the_primary")


def test_replica_uri_is_checked(caplog) -> None:
    pg = "postgresql://u@primary/db"
    assert replica_uri(Settings(backend_store_uri=pg)) is None
    assert replica_uri(Settings(backend_store_uri=pg, read_replica_backend_store_uri="postgresql://u@r/db")) == (
        "postgresql://u@r/db"
    )
    with caplog.at_level(logging.WARNING):
        assert replica_uri(Settings(backend_store_uri=pg, read_replica_backend_store_uri=pg)) is None
    assert "names the backend store itself" in caplog.text
    for primary, replica in (("sqlite:///a.db", "postgresql://u@r/db"), (pg, "sqlite:///b.db")):
        with pytest.raises(ConfigError, match="needs PostgreSQL for both"):
            replica_uri(Settings(backend_store_uri=primary, read_replica_backend_store_uri=replica))
    with pytest.raises(ConfigError, match="Unsupported backend store URI"):
        replica_uri(Settings(backend_store_uri=pg, read_replica_backend_store_uri="mysql://x/y"))
