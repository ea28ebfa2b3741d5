"""Which requests may read from the replica: the route tables' marks, the client's position,
and the middleware on a bare app over a ReplicatedDatabase of two SQLite files (each names
itself; the WAL-position cookie needs PostgreSQL: tests/serving/test_nodes.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from aiotrack.http import keys
from aiotrack.http.app import API_MODULES
from aiotrack.http.middleware.read_routing import (
    COOKIE,
    client_position,
    read_only_routes,
    read_routing_middleware,
)
from aiotrack.http.routing import Routes
from aiotrack.stores.sql.database import SqliteDatabase
from aiotrack.stores.sql.replica import ReplicatedDatabase

ALL_ROUTES = [r for module in API_MODULES for r in module.routes.routes]


@pytest.mark.parametrize(
    "value,expected",
    [("123", 123), ("0", 0), (None, None), ("", None), ("-1", None), ("1e9", None), ("9" * 21, None), ("0/16B", None)],
)
def test_client_position(value, expected) -> None:
    assert client_position(value) == expected


def test_every_get_and_only_the_searching_posts_are_read_only() -> None:
    marked = read_only_routes(ALL_ROUTES, "")
    assert ("GET", "/api/2.0/mlflow/runs/get") in marked and ("GET", "/ajax-api/2.0/mlflow/runs/get") in marked
    assert ("POST", "/api/2.0/mlflow/runs/create") not in marked
    posts = {path.removeprefix("/api/") for method, path in marked if method == "POST" and path.startswith("/api/")}
    assert posts == {
        "2.0/mlflow/runs/search",
        "2.0/mlflow/experiments/search",
        "2.0/mlflow/experiments/search-datasets",
        "2.0/mlflow/logged-models/search",
        "2.0/mlflow/registered-models/get-latest-versions",
        "3.0/mlflow/traces/search",
        "3.0/mlflow/traces/batchGetInfos",
        "3.0/mlflow/traces/calculate-filter-correlation",
        "3.0/mlflow/traces/metrics",
        "2.0/aiotrack/metrics/grouped",
        "2.0/aiotrack/runs/table",
    }
    assert not {m for m, _ in marked} - {"GET", "POST"}  # no PUT, PATCH or DELETE
    assert ("POST", "/mlf/api/2.0/mlflow/runs/search") in read_only_routes(ALL_ROUTES, "/mlf")


async def _named(path: Path, name: str) -> SqliteDatabase:
    db = await SqliteDatabase(str(path)).open()
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE whoami (name TEXT)")
        await tx.execute("INSERT INTO whoami VALUES (?)", (name,))
    return db


async def test_the_middleware_routes_by_the_marks(tmp_path: Path, aiohttp_client) -> None:
    db = ReplicatedDatabase(await _named(tmp_path / "p.db", "primary"), await _named(tmp_path / "r.db", "replica"))
    routes = Routes()

    async def where(request: web.Request) -> web.Response:
        row = await db.fetchrow("SELECT name FROM whoami")
        assert row is not None
        return web.Response(text=str(row[0]))

    routes.get("2.0/mlflow/thing/get")(where)
    routes.post("2.0/mlflow/thing/search", read_only=True)(where)
    routes.post("2.0/mlflow/thing/create")(where)
    app = web.Application(
        middlewares=[read_routing_middleware(keys.READ_REPLICA, read_only_routes(routes.routes, ""), "/")]
    )
    routes.register(app, "")
    client = await aiohttp_client(app)
    try:
        for method, path, expected in (
            ("GET", "/api/2.0/mlflow/thing/get", "replica"),
            ("POST", "/ajax-api/2.0/mlflow/thing/search", "replica"),
            ("POST", "/api/2.0/mlflow/thing/create", "primary"),
        ):
            response = await client.request(method, path, cookies={COOKIE: "junk"})
            assert (response.status, await response.text()) == (200, expected), (method, path)
            assert COOKIE not in response.cookies  # nothing was written
        assert (await client.get("/api/2.0/mlflow/nothing")).status == 404
    finally:
        await db.close()
