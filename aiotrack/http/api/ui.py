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

POST 2.0/aiotrack/metrics/grouped
    {"groups": {"<group>": [run ids], ...}, "metric_key": "loss", "buckets": 200}
    (1..50 groups, at most 20,000 runs in all, 1..1000 step buckets)

    200 {"metric_key": "loss", "groups": [{"group", "runs", "step": [...], "mean": [...], "std": [...],
          "min": [...], "max": [...], "count": [...]}]}

    Each group's runs' history of the metric, bucketed by step over one range common to all
    groups, summed in SQL: per bucket its first step, the mean, standard deviation, minimum and
    maximum value, and the number of points. NaN and infinite values are left out.

POST 2.0/aiotrack/runs/table
    runs/search's request ({"experiment_ids", "filter", "run_view_type", "max_results",
    "order_by", "page_token"}), arguments, limits, errors, paging and permission scoping

    200 {"runs": [{"info": {...}, "params": {"lr": "0.01"}, "metrics": {"loss": 0.1},
          "tags": {"mlflow.runName": "x"}, "inputs": {...}, "outputs": {...}}], "next_page_token"}

    The same page of runs as runs/search, each run's params, latest metric values and tags as one
    JSON object each instead of lists of entries (about half the bytes, built by the database);
    info, inputs and outputs as runs/search has them. The web UI's runs table.
"""

from __future__ import annotations

from aiohttp import web

from aiotrack.http import keys
from aiotrack.http.api.runs import answer_run_search
from aiotrack.http.codec import json_response, read_args
from aiotrack.http.routing import Routes
from aiotrack.services.charts import DEFAULT_BUCKETS, downsampled_metrics, grouped_metric

routes = Routes()


@routes.get("2.0/aiotrack/metrics/downsampled")
async def downsampled_metrics_handler(request: web.Request) -> web.Response:
    args = await read_args(request)
    buckets = args.int("buckets", default=DEFAULT_BUCKETS)
    x_axis = args.str("x_axis", default="step")
    series = await downsampled_metrics(
        request.app[keys.TRACKING].store,
        list(dict.fromkeys(args.str_list("run_id"))),
        list(dict.fromkeys(args.str_list("metric_key"))),
        buckets=buckets,
        x_axis=x_axis,
        min_x=args.int("min_x"),
        max_x=args.int("max_x"),
    )
    return json_response({"x_axis": x_axis, "buckets": buckets, "series": series})


@routes.post("2.0/aiotrack/metrics/grouped", read_only=True)
async def grouped_metrics_handler(request: web.Request) -> web.Response:
    args = await read_args(request)
    groups = await grouped_metric(
        request.app[keys.TRACKING].store, args.raw("groups"), args.raw("metric_key"), args.raw("buckets")
    )
    return json_response({"metric_key": args.raw("metric_key"), "groups": groups})


@routes.post("2.0/aiotrack/runs/table", read_only=True)
async def run_table_handler(request: web.Request) -> web.Response:
    return await answer_run_search(request, "table")
