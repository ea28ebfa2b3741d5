"""Async database handles: the one place that knows aiosqlite and asyncpg.

A :class:`Database` offers reads (``fetch``/``fetchrow``) that may run concurrently, and
``transaction()`` for writes. SQL is written once with ``?`` placeholders (see dialect.py).

Concurrency, in one place:
- SQLite: one writer connection per process, whose thread runs one transaction at a time. Across
  worker processes writers queue on an flock of ``<db>.lock``, taken and released on that thread
  (the kernel wakes the next writer the moment the lock is free, where SQLite's own busy handler
  sleeps and polls: twice the write throughput with four workers, a tenth of the tail latency),
  and transactions begin ``IMMEDIATE`` so one never fails on a lock upgrade. The busy timeout
  stays as a backstop for other programs touching the file. WAL lets readers on their own
  connections run beside the writer.

Two ways to write:

- ``run(body, *args)``: the body is a generator that yields statements (``Fetch``, ``FetchRow``,
  ``Execute``, ``ExecMany``) and receives their results; its return value is the result. On SQLite
  the whole transaction (flock, BEGIN, every statement, COMMIT) runs on the connection's thread in
  one round trip, so the database lock is held only while SQL runs, never while the event loop is
  busy with other requests; calls queue on the thread back to back. On PostgreSQL the same body is
  driven statement by statement on one pooled connection. The hot writes use this.
- ``transaction()``: an async context with a ``Tx`` whose statements are awaited one by one (fewer
  thread round trips than statements, see ``Tx``); simpler to write, for the rest.
- PostgreSQL: an asyncpg pool; each transaction holds one pooled connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import itertools
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Sequence
from typing import Any, TypeVar

import aiosqlite
import asyncpg

from aiotrack.errors import TEMPORARILY_UNAVAILABLE, AiotrackError, IntegrityViolation
from aiotrack.stores.sql.dialect import POSTGRESQL, SQLITE, Dialect

log = logging.getLogger(__name__)

Row = Sequence[Any]
T = TypeVar("T")
# A ``run`` body: a generator function that yields statements, receives their results, returns T.
RunBody = Callable[..., Generator["Fetch", Any, T]]


class Fetch(tuple[Any, ...]):
    """Yielded by a ``run`` body: all rows of a query."""

    def __new__(cls, sql: str, params: Sequence[Any] = ()) -> Fetch:
        return tuple.__new__(cls, (sql, params))


class FetchRow(Fetch):
    """The first row of a query, or None."""


class Execute(Fetch):
    """One statement; the result is the number of rows it changed."""


class ExecMany(Fetch):
    """One statement for each row of parameters; no result."""


SQLITE_BUSY_TIMEOUT_MS = 60_000


class Tx:
    """The statements of one write transaction.

    ``executemany`` may be deferred: its statements run, in order, before the next statement that
    returns something (``fetch``, ``fetchrow``, ``execute``) or at commit, and any error they raise
    surfaces there and rolls the whole transaction back. On SQLite this packs a transaction into
    as few thread round trips as possible (typically two: BEGIN + the first read, then the writes
    + COMMIT), which matters because the writer lock is held across them.
    """

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

    async def write(self, sql: str, params: Sequence[Any] = ()) -> None:
        """One statement whose outcome is not needed: may be deferred like ``executemany``."""
        await self.executemany(sql, [params])


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

    async def run(self, body: RunBody[T], *args: Any) -> T:
        """Run the generator function ``body(*args)`` as one write transaction; return its value."""
        raise NotImplementedError

    async def table_names(self) -> set[str]:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


# --------------------------------------------------------------------------- SQLite


class _SqliteTx(Tx):
    """Runs on aiosqlite's connection thread in batches: each ``_hop`` is one thread round trip
    carrying every deferred statement plus the statement whose answer is awaited."""

    __slots__ = ("_conn", "_pending")

    def __init__(self, conn: aiosqlite.Connection, lock_fd: int) -> None:
        self._conn = conn
        self._lock_fd = lock_fd
        self._begun = False
        self._pending: list[tuple[str, Any, bool]] = []

    async def _hop(self, final: Callable[[sqlite3.Connection], Any] | None) -> Any:
        pending, self._pending = self._pending, []
        raw = self._conn._conn  # the sqlite3 connection; used only on its own thread below
        begin = not self._begun
        self._begun = True

        def work() -> Any:
            if begin:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
                raw.execute("BEGIN IMMEDIATE")
            for sql, params, many in pending:
                if many:
                    raw.executemany(sql, params)
                else:
                    raw.execute(sql, params)
            return final(raw) if final is not None else None

        try:
            # aiosqlite's own way to run a function on the connection's thread (private, stable
            # since 0.17; pinned below 0.23 in pyproject.toml and checked by a test).
            return await self._conn._execute(work)  # type: ignore[no-untyped-call]  # private, unannotated
        except sqlite3.IntegrityError as exc:
            raise IntegrityViolation(str(exc)) from None
        except sqlite3.OperationalError as exc:
            raise _sqlite_error(exc) from exc

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows: list[Row] = await self._hop(lambda raw: raw.execute(sql, params).fetchall())
        return rows

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        count: int = await self._hop(lambda raw: raw.execute(sql, params).rowcount)
        return count

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._pending.append((sql, list(rows), True))

    async def commit(self) -> None:
        if not self._begun and not self._pending:
            return  # nothing was read or written: no transaction was ever begun
        fd = self._lock_fd

        def finish(raw: sqlite3.Connection) -> None:
            try:
                raw.execute("COMMIT")
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

        await self._hop(finish)

    async def rollback(self) -> None:
        self._pending = []
        if not self._begun:
            return
        raw = self._conn._conn
        fd = self._lock_fd

        def work() -> None:
            try:
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

        await self._conn._execute(work)  # type: ignore[no-untyped-call]  # private, unannotated


class SqliteDatabase(Database):
    dialect = SQLITE

    def __init__(self, path: str, *, readers: int = 2) -> None:
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

    async def open(self) -> SqliteDatabase:
        self._lock_fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        self._writer = await self._connect()
        # WAL is a property of the database file; setting it needs no other writer mid-way.
        async with self._write_lock:
            await self._writer.execute_fetchall("PRAGMA journal_mode = WAL")
        self._readers = [await self._connect() for _ in range(self._n_readers)]
        return self

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        conn = self._readers[next(self._next_reader)]
        try:
            return list(await conn.execute_fetchall(sql, params))
        except sqlite3.OperationalError as exc:
            raise _sqlite_error(exc) from exc

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        conn = self._writer
        assert conn is not None, "database is not open"
        # The lock keeps run() from queueing work on the thread between this transaction's hops.
        async with self._write_lock:
            assert self._lock_fd is not None  # set by open() with the writer
            tx = _SqliteTx(conn, self._lock_fd)
            try:
                yield tx
                await tx.commit()
            except BaseException:
                await asyncio.shield(tx.rollback())
                raise

    async def run(self, body: RunBody[T], *args: Any) -> T:
        conn = self._writer
        assert conn is not None, "database is not open"
        raw = conn._conn
        fd = self._lock_fd
        assert fd is not None  # set by open() with the writer

        def work() -> T:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                raw.execute("BEGIN IMMEDIATE")
                try:
                    result = _drive_sync(body(*args), raw)
                    raw.execute("COMMIT")
                    return result
                except BaseException:
                    if raw.in_transaction:
                        raw.execute("ROLLBACK")
                    raise
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

        # Queue the work under the lock (so it cannot land between the hops of a transaction()),
        # then wait for it outside: many run() calls queue on the thread back to back.
        async with self._write_lock:
            future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
            conn._tx.put_nowait((future, work))  # what aiosqlite's _execute does, minus the wait
        try:
            return await future
        except sqlite3.IntegrityError as exc:
            raise IntegrityViolation(str(exc)) from None
        except sqlite3.OperationalError as exc:
            raise _sqlite_error(exc) from exc

    async def table_names(self) -> set[str]:
        rows = await self.fetch("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        return {r[0] for r in rows}

    async def close(self) -> None:
        for conn in [self._writer, *self._readers]:
            if conn is not None:
                await conn.close()
        self._writer = None
        self._readers = []
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _drive_sync(gen: Generator[Fetch, Any, T], raw: sqlite3.Connection) -> T:
    """Run a ``run`` body's statements on a sqlite3 connection (on its thread)."""
    try:
        request = next(gen)
        while True:
            sql, params = request
            result: Any
            try:
                if type(request) is ExecMany:
                    raw.executemany(sql, params)
                    result = None
                else:
                    cursor = raw.execute(sql, params)
                    if type(request) is Fetch:
                        result = cursor.fetchall()
                    elif type(request) is FetchRow:
                        result = cursor.fetchone()
                    else:
                        result = cursor.rowcount
            except sqlite3.IntegrityError as exc:
                request = gen.throw(IntegrityViolation(str(exc)))
                continue
            request = gen.send(result)
    except StopIteration as stop:
        value: T = stop.value
        return value


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

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            rows: list[Row] = await self._conn.fetch(to_dollar_params(sql), *params)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityViolation(str(exc)) from None
        return rows

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            status = await self._conn.execute(to_dollar_params(sql), *params)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityViolation(str(exc)) from None
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            await self._conn.executemany(to_dollar_params(sql), list(rows))
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityViolation(str(exc)) from None


class PostgresDatabase(Database):
    dialect = POSTGRESQL

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.url = dsn
        self._dsn = dsn
        self._min = min_size
        self._max = max_size
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> PostgresDatabase:
        self._pool = await asyncpg.create_pool(self._dsn, min_size=self._min, max_size=self._max)
        return self

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        assert self._pool is not None, "database is not open"
        rows: list[Row] = await self._pool.fetch(to_dollar_params(sql), *params)
        return rows

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        assert self._pool is not None, "database is not open"
        async with self._pool.acquire() as conn, conn.transaction():
            yield _PgTx(conn)

    async def run(self, body: RunBody[T], *args: Any) -> T:
        assert self._pool is not None, "database is not open"
        gen = body(*args)
        async with self._pool.acquire() as conn, conn.transaction():
            tx = _PgTx(conn)
            try:
                request = next(gen)
                while True:
                    sql, params = request
                    result: Any
                    try:
                        if type(request) is ExecMany:
                            await tx.executemany(sql, params)
                            result = None
                        elif type(request) is Fetch:
                            result = await tx.fetch(sql, params)
                        elif type(request) is FetchRow:
                            result = await tx.fetchrow(sql, params)
                        else:
                            result = await tx.execute(sql, params)
                    except IntegrityViolation as exc:
                        request = gen.throw(exc)
                        continue
                    request = gen.send(result)
            except StopIteration as stop:
                value: T = stop.value
                return value

    async def table_names(self) -> set[str]:
        rows = await self.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return {r[0] for r in rows}

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
