"""The database-neutral result of parsing MLflow's search language: small frozen dataclasses.

A filter string becomes a tuple of :class:`Comparison` (MLflow's filters are a conjunction: every
comparison must hold); each ``order_by`` entry becomes an :class:`OrderBy`. Keys are canonical:
entity prefixes are resolved to a *kind* and attribute aliases to the attribute they stand for
(``created`` -> ``start_time``, ``Run name`` -> ``run_name``), so a compiler never sees spelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The kinds an identifier can refer to.
METRIC = "metric"
PARAM = "param"
TAG = "tag"
ATTRIBUTE = "attribute"
DATASET = "dataset"

# Canonical comparators.
EQ, NE, GT, GE, LT, LE = "=", "!=", ">", ">=", "<", "<="
LIKE, ILIKE, IN, NOT_IN = "LIKE", "ILIKE", "IN", "NOT IN"
IS_NULL, IS_NOT_NULL = "IS NULL", "IS NOT NULL"

Value = str | int | float | tuple[Any, ...] | None


@dataclass(frozen=True)
class Comparison:
    """``<kind>.<key> <op> <value>``.

    ``value`` is a ``str`` for string comparisons, a ``float`` for metrics, an ``int`` or
    ``float`` for numeric attributes, a non-empty ``tuple[str, ...]`` for ``IN``/``NOT IN``, and
    ``None`` for ``IS NULL``/``IS NOT NULL``.
    """

    kind: str
    key: str
    op: str
    value: Value


@dataclass(frozen=True)
class OrderBy:
    kind: str
    key: str
    ascending: bool = True
