"""A route table per API area, and the one list of REST prefixes.

MLflow serves every REST path twice, under ``/api/`` and ``/ajax-api/`` (after the server's
``--static-prefix``). :data:`API_PREFIXES` is the only spelling of that list: the route tables
register under it and the middlewares ask :func:`api_subpath` whether a request is a REST call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)

API_PREFIXES = ("/api/", "/ajax-api/")


def api_subpath(path: str, prefix: str) -> str | None:
    """The part of ``path`` after ``<prefix>/api/`` or ``<prefix>/ajax-api/`` (e.g.
    ``2.0/mlflow/runs/get``), or None when ``path`` is not under a REST prefix."""
    for marker in API_PREFIXES:
        start = prefix + marker
        if path.startswith(start):
            return path[len(start) :]
    return None


def is_api_path(path: str, prefix: str) -> bool:
    return api_subpath(path, prefix) is not None


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # for api routes: after /api/ (e.g. "2.0/mlflow/runs/get"); else the full path
    handler: Handler
    api: bool  # served under every API prefix
    # Only reads the stores: with a read replica its reads may go there (every GET, and the POST
    # searches marked ``read_only=True``; see http/middleware/read_routing.py).
    read_only: bool = False

    def paths(self, prefix: str) -> list[str]:
        """The URL paths this route is served at, behind the server's static prefix."""
        if not self.api:
            return [prefix + self.path]
        return [f"{prefix}{marker}{self.path}" for marker in API_PREFIXES]


class Routes:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def _add(self, method: str, path: str, api: bool, read_only: bool = False) -> Callable[[H], H]:
        def register(handler: H) -> H:
            self.routes.append(Route(method, path, handler, api, read_only))
            return handler

        return register

    def get(self, path: str, *, api: bool = True) -> Callable[[H], H]:
        return self._add("GET", path, api, read_only=True)

    def post(self, path: str, *, api: bool = True, read_only: bool = False) -> Callable[[H], H]:
        """``read_only=True``: a POST that only reads (a search whose filter is a body)."""
        return self._add("POST", path, api, read_only)

    def put(self, path: str, *, api: bool = True) -> Callable[[H], H]:
        return self._add("PUT", path, api)

    def patch(self, path: str, *, api: bool = True) -> Callable[[H], H]:
        return self._add("PATCH", path, api)

    def delete(self, path: str, *, api: bool = True) -> Callable[[H], H]:
        return self._add("DELETE", path, api)

    def register(self, app: web.Application, prefix: str) -> None:
        for r in self.routes:
            for path in r.paths(prefix):
                app.router.add_route(r.method, path, r.handler)
