"""Named, append-only schema migrations, recorded in the ``aiotrack_migrations`` table.

Each migration is a module with ``NAME`` and ``STEPS`` (DDL strings with ``{bigint_pk}`` and
``{float}`` holes the dialect fills), and optionally ``DIALECT_STEPS`` (steps for one engine
only, run after ``STEPS``). Never edit or reorder a shipped migration: append a new one.
The server creates the schema on an empty database, refuses a database written by another
program, and refuses an aiotrack database whose schema is behind, naming ``aiotrack db upgrade``.
"""

from __future__ import annotations

import time
from types import ModuleType

from aiotrack.errors import ConfigError
from aiotrack.stores.sql.database import Database
from aiotrack.stores.sql.migrations import (
    m0001_tracking_core,
    m0002_model_registry,
    m0003_logged_models,
    m0004_sqlite_clustered_children,
    m0007_import_journal,
)

MIGRATIONS: tuple[ModuleType, ...] = (
    m0001_tracking_core,
    m0002_model_registry,
    m0003_logged_models,
    m0004_sqlite_clustered_children,
    m0007_import_journal,
)

TABLE = "aiotrack_migrations"


class SchemaError(ConfigError):
    """The database cannot be served as it is."""


async def applied(db: Database) -> list[str] | None:
    """Names of applied migrations, or None when the database has no aiotrack schema."""
    tables = await db.table_names()
    if TABLE not in tables:
        if tables:
            hint = " (it looks like MLflow's: it has alembic_version)" if "alembic_version" in tables else ""
            raise SchemaError(
                f"The database {db.url} already holds tables that aiotrack did not create{hint}. "
                "aiotrack will not open a database written by another program; point "
                "--backend-store-uri at a new database."
            )
        return None
    rows = await db.fetch(f"SELECT name FROM {TABLE} ORDER BY name")
    return [r[0] for r in rows]


async def pending(db: Database) -> list[ModuleType]:
    done = set(await applied(db) or ())
    unknown = done - {m.NAME for m in MIGRATIONS}
    if unknown:
        raise SchemaError(
            f"The database {db.url} has migrations this aiotrack does not know ({', '.join(sorted(unknown))}); "
            "it was upgraded by a newer aiotrack."
        )
    return [m for m in MIGRATIONS if m.NAME not in done]


async def upgrade(db: Database) -> list[str]:
    """Apply every pending migration, each in its own transaction. Returns the names applied."""
    names = []
    await applied(db)  # refuses a database another program wrote, before touching it
    async with db.transaction() as tx:
        await tx.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)")
    for migration in await pending(db):
        async with db.transaction() as tx:
            # Re-check inside the write transaction: another process may have run it meanwhile.
            if await tx.fetchrow(f"SELECT 1 FROM {TABLE} WHERE name = ?", (migration.NAME,)):
                continue
            steps = (*migration.STEPS, *getattr(migration, "DIALECT_STEPS", {}).get(db.dialect.name, ()))
            for step in steps:
                await tx.execute(db.dialect.ddl(step))
            await tx.execute(
                f"INSERT INTO {TABLE} (name, applied_at) VALUES (?, ?)", (migration.NAME, int(time.time() * 1000))
            )
        names.append(migration.NAME)
    return names


async def ensure_current(db: Database, *, initialize_empty: bool = True) -> None:
    """Create the schema on an empty database; refuse one that is behind."""
    done = await applied(db)
    if done is None:
        if not initialize_empty:
            raise SchemaError(f"The database {db.url} has no aiotrack schema. Run: aiotrack db upgrade {db.url}")
        await upgrade(db)
        return
    todo = await pending(db)
    if todo:
        raise SchemaError(
            f"The database schema is behind this aiotrack ({len(todo)} migration(s) pending: "
            f"{', '.join(m.NAME for m in todo)}). Back it up, then run: aiotrack db upgrade <backend-store-uri>"
        )
