"""Named, append-only schema migrations, recorded in the ``aiotrack_migrations`` table.

Each migration is a module with ``NAME`` and ``STEPS`` (DDL strings with ``{bigint_pk}`` and
``{float}`` holes the dialect fills), and optionally ``DIALECT_STEPS`` (steps for one engine
only, run after ``STEPS``). Never edit or reorder a shipped migration: append a new one.
An upgrade applies every pending migration in one transaction that first takes the schema lock
(a PostgreSQL advisory lock; on SQLite the writers' flock), so concurrent starts take turns and
nobody ever sees half a schema.
The server creates the schema on an empty database, refuses a database written by another
program, and refuses an aiotrack database whose schema is behind, naming ``aiotrack db upgrade``.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import time
from collections.abc import Awaitable, Callable
from types import ModuleType

from aiotrack.errors import ConfigError
from aiotrack.stores.sql.database import Database, Row

# The migrations are the modules of this package named ``m<NAME>`` (``m0001_tracking_core``
# holds NAME = "0001_tracking_core"), applied in name order: adding a migration is adding its
# file, and there is no second list to keep in step with the files.
MIGRATIONS: tuple[ModuleType, ...] = tuple(
    importlib.import_module(f"{__name__}.{info.name}")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
    if re.fullmatch(r"m\d{4}_\w+", info.name)
)

TABLE = "aiotrack_migrations"


class SchemaError(ConfigError):
    """The database cannot be served as it is."""


async def _applied(db: Database, fetch: Callable[[str], Awaitable[list[Row]]]) -> list[str] | None:
    tables = {r[0] for r in await fetch(db.dialect.table_names_sql)}
    if TABLE not in tables:
        if tables:
            hint = " (it looks like MLflow's: it has alembic_version)" if "alembic_version" in tables else ""
            raise SchemaError(
                f"The database {db.url} already holds tables that aiotrack did not create{hint}. "
                "aiotrack will not open a database written by another program; point "
                "--backend-store-uri at a new database."
            )
        return None
    rows = await fetch(f"SELECT name FROM {TABLE} ORDER BY name")
    return [r[0] for r in rows]


async def applied(db: Database) -> list[str] | None:
    """Names of applied migrations, or None when the database has no aiotrack schema."""
    return await _applied(db, db.fetch)


def _pending(db: Database, done: list[str] | None) -> list[ModuleType]:
    known = {m.NAME for m in MIGRATIONS}
    unknown = set(done or ()) - known
    if unknown:
        raise SchemaError(
            f"The database {db.url} has migrations this aiotrack does not know ({', '.join(sorted(unknown))}); "
            "it was upgraded by a newer aiotrack."
        )
    return [m for m in MIGRATIONS if m.NAME not in set(done or ())]


async def pending(db: Database) -> list[ModuleType]:
    return _pending(db, await applied(db))


async def upgrade(db: Database) -> list[str]:
    """Apply every pending migration, all in one transaction holding the schema lock, so that
    servers started at once on one database (on any machines) take turns: the first creates the
    schema, the others find it done. Returns the names applied."""
    names: list[str] = []
    async with db.transaction() as tx:
        if db.dialect.schema_lock_sql:
            await tx.fetch(db.dialect.schema_lock_sql)
        # Checked under the lock: refuses a database another program wrote, before touching it.
        todo = _pending(db, await _applied(db, tx.fetch))
        if not todo:
            return names
        await tx.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        for migration in todo:
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
    todo = _pending(db, done)
    if todo:
        raise SchemaError(
            f"The database schema is behind this aiotrack ({len(todo)} migration(s) pending: "
            f"{', '.join(m.NAME for m in todo)}). Back it up, then run: aiotrack db upgrade <backend-store-uri>"
        )
