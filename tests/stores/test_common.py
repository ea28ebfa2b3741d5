"""stores/sql/common.py on both engines: the chunked IN-list fetch and the keyed set/delete statements."""

from __future__ import annotations

from aiotrack.stores.sql.common import fetch_in, keyed_statements


async def _experiments(database, names: list[str]) -> list[int]:
    async with database.transaction() as tx:
        await tx.executemany(
            "INSERT INTO experiments (name, lifecycle_stage) VALUES (?, 'active')", [(n,) for n in names]
        )
    rows = await database.fetch(
        f"SELECT experiment_id FROM experiments WHERE name IN ({','.join('?' * len(names))})", names
    )
    return sorted(int(r[0]) for r in rows)


async def test_fetch_in_runs_each_chunk_and_keeps_their_rows_in_turn(database):
    ids = await _experiments(database, [f"chunked-{i}" for i in range(5)])
    sql = "SELECT experiment_id, name FROM experiments WHERE experiment_id IN ({in_list}) ORDER BY experiment_id DESC"
    rows = await fetch_in(database, sql, ids, size=2)
    # three statements (2 + 2 + 1 ids), each ordered by itself: the chunks' rows follow each other
    assert [int(r[0]) for r in rows] == [ids[1], ids[0], ids[3], ids[2], ids[4]]
    assert [r[1] for r in rows][-1] == "chunked-4"
    assert await fetch_in(database, sql, [], size=2) == []  # no ids: no statement, no rows


async def test_fetch_in_inside_a_transaction_sees_its_writes(database):
    (eid,) = await _experiments(database, ["in-tx"])
    async with database.transaction() as tx:
        await tx.execute("UPDATE experiments SET name = 'in-tx-renamed' WHERE experiment_id = ?", (eid,))
        rows = await fetch_in(tx, "SELECT name FROM experiments WHERE experiment_id IN ({in_list})", [eid])
    assert [r[0] for r in rows] == ["in-tx-renamed"]


async def test_keyed_statements_set_replaces_and_delete_removes(database):
    (eid,) = await _experiments(database, ["keyed"])
    upsert, delete = keyed_statements("experiment_tags", ("experiment_id", "key"), "value")

    async def tags() -> list[tuple[str, str]]:
        rows = await database.fetch(
            "SELECT key, value FROM experiment_tags WHERE experiment_id = ? ORDER BY key", (eid,)
        )
        return [(r[0], r[1]) for r in rows]

    async with database.transaction() as tx:
        await tx.execute(upsert, (eid, "a", "1"))
        await tx.execute(upsert, (eid, "b", "2"))
        await tx.execute(upsert, (eid, "a", "3"))  # the same key again: its value replaced, no second row
    assert await tags() == [("a", "3"), ("b", "2")]
    async with database.transaction() as tx:
        assert await tx.execute(delete, (eid, "a")) == 1
        assert await tx.execute(delete, (eid, "missing")) == 0
    assert await tags() == [("b", "2")]
