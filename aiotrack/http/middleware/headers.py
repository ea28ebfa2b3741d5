"""Security headers on every response: a pure function plus an ``on_response_prepare`` hook.

``X-Content-Type-Options: nosniff`` always; ``X-Frame-Options`` from ``--x-frame-options``
(SAMEORIGIN by default, DENY, or NONE to send none). The hook runs for every response the app
prepares -- handler responses, MLflow error JSON from the error middleware, aiohttp's own 404/405,
CORS preflight answers, static files and streamed downloads -- which a middleware cannot promise
(error responses are made outside the inner middlewares).

Like MLflow, a successful preflight (OPTIONS) on an API path answers 204 No Content; that is a
small middleware (:func:`preflight_middleware`), since a status cannot change once a response
is being prepared.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from aiotrack.errors import BAD_REQUEST, AiotrackError
from aiotrack.http.routing import is_api_path


def security_headers(x_frame_options: str | None) -> dict[str, str]:
    """The headers every response carries for this --x-frame-options value."""
    headers = {"X-Content-Type-Options": "nosniff"}
    value = (x_frame_options or "").upper()
    if value and value != "NONE":
        headers["X-Frame-Options"] = value
    return headers


def preflight_status(method: str, path: str, prefix: str, status: int) -> int:
    """MLflow answers a successful API preflight with 204 rather than 200."""
    if method == "OPTIONS" and status == 200 and is_api_path(path, prefix):
        return 204
    return status


def install_security_headers(app: web.Application, x_frame_options: str | None, prefix: str) -> None:
    headers = security_headers(x_frame_options)

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(headers)

    app.on_response_prepare.append(add_headers)


def preflight_refusal(text: str | None) -> str:
    """MLflow's (Starlette's) message for a refused preflight, from aiohttp-cors's reason; the
    request's own values (origin, headers) are not repeated."""
    # aiohttp-cors reports an origin it has no entry for as "method ... not allowed for origin".
    if "headers are not allowed" in (text or ""):
        return "Disallowed CORS headers"
    return "Disallowed CORS origin"


def preflight_middleware(prefix: str) -> Middleware:
    @web.middleware
    async def preflight_no_content(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPForbidden as exc:
            # aiohttp-cors refuses a preflight with 403; MLflow answers 400.
            if request.method == "OPTIONS":
                raise AiotrackError(preflight_refusal(exc.text), BAD_REQUEST) from None
            raise
        status = preflight_status(request.method, request.path, prefix, response.status)
        if status != response.status:
            response.set_status(status)
        return response

    return preflight_no_content
