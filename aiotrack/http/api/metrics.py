"""Metric history: one run, several runs (UI), and the sampled history the charts use."""

from __future__ import annotations

from aiohttp import web

from aiotrack.http import keys
from aiotrack.http.codec import json_response, page_response, read_args
from aiotrack.http.routing import Routes

routes = Routes()


@routes.get("2.0/mlflow/metrics/get-history")
async def get_metric_history(request: web.Request) -> web.Response:
    args = await read_args(request)
    run_id = args.str("run_id") or args.str("run_uuid") or args.str("run_id", required=True)
    metrics, token = await request.app[keys.TRACKING].get_metric_history(
        run_id, args.str("metric_key", required=True), args.int("max_results"), args.str("page_token")
    )
    return page_response("metrics", metrics, token)


@routes.get("2.0/mlflow/metrics/get-history-bulk")
async def get_metric_history_bulk(request: web.Request) -> web.Response:
    args = await read_args(request)
    metrics = await request.app[keys.TRACKING].get_metric_history_bulk(
        args.str_list("run_id"), args.str("metric_key"), args.int("max_results")
    )
    return json_response({"metrics": metrics})


@routes.get("2.0/mlflow/metrics/get-history-bulk-interval")
async def get_metric_history_bulk_interval(request: web.Request) -> web.Response:
    args = await read_args(request)
    metrics = await request.app[keys.TRACKING].get_metric_history_bulk_interval(
        args.str_list("run_ids"),
        args.str("metric_key"),
        args.int("start_step"),
        args.int("end_step"),
        args.int("max_results"),
    )
    return json_response({"metrics": metrics} if metrics else {})
