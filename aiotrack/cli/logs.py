"""Log output of `aiotrack server`: text (the default) or, with `--log-format json`, one JSON
object per line, for the application's lines and the access log alike.

Text lines read ``2026-01-02 03:04:05,678 <pid> INFO aiotrack: message``; access-log lines are
``<client> "GET /path HTTP/1.1" <status> <bytes> <seconds>s "<user agent>"``.

JSON lines always have ``time`` (UTC, ISO 8601, milliseconds), ``level``, ``logger``, ``pid`` and
``message``; lines written while a request is handled add its ``request_id``; access-log lines
add ``remote``, ``method``, ``path``, ``http_version``, ``status``, ``bytes``, ``duration_s`` and
``user_agent``; a logged exception adds ``exception`` (the traceback text). Every line is one
line: newlines inside values are escaped by the JSON encoder.

Both access loggers format a fixed shape (aiohttp's configurable AccessLogger spent a tenth of
a small request's CPU on its atoms), and nothing at all when the access logger is silenced
(``logging.getLogger("aiotrack.access").setLevel(logging.WARNING)``).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from aiotrack.config import Settings
from aiotrack.http.middleware.request_id import REQUEST_ID, current_request_id

ACCESS_LOGGER = "aiotrack.access"
TEXT_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"


class TextFormatter(logging.Formatter):
    """The standard format, with the time text made once a second: with an access-log line per
    request, strftime was a visible share of a small request's CPU."""

    _second = -1
    _text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._text = time.strftime("%Y-%m-%d %H:%M:%S", self.converter(second))
            self._second = second
        return f"{self._text},{int(record.msecs):03d}"


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring for its fields)."""

    _second = -1
    _text = ""

    def _time(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._text}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self._time(record),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id.get()
        if request_id is not None:
            line["request_id"] = request_id
        access = getattr(record, "access", None)
        if access is not None:
            line.update(access)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str).decode()


class AccessLog(AbstractAccessLogger):
    """Text: one line per request: client, request line, status, bytes, seconds, user agent."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        version = request.version
        # Formatted here, passed without arguments: logging then skips its own %-interpolation.
        self.logger.info(
            f'{request.remote} "{request.method} {request.path_qs} HTTP/{version.major}.{version.minor}" '
            f'{response.status} {response.body_length} {time:.6f}s "{request.headers.get("User-Agent", "-")}"'
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


class JsonAccessLog(AccessLog):
    """JSON: the same facts as fields of the line, with the request id."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        version = request.version
        self.logger.info(
            f"{request.method} {request.path} {response.status}",
            extra={
                "request_id": request.get(REQUEST_ID),
                "access": {
                    "remote": request.remote,
                    "method": request.method,
                    "path": request.path_qs,
                    "http_version": f"{version.major}.{version.minor}",
                    "status": response.status,
                    "bytes": response.body_length,
                    "duration_s": round(time, 6),
                    "user_agent": request.headers.get("User-Agent"),
                },
            },
        )


def access_log_class(settings: Settings) -> type[AccessLog]:
    return JsonAccessLog if settings.log_format == "json" else AccessLog


def configure_logging(settings: Settings) -> None:
    """Root logging to stderr in the chosen format; DEBUG with --dev, else INFO."""
    # The optimizations the logging documentation lists, for a log line per request: no caller
    # lookup (a frame walk), no thread or multiprocessing names (the format shows the pid only).
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter(TEXT_FORMAT))
    logging.basicConfig(level=logging.DEBUG if settings.dev else logging.INFO, handlers=[handler], force=True)
    logging.captureWarnings(True)
