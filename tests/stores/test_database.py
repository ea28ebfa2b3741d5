"""The database handles: transactions, deferred statements, errors made neutral."""

from __future__ import annotations

import aiosqlite
import pytest

from aiotrack.errors import IntegrityViolation


def test_aiosqlite_still_offers_what_sqlite_batches_use():
    # _SqliteTx runs batches through these two private members of aiosqlite.Connection.
    assert callable(getattr(aiosqlite.Connection, "_execute", None))
    assert isinstance(getattr(aiosqlite.Connection, "_conn", None), property)


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
