"""Read queries for the web UI that MLflow's API has no endpoint for.

``downsample_metric`` serves ``GET /ajax-api/2.0/aiotrack/metrics/downsampled``: a metric's full
history reduced to at most ``4 * buckets`` points that keep every bucket's first, minimum, maximum
and last point, so a chart of a million-point series still shows each spike. The reduction runs
in SQL (window functions, shared by SQLite and PostgreSQL) so only the kept points leave the
database. Takes the same :class:`Database` the SQL tracking store uses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from aiotrack.stores.sql.database import Database

X_AXES = ("step", "time")
MAX_FLOAT = 1.7976931348623157e308
# (hi - lo) * buckets must stay inside a signed 64-bit integer for the SQL bucket expression.
_INT64_SAFE = 2**62


def _json_value(value: float, is_nan: int) -> float | str:
    """MLflow's JSON for a metric value: NaN as the string "NaN", infinities as +-max double."""
    if is_nan:
        return "NaN"
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return MAX_FLOAT if v > 0 else -MAX_FLOAT
    return v


async def existing_run_ids(db: Database, run_ids: Sequence[str]) -> set[str]:
    if not run_ids:
        return set()
    marks = ",".join("?" for _ in run_ids)
    rows = await db.fetch(f"SELECT run_uuid FROM runs WHERE run_uuid IN ({marks})", list(run_ids))
    return {r[0] for r in rows}


async def downsample_metric(
    db: Database,
    run_id: str,
    key: str,
    *,
    buckets: int,
    x_axis: str = "step",
    min_x: int | None = None,
    max_x: int | None = None,
) -> dict[str, Any]:
    """One run's series for ``key``, reduced to each bucket's first/min/max/last point.

    The x range [min_x, max_x] (steps, or epoch milliseconds for ``x_axis="time"``) is split into
    ``buckets`` equal-width buckets. Series with at most ``4 * buckets`` points come back whole.
    ``total``, ``min`` and ``max`` describe every point in range, not only the returned ones.
    """
    x = "step" if x_axis == "step" else "timestamp"
    tie = "timestamp" if x == "step" else "step"
    where = "run_uuid = ? AND key = ?"
    params: list[Any] = [run_id, key]
    if min_x is not None:
        where += f" AND {x} >= ?"
        params.append(int(min_x))
    if max_x is not None:
        where += f" AND {x} <= ?"
        params.append(int(max_x))
    head = await db.fetchrow(
        f"SELECT COUNT(*), MIN({x}), MAX({x}),"
        f" MIN(CASE WHEN is_nan = 0 THEN value END), MAX(CASE WHEN is_nan = 0 THEN value END)"
        f" FROM metrics WHERE {where}",
        params,
    )
    total = int(head[0]) if head and head[0] else 0
    out: dict[str, Any] = {
        "run_id": run_id,
        "metric_key": key,
        "total": total,
        "min": _json_value(head[3], 0) if total and head[3] is not None else None,
        "max": _json_value(head[4], 0) if total and head[4] is not None else None,
        "step": [],
        "timestamp": [],
        "value": [],
    }
    if total == 0:
        return out
    lo, hi = int(head[1]), int(head[2])
    span = hi - lo + 1
    if total <= 4 * buckets:
        rows = await db.fetch(
            f"SELECT step, timestamp, value, is_nan FROM metrics WHERE {where} ORDER BY {x}, {tie}", params
        )
    elif span * buckets < _INT64_SAFE:
        # Bucket b = (x - lo) * buckets / span (integer division) is in [0, buckets). Per bucket
        # keep the first and last point in x order and the points with the least and greatest
        # finite value (NaN rows sort after every number for both).
        rows = await db.fetch(
            f"""
            SELECT step, timestamp, value, is_nan FROM (
                SELECT step, timestamp, value, is_nan, x, tie,
                       ROW_NUMBER() OVER (PARTITION BY b ORDER BY x, tie) AS r_first,
                       COUNT(*) OVER (PARTITION BY b) AS n,
                       ROW_NUMBER() OVER (PARTITION BY b ORDER BY is_nan, value, x, tie) AS r_min,
                       ROW_NUMBER() OVER (PARTITION BY b ORDER BY is_nan, value DESC, x, tie) AS r_max
                FROM (
                    SELECT step, timestamp, value, is_nan, {x} AS x, {tie} AS tie,
                           (({x} - ?) * ?) / ? AS b
                    FROM metrics WHERE {where}
                ) AS t
            ) AS u
            WHERE r_first = 1 OR r_first = n OR r_min = 1 OR r_max = 1
            ORDER BY x, tie
            """,
            [lo, buckets, span, *params],
        )
    else:  # astronomically wide x range: bucket in Python
        rows = _downsample_rows(
            await db.fetch(f"SELECT step, timestamp, value, is_nan FROM metrics WHERE {where} ORDER BY {x}, {tie}", params),
            0 if x == "step" else 1,
            lo,
            span,
            buckets,
        )
    steps, stamps, values = out["step"], out["timestamp"], out["value"]
    for step, ts, value, is_nan in rows:
        steps.append(int(step))
        stamps.append(int(ts))
        values.append(_json_value(value, is_nan))
    return out


def _downsample_rows(rows: Sequence[Sequence[Any]], xi: int, lo: int, span: int, buckets: int) -> list[Sequence[Any]]:
    """Pure-Python equivalent of the SQL above, for rows already sorted by x."""
    kept: list[Sequence[Any]] = []
    i, n = 0, len(rows)
    while i < n:
        b = (int(rows[i][xi]) - lo) * buckets // span
        j = i
        mn = mx = -1
        while j < n and (int(rows[j][xi]) - lo) * buckets // span == b:
            if not rows[j][3]:
                if mn < 0 or rows[j][2] < rows[mn][2]:
                    mn = j
                if mx < 0 or rows[j][2] > rows[mx][2]:
                    mx = j
            j += 1
        for k in sorted({i, j - 1, *(v for v in (mn, mx) if v >= 0)}):
            kept.append(rows[k])
        i = j
    return kept
