"""Helpers every SQL store module shares: the clock, IN-list placeholders and chunks, and the
extra-row page check of a search."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TypeVar

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
