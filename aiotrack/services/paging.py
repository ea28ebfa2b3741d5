"""MLflow's page tokens: base64 of JSON ``{"offset": N}``.

A metric history's tokens also carry ``"after"``: where the page ended, in the history's order
(:data:`~aiotrack.entities.HistoryCursor`), so the next page is read from there by the index
instead of skipping ``offset`` points again (a 10-million-point history read in pages of
25,000 skipped 2 billion rows). The offset stays in the token: an MLflow-style token without
``"after"`` (from an MLflow server, or built by hand) still pages by offset."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from aiotrack.entities import HistoryCursor
from aiotrack.errors import invalid


def make_token(offset: int, after: HistoryCursor | None = None) -> str:
    if after is not None:
        return base64.b64encode(orjson.dumps({"offset": offset, "after": list(after)})).decode()
    # MLflow writes json.dumps({"offset": N}), with a space after the colon.
    return base64.b64encode(f'{{"offset": {offset}}}'.encode()).decode()


def parse_token(token: str | None) -> int:
    return _offset(_decode(token)) if token else 0


def parse_history_token(token: str | None) -> tuple[int, HistoryCursor | None]:
    """(offset, cursor): the cursor when the token carries a valid ``"after"``, else None."""
    if not token:
        return 0, None
    data = _decode(token)
    offset = _offset(data)
    after = data.get("after")
    if after is None:
        return offset, None
    if (
        not isinstance(after, list)
        or len(after) != 4
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in (after[0], after[1], after[3]))
        or after[3] not in (0, 1)
        or isinstance(after[2], bool)
        or not isinstance(after[2], int | float)
    ):
        raise invalid("Invalid page token, parsed value=" + repr(data))
    return offset, (after[0], after[1], float(after[2]), after[3])


def _decode(token: str) -> dict[str, Any]:
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
    return data


def _offset(data: dict[str, Any]) -> int:
    offset = data["offset"]
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise invalid(f"Invalid page token, offset must be a non-negative integer, got {offset!r}")
    return offset
