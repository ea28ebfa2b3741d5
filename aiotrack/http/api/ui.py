"""Endpoints the web UI needs that MLflow's API lacks, under /ajax-api/2.0/aiotrack/ (and /api/).

GET 2.0/aiotrack/metrics/downsampled
    run_id      repeated, 1..100 runs
    metric_key  repeated, 1..100 keys (at most 1000 run x key series per request)
    buckets     0..5000, default 500; 0 returns only total/min/max (no points)
    x_axis      "step" (default) or "time" (timestamp, epoch ms)
    min_x/max_x optional inclusive x range (steps or epoch ms), for zooming in at full detail

    200 {"x_axis": "step", "buckets": 500, "series": [
          {"run_id", "metric_key", "total", "min", "max", "step": [...], "timestamp": [...], "value": [...]}]}

    Each series is the metric's history reduced to every bucket's first, minimum, maximum and last
    point (x range split into `buckets` equal-width buckets), in x order, so spikes survive any
    zoom level; series of at most 4 * buckets points come back whole. `total`, `min` and `max`
    cover every point in range. Values follow MLflow's JSON: NaN is "NaN", +-Inf is +-1.797e308.
    An unknown run id answers 404 RESOURCE_DOES_NOT_EXIST, bad arguments 400 INVALID_PARAMETER_VALUE.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from aiotrack.errors import NOT_IMPLEMENTED, AiotrackError, invalid, not_found
from aiotrack.http import keys
from aiotrack.http.codec import json_response, read_args
from aiotrack.http.routing import Routes
from aiotrack.stores.sql.database import Database
from aiotrack.stores.sql.ui_queries import X_AXES, downsample_metric, existing_run_ids

routes = Routes()

MAX_RUNS = 100
MAX_KEYS = 100
MAX_SERIES = 1000
MAX_BUCKETS = 5000
DEFAULT_BUCKETS = 500
CONCURRENCY = 4


def _database(request: web.Request) -> Database:
    db: Database | None = getattr(request.app[keys.TRACKING].store, "db", None)
    if db is None:
        raise AiotrackError("Downsampled metrics need the SQL tracking store.", NOT_IMPLEMENTED)
    return db


@routes.get("2.0/aiotrack/metrics/downsampled")
async def downsampled_metrics(request: web.Request) -> web.Response:
    args = await read_args(request)
    run_ids = list(dict.fromkeys(args.str_list("run_id")))
    metric_keys = list(dict.fromkeys(args.str_list("metric_key")))
    buckets = args.int("buckets", default=DEFAULT_BUCKETS)
    x_axis = args.str("x_axis", default="step")
    min_x, max_x = args.int("min_x"), args.int("max_x")
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

    db = _database(request)
    found = await existing_run_ids(db, run_ids)
    missing = [r for r in run_ids if r not in found]
    if missing:
        raise not_found(f"Run with id={missing[0]} not found")

    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(run_id: str, key: str) -> Any:
        async with gate:
            return await downsample_metric(db, run_id, key, buckets=buckets, x_axis=x_axis, min_x=min_x, max_x=max_x)

    series = await asyncio.gather(*(one(r, k) for k in metric_keys for r in run_ids))
    return json_response({"x_axis": x_axis, "buckets": buckets, "series": series})
