"""Async database handles: the one place that knows the drivers (sqlite3, asyncpg).

A :class:`Database` offers reads (``fetch``/``fetchrow``) that may run concurrently, and two ways
to write. SQL is written once with ``?`` placeholders (see dialect.py).

- ``run(body, *args)``: the body is a generator that yields statements (``Fetch``, ``FetchRow``,
  ``Execute``, ``ExecMany``) and receives their results; its return value is the result. One
  driver loop (:func:`drive`) runs it on both engines: on SQLite the whole transaction (flock,
  BEGIN, every statement, COMMIT) runs on the writer's thread in one round trip, so the database
  lock is held only while SQL runs, never while the event loop is busy with other requests; on
  PostgreSQL the same loop awaits each statement on one pooled connection. The hot writes use it.
  Group commit: ``run`` calls that arrive while the writer is busy (SQLite's writer thread; on
  PostgreSQL, the ``PG_GROUPS_IN_FLIGHT`` write transactions a process runs at once) gather and
  then share one transaction (each body in a savepoint of its own, so one caller's failure undoes only its own
  statements); every caller is answered after the COMMIT that holds its writes, so nothing
  acknowledged is lost, and N concurrent small writes cost one commit and one lock hand-over
  between processes instead of N.
- ``transaction()``: an async context with a ``Tx`` whose statements are awaited one by one (fewer
  thread round trips than statements, see ``Tx``); simpler to write, for the rest.

Concurrency, in one place:
- SQLite: one writer connection per process on a thread of our own (sqlite_thread.py), running
  one transaction at a time. Across worker processes writers queue on an flock of ``<db>.lock``,
  taken and released on that thread (the kernel wakes the next writer the moment the lock is
  free, where SQLite's own busy handler sleeps and polls), and transactions begin ``IMMEDIATE``
  so one never fails on a lock upgrade. WAL lets readers on their own connections and threads run
  beside the writer.
- PostgreSQL: an asyncpg pool of ``pool_size`` connections per process; each transaction holds one.

Bounded, always (the ``db_*`` settings, :class:`DatabaseOptions`): every query has a time budget
(PostgreSQL's ``statement_timeout``; on SQLite a progress handler), a database that stops
answering is given the budget plus a margin, a new connection ``connect_timeout``, a wait for a
pooled one ``pool_timeout``. Every failure of the database itself becomes MLflow's 503
TEMPORARILY_UNAVAILABLE (messages from aiotrack/errors.py, naming no host, port or driver); a
statement the engine finds too complex, a 400. Broken PostgreSQL connections are replaced by the
pool on the next request, so service resumes by itself when the database is back. A cancelled
caller (aiohttp cancels a handler whose client went away) cancels its query: asyncpg sends
PostgreSQL a cancel request, and a SQLite job is skipped or interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import itertools
import logging
import os
import random
import re
import sqlite3
import threading
import time
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast

import asyncpg

from aiotrack import errors
from aiotrack.config import Settings
from aiotrack.errors import IntegrityViolation
from aiotrack.stores.sql.dialect import POSTGRESQL, SQLITE, Dialect
from aiotrack.stores.sql.sqlite_thread import BudgetExceeded, ConnectionGone, Job, SqliteThread

log = logging.getLogger(__name__)

Row = Sequence[Any]


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class DatabaseOptions:
    """The ``db_*`` settings of one store (a URI's query parameters win over the options)."""

    pool_size: int
    connect_timeout: float
    pool_timeout: float
    query_timeout: float
    # PostgreSQL behind a transaction-pooling proxy (PgBouncer): no prepared-statement cache, and
    # the query budget set per transaction (SET LOCAL) instead of per session.
    transaction_pooler: bool = False

    # A database that has not answered a statement this long after its own budget ran out is
    # taken for gone (it stopped answering without closing the connection).
    ANSWER_MARGIN = 2.0

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, uri_options: dict[str, float] | None = None
    ) -> DatabaseOptions:
        s = settings or Settings()
        options = cls(
            pool_size=s.db_pool_size,
            connect_timeout=s.db_connect_timeout,
            pool_timeout=s.db_pool_timeout,
            query_timeout=s.db_query_timeout,
            transaction_pooler=s.db_transaction_pooler,
        )
        if uri_options:
            given = dict(uri_options)
            options = replace(
                options,
                pool_size=int(given.pop("pool_size", options.pool_size)),
                connect_timeout=given.pop("connect_timeout", options.connect_timeout),
                pool_timeout=given.pop("pool_timeout", options.pool_timeout),
                query_timeout=given.pop("query_timeout", options.query_timeout),
                transaction_pooler=bool(given.pop("transaction_pooler", options.transaction_pooler)),
            )
            assert not given, f"unknown database options {given}"
        return options

    @property
    def answer_timeout(self) -> float:
        return self.query_timeout + self.ANSWER_MARGIN


# The setting each bound is configured by, for the messages that name it.
_QUERY_BUDGET = "--db-query-timeout"


# --------------------------------------------------------------------------- statements


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


Body = Generator[Fetch, Any, Any]
T = TypeVar("T")
# A ``run`` body: a generator function that yields statements, receives their results, returns T.
RunBody = Callable[..., Generator[Fetch, Any, T]]


_COROUTINE = types.CoroutineType


@types.coroutine
def drive(body: Body, execute: Callable[[Fetch], Any]) -> Generator[Any, Any, Any]:
    """The one driver loop of the statement protocol, for both engines.

    ``execute(statement)`` returns the statement's result (SQLite, on the writer's thread) or a
    coroutine producing it (PostgreSQL), and raises ``IntegrityViolation`` for a broken
    constraint, which is thrown into the body (it may catch it and go on). Awaited, this is a
    coroutine; on SQLite :func:`_complete` runs it to its end without an event loop, since
    nothing in it ever waits.
    """
    try:
        request = next(body)
        while True:
            try:
                result = execute(request)
                if type(result) is _COROUTINE:
                    result = yield from cast(Generator[Any, Any, Any], result)
            except IntegrityViolation as exc:
                request = body.throw(exc)
                continue
            request = body.send(result)
    except StopIteration as stop:
        return stop.value


def _complete(coroutine: Generator[Any, Any, Any]) -> Any:
    """Run a :func:`drive` whose statements never wait (SQLite's) to its end."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    coroutine.close()
    raise RuntimeError("a SQLite transaction body tried to wait for something")


# --------------------------------------------------------------------------- the interfaces


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

    async def copy_rows(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """Insert many rows now (not deferred), the fastest way the engine has: COPY on
        PostgreSQL, one executemany on SQLite's thread. For bulk loads (``aiotrack import``):
        there is no ON CONFLICT, so a duplicate key fails the transaction."""
        raise NotImplementedError


class Database:
    dialect: Dialect
    url: str
    options: DatabaseOptions

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
        rows = await self.fetch(self.dialect.table_names_sql)
        return {r[0] for r in rows}

    async def close(self) -> None:
        raise NotImplementedError


# --------------------------------------------------------------------------- SQLite

# Errors SQLite raises for a statement beyond its compile-time limits: the request was too big.
_SQLITE_TOO_COMPLEX = (
    "expression tree is too large",
    "too many sql variables",
    "parser stack overflow",
    "too many terms in compound select",
    "at most 64 tables in a join",
    "too many columns",
    "string or blob too big",
)


def _sqlite_error(exc: BaseException, budget: float) -> BaseException:
    """The neutral error for a sqlite3 (or connection-thread) error; others pass unchanged."""
    if isinstance(exc, sqlite3.IntegrityError):
        return IntegrityViolation(str(exc))
    if isinstance(exc, BudgetExceeded):
        return errors.query_budget_exceeded(budget, _QUERY_BUDGET)
    if isinstance(exc, ConnectionGone):
        return errors.database_unavailable("the database connection is closed")
    if not isinstance(exc, sqlite3.OperationalError | sqlite3.DataError):
        return exc
    text = str(exc).lower()
    if any(marker in text for marker in _SQLITE_TOO_COMPLEX):
        return errors.query_too_complex()
    if "locked" in text or "busy" in text:
        return errors.database_unavailable(f"the database file stayed locked for {budget:g} s")
    if "disk is full" in text:
        return errors.database_unavailable("the database's disk is full; nothing of this request was written")
    if "disk i/o error" in text or "unable to open" in text or "readonly" in text:
        return errors.database_unavailable("the database file cannot be read or written")
    if "interrupted" in text:  # stopped by someone else's sqlite3_interrupt (never our budget)
        return errors.database_unavailable("the query was interrupted")
    return exc


def _sqlite_statement(raw: sqlite3.Connection, request: Fetch) -> Any:
    """Execute one statement of a ``run`` body on the writer's thread."""
    sql, params = request
    kind = type(request)
    try:
        if kind is ExecMany:
            raw.executemany(sql, params)
            return None
        cursor = raw.execute(sql, params)
        if kind is Fetch:
            return cursor.fetchall()
        if kind is FetchRow:
            return cursor.fetchone()
        return cursor.rowcount
    except sqlite3.IntegrityError as exc:
        raise IntegrityViolation(str(exc)) from None


def _rollback(raw: sqlite3.Connection) -> None:
    """Roll back if a transaction is open, never masking the error that led here."""
    try:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
    except sqlite3.Error:
        log.warning("ROLLBACK failed on %s; the connection's next BEGIN will tell", raw, exc_info=True)


def _configure(busy_ms: int) -> Callable[[sqlite3.Connection], None]:
    def setup(conn: sqlite3.Connection) -> None:
        for pragma in (
            # Only a backstop against other programs touching the file: aiotrack's own writers
            # queue on the flock, and WAL readers never wait.
            f"PRAGMA busy_timeout = {busy_ms}",
            "PRAGMA case_sensitive_like = ON",
            "PRAGMA foreign_keys = ON",
            # FULL: the WAL is synced at every COMMIT, so an acknowledged write survives a power
            # loss too, not only a crashed process (NORMAL's promise). Group commit (run) pays
            # that one fsync for every caller of a group.
            "PRAGMA synchronous = FULL",
        ):
            conn.execute(pragma).fetchall()

    return setup


def _fetchall(sql: str, params: Sequence[Any], conn: sqlite3.Connection) -> list[Any]:
    return conn.execute(sql, params).fetchall()


class _SqliteTx(Tx):
    """Runs on the writer's thread in batches: each ``_hop`` is one thread round trip carrying
    every deferred statement plus the statement whose answer is awaited."""

    __slots__ = ("_begun", "_db", "_lock_fd", "_pending", "_writer")

    def __init__(self, db: SqliteDatabase, writer: SqliteThread, lock_fd: int):
        self._db = db
        self._writer = writer
        self._lock_fd = lock_fd
        self._begun = False
        self._pending: list[tuple[str, Any, bool]] = []

    async def _hop(self, final: Callable[[sqlite3.Connection], Any] | None) -> Any:
        pending, self._pending = self._pending, []
        begin = not self._begun
        self._begun = True
        writer, fd = self._writer, self._lock_fd

        def work(raw: sqlite3.Connection) -> Any:
            if begin:
                fcntl.flock(fd, fcntl.LOCK_EX)
                writer.restart_budget()  # the wait for other processes' writes is not this query's
                try:
                    raw.execute("BEGIN IMMEDIATE")
                except BaseException:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    raise
            for sql, params, many in pending:
                if many:
                    raw.executemany(sql, params)
                else:
                    raw.execute(sql, params)
            return final(raw) if final is not None else None

        try:
            return await writer.call(work)
        except (sqlite3.Error, BudgetExceeded, ConnectionGone) as exc:
            raise self._db.neutral(exc) from None

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return cast(list[Row], await self._hop(functools.partial(_fetchall, sql, params)))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return cast(int, await self._hop(lambda raw: raw.execute(sql, params).rowcount))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._pending.append((sql, list(rows), True))

    async def copy_rows(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        await self._hop(lambda raw: raw.executemany(sql, rows).rowcount)

    async def commit(self) -> None:
        if not self._begun and not self._pending:
            return  # nothing was read or written: no transaction was ever begun
        fd = self._lock_fd

        def finish(raw: sqlite3.Connection) -> None:
            try:
                raw.execute("COMMIT")
            except BaseException:
                _rollback(raw)
                raise
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

        await self._hop(finish)

    async def rollback(self) -> None:
        self._pending = []
        if not self._begun:
            return
        fd = self._lock_fd

        def work(raw: sqlite3.Connection) -> None:
            try:
                _rollback(raw)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

        with contextlib.suppress(ConnectionGone):  # a closed connection rolled back by itself
            await self._writer.call(work)


# Group commit: at most this many callers' bodies share one transaction (bounds how long one
# group holds the database's write lock against the other worker processes).
MAX_GROUP = 64


class _GroupEntry:
    """One ``run`` call in a group: its body, and its outcome (a value or an exception)."""

    __slots__ = ("args", "body", "cancelled", "ok", "task", "value")

    def __init__(self, body: RunBody[Any], args: tuple[Any, ...]) -> None:
        self.body = body
        self.args = args
        self.cancelled = False
        self.ok = False
        self.value: Any = None
        self.task: asyncio.Future[Any] | None = None  # PostgreSQL: the body while it runs


class _Group:
    __slots__ = ("closed", "entries", "job")

    def __init__(self) -> None:
        self.entries: list[_GroupEntry] = []
        self.closed = False  # set on the writer's thread once it holds the writers' flock
        self.job: Job[None] | None = None


class SqliteDatabase(Database):
    dialect = SQLITE

    def __init__(self, path: str, *, readers: int = 2, options: DatabaseOptions | None = None):
        self.path = path
        self.url = f"sqlite:///{path}"
        self.options = options or DatabaseOptions.from_settings()
        self._n_readers = readers
        self._writer: SqliteThread | None = None
        self._readers: list[SqliteThread] = []
        self._next_reader = itertools.cycle(range(readers))
        self._write_lock = asyncio.Lock()
        self._lock_fd: int | None = None
        # Group commit: run() calls that arrive while the writer is busy gather in one group,
        # run in one transaction when the writer gets to it (see _run_group).
        self._group_lock = threading.Lock()
        self._gathering: _Group | None = None

    def neutral(self, exc: BaseException) -> BaseException:
        return _sqlite_error(exc, self.options.query_timeout)

    def _thread(self, name: str) -> SqliteThread:
        budget = self.options.query_timeout
        return SqliteThread(self.path, name=name, budget=budget, setup=_configure(int(budget * 1000)))

    async def open(self) -> SqliteDatabase:
        try:
            self._lock_fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
            self._writer = await self._thread("aiotrack-sqlite-writer").start()
            # WAL is a property of the database file; setting it needs no other writer mid-way.
            async with self._write_lock:
                await self._writer.call(lambda c: c.execute("PRAGMA journal_mode = WAL").fetchall())
            for i in range(self._n_readers):
                self._readers.append(await self._thread(f"aiotrack-sqlite-reader-{i}").start())
        except BaseException as exc:
            await self.close()
            if isinstance(exc, OSError):  # a path that cannot hold a database: no use retrying
                raise errors.ConfigError(f"Cannot open the SQLite database {self.path}: {exc.strerror}.") from None
            mapped = self.neutral(exc)
            if mapped is exc:
                raise
            raise mapped from exc
        return self

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        if not self._readers:
            raise errors.database_unavailable("the database is not open")
        reader = self._readers[next(self._next_reader)]
        try:
            return await reader.call(functools.partial(_fetchall, sql, params))
        except (sqlite3.Error, BudgetExceeded, ConnectionGone) as exc:
            raise self.neutral(exc) from None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        writer, fd = self._writer, self._lock_fd
        if writer is None or fd is None:
            raise errors.database_unavailable("the database is not open")
        # The lock keeps run() from queueing work on the thread between this transaction's hops.
        async with self._write_lock:
            tx = _SqliteTx(self, writer, fd)
            try:
                yield tx
                await tx.commit()
            except BaseException:
                await asyncio.shield(tx.rollback())
                raise

    async def run(self, body: RunBody[T], *args: Any) -> T:
        writer, fd = self._writer, self._lock_fd
        if writer is None or fd is None:
            raise errors.database_unavailable("the database is not open")
        entry = _GroupEntry(body, args)
        try:
            # Join the group that is gathering, or queue a new one. Under the lock, so that a
            # group never lands on the thread between the hops of a transaction().
            async with self._write_lock:
                with self._group_lock:
                    group = self._gathering
                    if group is None or group.closed or len(group.entries) >= MAX_GROUP:
                        group = self._gathering = _Group()
                        fresh = True
                    else:
                        fresh = False
                    group.entries.append(entry)
                if fresh:
                    group.job = writer.submit(functools.partial(self._run_group, group, writer, fd))
        except ConnectionGone as exc:
            raise self.neutral(exc) from None
        job = group.job
        assert job is not None
        try:
            await asyncio.shield(job.future)
        except asyncio.CancelledError:
            writer.cancel_part(entry)  # skipped if not begun, interrupted if running
            raise
        except (sqlite3.Error, BudgetExceeded, ConnectionGone) as exc:  # the group as a whole failed
            raise self.neutral(exc) from None
        if entry.ok:
            return cast(T, entry.value)
        failure = cast(BaseException, entry.value)
        raise self.neutral(failure) from None

    def _run_group(self, group: _Group, writer: SqliteThread, fd: int, raw: sqlite3.Connection) -> None:
        """On the writer's thread: every entry of ``group`` in one transaction, each inside a
        savepoint, so that one caller's failure undoes only its own statements; one COMMIT.

        The group is closed only once this process holds the writers' flock: callers that
        arrive while another process commits still join it, so each turn at the lock commits
        every write then waiting in this process (create_run at c16 on 4 workers: 1.18x the
        requests a second, median of 5 alternating pairs, each pair won)."""
        execute = functools.partial(_sqlite_statement, raw)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            with self._group_lock:
                group.closed = True  # later callers gather in the next group
                if self._gathering is group:
                    self._gathering = None  # nor keep its bodies' arguments alive once it ran
                entries = list(group.entries)
            todo = [e for e in entries if not e.cancelled]
            while todo:
                todo = self._group_transaction(todo, writer, raw, execute)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    @staticmethod
    def _group_transaction(
        entries: list[_GroupEntry],
        writer: SqliteThread,
        raw: sqlite3.Connection,
        execute: Callable[[Fetch], Any],
    ) -> list[_GroupEntry]:
        """One transaction over ``entries``; returns the entries to run again in a new one, which
        is needed when SQLite rolled the whole transaction back by itself (an interrupted or
        over-budget write does that): their work is gone, but nothing was answered yet."""
        writer.restart_budget()
        raw.execute("BEGIN IMMEDIATE")
        try:
            for index, entry in enumerate(entries):
                if entry.cancelled:
                    continue
                writer.enter_part(entry)
                raw.execute("SAVEPOINT aiotrack_group")
                try:
                    entry.value = _complete(drive(entry.body(*entry.args), execute))
                    entry.ok = True
                    raw.execute("RELEASE aiotrack_group")
                except BaseException as exc:
                    entry.ok = False
                    spent = writer.spent() and isinstance(exc, sqlite3.OperationalError)
                    entry.value = BudgetExceeded(str(exc)) if spent else exc
                    if not raw.in_transaction:  # SQLite ended the transaction: redo the others
                        return [e for e in entries[:index] + entries[index + 1 :] if not e.cancelled]
                    raw.execute("ROLLBACK TO aiotrack_group")
                    raw.execute("RELEASE aiotrack_group")
                finally:
                    writer.leave_part()
            raw.execute("COMMIT")
        except BaseException:
            _rollback(raw)
            raise
        return []

    async def close(self) -> None:
        threads = [t for t in (self._writer, *self._readers) if t is not None]
        self._writer = None
        self._readers = []
        for thread in threads:
            await thread.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


# --------------------------------------------------------------------------- PostgreSQL

_QMARK = re.compile(r"\?")


@functools.lru_cache(maxsize=4096)
def to_dollar_params(sql: str) -> str:
    """Rewrite ``?`` placeholders as ``$1, $2, ...``. Our SQL never has ``?`` in literals."""
    counter = itertools.count(1)
    return _QMARK.sub(lambda _m: f"${next(counter)}", sql)


# asyncpg raises asyncio's TimeoutError, a class of its own before Python 3.11.
_TIMEOUTS = (TimeoutError, asyncio.TimeoutError)

# The connection is gone or cannot be made: the database is down, restarting or unreachable.
_PG_GONE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable network
    asyncpg.PostgresConnectionError,  # 08xxx, connection lost mid-query included
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.exceptions.ConnectionFailureError,
)


def _pg_error(exc: BaseException, options: DatabaseOptions) -> BaseException:
    """The neutral error for an asyncpg (or socket) error; others pass unchanged."""
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return IntegrityViolation(str(exc))
    if isinstance(exc, asyncpg.QueryCanceledError):  # our statement_timeout fired
        return errors.query_budget_exceeded(options.query_timeout, _QUERY_BUDGET)
    if isinstance(exc, asyncpg.ProgramLimitExceededError):
        return errors.query_too_complex()
    if isinstance(exc, _TIMEOUTS):  # asyncpg's command timeout: the server stopped answering
        return errors.database_unavailable(f"the database did not answer within {options.answer_timeout:g} s")
    if isinstance(exc, _PG_RETRY_ALONE):  # still the victim after PG_LONE_ATTEMPTS runs
        return errors.database_unavailable(
            "the write kept meeting concurrent writes to the same rows (deadlock or serialization failure); "
            "nothing of it was written"
        )
    if isinstance(exc, asyncpg.DiskFullError):
        return errors.database_unavailable("the database's disk is full; nothing of this request was written")
    if isinstance(exc, asyncpg.ProtocolViolationError) and "unsupported startup parameter" in str(exc):
        return errors.ConfigError(  # PgBouncer refusing the session settings: no use retrying
            "The database is reached through a transaction-pooling proxy, which refuses session settings "
            f"({exc}): start the server with --db-transaction-pooler, or add transaction_pooler=true to the URI."
        )
    if isinstance(exc, _PG_GONE):
        return errors.database_unavailable("the database cannot be reached")
    if isinstance(exc, asyncpg.InterfaceError):
        text = str(exc)
        if "cannot exceed" in text:  # more bind parameters than the protocol carries
            return errors.query_too_complex()
        if "closed" in text or "connection" in text:
            return errors.database_unavailable("the connection to the database was lost")
    return exc


_PG_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, *_TIMEOUTS)


class _PgTx(Tx):
    __slots__ = ("_conn",)

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            return cast(list[Row], await self._conn.fetch(to_dollar_params(sql), *params))
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityViolation(str(exc)) from None

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

    async def copy_rows(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        try:
            await self._conn.copy_records_to_table(table, columns=list(columns), records=rows)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityViolation(str(exc)) from None

    def statement(self, request: Fetch) -> Any:
        """One statement of a ``run`` body (a coroutine for :func:`drive`)."""
        sql, params = request
        kind = type(request)
        if kind is ExecMany:
            return self.executemany(sql, params)
        if kind is Fetch:
            return self.fetch(sql, params)
        if kind is FetchRow:
            return self.fetchrow(sql, params)
        return self.execute(sql, params)


# Group commit on PostgreSQL (see run): write transactions of run() per process at once.
PG_GROUPS_IN_FLIGHT = 2

_PG_RETRY_ALONE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
# A lone entry that meets a deadlock or a serialization failure (PostgreSQL chose its transaction
# as the victim; nothing of it was written) runs again, up to this many times in all, after a
# short random pause so that the transactions it met do not meet again in step.
PG_LONE_ATTEMPTS = 6


class _Regroup(Exception):
    """A group met a deadlock or a serialization failure: run its entries one by one."""


class _Alone(Exception):
    """The one entry of a group failed (its outcome is set): roll its transaction back."""


class _PgGroup:
    __slots__ = ("closed", "done", "entries")

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.entries: list[_GroupEntry] = []
        self.closed = False  # set when the group starts: later callers gather in the next one
        self.done = done


def _cancelling() -> bool:
    """Whether the current task is being cancelled (Task.cancelling: Python 3.11 and newer)."""
    cancelling = getattr(asyncio.current_task(), "cancelling", None)
    return bool(cancelling and cancelling())


async def _drive_async(body: Body, statement: Callable[[Fetch], Any]) -> Any:
    return await drive(body, statement)


async def _pg_group_transaction(
    conn: asyncpg.Connection,
    entries: list[_GroupEntry],
    begun: Callable[[asyncpg.Connection], Awaitable[None]],
) -> None:
    """``entries`` in one transaction on ``conn``; each in a savepoint when there are several.
    Sets each entry's outcome; raises for what fails the transaction as a whole."""
    statement = _PgTx(conn).statement
    alone = len(entries) == 1
    async with conn.transaction():
        await begun(conn)  # behind a transaction pooler: the query budget, SET LOCAL
        for entry in entries:
            if entry.cancelled:
                continue
            if not alone:
                await conn.execute("SAVEPOINT aiotrack_group")
            entry.task = asyncio.ensure_future(_drive_async(entry.body(*entry.args), statement))
            try:
                entry.value = await entry.task
                entry.ok = True
            except (Exception, asyncio.CancelledError) as exc:
                if _cancelling():
                    raise  # this group's own task is cancelled (the loop is shutting down)
                if isinstance(exc, _PG_RETRY_ALONE) and not alone:
                    raise _Regroup from exc
                entry.ok, entry.value = False, exc
                if alone:
                    raise _Alone from exc
                await conn.execute("ROLLBACK TO SAVEPOINT aiotrack_group")
            finally:
                entry.task = None
            if not alone:
                await conn.execute("RELEASE SAVEPOINT aiotrack_group")


class PostgresDatabase(Database):
    dialect = POSTGRESQL

    def __init__(self, dsn: str, *, max_size: int | None = None, options: DatabaseOptions | None = None):
        self.url = dsn
        self._dsn = dsn
        options = options or DatabaseOptions.from_settings()
        if max_size is not None:
            options = replace(options, pool_size=max_size)
        self.options = options
        self._pool: asyncpg.Pool | None = None
        # Group commit: at most PG_GROUPS_IN_FLIGHT write transactions of run() at once per
        # process; calls that arrive while they are busy gather in the next group.
        self._group_slots = asyncio.Semaphore(min(PG_GROUPS_IN_FLIGHT, options.pool_size))
        self._gathering: _PgGroup | None = None
        self._group_tasks: set[asyncio.Task[None]] = set()

    async def open(self) -> PostgresDatabase:
        """Make the pool. It connects on demand, so this succeeds while the database is away;
        the first query tells (see connect.open_database for the wait at start)."""
        o = self.options
        # jit off: PostgreSQL's JIT compiles a query it estimates as costly before running it, which
        # for this server's short indexed queries costs more than it saves: a filtered top-100
        # search of 1,000,000 runs spent 86 ms of 186 ms compiling at 100,000 runs, and more
        # (inlining, optimisation) past its higher cost thresholds at 1,000,000.
        session: dict[str, Any] = {"server_settings": {"statement_timeout": self._budget_ms, "jit": "off"}}
        if o.transaction_pooler:
            # Each transaction may run on another server connection: a statement prepared on one
            # is unknown on the next, and the proxy refuses session parameters at connect.
            session = {"statement_cache_size": 0}
        self._pool = await asyncpg.create_pool(
            self._dsn,
            min_size=0,
            max_size=o.pool_size,
            timeout=o.connect_timeout,  # connecting, authentication included
            command_timeout=o.answer_timeout,  # a server that stopped answering (client side)
            **session,
        )
        return self

    @property
    def _budget_ms(self) -> str:
        return str(int(self.options.query_timeout * 1000))

    async def _begun(self, conn: asyncpg.Connection) -> None:
        """Behind a transaction pooler, the query budget of the transaction just begun."""
        if self.options.transaction_pooler:
            await conn.execute(f"SET LOCAL statement_timeout = {self._budget_ms}; SET LOCAL jit = off")

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        pool = self._pool
        if pool is None:
            raise errors.database_unavailable("the database is not open")
        started = time.monotonic()
        try:
            conn = await pool.acquire(timeout=self.options.pool_timeout)
        except _TIMEOUTS:
            o = self.options
            if time.monotonic() - started < o.pool_timeout:  # a new connection timed out first
                reason = f"a new connection to the database did not complete within {o.connect_timeout:g} s"
                raise errors.database_unavailable(f"{reason} (--db-connect-timeout)") from None
            raise errors.database_unavailable(
                f"no database connection was free or could be made within {o.pool_timeout:g} s (--db-pool-timeout)"
            ) from None
        except _PG_ERRORS as exc:
            raise _pg_error(exc, self.options) from None
        try:
            yield conn
        finally:
            try:
                await pool.release(conn)  # bounded by the acquire timeout; a broken one is dropped
            except _PG_ERRORS:
                log.debug("a broken PostgreSQL connection was dropped", exc_info=True)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            async with self._connection() as conn:
                if not self.options.transaction_pooler:
                    return cast(list[Row], await conn.fetch(to_dollar_params(sql), *params))
                async with conn.transaction():
                    await self._begun(conn)
                    return cast(list[Row], await conn.fetch(to_dollar_params(sql), *params))
        except _PG_ERRORS as exc:
            raise _pg_error(exc, self.options) from None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        try:
            async with self._connection() as conn, conn.transaction():
                await self._begun(conn)
                yield _PgTx(conn)
        except _PG_ERRORS as exc:
            raise _pg_error(exc, self.options) from None

    async def run(self, body: RunBody[T], *args: Any) -> T:
        entry = _GroupEntry(body, args)
        group = self._gathering
        if group is None or group.closed or len(group.entries) >= MAX_GROUP:
            loop = asyncio.get_running_loop()
            group = self._gathering = _PgGroup(loop.create_future())
            group.entries.append(entry)
            task = loop.create_task(self._run_group(group))
            self._group_tasks.add(task)
            task.add_done_callback(self._group_tasks.discard)
        else:
            group.entries.append(entry)
        try:
            await asyncio.shield(group.done)
        except asyncio.CancelledError:
            entry.cancelled = True  # skipped if not begun; its statement cancelled if running
            running = entry.task
            if running is not None:
                running.cancel()
            raise
        except _PG_ERRORS as exc:  # the group as a whole failed (its connection, its COMMIT)
            raise _pg_error(exc, self.options) from None
        if entry.ok:
            return cast(T, entry.value)
        failure = cast(BaseException, entry.value)
        if isinstance(failure, _PG_ERRORS):
            raise _pg_error(failure, self.options) from None
        raise failure

    async def _run_group(self, group: _PgGroup) -> None:
        """Run a group once one of the few write slots is free (calls arriving meanwhile join
        it): its entries in one transaction, each in a savepoint; on a deadlock or a
        serialization failure, each entry again in a transaction of its own."""
        try:
            async with self._group_slots:
                group.closed = True
                if self._gathering is group:
                    self._gathering = None
                entries = [e for e in group.entries if not e.cancelled]
                if entries:
                    try:
                        if len(entries) == 1:
                            await self._lone_transaction(entries[0])
                        else:
                            await self._group_transaction(entries)
                    except _Regroup:
                        for entry in entries:
                            await self._lone_transaction(entry)
            group.done.set_result(None)
        except BaseException as exc:
            group.done.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):  # the database is closing
                raise

    async def _lone_transaction(self, entry: _GroupEntry) -> None:
        for attempt in range(PG_LONE_ATTEMPTS):
            if entry.cancelled:
                return
            await self._group_transaction([entry])
            if entry.ok or not isinstance(entry.value, _PG_RETRY_ALONE):
                return
            if attempt + 1 < PG_LONE_ATTEMPTS:
                await asyncio.sleep(random.uniform(0.002, 0.01) * 2**attempt)

    async def _group_transaction(self, entries: list[_GroupEntry]) -> None:
        try:
            async with self._connection() as conn:
                await _pg_group_transaction(conn, entries, self._begun)
        except _Alone:
            pass  # a lone entry failed: its transaction is rolled back, its outcome set

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), self.options.pool_timeout)
            except _PG_ERRORS:
                pool.terminate()
