"""The HTTP connection layer under the app: parser limits, slow clients, malformed requests.

aiohttp answers what its parser refuses (an over-long request line, a bad header) itself, before
any middleware, with a plain-text 400 that may echo the request line and carries none of the
app's headers; it logs a traceback at ERROR for each; and it waits an hour (the keep-alive
timeout) for a client that sent half a header. :class:`ServingRunner` (an ``AppRunner``) serves
the app through a request handler that instead:

- accepts request lines and header fields up to :data:`MAX_LINE_SIZE` / :data:`MAX_FIELD_SIZE`
  (aiohttp: 8,190), enough for what MLflow's clients send (a bulk metric-history GET with many
  ``run_id``s, a long filter in a query string), so the route answers with MLflow's JSON error;
- answers a parser refusal with MLflow's error JSON (``BAD_REQUEST``, a fixed message naming the
  kind of problem, never the request text), the security headers, and ``Connection: close``, and
  logs one WARNING line;
- closes a connection whose request header has not arrived completely within
  ``header_read_timeout`` seconds of its first byte (slowloris); idle keep-alive connections keep
  aiohttp's keep-alive timeout;
- merges runs of slashes in the request path before routing (``//model-versions/get-artifact``,
  as a client joining ``base/`` and ``/path`` sends, routes as MLflow does); every path check
  then runs on the merged path.

This reaches into aiohttp's ``RequestHandler`` and ``Server`` (3.x); tests/serving covers each
behaviour through a real server, so an aiohttp upgrade that changes them fails there.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import orjson
from aiohttp import http_exceptions, web
from aiohttp.http import RawRequestMessage
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server
from yarl import URL

log = logging.getLogger("aiotrack.http")

MAX_LINE_SIZE = 256 * 1024  # a request line: ~100,000 characters of filter, URL-encoded
MAX_FIELD_SIZE = 64 * 1024  # one header field
DEFAULT_HEADER_READ_TIMEOUT = 60.0

_SLASHES = re.compile(r"//+")

_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (http_exceptions.LineTooLong, "the request line or a header field is too long"),
    (http_exceptions.BadHttpMethod, "the request method is not valid"),
    (http_exceptions.BadStatusLine, "the request line is not valid HTTP"),
    (http_exceptions.InvalidHeader, "a header is not valid"),
    (http_exceptions.TransferEncodingError, "the request body's transfer encoding is not valid"),
    (http_exceptions.ContentLengthError, "the request body's length is not valid"),
)


def parse_error_reason(exc: BaseException | None) -> str:
    """What was wrong, in words that never repeat the request's own text."""
    for kind, reason in _REASONS:
        if isinstance(exc, kind):
            return reason
    return "the request is not valid HTTP"


def merge_slashes(message: RawRequestMessage) -> RawRequestMessage:
    """The request with runs of '/' in its path merged into one (the query is left alone)."""
    path, sep, query = message.path.partition("?")
    if "//" not in path or not path.startswith("/"):  # absolute-form targets (http://...) are left alone
        return message
    merged = _SLASHES.sub("/", path)
    raw = merged + sep + query
    return message._replace(path=raw, url=URL(raw, encoded=True))


class _Handler(RequestHandler):
    """aiohttp's request handler with the behaviour described in the module docstring."""

    header_read_timeout: float = DEFAULT_HEADER_READ_TIMEOUT
    error_headers: dict[str, str] = {}  # noqa: RUF012 - set per runner on a subclass
    _header_timer: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        # Arm the header deadline on the first byte of a request, never while one is in progress
        # (its body may stream for as long as it needs).
        if (
            data
            and self._header_timer is None
            and not self._request_in_progress
            and not self._messages
            and self.header_read_timeout > 0
        ):
            self._header_timer = self._loop.call_later(
                self.header_read_timeout, self._header_deadline, self._request_count
            )
        super().data_received(data)
        if self._header_timer is not None and (self._messages or self._request_in_progress):
            self._header_timer.cancel()
            self._header_timer = None

    def _header_deadline(self, count: int) -> None:
        self._header_timer = None
        if self._request_count != count or self._request_in_progress or self._messages:
            return  # the header arrived
        if self.transport is not None:
            peer = self.transport.get_extra_info("peername")
            log.warning(
                "Closed a connection from %s: its request header did not arrive within %gs",
                peer[0] if peer else "?",
                self.header_read_timeout,
            )
        self.force_close()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:
            return super().handle_error(request, status, exc, message)  # raises: the response is under way
        if status >= 500:
            self.log_exception("Error handling request from %s", request.remote, exc_info=exc)
            body = {"error_code": "INTERNAL_ERROR", "message": "Internal server error; see the server log."}
        else:
            reason = parse_error_reason(exc)
            log.warning("Malformed HTTP request from %s: %s (%s)", request.remote, reason, type(exc).__name__)
            body = {"error_code": "BAD_REQUEST", "message": f"Malformed HTTP request: {reason}."}
        resp = web.Response(
            status=status, body=orjson.dumps(body), content_type="application/json", headers=self.error_headers
        )
        resp.force_close()
        return resp


class _Server(Server):
    handler_class: type[_Handler] = _Handler

    def __call__(self) -> RequestHandler:
        return self.handler_class(self, loop=self._loop, **self._kwargs)


class ServingRunner(web.AppRunner):
    """``web.AppRunner`` serving through :class:`_Handler` (see the module docstring)."""

    def __init__(
        self,
        app: web.Application,
        *,
        header_read_timeout: float = DEFAULT_HEADER_READ_TIMEOUT,
        error_headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("max_line_size", MAX_LINE_SIZE)
        kwargs.setdefault("max_field_size", MAX_FIELD_SIZE)
        super().__init__(app, **kwargs)
        self._handler_class = type(
            "ServingHandler",
            (_Handler,),
            {"header_read_timeout": header_read_timeout, "error_headers": dict(error_headers or {})},
        )

    async def _make_server(self) -> Server:
        base = await super()._make_server()
        factory = base.request_factory

        def request_factory(message: RawRequestMessage, *args: Any) -> web.BaseRequest:
            return factory(merge_slashes(message), *args)

        server = _Server(
            base.request_handler,
            request_factory=request_factory,
            handler_cancellation=base.handler_cancellation,
            loop=base._loop,
            **base._kwargs,
        )
        server.handler_class = self._handler_class
        return server
