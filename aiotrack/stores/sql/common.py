"""Helpers every SQL store module shares: the clock, IN-list placeholders and chunks, and a
search's page (one row more than asked for says whether another page follows)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from aiotrack.entities import KeyValue
from aiotrack.stores.sql.database import Database, Row, Tx

T = TypeVar("T")

IN_CHUNK = 5000  # ids per IN (...) list: far below both engines' parameter limits


def now_ms() -> int:
    return int(time.time() * 1000)


def marks(n: int) -> str:
    """``?,?,...`` for an IN list of ``n`` values."""
    return ",".join("?" * n)


def chunks(seq: list[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def one_page(rows: list[T], max_results: int) -> tuple[list[T], bool]:
    """Searches fetch one row more than a page: its presence says whether another page follows."""
    return rows[:max_results], len(rows) > max_results


async def search_page(
    db: Database, build: Callable[..., tuple[str, list[Any]]], max_results: int, offset: int, **criteria: Any
) -> tuple[list[Row], bool]:
    """One page of a search: ``build(dialect, limit=, offset=, **criteria)`` asked for one row more
    than the page, run, and cut by :func:`one_page`."""
    sql, params = build(db.dialect, limit=max_results + 1, offset=offset, **criteria)
    return one_page(await db.fetch(sql, params), max_results)


async def key_values_by(src: Database | Tx, sql: str, params: Sequence[Any]) -> dict[Any, list[KeyValue]]:
    """Rows of ``(owner, key, value)`` as ``{owner: [{"key": ..., "value": ...}, ...]}``, in row order."""
    out: dict[Any, list[KeyValue]] = {}
    for owner, key, value in await src.fetch(sql, params):
        out.setdefault(owner, []).append({"key": key, "value": value})
    return out
