"""The web UI's downsampled metric charts (``GET 2.0/aiotrack/metrics/downsampled``): the request
limits and the fan-out over (run, metric) series. Not part of MLflow's API; the reduction itself
is the store's (``stores/sql/ui_queries.py``)."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from aiotrack.errors import invalid
from aiotrack.names import run_not_found
from aiotrack.stores.base import TrackingStore

MAX_RUNS = 100
MAX_KEYS = 100
MAX_SERIES = 1000
MAX_BUCKETS = 5000
DEFAULT_BUCKETS = 500
X_AXES = ("step", "time")
# Series reduced at once per request: each is one query, and one request should not take
# every reader connection.
CONCURRENCY = 4


def _check(
    run_ids: list[str], metric_keys: list[str], buckets: int | None, x_axis: str, min_x: int | None, max_x: int | None
) -> int:
    if not run_ids:
        raise invalid("Missing value for required parameter 'run_id'.")
    if not metric_keys:
        raise invalid("Missing value for required parameter 'metric_key'.")
    if len(run_ids) > MAX_RUNS:
        raise invalid(f"At most {MAX_RUNS} run_id values are allowed, got {len(run_ids)}.")
    if len(metric_keys) > MAX_KEYS:
        raise invalid(f"At most {MAX_KEYS} metric_key values are allowed, got {len(metric_keys)}.")
    if len(run_ids) * len(metric_keys) > MAX_SERIES:
        raise invalid(f"At most {MAX_SERIES} run x metric series per request, got {len(run_ids) * len(metric_keys)}.")
    if buckets is None or not 0 <= buckets <= MAX_BUCKETS:
        raise invalid(f"'buckets' must be between 0 and {MAX_BUCKETS}, got {buckets}.")
    if x_axis not in X_AXES:
        raise invalid(f"'x_axis' must be one of {', '.join(X_AXES)}, got {x_axis!r}.")
    if min_x is not None and max_x is not None and min_x > max_x:
        raise invalid(f"'min_x' ({min_x}) is greater than 'max_x' ({max_x}).")
    return buckets


async def downsampled_metrics(
    store: TrackingStore,
    run_ids: list[str],
    metric_keys: list[str],
    *,
    buckets: int | None,
    x_axis: str,
    min_x: int | None,
    max_x: int | None,
) -> list[dict[str, Any]]:
    """Every (metric, run) series, metric-major; 404 for the first unknown run id."""
    buckets = _check(run_ids, metric_keys, buckets, x_axis, min_x, max_x)
    found = await store.existing_run_ids(run_ids)
    missing = [r for r in run_ids if r not in found]
    if missing:
        raise run_not_found(missing[0])
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(run_id: str, key: str) -> dict[str, Any]:
        async with gate:
            return await store.downsample_metric(run_id, key, buckets=buckets, x_axis=x_axis, min_x=min_x, max_x=max_x)

    return list(await asyncio.gather(*(one(r, k) for k in metric_keys for r in run_ids)))


# ---- grouped runs (``POST 2.0/aiotrack/metrics/grouped``): one aggregate series per group

MAX_GROUPS = 50
MAX_GROUPED_RUNS = 20_000
MAX_GROUP_BUCKETS = 1000
DEFAULT_GROUP_BUCKETS = 200


def _check_groups(groups: Any, metric_key: Any, buckets: Any) -> tuple[dict[str, list[str]], str, int]:
    if not isinstance(groups, dict) or not groups:
        raise invalid("'groups' must be a non-empty object of group name -> list of run ids.")
    if len(groups) > MAX_GROUPS:
        raise invalid(f"At most {MAX_GROUPS} groups are allowed, got {len(groups)}.")
    clean: dict[str, list[str]] = {}
    total = 0
    for name, ids in groups.items():
        if not isinstance(ids, list) or not all(isinstance(x, str) for x in ids):
            raise invalid(f"Group {name!r} must be a list of run id strings.")
        clean[str(name)] = list(dict.fromkeys(ids))
        total += len(clean[str(name)])
    if total > MAX_GROUPED_RUNS:
        raise invalid(f"At most {MAX_GROUPED_RUNS} runs across all groups are allowed, got {total}.")
    if not isinstance(metric_key, str) or not metric_key:
        raise invalid("Missing value for required parameter 'metric_key'.")
    if buckets is None:
        buckets = DEFAULT_GROUP_BUCKETS
    if isinstance(buckets, bool) or not isinstance(buckets, int) or not 1 <= buckets <= MAX_GROUP_BUCKETS:
        raise invalid(f"'buckets' must be an integer between 1 and {MAX_GROUP_BUCKETS}, got {buckets!r}.")
    return clean, metric_key, buckets


async def grouped_metric(store: TrackingStore, groups: Any, metric_key: Any, buckets: Any) -> list[dict[str, Any]]:
    """Per group: the mean, min, max and standard deviation of the runs' metric per step bucket."""
    clean, key, n = _check_groups(groups, metric_key, buckets)
    agg = await store.aggregate_metric(clean, key, buckets=n)
    out: list[dict[str, Any]] = []
    for name, ids in clean.items():
        step: list[int] = []
        mean: list[float] = []
        std: list[float] = []
        lo: list[float] = []
        hi: list[float] = []
        count: list[int] = []
        for s, c, total, squares, vmin, vmax in agg.get(name, []):
            m = total / c
            step.append(s)
            mean.append(m)
            std.append(math.sqrt(max(squares / c - m * m, 0.0)))
            lo.append(vmin)
            hi.append(vmax)
            count.append(c)
        series = {"step": step, "mean": mean, "std": std, "min": lo, "max": hi, "count": count}
        out.append({"group": name, "runs": len(ids), **series})
    return out
