"""Schema creation, refusal of foreign and outdated schemas, and `aiotrack db`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from aiotrack.cli import main
from aiotrack.config import Settings
from aiotrack.errors import ConfigError
from aiotrack.stores.sql import migrations
from aiotrack.stores.sql.database import PostgresDatabase, SqliteDatabase


def test_every_migration_file_is_a_migration_in_name_order():
    files = sorted(p.stem for p in Path(migrations.__file__).parent.glob("m[0-9][0-9][0-9][0-9]_*.py"))
    assert [m.__name__.rsplit(".", 1)[1] for m in migrations.MIGRATIONS] == files
    assert [m.NAME for m in migrations.MIGRATIONS] == [f[1:] for f in files]  # the file is m<NAME>.py
    assert all(isinstance(m.STEPS, list | tuple) for m in migrations.MIGRATIONS)


async def test_upgrade_is_recorded_and_idempotent(tmp_path):
    db = await SqliteDatabase(str(tmp_path / "m.db")).open()
    try:
        assert await migrations.applied(db) is None
        names = await migrations.upgrade(db)
        assert names == [m.NAME for m in migrations.MIGRATIONS]
        assert await migrations.upgrade(db) == []
        assert await migrations.applied(db) == sorted(names)
        await migrations.ensure_current(db)
    finally:
        await db.close()


async def test_postgres_empty_database_gets_the_schema(pg_server):
    dsn = await pg_server.create()
    db = await PostgresDatabase(dsn, max_size=2).open()
    try:
        await migrations.ensure_current(db)
        assert "runs" in await db.table_names()
        assert await migrations.pending(db) == []
    finally:
        await db.close()


async def test_foreign_database_is_refused(tmp_path):
    path = tmp_path / "mlflow.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE alembic_version (version_num TEXT)")
    conn.execute("CREATE TABLE experiments (experiment_id INTEGER)")
    conn.commit()
    conn.close()
    db = await SqliteDatabase(str(path)).open()
    try:
        with pytest.raises(ConfigError, match=r"did not create.*MLflow"):
            await migrations.ensure_current(db)
        with pytest.raises(ConfigError):
            await migrations.upgrade(db)
    finally:
        await db.close()
    conn = sqlite3.connect(path)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")] == [
        "alembic_version",
        "experiments",
    ]  # untouched


async def test_outdated_schema_is_refused_with_the_upgrade_command(tmp_path):
    path = tmp_path / "old.db"
    db = await SqliteDatabase(str(path)).open()
    try:
        await migrations.upgrade(db)
        last = migrations.MIGRATIONS[-1].NAME
        async with db.transaction() as tx:
            await tx.execute("DELETE FROM aiotrack_migrations WHERE name = ?", (last,))
        with pytest.raises(ConfigError, match="aiotrack db upgrade"):
            await migrations.ensure_current(db)
    finally:
        await db.close()


async def test_schema_from_a_newer_aiotrack_is_refused(tmp_path):
    db = await SqliteDatabase(str(tmp_path / "new.db")).open()
    try:
        await migrations.upgrade(db)
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO aiotrack_migrations (name, applied_at) VALUES ('9999_future', 0)")
        with pytest.raises(ConfigError, match="newer aiotrack"):
            await migrations.ensure_current(db)
    finally:
        await db.close()


def test_db_cli_upgrade_and_current(tmp_path):
    uri = f"sqlite:///{tmp_path}/cli.db"
    runner = CliRunner()
    out = runner.invoke(main, ["db", "current", uri])
    assert out.exit_code == 0 and "No aiotrack schema" in out.output
    out = runner.invoke(main, ["db", "upgrade", uri])
    assert out.exit_code == 0 and "Applied: 0001_tracking_core" in out.output
    out = runner.invoke(main, ["db", "upgrade", uri])
    assert "up to date" in out.output
    out = runner.invoke(main, ["db", "current", uri])
    assert "applied  0001_tracking_core" in out.output and "pending" not in out.output
    bad = runner.invoke(main, ["db", "upgrade", "mysql://x/y"])
    assert bad.exit_code != 0 and "Supported" in bad.output


def test_server_refuses_outdated_schema_before_serving(tmp_path):
    uri = f"sqlite:///{tmp_path}/srv.db"
    CliRunner().invoke(main, ["db", "upgrade", uri])
    conn = sqlite3.connect(tmp_path / "srv.db")
    conn.execute("DELETE FROM aiotrack_migrations WHERE name = ?", (migrations.MIGRATIONS[-1].NAME,))
    conn.commit()
    conn.close()
    out = CliRunner().invoke(main, ["server", "--backend-store-uri", uri, "--port", "0", "--workers", "1"])
    assert out.exit_code != 0
    assert "aiotrack db upgrade" in out.output


@pytest.mark.parametrize(
    "uri, ok",
    [
        ("sqlite:///rel.db", True),
        ("sqlite:////abs/x.db", True),
        ("postgresql://u@h:5432/d", True),
        ("postgres://u@h/d", True),
        ("postgresql+psycopg2://u:secret@h/d", True),
        ("postgresql+asyncpg://u@h/d", True),
        ("mysql://u@h/d", False),
        ("./mlruns", False),
        ("sqlite://", False),
        ("sqlite:///:memory:", False),
    ],
)
def test_store_uri_forms(uri, ok):
    from aiotrack.stores.sql.uri import parse_store_uri

    if ok:
        parsed = parse_store_uri(uri)
        assert "secret" not in parsed.redacted()
    else:
        with pytest.raises(ConfigError):
            parse_store_uri(uri)


def test_default_store_is_aiotracks_own_file():
    assert Settings().backend_store_uri == "sqlite:///aiotrack.db"


async def test_0004_clusters_sqlite_child_tables_keeping_their_rows(tmp_path, monkeypatch):
    from aiotrack.stores.base import Batch, MetricPoint
    from aiotrack.stores.sql.tracking import SqlTrackingStore

    db = await SqliteDatabase(str(tmp_path / "old.db")).open()
    try:
        monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:3])
        await migrations.upgrade(db)
        store = SqlTrackingStore(db)
        await store.initialize("mlflow-artifacts:/")
        run_id = (await store.create_run("0", "u", 1, [{"key": "t", "value": "v"}], "r"))["info"]["run_id"]
        await store.log_batch(run_id, Batch([MetricPoint("m", 2.5, 1, 3)], [{"key": "p", "value": "1"}], []))
        before = await store.get_run(run_id)
        monkeypatch.undo()
        # 0004 runs first (later migrations, such as 0005_traces, follow it)
        assert (await migrations.upgrade(db))[0] == "0004_sqlite_clustered_children"
        for table in ("params", "tags", "latest_metrics"):
            ddl = (await db.fetchrow("SELECT sql FROM sqlite_master WHERE name = ?", (table,)))[0]
            assert "WITHOUT ROWID" in ddl
        assert await store.get_run(run_id) == before
        await store.log_batch(run_id, Batch([MetricPoint("m", 3.5, 2, 4)], [{"key": "q", "value": "2"}], []))
        after = await store.get_run(run_id)
        assert after["data"]["metrics"] == [{"key": "m", "value": 3.5, "timestamp": 2, "step": 4}]
        assert {p["key"] for p in after["data"]["params"]} == {"p", "q"}
    finally:
        await db.close()
