"""The auth middleware: authenticate every request that is not public, then apply the route's rule
from rules.RULES (an unmapped route answers 403: deny by default).

Placed after the host and origin checks and before the content-type check (app.py). Refusals use
MLflow's statuses: 401 with ``WWW-Authenticate: Basic realm="mlflow"`` for missing or wrong
credentials, 403 for a missing permission, and 429 with ``Retry-After`` once a user and client
address have failed too often. The caller is kept in ``request[PRINCIPAL]`` for the handlers
(creator grants, search scopes, the users API).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from aiotrack.http.auth import rules
from aiotrack.http.middleware.errors import error_response
from aiotrack.names import IS_PROMPT_TAG
from aiotrack.services.auth.permissions import EXPERIMENT, PROMPT, REGISTERED_MODEL
from aiotrack.services.auth.service import AuthService, Principal, TooManyAttempts, Unauthenticated, forbidden

PRINCIPAL = web.RequestKey("aiotrack_auth_principal", Principal)
CHALLENGE = {"WWW-Authenticate": 'Basic realm="mlflow"'}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def principal_of(request: web.Request) -> Principal | None:
    """The signed-in caller, or None on a server without --app-name basic-auth."""
    return request.get(PRINCIPAL)


async def check(rule: rules.Rule | None, request: web.Request, auth: AuthService, principal: Principal) -> bool:
    """Whether ``principal`` may make ``request`` under ``rule`` (None: an unmapped route)."""
    if rule is None:
        return False  # deny by default: a route nobody mapped is refused, admins included
    if isinstance(rule, rules.SignedIn | rules.Public):
        return True
    if principal.is_admin:
        return True
    if isinstance(rule, rules.SuperAdmin):
        return False
    if isinstance(rule, rules.Admin):
        return await auth.is_admin(principal)
    if isinstance(rule, rules.Custom):
        return await rule.check(request, auth, principal)
    ids = await rule.locate(request, auth)
    if not ids:
        return False  # a request that names none of the resources its route needs: fail closed
    for resource_id in ids:
        kind = "experiment" if rule.kind == "experiment" else await auth.model_type(resource_id)
        perm = await auth.permission(principal, kind, resource_id)
        if not getattr(perm, f"can_{rule.action}"):
            return False
    return True


def auth_middleware(auth_key: web.AppKey[AuthService], prefix: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "OPTIONS":
            return await handler(request)  # CORS preflights carry no credentials, by the standard
        resource = request.match_info.route.resource
        canonical = resource.canonical if resource is not None else None
        method = "GET" if request.method == "HEAD" else request.method
        rule = rules.rule_for(method, canonical, prefix) if canonical is not None else None
        if isinstance(rule, rules.Public):
            return await handler(request)
        auth = request.app[auth_key]
        address = request.remote or ""
        try:
            principal = await auth.authenticate(request.headers.get("Authorization"), address)
        except Unauthenticated as exc:
            response = error_response(exc.error_code, exc.message, exc.status)
            response.headers.update(CHALLENGE)
            return response
        except TooManyAttempts as exc:
            response = error_response(exc.error_code, exc.message, exc.status)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        request[PRINCIPAL] = principal
        if canonical is None:
            return await handler(request)  # no route: aiohttp's 404/405, now for a signed-in caller
        if not await check(rule, request, auth, principal):
            raise forbidden()
        answer = await handler(request)
        after = AFTER.get(rules.route_key(method, canonical, prefix))
        if after is not None and answer.status == 200 and isinstance(answer, web.Response):
            await after(request, answer, auth, principal)
        return answer

    return middleware


def _body(response: web.Response) -> Any:
    body = response.body
    return orjson.loads(body) if isinstance(body, bytes | bytearray) and body else {}


async def _experiment_created(request: web.Request, response: web.Response, auth: AuthService, p: Principal) -> None:
    await auth.on_created(p, EXPERIMENT, str(_body(response)["experiment_id"]))


async def _model_created(request: web.Request, response: web.Response, auth: AuthService, p: Principal) -> None:
    model = _body(response)["registered_model"]
    prompt = any(t.get("key") == IS_PROMPT_TAG and t.get("value") == "true" for t in model.get("tags", []))
    await auth.on_created(p, PROMPT if prompt else REGISTERED_MODEL, model["name"])


async def _model_deleted(request: web.Request, response: web.Response, auth: AuthService, p: Principal) -> None:
    name = (await rules.request_args(request)).str("name")
    if name:
        await auth.on_model_deleted(name)


async def _model_renamed(request: web.Request, response: web.Response, auth: AuthService, p: Principal) -> None:
    args = await rules.request_args(request)
    old, new = args.str("name"), args.str("new_name")
    if old and new:
        await auth.on_model_renamed(old, new)


After = Callable[[web.Request, web.Response, AuthService, Principal], Awaitable[None]]
# What follows a successful write (MLflow's after-request hooks): the creator gets MANAGE; a
# deleted or renamed registry entry takes its per-user grants along.
AFTER: dict[tuple[str, str], After] = {
    ("POST", "2.0/mlflow/experiments/create"): _experiment_created,
    ("POST", "2.0/mlflow/registered-models/create"): _model_created,
    ("DELETE", "2.0/mlflow/registered-models/delete"): _model_deleted,
    ("POST", "2.0/mlflow/registered-models/rename"): _model_renamed,
}
