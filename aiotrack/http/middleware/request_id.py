"""Request ids: every request gets one, every response names it, every log line can carry it.

An incoming ``X-Request-Id`` (set by a proxy or a client) is kept when it is a plain token: 1 to
128 characters from ``A-Z a-z 0-9 . _ : = + / @ -`` (no spaces, quotes or control characters, so
it can be neither a log injection nor a header injection). Anything else, or no header, gets a
fresh random id (32 hex digits). The id is echoed in the response's ``X-Request-Id`` (an
``on_response_prepare`` hook, so streamed downloads and error answers carry it too), stored on
the request under :data:`REQUEST_ID` for the access log, and set in :data:`current_request_id`
while the handler runs, so application log lines name it (cli/logs.py).

The middleware is the outermost one (http/app.py), so refusals and errors carry the id as well.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

from aiohttp import web

HEADER = "X-Request-Id"
MAX_LENGTH = 128
_TOKEN = re.compile(rf"[A-Za-z0-9._:=+/@-]{{1,{MAX_LENGTH}}}")

REQUEST_ID = web.RequestKey("request_id", str)
current_request_id: ContextVar[str | None] = ContextVar("aiotrack_request_id", default=None)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def accepted_request_id(value: str | None) -> str | None:
    """The incoming header's value if it is an acceptable id, else None."""
    if value is not None and _TOKEN.fullmatch(value):
        return value
    return None


def new_request_id() -> str:
    return os.urandom(16).hex()


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = accepted_request_id(request.headers.get(HEADER)) or new_request_id()
    request[REQUEST_ID] = request_id
    token = current_request_id.set(request_id)
    try:
        return await handler(request)
    finally:
        current_request_id.reset(token)


async def _echo_request_id(request: web.Request, response: web.StreamResponse) -> None:
    request_id = request.get(REQUEST_ID)
    if request_id is None:  # a response made before the middleware ran
        request_id = request[REQUEST_ID] = accepted_request_id(request.headers.get(HEADER)) or new_request_id()
    response.headers[HEADER] = request_id


def install_request_id(app: web.Application) -> None:
    """The response hook; the middleware itself is placed outermost by create_app."""
    app.on_response_prepare.append(_echo_request_id)
