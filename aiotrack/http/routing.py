"""A route table per API area. MLflow serves every REST path twice, under /api/ and /ajax-api/."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # for api routes: after /api/ (e.g. "2.0/mlflow/runs/get"); else the full path
    handler: Handler
    api: bool  # served under both /api/ and /ajax-api/


class Routes:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def _add(self, method: str, path: str, api: bool) -> Callable[[H], H]:
        def register(handler: H) -> H:
            self.routes.append(Route(method, path, handler, api))
            return handler

        return register

    def get(self, path: str, *, api: bool = True) -> Callable[[H], H]:
        return self._add("GET", path, api)

    def post(self, path: str, *, api: bool = True) -> Callable[[H], H]:
        return self._add("POST", path, api)

    def put(self, path: str, *, api: bool = True) -> Callable[[H], H]:
        return self._add("PUT", path, api)

    def patch(self, path: str, *, api: bool = True) -> Callable[[H], H]:
        return self._add("PATCH", path, api)

    def delete(self, path: str, *, api: bool = True) -> Callable[[H], H]:
        return self._add("DELETE", path, api)

    def register(self, app: web.Application, prefix: str) -> None:
        for r in self.routes:
            paths = [f"{prefix}/api/{r.path}", f"{prefix}/ajax-api/{r.path}"] if r.api else [prefix + r.path]
            for path in paths:
                app.router.add_route(r.method, path, r.handler)
