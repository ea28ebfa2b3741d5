"""JSON endpoints take ``Content-Type: application/json`` on POST and PUT (MLflow's rule).

Besides matching MLflow's 400 answers, this blocks cross-site "simple" requests: a browser may
send a form POST (``text/plain``, ``application/x-www-form-urlencoded``, ``multipart/form-data``)
to another site without a preflight, but never ``application/json``.

Routes whose body is raw data, not JSON, are exempt: artifact uploads under
``/api/2.0/mlflow-artifacts/artifacts/`` (the mlflow client sends the type it guesses from the file
name) and the UI's ``/ajax-api/2.0/mlflow/upload-artifact``. Requests that match no route are left
to the router, so an unknown endpoint still answers 404, as in MLflow.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from aiotrack.errors import AiotrackError
from aiotrack.http.routing import api_subpath

JSON = "application/json"
CHECKED_METHODS = frozenset({"POST", "PUT"})
_RAW_BODY_PATHS = ("2.0/mlflow-artifacts/artifacts/", "2.0/mlflow/upload-artifact")

MISSING_MSG = "Bad Request. Content-Type header is missing."
WRONG_MSG = f"Bad Request. Content-Type must be one of {[JSON]}."


def takes_json(method: str, path: str, prefix: str) -> bool:
    """Does this request go to a JSON endpoint whose body type is checked?"""
    if method not in CHECKED_METHODS:
        return False
    rest = api_subpath(path, prefix)
    return rest is not None and not any(rest.startswith(raw) for raw in _RAW_BODY_PATHS)


def content_type_error(method: str, path: str, prefix: str, content_type: str | None) -> str | None:
    """The decision: None when acceptable, else MLflow's message for the 400 answer."""
    if not takes_json(method, path, prefix):
        return None
    if content_type is None:
        return MISSING_MSG
    if content_type.split(";", 1)[0].strip().lower() != JSON:
        return WRONG_MSG
    return None


def content_type_middleware(prefix: str) -> Middleware:
    @web.middleware
    async def check_content_type(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.http_exception is None:
            message = content_type_error(request.method, request.path, prefix, request.headers.get("Content-Type"))
            if message is not None:
                raise AiotrackError(message)
        return await handler(request)

    return check_content_type
