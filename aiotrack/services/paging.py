"""MLflow's page tokens: base64 of JSON ``{"offset": N}``."""

from __future__ import annotations

import base64
import binascii

import orjson

from aiotrack.errors import invalid


def make_token(offset: int) -> str:
    # MLflow writes json.dumps({"offset": N}), with a space after the colon.
    return base64.b64encode(f'{{"offset": {offset}}}'.encode()).decode()


def parse_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        raw = base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        raise invalid("Invalid page token, could not base64-decode") from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid("Invalid page token, decoded value=" + raw.decode("utf-8", "replace")) from None
    if not isinstance(data, dict) or "offset" not in data:
        raise invalid("Invalid page token, parsed value=" + repr(data))
    offset = data["offset"]
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise invalid(f"Invalid page token, offset must be a non-negative integer, got {offset!r}")
    return offset
