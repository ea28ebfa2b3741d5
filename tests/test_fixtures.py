"""The shared database fixtures keep what each test is promised: a store with the current schema
and no data, whether it is a new copy of the template or a database an earlier test used."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest

from aiotrack.stores.sql import migrations
from aiotrack.stores.sql.uri import parse_store_uri


async def _tables_and_rows(conn: asyncpg.Connection) -> dict[str, int]:
    names = await conn.fetch("SELECT format('%I', tablename) AS t FROM pg_tables WHERE schemaname = 'public'")
    return {r["t"]: await conn.fetchval(f"SELECT count(*) FROM {r['t']}") for r in names}


async def test_a_reused_postgres_database_is_back_in_the_template_state(pg_server, pg_template):
    first = await pg_server.take(pg_template)
    conn = await asyncpg.connect(first)
    try:
        fresh = await _tables_and_rows(conn)
        assert fresh["aiotrack_migrations"] == len(migrations.MIGRATIONS)
        await conn.execute(
            "INSERT INTO experiments (name, lifecycle_stage, creation_time, last_update_time)"
            " VALUES ('a', 'active', 1, 1), ('b', 'active', 1, 1)"
        )
        first_ids = [r[0] for r in await conn.fetch("SELECT experiment_id FROM experiments ORDER BY 1")]
        await conn.execute("DELETE FROM aiotrack_migrations WHERE name = (SELECT max(name) FROM aiotrack_migrations)")
        # A session left open (a server not yet stopped) must not keep its lock on the rows.
        await conn.execute("BEGIN; LOCK TABLE experiments IN ACCESS EXCLUSIVE MODE")
    except BaseException:
        await conn.close()
        raise
    pg_server.give_back(first, pg_template)
    again = await pg_server.take(pg_template)
    assert again == first, "a released database in the template's state is reused, not cloned anew"
    assert conn.is_closed() or not await _alive(conn)
    conn2 = await asyncpg.connect(again)
    try:
        assert await _tables_and_rows(conn2) == fresh
        await conn2.execute(
            "INSERT INTO experiments (name, lifecycle_stage, creation_time, last_update_time)"
            " VALUES ('a', 'active', 1, 1)"
        )
        # The sequence was set back too: the first id is the one a fresh clone gives.
        assert await conn2.fetchval("SELECT experiment_id FROM experiments") == first_ids[0]
    finally:
        await conn2.close()
        await conn.close()
    pg_server.give_back(again, pg_template)


async def _alive(conn: asyncpg.Connection) -> bool:
    try:
        await conn.fetchval("SELECT 1")
        return True
    except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
        return False


@pytest.mark.parametrize(
    "change",
    [
        "ALTER TABLE experiments ADD COLUMN extra text",
        "CREATE INDEX extra_idx ON runs (name)",
        "CREATE TABLE extra (x int)",
        "CREATE SCHEMA extra",
        "CREATE FUNCTION extra() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    ],
)
async def test_a_database_whose_definition_changed_is_not_reused(pg_server, pg_template, change):
    used = await pg_server.take(pg_template)
    conn = await asyncpg.connect(used)
    try:
        await conn.execute(change)
    finally:
        await conn.close()
    pg_server.give_back(used, pg_template)
    other = await pg_server.take(pg_template)
    assert other != used
    assert used.rsplit("/", 1)[1] in pg_server.created  # still dropped at the end of the session
    pg_server.give_back(other, pg_template)


@pytest.mark.parametrize("store_uri", ["sqlite"], indirect=True)
def test_the_sqlite_store_is_a_migrated_copy_without_data(store_uri, sqlite_template):
    path = parse_store_uri(store_uri).target
    assert path != str(sqlite_template)
    with sqlite3.connect(path) as conn:
        done = [r[0] for r in conn.execute("SELECT name FROM aiotrack_migrations")]
        assert len(done) == len(migrations.MIGRATIONS)
        assert conn.execute("SELECT count(*) FROM experiments").fetchone()[0] == 0
        conn.execute("INSERT INTO experiments (name, lifecycle_stage) VALUES ('x', 'active')")
    with sqlite3.connect(sqlite_template) as template:
        assert template.execute("SELECT count(*) FROM experiments").fetchone()[0] == 0
