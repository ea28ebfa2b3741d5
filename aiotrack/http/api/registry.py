"""Model registry REST API (also the prompt registry): registered models, versions, tags, aliases."""

from __future__ import annotations

from aiohttp import web

from aiotrack.artifacts.locations import join, relative_path
from aiotrack.entities import ReadScope
from aiotrack.errors import invalid
from aiotrack.http import keys
from aiotrack.http.api.artifacts import serve_artifact
from aiotrack.http.auth.scopes import read_scope
from aiotrack.http.codec import Args, empty_response, json_response, page_response, read_args
from aiotrack.http.routing import Routes
from aiotrack.services.registry import RegistryService
from aiotrack.services.validation import missing_value

routes = Routes()


async def _args(request: web.Request) -> Args:
    # The mlflow client sends DELETE fields in a JSON body; accept a query string too (browsers).
    if request.method == "DELETE" and request.query and not (await request.read()).strip():
        return Args(query=request.query)
    return await read_args(request)


def _registry(request: web.Request) -> RegistryService:
    return request.app[keys.REGISTRY]


def _required(args: Args, *names: str) -> list[str]:
    return [args.str(n, required=True) for n in names]


def _version(args: Args) -> str:
    # Versions are strings in MLflow's protos; accept a JSON number too.
    raw = args.raw("version")
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    return args.str("version", required=True)


# ---------------------------------------------------------------- registered models


@routes.post("2.0/mlflow/registered-models/create")
async def create_registered_model(request: web.Request) -> web.Response:
    args = await _args(request)
    (name,) = _required(args, "name")
    rm = await _registry(request).create_registered_model(name, args.tags(), args.str("description"))
    return json_response({"registered_model": rm})


@routes.get("2.0/mlflow/registered-models/get")
async def get_registered_model(request: web.Request) -> web.Response:
    args = await _args(request)
    (name,) = _required(args, "name")
    return json_response({"registered_model": await _registry(request).get_registered_model(name)})


@routes.patch("2.0/mlflow/registered-models/update")
async def update_registered_model(request: web.Request) -> web.Response:
    args = await _args(request)
    (name,) = _required(args, "name")
    rm = await _registry(request).update_registered_model(name, args.str("description", default=""))
    return json_response({"registered_model": rm})


@routes.post("2.0/mlflow/registered-models/rename")
async def rename_registered_model(request: web.Request) -> web.Response:
    args = await _args(request)
    name, new_name = _required(args, "name", "new_name")
    return json_response({"registered_model": await _registry(request).rename_registered_model(name, new_name)})


@routes.delete("2.0/mlflow/registered-models/delete")
async def delete_registered_model(request: web.Request) -> web.Response:
    args = await _args(request)
    (name,) = _required(args, "name")
    await _registry(request).delete_registered_model(name)
    return empty_response()


async def _scopes(request: web.Request) -> dict[str, ReadScope | None] | None:
    """basic-auth: the registered models and the prompts the caller may read."""
    models = await read_scope(request, "registered_model")
    prompts = await read_scope(request, "prompt")
    return None if models is None and prompts is None else {"registered_model": models, "prompt": prompts}


@routes.get("2.0/mlflow/registered-models/search")
async def search_registered_models(request: web.Request) -> web.Response:
    args = await _args(request)
    models, token = await _registry(request).search_registered_models(
        args.str("filter"),
        args.int("max_results"),
        args.str_list("order_by"),
        args.str("page_token"),
        await _scopes(request),
    )
    return page_response("registered_models", models, token)


@routes.post("2.0/mlflow/registered-models/get-latest-versions", read_only=True)
@routes.get("2.0/mlflow/registered-models/get-latest-versions")
async def get_latest_versions(request: web.Request) -> web.Response:
    args = await _args(request)
    (name,) = _required(args, "name")
    versions = await _registry(request).get_latest_versions(name, args.str_list("stages"))
    return json_response({"model_versions": versions} if versions else {})


@routes.post("2.0/mlflow/registered-models/set-tag")
async def set_registered_model_tag(request: web.Request) -> web.Response:
    args = await _args(request)
    name, key = _required(args, "name", "key")
    await _registry(request).set_registered_model_tag(name, key, args.str("value", default=""))
    return empty_response()


@routes.delete("2.0/mlflow/registered-models/delete-tag")
async def delete_registered_model_tag(request: web.Request) -> web.Response:
    args = await _args(request)
    name, key = _required(args, "name", "key")
    await _registry(request).delete_registered_model_tag(name, key)
    return empty_response()


# ---------------------------------------------------------------- aliases


@routes.post("2.0/mlflow/registered-models/alias")
async def set_registered_model_alias(request: web.Request) -> web.Response:
    args = await _args(request)
    name, alias = _required(args, "name", "alias")
    await _registry(request).set_registered_model_alias(name, alias, _version(args))
    return empty_response()


@routes.delete("2.0/mlflow/registered-models/alias")
async def delete_registered_model_alias(request: web.Request) -> web.Response:
    args = await _args(request)
    name, alias = _required(args, "name", "alias")
    await _registry(request).delete_registered_model_alias(name, alias)
    return empty_response()


@routes.get("2.0/mlflow/registered-models/alias")
async def get_model_version_by_alias(request: web.Request) -> web.Response:
    args = await _args(request)
    name, alias = _required(args, "name", "alias")
    return json_response({"model_version": await _registry(request).get_model_version_by_alias(name, alias)})


# ---------------------------------------------------------------- model versions


@routes.post("2.0/mlflow/model-versions/create")
async def create_model_version(request: web.Request) -> web.Response:
    args = await _args(request)
    name, source = _required(args, "name", "source")
    mv = await _registry(request).create_model_version(
        name,
        source,
        args.str("run_id"),
        args.tags(),
        args.str("run_link"),
        args.str("description"),
        args.str("model_id") or None,
    )
    return json_response({"model_version": mv})


@routes.get("2.0/mlflow/model-versions/get")
async def get_model_version(request: web.Request) -> web.Response:
    args = await _args(request)
    (name,) = _required(args, "name")
    return json_response({"model_version": await _registry(request).get_model_version(name, _version(args))})


@routes.patch("2.0/mlflow/model-versions/update")
async def update_model_version(request: web.Request) -> web.Response:
    args = await _args(request)
    (name,) = _required(args, "name")
    mv = await _registry(request).update_model_version(name, _version(args), args.str("description"))
    return json_response({"model_version": mv})


@routes.post("2.0/mlflow/model-versions/transition-stage")
async def transition_model_version_stage(request: web.Request) -> web.Response:
    args = await _args(request)
    (name,) = _required(args, "name")
    version = _version(args)
    (stage,) = _required(args, "stage")
    mv = await _registry(request).transition_model_version_stage(
        name, version, stage, args.bool("archive_existing_versions")
    )
    return json_response({"model_version": mv})


@routes.delete("2.0/mlflow/model-versions/delete")
async def delete_model_version(request: web.Request) -> web.Response:
    args = await _args(request)
    (name,) = _required(args, "name")
    await _registry(request).delete_model_version(name, _version(args))
    return empty_response()


@routes.get("2.0/mlflow/model-versions/search")
async def search_model_versions(request: web.Request) -> web.Response:
    args = await _args(request)
    versions, token = await _registry(request).search_model_versions(
        args.str("filter"),
        args.int("max_results"),
        args.str_list("order_by"),
        args.str("page_token"),
        await _scopes(request),
    )
    return page_response("model_versions", versions, token)


@routes.get("2.0/mlflow/model-versions/get-download-uri")
async def get_model_version_download_uri(request: web.Request) -> web.Response:
    args = await _args(request)
    (name,) = _required(args, "name")
    uri = await _registry(request).get_model_version_download_uri(name, _version(args))
    return json_response({"artifact_uri": uri})


@routes.post("2.0/mlflow/model-versions/set-tag")
async def set_model_version_tag(request: web.Request) -> web.Response:
    args = await _args(request)
    name, key = _required(args, "name", "key")
    await _registry(request).set_model_version_tag(name, _version(args), key, args.str("value", default=""))
    return empty_response()


@routes.delete("2.0/mlflow/model-versions/delete-tag")
async def delete_model_version_tag(request: web.Request) -> web.Response:
    args = await _args(request)
    (name,) = _required(args, "name")
    version = _version(args)
    (key,) = _required(args, "key")
    await _registry(request).delete_model_version_tag(name, version, key)
    return empty_response()


# ---------------------------------------------------------------- UI: a version's files


@routes.get("/model-versions/get-artifact", api=False)
async def get_model_version_artifact(request: web.Request) -> web.StreamResponse:
    query = request.query
    name, version, raw_path = query.get("name"), query.get("version"), query.get("path")
    if raw_path is None:
        raise invalid(missing_value("path"))
    path = relative_path(raw_path)
    root = await _registry(request).model_version_files_root(name, version)
    resolved = request.app[keys.ARTIFACTS].resolve_run_root(root)
    if resolved is None:
        raise invalid(
            f"The files of model version (name={name}, version={version}) are stored at '{root}', which this "
            "server does not serve (outside its configured artifact roots)."
        )
    repo, base = resolved
    return await serve_artifact(request, repo, join(base, path))
