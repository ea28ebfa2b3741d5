"""MLflow 3 logged models: create, get, finalize, delete, search, tags, params, and their artifacts
(listing for the client, file download for the UI) through the artifact layer's path checks."""

from __future__ import annotations

import posixpath
from typing import Any

from aiohttp import web

from aiotrack.artifacts.base import ArtifactRepository
from aiotrack.artifacts.locations import join, relative_path
from aiotrack.errors import BAD_REQUEST, AiotrackError, invalid
from aiotrack.http import keys
from aiotrack.http.api.artifacts import serve_artifact
from aiotrack.http.auth.scopes import readable_experiments
from aiotrack.http.codec import empty_response, json_response, page_response, read_args
from aiotrack.http.routing import Routes
from aiotrack.services.logged_models import LoggedModelService

routes = Routes()


def _service(request: web.Request) -> LoggedModelService:
    return request.app[keys.LOGGED_MODELS]


def _model_id(request: web.Request) -> str:
    return request.match_info["model_id"]


@routes.post("2.0/mlflow/logged-models")
async def create_logged_model(request: web.Request) -> web.Response:
    args = await read_args(request)
    model = await _service(request).create_logged_model(
        args.str("experiment_id", required=True),
        args.str("name"),
        args.str("model_type"),
        args.str("source_run_id"),
        args.tags("params"),
        args.tags("tags"),
    )
    return json_response({"model": model})


@routes.post("2.0/mlflow/logged-models/search", read_only=True)
async def search_logged_models(request: web.Request) -> web.Response:
    args = await read_args(request)
    experiment_ids = args.str_list("experiment_ids")
    if not experiment_ids:
        args.str("experiment_ids", required=True)
    experiment_ids = await readable_experiments(request, experiment_ids)
    if not experiment_ids:  # basic-auth: none of them may be read
        return page_response("models", [], None)
    models, token = await _service(request).search_logged_models(
        experiment_ids,
        args.str("filter"),
        args.obj_list("datasets"),
        args.int("max_results"),
        args.obj_list("order_by"),
        args.str("page_token"),
    )
    return page_response("models", models, token)


@routes.get("2.0/mlflow/logged-models/{model_id}")
async def get_logged_model(request: web.Request) -> web.Response:
    allow_deleted = request.query.get("allow_deleted", "false").lower() == "true"
    model = await _service(request).get_logged_model(_model_id(request), allow_deleted)
    return json_response({"model": model})


@routes.patch("2.0/mlflow/logged-models/{model_id}")
async def finalize_logged_model(request: web.Request) -> web.Response:
    args = await read_args(request)
    model = await _service(request).finalize_logged_model(_model_id(request), args.raw("status"))
    return json_response({"model": model})


@routes.delete("2.0/mlflow/logged-models/{model_id}")
async def delete_logged_model(request: web.Request) -> web.Response:
    await _service(request).delete_logged_model(_model_id(request))
    return empty_response()


@routes.patch("2.0/mlflow/logged-models/{model_id}/tags")
async def set_logged_model_tags(request: web.Request) -> web.Response:
    args = await read_args(request)
    await _service(request).set_logged_model_tags(_model_id(request), args.tags("tags"))
    return empty_response()


@routes.delete("2.0/mlflow/logged-models/{model_id}/tags/{tag_key}")
async def delete_logged_model_tag(request: web.Request) -> web.Response:
    await _service(request).delete_logged_model_tag(_model_id(request), request.match_info["tag_key"])
    return empty_response()


@routes.post("2.0/mlflow/logged-models/{model_id}/params")
async def log_logged_model_params(request: web.Request) -> web.Response:
    args = await read_args(request)
    await _service(request).log_params(_model_id(request), args.tags("params"))
    return empty_response()


# ---------------------------------------------------------------- artifacts


def _resolve(request: web.Request, location: str, what: str) -> tuple[ArtifactRepository, str]:
    resolved = request.app[keys.ARTIFACTS].resolve_run_root(location)
    if resolved is None:
        raise invalid(
            f"The artifacts of {what} are stored at '{location}', which this server does not serve "
            "(outside its configured artifact roots, or proxied artifacts with --no-serve-artifacts)."
        )
    return resolved


@routes.get("2.0/mlflow/logged-models/{model_id}/artifacts/directories")
async def list_logged_model_artifacts(request: web.Request) -> web.Response:
    raw = request.query.get("artifact_directory_path")
    path = relative_path(raw) if raw is not None else ""
    model = await _service(request).get_logged_model(_model_id(request))
    location = model["info"]["artifact_uri"]
    repo, base = _resolve(request, location, f"logged model '{_model_id(request)}'")
    infos = await repo.list(join(base, path))
    out: dict[str, Any] = {}
    files = [f.to_json(join(path, posixpath.basename(f.path))) for f in infos]
    if files:
        out["files"] = files
    out["root_uri"] = location
    return json_response(out)


@routes.get("/ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files", api=False)
async def get_logged_model_artifact(request: web.Request) -> web.StreamResponse:
    raw = request.query.get("artifact_file_path")
    if not raw:
        raise AiotrackError('Request must include the "artifact_file_path" query parameter.', BAD_REQUEST)
    path = relative_path(raw)
    model = await _service(request).get_logged_model(_model_id(request))
    repo, base = _resolve(request, model["info"]["artifact_uri"], f"logged model '{_model_id(request)}'")
    return await serve_artifact(request, repo, join(base, path))
