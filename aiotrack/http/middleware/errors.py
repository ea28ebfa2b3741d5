"""AiotrackError -> MLflow's error JSON with its HTTP status; nothing else ever leaks out.

Unknown paths and methods under the REST prefixes answer with MLflow-style JSON too, and an
unexpected exception becomes a 500 INTERNAL_ERROR whose message names no SQL or driver detail
(the traceback goes to the server log).
"""

from __future__ import annotations

import logging

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

from aiotrack.errors import AiotrackError, IntegrityViolation
from aiotrack.http import keys
from aiotrack.http.routing import is_api_path

log = logging.getLogger("aiotrack.http")


def error_response(error_code: str, message: str, status: int) -> web.Response:
    body = orjson.dumps({"error_code": error_code, "message": message})
    return web.Response(body=body, status=status, content_type="application/json")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except AiotrackError as exc:
        return error_response(exc.error_code, exc.message, exc.status)
    except IntegrityViolation:
        # A write raced another one for the same unique key and lost; nothing was written.
        return error_response(
            "RESOURCE_CONFLICT", "The request conflicted with a concurrent change and was not applied; retry it.", 409
        )
    except web.HTTPRequestEntityTooLarge as exc:
        return error_response("INVALID_PARAMETER_VALUE", f"Request body too large: {exc.text}", 413)
    except web.HTTPException as exc:
        settings = request.app.get(keys.SETTINGS)
        if exc.status in (404, 405) and is_api_path(request.path, settings.prefix if settings else ""):
            if exc.status == 404:
                return error_response("ENDPOINT_NOT_FOUND", f"No endpoint {request.method} {request.path}", 404)
            return error_response("BAD_REQUEST", f"Method {request.method} is not allowed for {request.path}", 405)
        raise
    except (ConnectionResetError, OSError) as exc:
        if isinstance(exc, ConnectionResetError) or request.transport is None or request.transport.is_closing():
            raise  # the client went away; there is nobody to answer
        log.exception("Unhandled I/O error on %s %s", request.method, request.path)
        return error_response("INTERNAL_ERROR", "Internal server error (I/O failure); see the server log.", 500)
    except Exception:
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response("INTERNAL_ERROR", "Internal server error; see the server log.", 500)
