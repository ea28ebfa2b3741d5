"""Opening a store's database from its URI, and waiting for it at start.

``open_database(uri, settings)`` picks the engine and its options (the ``db_*`` settings, a URI's
query parameters winning). ``open_when_ready`` is what a server does at start: try to open the
database and run a check on it (the schema), and while the database is unreachable retry with
backoff until ``db_startup_timeout``, then fail with one line naming the store (password hidden).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiotrack.config import Settings, hide_password
from aiotrack.errors import TEMPORARILY_UNAVAILABLE, AiotrackError, ConfigError
from aiotrack.stores.sql.database import Database, DatabaseOptions, PostgresDatabase, SqliteDatabase
from aiotrack.stores.sql.uri import parse_store_uri

log = logging.getLogger(__name__)

# Backoff between attempts at start: doubling from the first to the last, then steady.
FIRST_RETRY_DELAY = 0.25
MAX_RETRY_DELAY = 5.0


class DatabaseUnreachable(ConfigError):
    """The database stayed unreachable for the whole start-up wait."""


async def open_database(uri: str, settings: Settings | None = None, *, readers: int = 2) -> Database:
    parsed = parse_store_uri(uri)
    options = DatabaseOptions.from_settings(settings, parsed.options)
    if parsed.kind == "sqlite":
        return await SqliteDatabase(parsed.target, readers=readers, options=options).open()
    return await PostgresDatabase(parsed.target, options=options).open()


async def open_when_ready(
    uri: str,
    settings: Settings | None = None,
    check: Callable[[Database], Awaitable[None]] | None = None,
    *,
    readers: int = 2,
) -> Database:
    """Open the database and run ``check`` on it, retrying while the database is unavailable
    (503-class errors) until ``db_startup_timeout``; other errors fail at once."""
    settings = settings or Settings()
    deadline = time.monotonic() + settings.db_startup_timeout
    delay = FIRST_RETRY_DELAY
    attempt = 0
    while True:
        attempt += 1
        db: Database | None = None
        try:
            db = await open_database(uri, settings, readers=readers)
            if check is not None:
                await check(db)
            return db
        except AiotrackError as exc:
            if db is not None:
                await db.close()
            if exc.error_code != TEMPORARILY_UNAVAILABLE:
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                raise DatabaseUnreachable(
                    f"The database {hide_password(uri)} stayed unavailable for "
                    f"{settings.db_startup_timeout:g} s (--db-startup-timeout; {attempt} attempts): {exc.message}"
                ) from None
            if attempt == 1:
                log.warning("The database is unavailable (%s); retrying for up to %.0f s", exc.message, left)
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, MAX_RETRY_DELAY)
        except BaseException:
            if db is not None:
                await db.close()
            raise
