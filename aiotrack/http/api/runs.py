"""Runs: lifecycle, logging (metric, param, tag, batch, inputs, outputs) and search."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from aiotrack.entities import RunJson, RunJsonShape
from aiotrack.http import keys
from aiotrack.http.auth.scopes import readable_experiments
from aiotrack.http.codec import Args, empty_response, json_response, page_response, read_args
from aiotrack.http.routing import Routes
from aiotrack.services.tracking import RunQuery

routes = Routes()


def _run_id(args: Args) -> str:
    # The client sends both run_id and the legacy run_uuid; either names the run.
    run_id = args.str("run_id") or args.str("run_uuid")
    if not run_id:
        return args.str("run_id", required=True)  # raises MLflow's missing-value error
    return run_id


@routes.post("2.0/mlflow/runs/create")
async def create_run(request: web.Request) -> web.Response:
    args = await read_args(request)
    run = await request.app[keys.TRACKING].create_run(
        args.str("experiment_id"), args.str("user_id"), args.int("start_time"), args.tags(), args.str("run_name")
    )
    return json_response({"run": run})


@routes.get("2.0/mlflow/runs/get")
async def get_run(request: web.Request) -> web.Response:
    args = await read_args(request)
    run = await request.app[keys.TRACKING].get_run(_run_id(args))
    return json_response({"run": run})


@routes.post("2.0/mlflow/runs/update")
async def update_run(request: web.Request) -> web.Response:
    args = await read_args(request)
    info = await request.app[keys.TRACKING].update_run(
        _run_id(args), args.str("status"), args.int("end_time"), args.str("run_name")
    )
    return json_response({"run_info": info})


@routes.post("2.0/mlflow/runs/delete")
async def delete_run(request: web.Request) -> web.Response:
    args = await read_args(request)
    await request.app[keys.TRACKING].delete_run(args.str("run_id", required=True))
    return empty_response()


@routes.post("2.0/mlflow/runs/restore")
async def restore_run(request: web.Request) -> web.Response:
    args = await read_args(request)
    await request.app[keys.TRACKING].restore_run(args.str("run_id", required=True))
    return empty_response()


@routes.post("2.0/mlflow/runs/log-metric")
async def log_metric(request: web.Request) -> web.Response:
    args = await read_args(request)
    run_id = _run_id(args)
    # MLflow's request schema names the field 'key' (the shared metric check says 'name').
    key = args.str("key", required=True)
    await request.app[keys.TRACKING].log_metric(
        run_id,
        {
            "key": key,
            "value": args.raw("value"),
            "timestamp": args.raw("timestamp"),
            "step": args.raw("step"),
            "model_id": args.raw("model_id"),
            "dataset_name": args.raw("dataset_name"),
            "dataset_digest": args.raw("dataset_digest"),
        },
    )
    return empty_response()


@routes.post("2.0/mlflow/runs/log-parameter")
async def log_param(request: web.Request) -> web.Response:
    args = await read_args(request)
    await request.app[keys.TRACKING].log_param(_run_id(args), args.str("key", required=True), args.raw("value"))
    return empty_response()


@routes.post("2.0/mlflow/runs/set-tag")
async def set_tag(request: web.Request) -> web.Response:
    args = await read_args(request)
    await request.app[keys.TRACKING].set_tag(
        _run_id(args), args.str("key", required=True), args.str("value", default="")
    )
    return empty_response()


@routes.post("2.0/mlflow/runs/delete-tag")
async def delete_tag(request: web.Request) -> web.Response:
    args = await read_args(request)
    await request.app[keys.TRACKING].delete_tag(args.str("run_id", required=True), args.str("key", required=True))
    return empty_response()


@routes.post("2.0/mlflow/runs/log-batch")
async def log_batch(request: web.Request) -> web.Response:
    # No byte limit of its own: MLflow's 1 MB check measures len() of the decoded dict (its key
    # count), so MLflow accepts a legal 1.4 MB batch (100 params of 6,000 and 100 tags of 8,000
    # characters); the entity counts and value lengths bound a batch, and http/bodies.py the body.
    args = await read_args(request)
    await request.app[keys.TRACKING].log_batch(
        args.str("run_id", required=True), args.obj_list("metrics"), args.obj_list("params"), args.obj_list("tags")
    )
    return empty_response()


@routes.post("2.0/mlflow/runs/log-inputs")
async def log_inputs(request: web.Request) -> web.Response:
    args = await read_args(request)
    await request.app[keys.TRACKING].log_inputs(
        args.str("run_id", required=True), args.obj_list("datasets"), args.obj_list("models")
    )
    return empty_response()


@routes.post("2.0/mlflow/runs/outputs")
async def log_outputs(request: web.Request) -> web.Response:
    args = await read_args(request)
    await request.app[keys.TRACKING].log_outputs(args.str("run_id", required=True), args.obj_list("models"))
    return empty_response()


@routes.post("2.0/mlflow/runs/search", read_only=True)
async def search_runs(request: web.Request) -> web.Response:
    return await answer_run_search(request, "entries")


async def answer_run_search(request: web.Request, shape: RunJsonShape) -> web.Response:
    """runs/search's arguments and permission scoping, its page of runs in ``shape``: MLflow's
    JSON ("entries"), or the web UI's table rows ("table", 2.0/aiotrack/runs/table)."""
    args = await read_args(request)
    requested = args.str_list("experiment_ids")
    experiment_ids = await readable_experiments(request, requested)
    if requested and not experiment_ids:  # basic-auth: none of them may be read
        return page_response("runs", [], None)
    query = RunQuery(
        experiment_ids,
        args.str("filter"),
        args.raw("run_view_type"),
        args.int("max_results"),
        args.str_list("order_by"),
        args.str("page_token"),
    )
    rows, token = await request.app[keys.TRACKING].search_runs_json(query, shape)
    return page_response("runs", [_spliced(row, shape) for row in rows], token)


def _spliced(row: RunJson, shape: RunJsonShape) -> dict[str, Any]:
    """A run for the response, its params, metrics and tags texts spliced in as they are."""
    fragment = orjson.Fragment
    if shape == "entries":  # MLflow's JSON: empty lists left out, inputs and outputs always there
        data = {field: fragment(row[field]) for field in ("metrics", "params", "tags") if field in row}
        return {"info": row["info"], "data": data, "inputs": row.get("inputs", {}), "outputs": row.get("outputs", {})}
    run: dict[str, Any] = {
        "info": row["info"],
        "params": fragment(row.get("params", "{}")),
        "metrics": fragment(row.get("metrics", "{}")),
        "tags": fragment(row.get("tags", "{}")),
    }
    if "inputs" in row:
        run["inputs"] = row["inputs"]
    if "outputs" in row:
        run["outputs"] = row["outputs"]
    return run


@routes.post("2.0/mlflow/runs/log-model")
async def log_model(request: web.Request) -> web.Response:
    args = await read_args(request)
    await request.app[keys.TRACKING].log_model(args.str("run_id", required=True), args.str("model_json", required=True))
    return empty_response()
