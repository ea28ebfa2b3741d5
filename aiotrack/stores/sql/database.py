"""Async database handles: the one place that knows aiosqlite and asyncpg.

A :class:`Database` offers reads (``fetch``/``fetchrow``) that may run concurrently, and
``transaction()`` for writes. SQL is written once with ``?`` placeholders (see dialect.py).

Concurrency, in one place:
- SQLite: one writer connection per process, writes serialized by an asyncio lock, then across
  worker processes by an flock on ``<db>.lock`` (the kernel wakes the next writer the moment the
  lock is free, where SQLite's own busy handler sleeps and polls: twice the write throughput
  with four workers, and a tenth of the tail latency), and started with ``BEGIN IMMEDIATE`` so a
  transaction never fails on a lock upgrade. The busy timeout stays as a backstop for other
  programs touching the file. WAL lets readers on their own connections run beside the writer.
- PostgreSQL: an asyncpg pool; each transaction holds one pooled connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import functools
import itertools
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import aiosqlite
import asyncpg

from aiotrack.errors import AiotrackError, TEMPORARILY_UNAVAILABLE
from aiotrack.stores.sql.dialect import POSTGRESQL, SQLITE, Dialect

log = logging.getLogger(__name__)

Row = Sequence[Any]

SQLITE_BUSY_TIMEOUT_MS = 60_000


class Tx:
    """The statements of one write transaction."""

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    async def fetchrow(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        raise NotImplementedError

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError


class Database:
    dialect: Dialect
    url: str

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    async def fetchrow(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Tx]:
        raise NotImplementedError

    async def table_names(self) -> set[str]:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


# --------------------------------------------------------------------------- SQLite


class _SqliteTx(Tx):
    __slots__ = ("_conn",)

    def __init__(self, conn: aiosqlite.Connection):
        self._conn = conn

    async def fetch(self, sql, params=()):
        return list(await self._conn.execute_fetchall(sql, params))

    async def execute(self, sql, params=()):
        cursor = await self._conn.execute(sql, params)
        count = cursor.rowcount
        await cursor.close()
        return count

    async def executemany(self, sql, rows):
        cursor = await self._conn.executemany(sql, rows)
        await cursor.close()


class SqliteDatabase(Database):
    dialect = SQLITE

    def __init__(self, path: str, *, readers: int = 2):
        self.path = path
        self.url = f"sqlite:///{path}"
        self._n_readers = readers
        self._writer: aiosqlite.Connection | None = None
        self._readers: list[aiosqlite.Connection] = []
        self._next_reader = itertools.cycle(range(readers))
        self._write_lock = asyncio.Lock()
        self._lock_fd: int | None = None

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        for pragma in (
            f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}",
            "PRAGMA case_sensitive_like = ON",
            "PRAGMA foreign_keys = ON",
            # With WAL, NORMAL survives a crashed process; only a power loss may drop the last commits.
            "PRAGMA synchronous = NORMAL",
        ):
            await conn.execute_fetchall(pragma)
        return conn

    async def open(self) -> "SqliteDatabase":
        self._lock_fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        self._writer = await self._connect()
        # WAL is a property of the database file; setting it needs no other writer mid-way.
        async with self._write_lock:
            await self._writer.execute_fetchall("PRAGMA journal_mode = WAL")
        self._readers = [await self._connect() for _ in range(self._n_readers)]
        return self

    async def fetch(self, sql, params=()):
        conn = self._readers[next(self._next_reader)]
        try:
            return list(await conn.execute_fetchall(sql, params))
        except sqlite3.OperationalError as exc:
            raise _sqlite_error(exc) from exc

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        conn = self._writer
        assert conn is not None, "database is not open"
        async with self._write_lock:
            await self._lock_across_processes()
            try:
                try:
                    await conn.execute_fetchall("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    raise _sqlite_error(exc) from exc
                try:
                    yield _SqliteTx(conn)
                except BaseException:
                    await conn.execute_fetchall("ROLLBACK")
                    raise
                else:
                    try:
                        await conn.execute_fetchall("COMMIT")
                    except sqlite3.OperationalError as exc:
                        await conn.execute_fetchall("ROLLBACK")
                        raise _sqlite_error(exc) from exc
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    async def _lock_across_processes(self) -> None:
        fd = self._lock_fd
        assert fd is not None, "database is not open"
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        # Another worker writes: wait for the kernel to hand us the lock, off the event loop.
        waiting = asyncio.get_running_loop().run_in_executor(None, fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            await asyncio.shield(waiting)
        except asyncio.CancelledError:
            # The thread still gets the lock later: give it back as soon as it does.
            waiting.add_done_callback(lambda f: f.exception() or fcntl.flock(fd, fcntl.LOCK_UN))
            raise

    async def table_names(self):
        rows = await self.fetch("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        return {r[0] for r in rows}

    async def close(self):
        for conn in [self._writer, *self._readers]:
            if conn is not None:
                await conn.close()
        self._writer = None
        self._readers = []
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _sqlite_error(exc: sqlite3.OperationalError) -> Exception:
    if "locked" in str(exc) or "busy" in str(exc):
        return AiotrackError("The database is busy; retry the request.", TEMPORARILY_UNAVAILABLE)
    return exc


# --------------------------------------------------------------------------- PostgreSQL

_QMARK = re.compile(r"\?")


@functools.lru_cache(maxsize=4096)
def to_dollar_params(sql: str) -> str:
    """Rewrite ``?`` placeholders as ``$1, $2, ...``. Our SQL never has ``?`` in literals."""
    counter = itertools.count(1)
    return _QMARK.sub(lambda _m: f"${next(counter)}", sql)


class _PgTx(Tx):
    __slots__ = ("_conn",)

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def fetch(self, sql, params=()):
        return await self._conn.fetch(to_dollar_params(sql), *params)

    async def execute(self, sql, params=()):
        status = await self._conn.execute(to_dollar_params(sql), *params)
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def executemany(self, sql, rows):
        await self._conn.executemany(to_dollar_params(sql), list(rows))


class PostgresDatabase(Database):
    dialect = POSTGRESQL

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10):
        self.url = dsn
        self._dsn = dsn
        self._min = min_size
        self._max = max_size
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> "PostgresDatabase":
        self._pool = await asyncpg.create_pool(self._dsn, min_size=self._min, max_size=self._max)
        return self

    async def fetch(self, sql, params=()):
        assert self._pool is not None, "database is not open"
        return await self._pool.fetch(to_dollar_params(sql), *params)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        assert self._pool is not None, "database is not open"
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                yield _PgTx(conn)

    async def table_names(self):
        rows = await self.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return {r[0] for r in rows}

    async def close(self):
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
