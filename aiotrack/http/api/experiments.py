"""Experiments: create, get, get-by-name, search, update, delete, restore, tags."""

from __future__ import annotations

from aiohttp import web

from aiotrack.http import keys
from aiotrack.http.auth.scopes import read_scope
from aiotrack.http.codec import empty_response, json_response, page_response, read_args
from aiotrack.http.routing import Routes

routes = Routes()


@routes.post("2.0/mlflow/experiments/create")
async def create_experiment(request: web.Request) -> web.Response:
    args = await read_args(request)
    experiment_id = await request.app[keys.TRACKING].create_experiment(
        args.str("name", required=True), args.str("artifact_location"), args.tags()
    )
    return json_response({"experiment_id": experiment_id})


@routes.get("2.0/mlflow/experiments/get")
async def get_experiment(request: web.Request) -> web.Response:
    args = await read_args(request)
    experiment = await request.app[keys.TRACKING].get_experiment(args.str("experiment_id", required=True))
    return json_response({"experiment": experiment})


@routes.get("2.0/mlflow/experiments/get-by-name")
async def get_experiment_by_name(request: web.Request) -> web.Response:
    args = await read_args(request)
    experiment = await request.app[keys.TRACKING].get_experiment_by_name(args.str("experiment_name", required=True))
    return json_response({"experiment": experiment})


@routes.get("2.0/mlflow/experiments/search")
@routes.post("2.0/mlflow/experiments/search", read_only=True)
async def search_experiments(request: web.Request) -> web.Response:
    args = await read_args(request)
    experiments, token = await request.app[keys.TRACKING].search_experiments(
        args.raw("view_type"),
        args.int("max_results"),
        args.str("filter"),
        args.str_list("order_by"),
        args.str("page_token"),
        await read_scope(request, "experiment"),
    )
    return page_response("experiments", experiments, token)


@routes.post("2.0/mlflow/experiments/update")
async def update_experiment(request: web.Request) -> web.Response:
    args = await read_args(request)
    await request.app[keys.TRACKING].update_experiment(args.str("experiment_id", required=True), args.str("new_name"))
    return empty_response()


@routes.post("2.0/mlflow/experiments/delete")
async def delete_experiment(request: web.Request) -> web.Response:
    args = await read_args(request)
    await request.app[keys.TRACKING].delete_experiment(args.str("experiment_id", required=True))
    return empty_response()


@routes.post("2.0/mlflow/experiments/restore")
async def restore_experiment(request: web.Request) -> web.Response:
    args = await read_args(request)
    await request.app[keys.TRACKING].restore_experiment(args.str("experiment_id", required=True))
    return empty_response()


@routes.post("2.0/mlflow/experiments/set-experiment-tag")
async def set_experiment_tag(request: web.Request) -> web.Response:
    args = await read_args(request)
    await request.app[keys.TRACKING].set_experiment_tag(
        args.str("experiment_id", required=True), args.str("key", required=True), args.str("value", default="")
    )
    return empty_response()


@routes.post("2.0/mlflow/experiments/delete-experiment-tag")
async def delete_experiment_tag(request: web.Request) -> web.Response:
    args = await read_args(request)
    await request.app[keys.TRACKING].delete_experiment_tag(
        args.str("experiment_id", required=True), args.str("key", required=True)
    )
    return empty_response()


@routes.post("2.0/mlflow/experiments/search-datasets", read_only=True)
async def search_datasets(request: web.Request) -> web.Response:
    args = await read_args(request)
    summaries = await request.app[keys.TRACKING].search_datasets(args.str_list("experiment_ids"))
    return json_response({"dataset_summaries": summaries} if summaries else {})
