"""Liveness, version and the server-info capabilities the mlflow client reads."""

from __future__ import annotations

from aiohttp import web

from aiotrack import MLFLOW_COMPAT_VERSION
from aiotrack.http import keys
from aiotrack.http.codec import json_response
from aiotrack.http.routing import Routes

routes = Routes()


@routes.get("/health", api=False)
async def health(request: web.Request) -> web.Response:
    return web.Response(text="OK")


@routes.get("/version", api=False)
async def version(request: web.Request) -> web.Response:
    # The mlflow client parses this text to choose features; MLflow serves it as text/html.
    return web.Response(text=MLFLOW_COMPAT_VERSION, content_type="text/html")


@routes.get("3.0/mlflow/server-info")
async def server_info(request: web.Request) -> web.Response:
    multipart = request.app[keys.ARTIFACTS].multipart_enabled
    return json_response(
        {
            "store_type": "SqlStore",
            "workspaces_enabled": False,
            "trace_archival_enabled": False,
            "multipart_uploads_enabled": multipart,
            "multipart_downloads_enabled": multipart,
            "presigned_upload_run_id_supported": False,
            "presigned_upload_model_id_supported": False,
            "features_enabled": {"gateway": False},
        }
    )
