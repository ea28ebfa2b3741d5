"""MLflow's trace metrics query (``POST /api/3.0/mlflow/traces/metrics``), for the TRACES view:
``trace_count`` (COUNT) and ``latency`` (AVG, MIN, MAX, PERCENTILE), by ``trace_name`` and
``trace_status`` and optionally in time buckets. Other views and metrics (token usage, cost,
spans, assessments) need columns aiotrack does not keep; they are refused with a clear message.

Values are computed over the matching traces' (timestamp, duration, status, name) rows;
percentiles interpolate linearly as MLflow's SQL store does (numpy's default method).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

from aiotrack.errors import invalid
from aiotrack.stores.base import TraceStore

VIEW_TYPES = ("METRIC_VIEW_TYPE_UNSPECIFIED", "TRACES", "SPANS", "ASSESSMENTS")
AGGREGATION_TYPES = ("AGGREGATION_TYPE_UNSPECIFIED", "COUNT", "SUM", "AVG", "PERCENTILE", "MIN", "MAX")
_METRICS = {
    "trace_count": ({"COUNT"}, {"trace_name", "trace_status"}),
    "latency": ({"AVG", "MIN", "MAX", "PERCENTILE"}, {"trace_name"}),
}
TIME_BUCKET = "time_bucket"
MAX_RESULTS_DEFAULT = 1000


def _enum(value: Any, names: tuple[str, ...], field: str) -> str:
    if isinstance(value, str) and value in names:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    raise invalid(f"Invalid value {value!r} for parameter '{field}'. Expected one of {list(names[1:])}.")


def _percentile(values: list[float], q: float) -> float:
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _label(kind: str, percentile: float | None) -> str:
    return f"P{percentile}" if kind == "PERCENTILE" else kind


async def query_trace_metrics(
    store: TraceStore,
    experiment_ids: list[str],
    view_type: Any,
    metric_name: str | None,
    aggregations: list[dict[str, Any]],
    dimensions: list[str],
    filters: list[str],
    time_interval_seconds: int | None,
    start_time_ms: int | None,
    end_time_ms: int | None,
    max_results: int | None,
) -> list[dict[str, Any]]:
    if not experiment_ids:
        raise invalid("Missing value for required parameter 'experiment_ids'.")
    view = _enum(view_type, VIEW_TYPES, "view_type")
    if view != "TRACES":
        raise invalid(f"view_type {view} is not supported by aiotrack; supported: ['TRACES'].")
    if metric_name not in _METRICS:
        raise invalid(f"metric_name must be one of {list(_METRICS)}, got '{metric_name}'")
    allowed_aggs, allowed_dims = _METRICS[metric_name]
    if not aggregations:
        raise invalid("Missing value for required parameter 'aggregations'.")
    aggs: list[tuple[str, float | None]] = []
    for a in aggregations:
        kind = _enum(a.get("aggregation_type"), AGGREGATION_TYPES, "aggregation_type")
        pct = a.get("percentile_value")
        if kind == "PERCENTILE":
            if not isinstance(pct, (int, float)) or isinstance(pct, bool) or not 0 <= pct <= 100:
                raise invalid("Percentile value between 0 and 100 is required for PERCENTILE aggregation")
            pct = float(pct)
        elif pct is not None:
            raise invalid(f"Percentile value is only allowed for PERCENTILE aggregation type, got {kind}")
        aggs.append((kind, pct))
    bad = sorted({k for k, _ in aggs} - allowed_aggs)
    if bad:
        raise invalid(f"Found invalid aggregation_type(s): {bad}. Supported aggregation types: {sorted(allowed_aggs)}")
    bad_dims = sorted(set(dimensions) - allowed_dims)
    if bad_dims:
        raise invalid(f"Found invalid dimension(s): {bad_dims}. Supported dimensions: {sorted(allowed_dims)}")
    if time_interval_seconds and (start_time_ms is None or end_time_ms is None):
        raise invalid("start_time_ms and end_time_ms are required if time_interval_seconds is set")
    if time_interval_seconds is not None and time_interval_seconds <= 0:
        raise invalid("time_interval_seconds must be a positive integer")
    limit = max_results or MAX_RESULTS_DEFAULT
    rows = await store.metric_rows(experiment_ids, filters, (start_time_ms, end_time_ms))
    groups: dict[tuple[Any, ...], list[Sequence[Any]]] = {}
    for row in rows:
        ts, _duration, status, name = row
        key: list[Any] = []
        if time_interval_seconds:
            size = time_interval_seconds * 1000
            key.append(ts - ts % size)
        for d in dimensions:
            key.append(name if d == "trace_name" else status)
        if any(k is None for k in key):
            continue
        groups.setdefault(tuple(key), []).append(row)
    points = []
    for group in sorted(groups, key=lambda k: tuple(str(x) if not isinstance(x, int) else f"{x:020d}" for x in k)):
        members = groups[group]
        dims: dict[str, str] = {}
        i = 0
        if time_interval_seconds:
            dims[TIME_BUCKET] = dt.datetime.fromtimestamp(group[0] / 1000, dt.timezone.utc).isoformat()
            i = 1
        for d in dimensions:
            dims[d] = str(group[i])
            i += 1
        values: dict[str, float] = {}
        durations = [float(r[1]) for r in members if r[1] is not None]
        for kind, pct in aggs:
            if kind == "COUNT":
                values["COUNT"] = float(len(members))
            elif durations:
                if kind == "AVG":
                    values["AVG"] = sum(durations) / len(durations)
                elif kind == "MIN":
                    values["MIN"] = min(durations)
                elif kind == "MAX":
                    values["MAX"] = max(durations)
                else:
                    assert pct is not None
                    values[_label(kind, pct)] = _percentile(durations, pct)
        if values:
            points.append({"metric_name": metric_name, "dimensions": dims, "values": values})
        if len(points) >= limit:
            break
    return points
