"""Pure parts of the connection layer (aiotrack/http/protocol.py)."""

from __future__ import annotations

from aiohttp import http_exceptions
from aiohttp.http import RawRequestMessage
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from aiotrack.http.protocol import merge_slashes, parse_error_reason


def _message(target: str) -> RawRequestMessage:
    headers = CIMultiDictProxy(CIMultiDict())
    return RawRequestMessage("GET", target, (1, 1), headers, (), False, None, False, False, URL(target))


def test_merge_slashes_in_the_path_only():
    merged = merge_slashes(_message("//model-versions//get-artifact?path=a//b&name=m"))
    assert merged.path == "/model-versions/get-artifact?path=a//b&name=m"
    assert merged.url.path == "/model-versions/get-artifact" and merged.url.query["path"] == "a//b"
    same = _message("/api/2.0/mlflow/runs/get?run_id=x")
    assert merge_slashes(same) is same
    absolute = _message("http://host//x")
    assert merge_slashes(absolute) is absolute


def test_parse_error_reasons_never_echo_the_request():
    assert "too long" in parse_error_reason(http_exceptions.LineTooLong(b"GET /secret", "8190"))
    assert "secret" not in parse_error_reason(http_exceptions.BadStatusLine("GET /secret x"))
    assert parse_error_reason(None) == "the request is not valid HTTP"
