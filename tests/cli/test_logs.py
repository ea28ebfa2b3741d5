"""`--log-format json`: each record is one line of JSON with its request id and traceback."""

from __future__ import annotations

import logging
import sys

import orjson

from aiotrack.cli.logs import JsonFormatter, TextFormatter
from aiotrack.http.middleware.request_id import current_request_id


def _record(message: str, *args: object, exc_info: bool = False) -> logging.LogRecord:
    info = sys.exc_info() if exc_info else None
    return logging.LogRecord("aiotrack.http", logging.ERROR, __file__, 1, message, args, info)


def test_a_record_is_one_json_line_with_the_request_id_of_its_request() -> None:
    token = current_request_id.set("req-42")
    try:
        line = JsonFormatter().format(_record("two\nlines %s", "and an arg"))
    finally:
        current_request_id.reset(token)
    assert "\n" not in line
    parsed = orjson.loads(line)
    assert parsed["message"] == "two\nlines and an arg"
    assert parsed["request_id"] == "req-42"
    assert parsed["level"] == "ERROR" and parsed["logger"] == "aiotrack.http"
    assert parsed["time"].endswith("Z") and "T" in parsed["time"]


def test_outside_a_request_there_is_no_request_id_and_exceptions_come_along() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("failed", exc_info=True)
    parsed = orjson.loads(JsonFormatter().format(record))
    assert "request_id" not in parsed
    assert "ValueError: boom" in parsed["exception"]


def test_text_format_is_unchanged() -> None:
    record = _record("hello")
    text = TextFormatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s").format(record)
    assert text.endswith(" ERROR aiotrack.http: hello")
