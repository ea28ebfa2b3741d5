"""Search AST -> one parameterized SQL query over aiotrack's schema.

Every value travels as a ``?`` parameter, appended to the parameter list in the order its
placeholder appears in the text. The SQL is the subset both SQLite and PostgreSQL share; case
handling of LIKE/ILIKE comes from the :class:`Dialect`.

Semantics follow MLflow's SQL store (``mlflow/store/tracking/sqlalchemy_store.py``):

- metric/param/tag comparisons hold only for runs that have the key (``!=`` too); a NaN metric
  (``is_nan = 1``) satisfies ``!=`` and nothing else; ``IS NULL``/``IS NOT NULL`` on params and
  tags mean "the run lacks / has the key";
- ``run_name`` filters compare the ``mlflow.runName`` tag (MLflow does so because old runs have
  no name column value); ordering by ``run_name`` uses ``runs.name``, as MLflow does;
- dataset comparisons hold when any dataset input of the run matches (``context`` is the input's
  ``mlflow.data.context`` tag);
- order_by: rows missing the key (and NaN metrics, before the missing ones) sort last in both
  directions; ties are broken by ``start_time DESC`` (unless ordered by start_time) and then
  ``run_uuid``; the default order is ``start_time DESC, run_uuid``. When the first key is a
  metric, the query is split so the metric's index serves it (``_metric_led_runs_query``).

Registry searches: the parser has REGISTERED_MODELS and MODEL_VERSIONS specs; their SQL compilers
are not written yet (the registry tables do not exist yet).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiotrack.entities import ReadScope
from aiotrack.errors import INVALID_PARAMETER_VALUE, AiotrackError
from aiotrack.names import DATASET_CONTEXT_TAG, RUN_NAME_TAG
from aiotrack.search import (
    EXPERIMENTS,
    RUNS,
    Comparison,
    OrderBy,
    parse_filter,
    parse_order_by,
)
from aiotrack.search.ast import (
    ATTRIBUTE,
    DATASET,
    ILIKE,
    IN,
    IS_NOT_NULL,
    IS_NULL,
    LIKE,
    METRIC,
    NE,
    NOT_IN,
    PARAM,
    TAG,
)
from aiotrack.stores.base import Page
from aiotrack.stores.sql.dialect import Dialect

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

_VIEW_TYPES = {
    "ACTIVE_ONLY": ("active",),
    "DELETED_ONLY": ("deleted",),
    "ALL": ("active", "deleted"),
    1: ("active",),
    2: ("deleted",),
    3: ("active", "deleted"),
}

# MLflow attribute name -> runs column.
_RUN_COLUMNS = {
    "run_id": "run_uuid",
    "run_name": "name",
    "status": "status",
    "user_id": "user_id",
    "artifact_uri": "artifact_uri",
    "start_time": "start_time",
    "end_time": "end_time",
}
_EXPERIMENT_COLUMNS = {
    "name": "name",
    "experiment_id": "experiment_id",
    "creation_time": "creation_time",
    "last_update_time": "last_update_time",
}


def _invalid(message: str) -> AiotrackError:
    return AiotrackError(message, INVALID_PARAMETER_VALUE)


def _close() -> str:
    return ")"


def child_condition(head: str, op: str, on_value: Callable[[], str], end: Callable[[], str] = _close) -> str:
    """A comparison of a child row (a tag, a param, an assessment) that ``head``, a correlated
    ``SELECT 1 ...``, picks: ``IS NULL`` holds when there is none, ``IS NOT NULL`` when there is
    one, any other comparison when one's value satisfies ``on_value()``. ``end()`` closes the
    probe (a run search's fenced probes bind a parameter there). Both are called only where
    their text goes, after ``head`` bound its parameters: placeholders follow the text."""
    if op == IS_NULL:
        return f"NOT EXISTS ({head}{end()}"
    if op == IS_NOT_NULL:
        return f"EXISTS ({head}{end()}"
    value = on_value()
    return f"EXISTS ({head} AND {value}{end()}"


@dataclass
class _Sql:
    """A SQL fragment builder: text pieces and their parameters, kept in order."""

    dialect: Dialect
    params: list[Any] = field(default_factory=list)
    aliases: int = 0
    fenced: bool = False  # see end()

    def bind(self, value: object) -> str:
        self.params.append(value)
        return "?"

    def end(self) -> str:
        """The closing parenthesis of an (NOT) EXISTS probe. Fenced, it first skips no rows
        (``OFFSET 0``), which keeps PostgreSQL from turning the probe into a join: it stays a
        per-row lookup, so a scan in index order can stop after ``LIMIT`` rows pass."""
        if not self.fenced:
            return ")"
        return self.dialect.offset_only.replace("?", self.bind(0)) + ")"

    def alias(self, prefix: str) -> str:
        self.aliases += 1
        return f"{prefix}{self.aliases}"

    def number(self, value: int | float) -> str:
        """A numeric parameter; integers stay BIGINT, anything else is cast to the float type
        (asyncpg will not send a float for a BIGINT placeholder)."""
        if isinstance(value, int) and _INT64_MIN <= value <= _INT64_MAX:
            return self.bind(value)
        return f"CAST({self.bind(float(value))} AS {self.dialect.float_type})"

    def compare(self, lhs: str, op: str, value: Any, *, numeric: bool = False) -> str:
        """``lhs op value`` for one canonical comparator."""
        if op in (LIKE, ILIKE):
            _check_like_pattern(value)
            return self.dialect.like(lhs, self.bind(value), case_sensitive=op == LIKE)
        if op in (IN, NOT_IN):
            marks = ", ".join(self.number(v) if numeric else self.bind(v) for v in value)
            return f"{lhs} {'NOT IN' if op == NOT_IN else 'IN'} ({marks})"
        rhs = self.number(value) if numeric else self.bind(value)
        return f"{lhs} {op} {rhs}"


def _check_like_pattern(pattern: str) -> None:
    # Backslash escapes the next character on both engines; PostgreSQL refuses a pattern that
    # ends with an unfinished escape (a 500 in MLflow), so refuse it the same way everywhere.
    trailing = len(pattern) - len(pattern.rstrip("\\"))
    if trailing % 2 == 1:
        raise _invalid(f"Invalid LIKE pattern '{pattern}': it must not end with the escape character '\\'")


def scope_condition(q: _Sql, column: str, scope: ReadScope | None, *, numeric: bool = False) -> str | None:
    """``column`` restricted to a caller's read scope (None: no restriction). With ``numeric`` the
    ids are bound as integers (experiment ids), so the primary key's index serves the filter."""
    if scope is None or scope.everything:
        return None

    def values(ids: frozenset[str]) -> list[int | str]:
        if not numeric:
            return sorted(ids)
        return sorted({int(i) for i in ids if i.isdigit() and len(i) < 19})

    if scope.allow is not None:
        allowed = values(scope.allow)
        return f"{column} IN ({', '.join(q.bind(v) for v in allowed)})" if allowed else "1 = 0"
    denied = values(scope.deny)
    return f"{column} NOT IN ({', '.join(q.bind(v) for v in denied)})" if denied else None


def _check_page(limit: int, offset: int) -> None:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise _invalid(f"Invalid limit {limit!r}")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise _invalid(f"Invalid offset {offset!r}")


def _limit_offset(q: _Sql, limit: int, offset: int) -> str:
    _check_page(limit, offset)
    return f" LIMIT {q.bind(int(limit))} OFFSET {q.bind(int(offset))}"


def _stages(view_type: object) -> tuple[str, ...]:
    key = view_type.upper() if isinstance(view_type, str) else view_type
    if key not in _VIEW_TYPES:
        raise _invalid(f"Invalid view type '{view_type}'. Valid values are ACTIVE_ONLY, DELETED_ONLY, ALL")
    return _VIEW_TYPES[key]


# --------------------------------------------------------------------------- runs


def _run_condition(q: _Sql, c: Comparison) -> str:
    if c.kind == ATTRIBUTE:
        if c.key == "run_name":
            a = q.alias("rn")
            return (
                f"EXISTS (SELECT 1 FROM tags {a} WHERE {a}.run_uuid = runs.run_uuid"
                f" AND {a}.key = {q.bind(RUN_NAME_TAG)} AND {q.compare(f'{a}.value', c.op, c.value)}{q.end()}"
            )
        column = f"runs.{_RUN_COLUMNS[c.key]}"
        return q.compare(column, c.op, c.value, numeric=c.key in ("start_time", "end_time"))
    if c.kind == METRIC:
        a = q.alias("fm")
        head = (
            f"EXISTS (SELECT 1 FROM latest_metrics {a} WHERE {a}.run_uuid = runs.run_uuid AND {a}.key = {q.bind(c.key)}"
        )
        cmp = q.compare(f"{a}.value", c.op, c.value)
        if c.op == NE:
            return f"{head} AND ({cmp} OR {a}.is_nan = 1){q.end()}"
        return f"{head} AND {cmp} AND {a}.is_nan = 0{q.end()}"
    if c.kind in (PARAM, TAG):
        table = "params" if c.kind == PARAM else "tags"
        a = q.alias("fp" if c.kind == PARAM else "ft")
        head = f"SELECT 1 FROM {table} {a} WHERE {a}.run_uuid = runs.run_uuid AND {a}.key = {q.bind(c.key)}"
        return child_condition(head, c.op, lambda: q.compare(f"{a}.value", c.op, c.value), q.end)
    if c.kind == DATASET:
        i, d = q.alias("di"), q.alias("dd")
        sql = f"EXISTS (SELECT 1 FROM inputs {i} JOIN datasets {d} ON {d}.dataset_uuid = {i}.source_id"
        if c.key == "context":
            t = q.alias("dt")
            sql += (
                f" JOIN input_tags {t} ON {t}.input_uuid = {i}.input_uuid AND {t}.name = {q.bind(DATASET_CONTEXT_TAG)}"
            )
            target = f"{t}.value"
        else:
            target = f"{d}.{c.key}"
        return (
            f"{sql} WHERE {i}.destination_type = 'RUN' AND {i}.destination_id = runs.run_uuid"
            f" AND {i}.source_type = 'DATASET' AND {q.compare(target, c.op, c.value)}{q.end()}"
        )
    raise _invalid(f"Invalid search expression type '{c.kind}'")  # pragma: no cover - parser guards


def _null_last(expr: str) -> str:
    return f"CASE WHEN {expr} IS NULL THEN 1 ELSE 0 END"


# One ORDER BY term: (expression, "ASC" | "DESC").
_Term = tuple[str, str]


def _metric_rank(alias: str) -> str:
    """0 for a value, 1 for NaN, 2 for a run without the metric: NaN and missing sort last in
    both directions, NaN before missing (MLflow's order)."""
    return f"CASE WHEN {alias}.is_nan = 1 THEN 1 WHEN {alias}.value IS NULL THEN 2 ELSE 0 END"


def _order_terms(q: _Sql, order_by: Sequence[OrderBy]) -> tuple[list[str], list[_Term]]:
    """(LEFT JOINs, ORDER BY terms) of ``order_by`` without the tie-breakers; the joins'
    parameters are bound here, in join order."""
    joins: list[str] = []
    terms: list[_Term] = []
    for ob in order_by:
        direction = "ASC" if ob.ascending else "DESC"
        if ob.kind == ATTRIBUTE:
            column = f"runs.{_RUN_COLUMNS[ob.key]}"
            terms += [(_null_last(column), "ASC"), (column, direction)]
            continue
        table = {METRIC: "latest_metrics", PARAM: "params", TAG: "tags"}[ob.kind]
        a = q.alias("o")
        joins.append(f" LEFT JOIN {table} {a} ON {a}.run_uuid = runs.run_uuid AND {a}.key = {q.bind(ob.key)}")
        rank = _metric_rank(a) if ob.kind == METRIC else _null_last(f"{a}.value")
        terms += [(rank, "ASC"), (f"{a}.value", direction)]
    return joins, terms


def _tie_breakers(order_by: Sequence[OrderBy]) -> list[_Term]:
    """MLflow's: ``start_time DESC`` (unless ordered by start_time), then ``run_uuid``."""
    terms: list[_Term] = []
    if not any(ob.kind == ATTRIBUTE and ob.key == "start_time" for ob in order_by):
        terms.append(("runs.start_time", "DESC"))
    terms.append(("runs.run_uuid", "ASC"))
    return terms


def _order_sql(terms: Sequence[_Term]) -> str:
    return ", ".join(f"{expr} {direction}" for expr, direction in terms)


@dataclass(frozen=True)
class _RunCriteria:
    ids: list[int]
    stages: tuple[str, ...]
    comparisons: Sequence[Comparison]
    orders: Sequence[OrderBy]

    def where(self, q: _Sql) -> list[str]:
        """The experiment, lifecycle and filter conditions, bound now (call where the text goes)."""
        where = [
            f"runs.experiment_id IN ({', '.join(q.bind(e) for e in self.ids)})" if self.ids else "1 = 0",
            f"runs.lifecycle_stage IN ({', '.join(q.bind(s) for s in self.stages)})",
        ]
        return where + [_run_condition(q, c) for c in self.comparisons]


def _plain_runs_query(q: _Sql, columns: str, crit: _RunCriteria, limit: int, offset: int) -> str:
    joins, terms = _order_terms(q, crit.orders)
    where = crit.where(q)
    terms += _tie_breakers(crit.orders)
    sql = f"SELECT {columns} FROM runs{''.join(joins)} WHERE {' AND '.join(where)} ORDER BY {_order_sql(terms)}"
    return sql + _limit_offset(q, limit, offset)


def _metric_led_runs_query(q: _Sql, columns: str, crit: _RunCriteria, limit: int, offset: int) -> str:
    """The same rows and order as :func:`_plain_runs_query` when the first ordering key is a
    metric, in a shape whose parts an index can serve and stop early.

    The plain query's leading ``CASE`` (values, then NaN, then missing) leaves the planner
    nothing but sorting every run of the experiment. Here the three ranks are three parts, each
    sorted and cut to ``limit + offset`` rows on its own: runs with a value of the metric, read
    from the ``(key, value)`` index of latest metrics in the requested direction, which stops as
    soon as enough runs pass the filter; runs whose value is NaN, read only when the first part
    has fewer than ``limit + offset`` rows; and runs without the metric, from the experiment's
    runs in start-time order, read only when the first two parts together have fewer (an
    unneeded part gets ``LIMIT 0``, which neither engine executes). Each part also returns every
    term of the full ordering as a column (``_o0``, ``_o1``, ...), and the outer query orders the
    union of the parts (at most ``3 x (limit + offset)`` rows) by them: exactly the plain
    query's order, tie-breakers included. The parts do not overlap: a run has one latest value
    per key, NaN or not, or none.

    The filter's probes are fenced (:meth:`_Sql.end`) so PostgreSQL keeps them per-row lookups
    instead of joining and sorting everything. The part of values is a CROSS JOIN, which makes
    SQLite (whose planner has no statistics unless ANALYZE ran) start from the index; the cost
    is that a filter matching almost nothing walks the key's whole index, where the plain query
    walks only the experiment's runs.
    """
    _check_page(limit, offset)
    q.fenced = True
    lead, rest = crit.orders[0], crit.orders[1:]
    direction = "ASC" if lead.ascending else "DESC"
    tie = _tie_breakers(crit.orders)
    wanted = limit + offset
    directions: list[str] = []

    def part(rank: int, needed: str) -> str:
        # Parameters are bound in text order: the joins, the leading key, the conditions, the limit.
        joins, rest_terms = _order_terms(q, rest)
        key = q.bind(lead.key)
        if rank == 2:
            source = "FROM runs"
            first = (
                f"NOT EXISTS (SELECT 1 FROM latest_metrics o0 WHERE o0.run_uuid = runs.run_uuid AND o0.key = {key}"
                f"{q.end()}"
            )
            value = f"CAST(NULL AS {q.dialect.float_type})"
        else:
            source = "FROM latest_metrics o0 CROSS JOIN runs"
            first = f"o0.key = {key} AND o0.is_nan = {rank} AND runs.run_uuid = o0.run_uuid"
            value = "o0.value"
        where = [first, *crit.where(q)]
        terms = [(str(rank), "ASC"), (value, direction), *rest_terms, *tie]
        directions[:] = [d for _e, d in terms]
        exposed = ", ".join(f"{expr} AS _o{i}" for i, (expr, _d) in enumerate(terms))
        # The part's own order leaves out what is constant within it (the rank; NaN's value).
        own = ([(value, direction)] if rank == 0 else []) + rest_terms + tie
        cut = f"CASE WHEN {needed} < {q.bind(wanted)} THEN {q.bind(wanted)} ELSE 0 END" if needed else q.bind(wanted)
        return (
            f"SELECT {columns}, {exposed} {source}{''.join(joins)} WHERE {' AND '.join(where)}"
            f" ORDER BY {_order_sql(own)} LIMIT {cut}"
        )

    values = part(0, "")
    nans = part(1, "(SELECT COUNT(*) FROM metric_values)")
    missing = part(2, "(SELECT COUNT(*) FROM metric_values) + (SELECT COUNT(*) FROM metric_nans)")
    outer = _order_sql([(f"runs._o{i}", d) for i, d in enumerate(directions)])
    return (
        f"WITH metric_values AS MATERIALIZED ({values}), metric_nans AS MATERIALIZED ({nans}) "
        f"SELECT {columns} FROM (SELECT * FROM metric_values UNION ALL SELECT * FROM metric_nans"
        f" UNION ALL SELECT * FROM ({missing}) AS metric_missing) AS runs ORDER BY {outer}"
        f" LIMIT {q.bind(limit)} OFFSET {q.bind(offset)}"
    )


def runs_query(
    dialect: Dialect, page: Page, *, columns: str, experiment_ids: list[int], run_view_type: str
) -> tuple[str, list[Any]]:
    """SELECT {columns} FROM runs [LEFT JOINs for order_by] WHERE runs.experiment_id IN (...)
    AND runs.lifecycle_stage IN (...) AND <filter> ORDER BY <order_by, tie-breakers>
    LIMIT ? OFFSET ?. ``columns`` are ``runs.``-qualified column names chosen by the caller.
    When the first ordering key is a metric the query takes an index-friendly shape with the
    same result (:func:`_metric_led_runs_query`)."""
    comparisons = parse_filter(page.filter_string, RUNS)
    orders = parse_order_by(page.order_by, RUNS)
    limit, offset = page.max_results, page.offset
    stages = _stages(run_view_type)
    crit = _RunCriteria([int(e) for e in experiment_ids], stages, comparisons, orders)
    q = _Sql(dialect)
    if crit.ids and crit.orders and crit.orders[0].kind == METRIC:
        return _metric_led_runs_query(q, columns, crit, limit, offset), q.params
    return _plain_runs_query(q, columns, crit, limit, offset), q.params


# --------------------------------------------------------------------------- experiments


def _experiment_condition(q: _Sql, c: Comparison) -> str:
    if c.kind == ATTRIBUTE:
        column = f"experiments.{_EXPERIMENT_COLUMNS[c.key]}"
        return q.compare(column, c.op, c.value, numeric=c.key != "name")
    a = q.alias("et")
    head = (
        f"SELECT 1 FROM experiment_tags {a} WHERE {a}.experiment_id = experiments.experiment_id"
        f" AND {a}.key = {q.bind(c.key)}"
    )
    return child_condition(head, c.op, lambda: q.compare(f"{a}.value", c.op, c.value))


def experiments_query(
    dialect: Dialect, page: Page, *, columns: str, view_type: str, scope: ReadScope | None = None
) -> tuple[str, list[Any]]:
    """SELECT {columns} FROM experiments WHERE lifecycle_stage IN (...) AND <filter>
    ORDER BY <order_by or creation_time DESC, experiment_id ASC>, experiment_id DESC (tie-breaker,
    unless already ordered by it) LIMIT ? OFFSET ?. NULL values sort last in both directions."""
    comparisons = parse_filter(page.filter_string, EXPERIMENTS)
    orders = parse_order_by(page.order_by or ["creation_time DESC", "experiment_id ASC"], EXPERIMENTS)
    stages = _stages(view_type)
    q = _Sql(dialect)
    where = [f"experiments.lifecycle_stage IN ({', '.join(q.bind(s) for s in stages)})"]
    where += [_experiment_condition(q, c) for c in comparisons]
    if (restricted := scope_condition(q, "experiments.experiment_id", scope, numeric=True)) is not None:
        where.append(restricted)
    terms: list[str] = []
    for ob in orders:
        column = f"experiments.{_EXPERIMENT_COLUMNS[ob.key]}"
        terms += [_null_last(column), f"{column} {'ASC' if ob.ascending else 'DESC'}"]
    if not any(ob.key == "experiment_id" for ob in orders):
        terms.append("experiments.experiment_id DESC")
    sql = f"SELECT {columns} FROM experiments WHERE {' AND '.join(where)} ORDER BY {', '.join(terms)}"
    sql += _limit_offset(q, page.max_results, page.offset)
    return sql, q.params
