"""The web UI's downsampled metric charts (``GET 2.0/aiotrack/metrics/downsampled``): the request
limits and the fan-out over (run, metric) series. Not part of MLflow's API; the reduction itself
is the store's (``stores/sql/ui_queries.py``)."""

from __future__ import annotations

import asyncio
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
