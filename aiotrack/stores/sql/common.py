"""Helpers every SQL store module shares: the clock, IN-list placeholders and chunks (and a fetch
run chunk by chunk), a search's page (one row more than asked for says whether another page
follows), the set and delete of one value per key, experiment ids, optional SET/WHERE terms, and
statements that must change a row."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from aiotrack.entities import KeyValue
from aiotrack.errors import AiotrackError, invalid
from aiotrack.names import experiment_not_found
from aiotrack.stores.base import Page
from aiotrack.stores.sql.database import Database, Row, Tx

T = TypeVar("T")

IN_CHUNK = 5000  # ids per IN (...) list: far below both engines' parameter limits
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


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
    db: Database, build: Callable[..., tuple[str, list[Any]]], page: Page, **criteria: Any
) -> tuple[list[Row], bool]:
    """One page of a search: ``build(dialect, page, **criteria)`` asked for one row more than the
    page, run, and cut by :func:`one_page`."""
    longer = dataclasses.replace(page, max_results=page.max_results + 1)
    sql, params = build(db.dialect, longer, **criteria)
    return one_page(await db.fetch(sql, params), page.max_results)


async def fetch_in(src: Database | Tx, sql: str, values: Sequence[Any], size: int = IN_CHUNK) -> list[Row]:
    """The rows ``sql`` selects for ``values``: it names them as ``IN ({in_list})`` (its only
    ``{}`` hole), run for each chunk of ``size`` values, the chunks' rows in turn."""
    rows: list[Row] = []
    for chunk in chunks(list(values), size):
        rows += await src.fetch(sql.format(in_list=marks(len(chunk))), chunk)
    return rows


async def key_values_by(src: Database | Tx, sql: str, owners: list[Any]) -> dict[Any, list[KeyValue]]:
    """The ``(owner, key, value)`` rows of ``owners`` as ``{owner: [{"key": ..., "value": ...}, ...]}``,
    in row order: ``sql`` selects them with ``IN ({in_list})`` (:func:`fetch_in`)."""
    out: dict[Any, list[KeyValue]] = {}
    for owner, key, value in await fetch_in(src, sql, owners):
        out.setdefault(owner, []).append({"key": key, "value": value})
    return out


def keyed_statements(table: str, keys: Sequence[str], value: str) -> tuple[str, str]:
    """(set, delete) of a table holding one ``value`` per ``keys``: the upsert of ``(*keys, value)``
    (writing a key again replaces its value) and the delete by ``keys``, parameters in that order."""
    columns = ", ".join((*keys, value))
    upsert = (
        f"INSERT INTO {table} ({columns}) VALUES ({marks(len(keys) + 1)}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {value} = excluded.{value}"
    )
    return upsert, f"DELETE FROM {table} WHERE {' AND '.join(f'{k} = ?' for k in keys)}"


def _experiment_int(experiment_id: str) -> int:
    try:
        return int(experiment_id)
    except (TypeError, ValueError):
        raise invalid(f"Invalid experiment ID '{experiment_id}'. Experiment ID must be a valid integer.") from None


def parse_experiment_id(experiment_id: str) -> int:
    """Experiment ids are strings on the wire and BIGINT in the database: not an integer is
    INVALID_PARAMETER_VALUE, one outside BIGINT names no experiment."""
    value = _experiment_int(experiment_id)
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise experiment_not_found(experiment_id)
    return value


def experiment_ids_to_search(experiment_ids: Iterable[str]) -> list[int]:
    """A search's experiment ids as integers: not an integer is INVALID_PARAMETER_VALUE, one
    outside BIGINT names no experiment and is left out (the search finds nothing there)."""
    out = []
    for e in experiment_ids:
        value = _experiment_int(e)
        if _INT64_MIN <= value <= _INT64_MAX:
            out.append(value)
    return out


def given(terms: Iterable[tuple[str, Any]]) -> tuple[list[str], list[Any]]:
    """The ``(sql term, value)`` pairs whose value is not None, as the terms (``status = ?``,
    ``t.timestamp_ms >= ?``) and their parameters in the same order."""
    sql: list[str] = []
    params: list[Any] = []
    for term, value in terms:
        if value is not None:
            sql.append(term)
            params.append(value)
    return sql, params


async def change_one(tx: Tx, sql: str, params: Sequence[Any], missing: AiotrackError) -> None:
    """Run a statement that must change a row; raise ``missing`` (a not-found) when none changed."""
    if not await tx.execute(sql, params):
        raise missing
