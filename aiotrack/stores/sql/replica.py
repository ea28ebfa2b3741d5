"""Reads on a PostgreSQL read replica, writes on the primary (``--read-replica-backend-store-uri``).

:class:`ReplicatedDatabase` is a :class:`Database` over two pools, the primary's and the
replica's. Every write (``run``, ``transaction``) goes to the primary. A read (``fetch``) goes to
the replica only when the request it serves has said it may, through :func:`request_routing`,
which the HTTP layer enters around each request (http/middleware/read_routing.py, from the route
tables' read-only marks). Outside such a scope (start-up, migrations, background work) every
read is the primary's, so the default is the safe one.

Read-after-write, the three cases:

- *Within one request*: once the request has written, its later reads go to the primary.
- *Across requests of one client*: the HTTP layer gives a client that wrote the primary's WAL
  position after its write (:meth:`ReplicatedDatabase.write_position`; a cookie, which the mlflow
  client's HTTP session keeps), and hands it back as ``after``; a read then goes to the replica
  only once the replica has replayed past that position (one query, remembered per process
  since replay only moves forward), else to the primary.
- *Across clients*: a client that never wrote may see the replica's lag (normally
  milliseconds), as with any replica.

The replica unreachable, refusing connections, out of connections or cancelling a query for a
recovery conflict: the read is retried on the primary at once, and the replica is left alone for
:data:`REPLICA_RETRY_AFTER` seconds (every read goes to the primary meanwhile), so an outage
costs one bounded failure (``--db-connect-timeout`` at most) per process per period, never an
error to the client.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import asyncpg

from aiotrack.config import Settings, hide_password
from aiotrack.errors import TEMPORARILY_UNAVAILABLE, AiotrackError, ConfigError
from aiotrack.stores.sql.connect import open_database, open_when_ready
from aiotrack.stores.sql.database import Database, Row, RunBody, T, Tx
from aiotrack.stores.sql.uri import parse_store_uri

log = logging.getLogger(__name__)

# Seconds the replica is left alone after it failed a read.
REPLICA_RETRY_AFTER = 5.0


@dataclass
class Routing:
    """What one request lets its reads do."""

    read_only: bool  # the route only reads: its reads may go to the replica
    after: int | None = None  # the client's last write position: the replica must have replayed it
    wrote: bool = False  # set by the first write; later reads go to the primary
    replica_reads: int = 0  # reads the replica served (for the logs and the tests)


_ROUTING: ContextVar[Routing | None] = ContextVar("aiotrack_read_routing", default=None)


@contextlib.contextmanager
def request_routing(read_only: bool, after: int | None = None) -> Iterator[Routing]:
    """The scope of one request: its reads may use the replica when ``read_only``."""
    routing = Routing(read_only, after)
    token = _ROUTING.set(routing)
    try:
        yield routing
    finally:
        _ROUTING.reset(token)


def replica_uri(settings: Settings) -> str | None:
    """The replica's URI when one applies, checked: None without one (or when it names the
    primary itself, as MLflow does, with a warning); a ConfigError for what cannot work."""
    uri = settings.read_replica_backend_store_uri
    if not uri:
        return None
    if uri == settings.backend_store_uri:
        log.warning(
            "--read-replica-backend-store-uri names the backend store itself; reads are not routed "
            "to a replica (this is likely a configuration mistake)"
        )
        return None
    replica, primary = parse_store_uri(uri), parse_store_uri(settings.backend_store_uri)
    if replica.kind != "postgresql" or primary.kind != "postgresql":
        raise ConfigError(
            "--read-replica-backend-store-uri needs PostgreSQL for both the backend store and the replica "
            f"(got backend {hide_password(settings.backend_store_uri)}, replica {hide_password(uri)}); "
            "a SQLite file has no replicas."
        )
    return uri


# The replica has replayed the primary's WAL up to ? (true on a server that is not in recovery:
# a "replica" that is a primary of its own is always current).
_REPLAYED_SQL = (
    "SELECT CASE WHEN pg_is_in_recovery() THEN COALESCE(pg_last_wal_replay_lsn() >= ?::pg_lsn, false) ELSE true END"
)
_POSITION_SQL = "SELECT pg_current_wal_lsn()"  # asyncpg decodes pg_lsn as an int


class ReplicatedDatabase(Database):
    """The primary for writes (and for reads outside a read-only request), the replica for the
    reads of read-only requests; see the module docstring."""

    def __init__(self, primary: Database, replica: Database, *, retry_after: float = REPLICA_RETRY_AFTER):
        self.primary = primary
        self.replica = replica
        self.dialect = primary.dialect
        self.url = primary.url
        self.options = primary.options
        self._retry_after = retry_after
        self._down_until = 0.0
        self._replayed = 0  # the highest WAL position the replica was seen to have replayed

    # ------------------------------------------------------------------ routing

    def _replica_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _mark_down(self, exc: BaseException) -> None:
        self._down_until = time.monotonic() + self._retry_after
        log.warning(
            "The read replica failed a read (%s); reading from the primary for %g s",
            exc.message if isinstance(exc, AiotrackError) else type(exc).__name__,
            self._retry_after,
        )

    async def _caught_up(self, position: int) -> bool:
        if position <= self._replayed:
            return True
        row = await self.replica.fetchrow(_REPLAYED_SQL, (position,))
        if row is not None and row[0]:
            self._replayed = max(self._replayed, position)
            return True
        return False

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        routing = _ROUTING.get()
        if routing is None or not routing.read_only or routing.wrote or self._replica_down():
            return await self.primary.fetch(sql, params)
        try:
            if routing.after is not None and not await self._caught_up(routing.after):
                routing.read_only = False  # this request reads the primary from here on
                return await self.primary.fetch(sql, params)
            rows = await self.replica.fetch(sql, params)
        except AiotrackError as exc:
            if exc.error_code != TEMPORARILY_UNAVAILABLE:
                raise
            self._mark_down(exc)
        except asyncpg.SerializationError:  # cancelled for a conflict with recovery
            log.info("The read replica cancelled a read for a recovery conflict; reading from the primary")
        else:
            routing.replica_reads += 1
            return rows
        return await self.primary.fetch(sql, params)

    def _writing(self) -> None:
        routing = _ROUTING.get()
        if routing is not None:
            routing.wrote = True

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        self._writing()
        async with self.primary.transaction() as tx:
            yield tx

    async def run(self, body: RunBody[T], *args: Any) -> T:
        self._writing()
        return await self.primary.run(body, *args)

    async def write_position(self) -> int:
        """The primary's current WAL position: a replica that has replayed it shows every write
        committed so far."""
        row = await self.primary.fetchrow(_POSITION_SQL)
        assert row is not None
        return int(row[0])

    async def close(self) -> None:
        try:
            await self.replica.close()
        finally:
            await self.primary.close()


async def open_backend_store(
    settings: Settings, check: Callable[[Database], Awaitable[None]] | None = None
) -> Database:
    """The backend store as a server worker opens it: the primary, waited for at start and
    checked (the schema); with a replica configured, a :class:`ReplicatedDatabase` over both.
    The replica's pool connects on demand, so a replica that is down at start delays nothing
    (reads use the primary until it answers)."""
    primary = await open_when_ready(settings.backend_store_uri, settings, check)
    uri = replica_uri(settings)
    if uri is None:
        return primary
    try:
        replica = await open_database(uri, settings)
    except BaseException:
        await primary.close()
        raise
    return ReplicatedDatabase(primary, replica)
