"""Bounds on the work one search request may ask for: the one home of every search limit.

MLflow itself sets no limit on a filter or an order_by list; these are set far above what MLflow's
clients and UI send (a handful of clauses, an ``IN`` list of at most a few thousand run ids) and low
enough that no single request can keep a database busy. Measured on PostgreSQL 15, an empty
experiment and a filter of AND-ed ``params.aN = 'b'`` clauses (each an EXISTS subquery the
planner turns into a semi-join): 25 clauses plan in 0.09 s, 50 in 0.3-0.7 s, 100 in 2-3.5 s,
200 in 28 s; SQLite answers 1,000 with "Expression tree is too large". Hence 50.

The language has no nesting (MLflow refuses OR and parentheses other than value lists), so the
number of clauses, the number of listed values and the text length bound the compiled SQL.
A request over a limit gets 400 INVALID_PARAMETER_VALUE saying which limit and by how much.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiotrack.errors import INVALID_PARAMETER_VALUE, AiotrackError

MAX_FILTER_LENGTH = 100_000  # characters: ~2,500 quoted run ids in an IN list
MAX_FILTER_CLAUSES = 50  # AND-ed comparisons in one filter
MAX_FILTER_VALUES = 10_000  # values in all the IN lists of one filter (bound SQL parameters)
MAX_ORDER_BY_CLAUSES = 20  # each ordering by a metric, param or tag is one more join
MAX_ORDER_BY_LENGTH = 1_000  # characters of one order_by clause (a key is at most 250)


def _too_much(message: str) -> AiotrackError:
    return AiotrackError(message, INVALID_PARAMETER_VALUE)


def check_filter_length(text: str) -> None:
    if len(text) > MAX_FILTER_LENGTH:
        raise _too_much(f"Invalid filter: it is {len(text)} characters long; at most {MAX_FILTER_LENGTH} are allowed.")


def check_filter_clauses(count: int) -> None:
    if count > MAX_FILTER_CLAUSES:
        raise _too_much(
            f"Invalid filter: it has more than {MAX_FILTER_CLAUSES} clauses; at most {MAX_FILTER_CLAUSES} "
            "comparisons may be AND-ed in one search. Narrow the search in steps, or filter the results."
        )


def check_filter_values(count: int) -> None:
    if count > MAX_FILTER_VALUES:
        raise _too_much(
            f"Invalid filter: its lists hold more than {MAX_FILTER_VALUES} values; at most "
            f"{MAX_FILTER_VALUES} are allowed in one search."
        )


def check_order_by(clauses: Sequence[object]) -> None:
    if len(clauses) > MAX_ORDER_BY_CLAUSES:
        raise _too_much(f"Invalid order_by: {len(clauses)} clauses given; at most {MAX_ORDER_BY_CLAUSES} are allowed.")
    for clause in clauses:
        if isinstance(clause, str) and len(clause) > MAX_ORDER_BY_LENGTH:
            raise _too_much(
                f"Invalid order_by clause of {len(clause)} characters; at most {MAX_ORDER_BY_LENGTH} are allowed."
            )
