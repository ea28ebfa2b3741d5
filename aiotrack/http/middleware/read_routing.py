"""Which requests may read from the read replica (only with --read-replica-backend-store-uri).

The decision is per request and comes from the route tables: a route marked ``read_only``
(every GET, and the POST searches, see http/routing.py) runs in a read-only routing scope
(stores/sql/replica.py), anything else (every write, and everything unmarked) reads from the
primary. A request that wrote reads from the primary from then on.

Read-after-write across requests: a response to a request that wrote carries the cookie
:data:`COOKIE`, the primary's WAL position after the write; a later request sending it back
reads from the replica only once the replica has replayed that far. The mlflow client's HTTP
session keeps cookies, so a script that logs and then reads sees its own writes.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from aiotrack.errors import AiotrackError
from aiotrack.http.routing import Route
from aiotrack.stores.sql.replica import ReplicatedDatabase, request_routing

log = logging.getLogger(__name__)

COOKIE = "aiotrack-wal-position"
# Long enough for any replica lag worth reading past; a position only ever moves forward, so an
# old one costs nothing once the replica has replayed it.
COOKIE_MAX_AGE = 300


def read_only_routes(routes: Collection[Route], prefix: str) -> frozenset[tuple[str, str]]:
    """(method, URL path pattern) of every route that only reads, behind ``prefix``."""
    return frozenset((r.method, path) for r in routes if r.read_only for path in r.paths(prefix))


def client_position(value: str | None) -> int | None:
    """The WAL position a client handed back (None when absent or not a position)."""
    if value is None or not value.isdigit() or len(value) > 20:
        return None
    return int(value)


def is_read_only(request: web.Request, read_only: frozenset[tuple[str, str]]) -> bool:
    resource = request.match_info.route.resource
    if resource is None:
        return False
    return (request.method, resource.canonical) in read_only


def read_routing_middleware(
    database: web.AppKey[ReplicatedDatabase], read_only: frozenset[tuple[str, str]], cookie_path: str
) -> Middleware:
    """``database``: the key under which the app's cleanup context puts the replicated store."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        after = client_position(request.cookies.get(COOKIE))
        with request_routing(is_read_only(request, read_only), after) as routing:
            response = await handler(request)
        if routing.wrote and not response.prepared and database in request.app:
            try:
                position = await request.app[database].write_position()
            except AiotrackError as exc:  # the write is done: answer it, without the position
                log.warning("No read-after-write position for this response: %s", exc.message)
                return response
            response.set_cookie(
                COOKIE, str(position), max_age=COOKIE_MAX_AGE, path=cookie_path, httponly=True, samesite="Lax"
            )
        return response

    return middleware
