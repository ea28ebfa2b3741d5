"""Every route and method, with the permission it needs: the one table of aiotrack's authorization.

Keys are (METHOD, path) with the path as the route table spells it after ``/api/`` (served
under ``/api/`` and ``/ajax-api/`` alike) or, for the few others, the full path; placeholders
count by position only (``{trace_id}`` and ``{request_id}`` are the same key). A route missing
from ``RULES`` answers 403 at run time, and tests/http/test_auth_routes.py fails on it.

Rules:
- ``PUBLIC``: no credentials (``/health``, ``/version``, server-info, the UI's static assets).
- ``SIGNED_IN``: any authenticated user (creating an experiment or model, the UI shell, one's own
  identity, searches whose handler restricts the rows to what the caller may read: ``SCOPED``).
- ``ADMIN``: admins only (MLflow's admin-only routes; ``sender_is_admin``).
- ``Need(kind, action, locate)``: the caller needs ``action`` (read, use, update, delete, manage)
  on every resource ``locate`` names: experiments (found from an experiment id or name, a run,
  a logged model, a trace, an artifact path) or registry entries (a registered model's name;
  prompts are governed by prompt grants, models by registered-model grants).
- ``Custom(check)``: a predicate of its own (the user-management routes' self-or-admin rules).

Semantics are MLflow 3.17's (mlflow/server/auth/__init__.py, BEFORE_REQUEST_VALIDATORS): READ to
read, EDIT (can_update) to write into an experiment or model, MANAGE (can_delete) to delete or
restore it, to delete artifacts and to delete a model version; creators get MANAGE.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from aiotrack.artifacts.locations import relative_path
from aiotrack.errors import invalid
from aiotrack.http.codec import Args, read_args
from aiotrack.services.auth.service import AuthService, Principal

Locate = Callable[[web.Request, AuthService], Awaitable[list[str]]]


@dataclass(frozen=True)
class Public:
    pass


@dataclass(frozen=True)
class SignedIn:
    scoped: bool = False  # the handler restricts what it answers to what the caller may read


@dataclass(frozen=True)
class Admin:
    """Administrators: admin users, and holders of the workspace-admin grant (workspace, *, MANAGE)."""


class SuperAdmin:
    """Admin users only: what MLflow 3.17 keeps from workspace admins (making a user an admin,
    deleting a user), so that a workspace admin cannot raise itself to admin."""


@dataclass(frozen=True)
class Need:
    kind: str  # "experiment" or "model"
    action: str
    locate: Locate


@dataclass(frozen=True)
class Custom:
    check: Callable[[web.Request, AuthService, Principal], Awaitable[bool]]


Rule = Public | SignedIn | Admin | SuperAdmin | Need | Custom

PUBLIC = Public()
SIGNED_IN = SignedIn()
SCOPED = SignedIn(scoped=True)
ADMIN = Admin()
SUPER_ADMIN = SuperAdmin()

_ARGS = web.RequestKey("aiotrack_auth_args", Args)


async def request_args(request: web.Request) -> Args:
    """The request's fields (query for GET, JSON body otherwise), parsed once per request."""
    found = request.get(_ARGS)
    if found is None:
        found = await read_args(request)
        request[_ARGS] = found
    return found


def _required(value: str | None, name: str) -> str:
    if not value:
        raise invalid(f"Missing value for required parameter '{name}'.")
    return value


# ---------------------------------------------------------------------- experiment locators


def experiment_field(name: str = "experiment_id", default: str | None = None) -> Locate:
    async def locate(request: web.Request, auth: AuthService) -> list[str]:
        value = (await request_args(request)).str(name) or default
        return [_required(value, name)]

    return locate


def experiment_fields(name: str = "experiment_ids") -> Locate:
    async def locate(request: web.Request, auth: AuthService) -> list[str]:
        return (await request_args(request)).str_list(name)

    return locate


async def experiment_by_name(request: web.Request, auth: AuthService) -> list[str]:
    name = _required((await request_args(request)).str("experiment_name"), "experiment_name")
    return [await auth.lookups.experiment_id_by_name(name)]


def run_field(*names: str) -> Locate:
    """The experiment of the run named by the first of ``names`` present, in the order the
    route's handler reads them (run_id before run_uuid)."""

    async def locate(request: web.Request, auth: AuthService) -> list[str]:
        values = await request_args(request)
        run_id = next((r for r in (values.str(n) for n in names) if r), None)
        return [await auth.experiment_of_run(_required(run_id, names[0]))]

    return locate


def run_fields(name: str) -> Locate:
    async def locate(request: web.Request, auth: AuthService) -> list[str]:
        return [await auth.experiment_of_run(r) for r in dict.fromkeys((await request_args(request)).str_list(name))]

    return locate


async def runs_of_groups(request: web.Request, auth: AuthService) -> list[str]:
    """The UI's grouped charts: the experiments of every run of every group."""
    groups = (await request_args(request)).raw("groups")
    runs: list[str] = []
    for group in groups if isinstance(groups, list) else []:
        ids = group.get("run_ids") if isinstance(group, dict) else None
        runs += [r for r in ids if isinstance(r, str)] if isinstance(ids, list) else []
    return [await auth.experiment_of_run(r) for r in dict.fromkeys(runs)]


async def logged_model_in_path(request: web.Request, auth: AuthService) -> list[str]:
    return [await auth.lookups.experiment_of_logged_model(request.match_info["model_id"])]


async def _experiment_of_artifact_path(path: str) -> list[str]:
    """Proxied artifact paths start with the experiment id (``<exp>/<run>/artifacts/...``,
    ``<exp>/models/<id>/artifacts/...``, ``<exp>/traces/...``). A path that does not is no
    experiment's: only admins reach it."""
    first = path.split("/", 1)[0]
    canonical = first.isdigit() and first.isascii() and str(int(first)) == first  # "01" is not experiment 1
    return [first] if canonical else ["\x00no-experiment"]


async def artifact_path_in_url(request: web.Request, auth: AuthService) -> list[str]:
    return await _experiment_of_artifact_path(relative_path(request.match_info["artifact_path"]))


async def artifact_path_in_query(request: web.Request, auth: AuthService) -> list[str]:
    path = relative_path(request.query.get("path"))
    return await _experiment_of_artifact_path(path)


async def trace_in_path(request: web.Request, auth: AuthService) -> list[str]:
    trace_id = next(iter(request.match_info.values()), "")
    return [await _experiment_of_trace(auth, trace_id)]


def trace_fields(*names: str) -> Locate:
    async def locate(request: web.Request, auth: AuthService) -> list[str]:
        args = await request_args(request)
        ids: list[str] = []
        for n in names:
            ids += args.str_list(n)
        return [await _experiment_of_trace(auth, t) for t in dict.fromkeys(ids)]

    return locate


async def _experiment_of_trace(auth: AuthService, trace_id: str) -> str:
    if auth.lookups.experiment_of_trace is None:
        return "\x00no-trace-store"  # traces are not served by this build: nobody but admins passes
    return await auth.lookups.experiment_of_trace(trace_id)


async def trace_v3_start(request: web.Request, auth: AuthService) -> list[str]:
    data = (await request_args(request)).raw("trace")
    try:
        eid = data["trace_info"]["trace_location"]["mlflow_experiment"]["experiment_id"]
    except (TypeError, KeyError):
        raise invalid("Missing value for required parameter 'trace.trace_info.trace_location'.") from None
    return [str(eid)]


async def trace_v3_locations(request: web.Request, auth: AuthService) -> list[str]:
    locations = (await request_args(request)).raw("locations") or []
    out = []
    for loc in locations if isinstance(locations, list) else []:
        eid = (loc.get("mlflow_experiment") or {}).get("experiment_id") if isinstance(loc, dict) else None
        if eid is not None:
            out.append(str(eid))
    return out


async def otlp_experiment(request: web.Request, auth: AuthService) -> list[str]:
    return [_required(request.headers.get("x-mlflow-experiment-id"), "x-mlflow-experiment-id")]


# ---------------------------------------------------------------------- registry locators


def model_field(name: str = "name") -> Locate:
    async def locate(request: web.Request, auth: AuthService) -> list[str]:
        return [_required((await request_args(request)).str(name), name)]

    return locate


# ---------------------------------------------------------------------- user-management checks


async def is_self(request: web.Request, auth: AuthService, principal: Principal) -> bool:
    return (await request_args(request)).str("username") == principal.username


async def is_self_or_role_admin(request: web.Request, auth: AuthService, principal: Principal) -> bool:
    return await is_self(request, auth, principal) or await auth.is_admin(principal)


async def is_role_admin(request: web.Request, auth: AuthService, principal: Principal) -> bool:
    return await auth.is_admin(principal)


async def manages_resource(request: web.Request, auth: AuthService, principal: Principal) -> bool:
    """users/permissions/grant and revoke: MANAGE on the resource (MLflow's delegation)."""
    args = await request_args(request)
    resource_type, resource_id = args.str("resource_type"), args.str("resource_id")
    if not resource_type or not resource_id or resource_id == "*":
        return False
    return (await auth.permission(principal, resource_type, resource_id)).can_manage


def _exp(action: str, locate: Locate) -> Need:
    return Need("experiment", action, locate)


def _model(action: str, locate: Locate | None = None) -> Need:
    return Need("model", action, locate or model_field())


_EXP_ID = experiment_field()
_RUN = run_field("run_id", "run_uuid")
_LM = logged_model_in_path
_ART = artifact_path_in_url
_TRACE = trace_in_path

RULES: dict[tuple[str, str], Rule] = {
    # ---- public, and the UI shell
    ("GET", "/health"): PUBLIC,
    ("GET", "/version"): PUBLIC,
    ("GET", "3.0/mlflow/server-info"): PUBLIC,
    ("GET", "/static-files/{}"): PUBLIC,
    ("GET", "/"): SIGNED_IN,
    ("GET", ""): SIGNED_IN,  # --static-prefix: the bare prefix redirects to the UI
    ("GET", "/metrics"): ADMIN,  # Prometheus: request counts of every user
    ("GET", "openapi.json"): SIGNED_IN,  # /api/openapi.json: the API's description, no data
    # ---- experiments
    ("POST", "2.0/mlflow/experiments/create"): SIGNED_IN,
    ("GET", "2.0/mlflow/experiments/get"): _exp("read", _EXP_ID),
    ("GET", "2.0/mlflow/experiments/get-by-name"): _exp("read", experiment_by_name),
    ("GET", "2.0/mlflow/experiments/search"): SCOPED,
    ("POST", "2.0/mlflow/experiments/search"): SCOPED,
    ("POST", "2.0/mlflow/experiments/update"): _exp("update", _EXP_ID),
    ("POST", "2.0/mlflow/experiments/delete"): _exp("delete", _EXP_ID),
    ("POST", "2.0/mlflow/experiments/restore"): _exp("delete", _EXP_ID),
    ("POST", "2.0/mlflow/experiments/set-experiment-tag"): _exp("update", _EXP_ID),
    ("POST", "2.0/mlflow/experiments/delete-experiment-tag"): _exp("update", _EXP_ID),
    ("POST", "2.0/mlflow/experiments/search-datasets"): _exp("read", experiment_fields()),
    # ---- runs
    ("POST", "2.0/mlflow/runs/create"): _exp("update", experiment_field(default="0")),
    ("GET", "2.0/mlflow/runs/get"): _exp("read", _RUN),
    ("POST", "2.0/mlflow/runs/update"): _exp("update", _RUN),
    ("POST", "2.0/mlflow/runs/delete"): _exp("delete", _RUN),
    ("POST", "2.0/mlflow/runs/restore"): _exp("delete", _RUN),
    ("POST", "2.0/mlflow/runs/log-metric"): _exp("update", _RUN),
    ("POST", "2.0/mlflow/runs/log-parameter"): _exp("update", _RUN),
    ("POST", "2.0/mlflow/runs/set-tag"): _exp("update", _RUN),
    ("POST", "2.0/mlflow/runs/delete-tag"): _exp("update", _RUN),
    ("POST", "2.0/mlflow/runs/log-batch"): _exp("update", _RUN),
    ("POST", "2.0/mlflow/runs/log-inputs"): _exp("update", _RUN),
    ("POST", "2.0/mlflow/runs/outputs"): _exp("update", _RUN),
    ("POST", "2.0/mlflow/runs/log-model"): _exp("update", _RUN),
    ("POST", "2.0/mlflow/runs/search"): SCOPED,
    ("POST", "2.0/aiotrack/runs/table"): SCOPED,  # runs/search for the UI: the same scoping
    # ---- metrics
    ("GET", "2.0/mlflow/metrics/get-history"): _exp("read", _RUN),
    ("GET", "2.0/mlflow/metrics/get-history-bulk"): _exp("read", run_fields("run_id")),
    ("GET", "2.0/mlflow/metrics/get-history-bulk-interval"): _exp("read", run_fields("run_ids")),
    ("GET", "2.0/aiotrack/metrics/downsampled"): _exp("read", run_fields("run_id")),
    ("POST", "2.0/aiotrack/metrics/grouped"): _exp("read", runs_of_groups),
    ("GET", "2.0/aiotrack/live/runs"): _exp("read", experiment_fields("experiment_id")),  # checked at connect
    # ---- artifacts: the proxy, the run listing, the UI download
    ("PUT", "2.0/mlflow-artifacts/artifacts/{}"): _exp("update", _ART),
    ("GET", "2.0/mlflow-artifacts/artifacts/{}"): _exp("read", _ART),
    ("GET", "2.0/mlflow-artifacts/artifacts"): _exp("read", artifact_path_in_query),
    ("DELETE", "2.0/mlflow-artifacts/artifacts/{}"): _exp("delete", _ART),
    ("POST", "2.0/mlflow-artifacts/mpu/create/{}"): _exp("update", _ART),
    ("POST", "2.0/mlflow-artifacts/mpu/complete/{}"): _exp("update", _ART),
    ("POST", "2.0/mlflow-artifacts/mpu/abort/{}"): _exp("update", _ART),
    ("GET", "2.0/mlflow-artifacts/presigned/{}"): _exp("read", _ART),
    ("GET", "2.0/mlflow/artifacts/list"): _exp("read", _RUN),
    ("POST", "2.0/mlflow/artifacts/presigned-upload-url"): _exp("update", _RUN),
    ("POST", "2.0/mlflow/artifacts/presigned-download-url"): _exp("read", _RUN),
    ("GET", "/get-artifact"): _exp("read", run_field("run_id", "run_uuid")),
    ("POST", "2.0/mlflow/upload-artifact"): _exp("update", run_field("run_uuid", "run_id")),
    # ---- model registry (prompts included)
    ("POST", "2.0/mlflow/registered-models/create"): SIGNED_IN,
    ("GET", "2.0/mlflow/registered-models/get"): _model("read"),
    ("PATCH", "2.0/mlflow/registered-models/update"): _model("update"),
    ("POST", "2.0/mlflow/registered-models/rename"): _model("update"),
    ("DELETE", "2.0/mlflow/registered-models/delete"): _model("delete"),
    ("GET", "2.0/mlflow/registered-models/search"): SCOPED,
    ("GET", "2.0/mlflow/registered-models/get-latest-versions"): _model("read"),
    ("POST", "2.0/mlflow/registered-models/get-latest-versions"): _model("read"),
    ("POST", "2.0/mlflow/registered-models/set-tag"): _model("update"),
    ("DELETE", "2.0/mlflow/registered-models/delete-tag"): _model("update"),
    ("POST", "2.0/mlflow/registered-models/alias"): _model("update"),
    ("DELETE", "2.0/mlflow/registered-models/alias"): _model("update"),
    ("GET", "2.0/mlflow/registered-models/alias"): _model("read"),
    ("POST", "2.0/mlflow/model-versions/create"): _model("update"),
    ("GET", "2.0/mlflow/model-versions/get"): _model("read"),
    ("PATCH", "2.0/mlflow/model-versions/update"): _model("update"),
    ("POST", "2.0/mlflow/model-versions/transition-stage"): _model("update"),
    ("DELETE", "2.0/mlflow/model-versions/delete"): _model("delete"),
    ("GET", "2.0/mlflow/model-versions/search"): SCOPED,
    ("GET", "2.0/mlflow/model-versions/get-download-uri"): _model("read"),
    ("POST", "2.0/mlflow/model-versions/set-tag"): _model("update"),
    ("DELETE", "2.0/mlflow/model-versions/delete-tag"): _model("delete"),
    ("GET", "/model-versions/get-artifact"): _model("read"),
    # ---- logged models
    ("POST", "2.0/mlflow/logged-models"): _exp("update", _EXP_ID),
    ("POST", "2.0/mlflow/logged-models/search"): SCOPED,
    ("GET", "2.0/mlflow/logged-models/{}"): _exp("read", _LM),
    ("PATCH", "2.0/mlflow/logged-models/{}"): _exp("update", _LM),
    ("DELETE", "2.0/mlflow/logged-models/{}"): _exp("delete", _LM),
    ("PATCH", "2.0/mlflow/logged-models/{}/tags"): _exp("update", _LM),
    ("DELETE", "2.0/mlflow/logged-models/{}/tags/{}"): _exp("delete", _LM),
    ("POST", "2.0/mlflow/logged-models/{}/params"): _exp("update", _LM),
    ("GET", "2.0/mlflow/logged-models/{}/artifacts/directories"): _exp("read", _LM),
    ("GET", "2.0/mlflow/logged-models/{}/artifacts/files"): _exp("read", _LM),
    # ---- traces (MLflow's paths; experiment-scoped as in MLflow's auth)
    ("POST", "2.0/mlflow/traces"): _exp("update", _EXP_ID),
    ("POST", "3.0/mlflow/traces"): _exp("update", trace_v3_start),
    ("PATCH", "2.0/mlflow/traces/{}"): _exp("update", _TRACE),
    ("GET", "2.0/mlflow/traces/{}/info"): _exp("read", _TRACE),
    ("GET", "3.0/mlflow/traces/{}"): _exp("read", _TRACE),
    ("GET", "3.0/mlflow/traces/get"): _exp("read", trace_fields("trace_id")),
    ("GET", "3.0/mlflow/traces/batchGet"): _exp("read", trace_fields("trace_ids")),
    ("POST", "3.0/mlflow/traces/batchGetInfos"): _exp("read", trace_fields("trace_ids")),
    ("GET", "2.0/mlflow/traces"): _exp("read", experiment_fields()),
    ("POST", "3.0/mlflow/traces/search"): _exp("read", trace_v3_locations),
    ("POST", "2.0/mlflow/traces/delete-traces"): _exp("delete", _EXP_ID),
    ("POST", "3.0/mlflow/traces/delete-traces"): _exp("delete", _EXP_ID),
    ("PATCH", "2.0/mlflow/traces/{}/tags"): _exp("update", _TRACE),
    ("PATCH", "3.0/mlflow/traces/{}/tags"): _exp("update", _TRACE),
    ("DELETE", "2.0/mlflow/traces/{}/tags"): _exp("update", _TRACE),
    ("DELETE", "3.0/mlflow/traces/{}/tags"): _exp("update", _TRACE),
    ("POST", "2.0/mlflow/traces/link-to-run"): _exp("update", _RUN),
    ("POST", "2.0/mlflow/traces/link-prompts"): _exp("update", trace_fields("trace_id")),
    ("POST", "3.0/mlflow/traces/calculate-filter-correlation"): _exp("read", experiment_fields()),
    ("POST", "3.0/mlflow/traces/metrics"): _exp("read", experiment_fields()),
    ("GET", "3.0/mlflow/traces/{}/assessments/{}"): _exp("read", _TRACE),
    ("POST", "3.0/mlflow/traces/{}/assessments"): _exp("update", _TRACE),
    ("PATCH", "3.0/mlflow/traces/{}/assessments/{}"): _exp("update", _TRACE),
    ("DELETE", "3.0/mlflow/traces/{}/assessments/{}"): _exp("update", _TRACE),
    ("GET", "2.0/mlflow/get-trace-artifact"): _exp("read", trace_fields("request_id")),
    ("GET", "3.0/mlflow/get-trace-artifact"): _exp("read", trace_fields("request_id")),
    ("POST", "/v1/traces"): _exp("update", otlp_experiment),
    # ---- the auth API itself (aiotrack/http/api/auth.py)
    ("POST", "2.0/mlflow/users/create"): ADMIN,
    ("GET", "2.0/mlflow/users/get"): Custom(is_self),
    ("GET", "2.0/mlflow/users/current"): SIGNED_IN,
    ("GET", "2.0/mlflow/users/list"): SIGNED_IN,
    ("PATCH", "2.0/mlflow/users/update-password"): Custom(is_self),
    ("PATCH", "2.0/mlflow/users/update-admin"): SUPER_ADMIN,
    ("DELETE", "2.0/mlflow/users/delete"): SUPER_ADMIN,
    ("GET", "3.0/mlflow/users/current/permissions"): SIGNED_IN,
    ("GET", "3.0/mlflow/users/permissions/list"): Custom(is_self_or_role_admin),
    ("POST", "3.0/mlflow/users/permissions/grant"): Custom(manages_resource),
    ("POST", "3.0/mlflow/users/permissions/revoke"): Custom(manages_resource),
    ("GET", "3.0/mlflow/users/permissions/get"): Custom(is_self_or_role_admin),
    ("POST", "3.0/mlflow/roles/create"): Custom(is_role_admin),
    ("GET", "3.0/mlflow/roles/get"): Custom(is_role_admin),
    ("GET", "3.0/mlflow/roles/list"): Custom(is_role_admin),
    ("PATCH", "3.0/mlflow/roles/update"): Custom(is_role_admin),
    ("DELETE", "3.0/mlflow/roles/delete"): Custom(is_role_admin),
    ("POST", "3.0/mlflow/roles/permissions/add"): Custom(is_role_admin),
    ("DELETE", "3.0/mlflow/roles/permissions/remove"): Custom(is_role_admin),
    ("GET", "3.0/mlflow/roles/permissions/list"): Custom(is_role_admin),
    ("PATCH", "3.0/mlflow/roles/permissions/update"): Custom(is_role_admin),
    ("POST", "3.0/mlflow/roles/assign"): Custom(is_role_admin),
    ("DELETE", "3.0/mlflow/roles/unassign"): Custom(is_role_admin),
    ("GET", "3.0/mlflow/users/roles/list"): Custom(is_self_or_role_admin),
    ("GET", "3.0/mlflow/roles/users/list"): Custom(is_role_admin),
    # aiotrack's: one resource's grants, for the UI's permission editor (MANAGE on it, or admin)
    ("GET", "2.0/aiotrack/permissions/list"): Custom(manages_resource),
    ("PATCH", "2.0/aiotrack/permissions/update"): Custom(manages_resource),
    # aiotrack's access tokens: each user manages their own
    ("POST", "2.0/aiotrack/users/access-tokens/create"): SIGNED_IN,
    ("GET", "2.0/aiotrack/users/access-tokens/list"): SIGNED_IN,
    ("DELETE", "2.0/aiotrack/users/access-tokens/delete"): SIGNED_IN,
}

_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_API_PREFIXES = ("/api/", "/ajax-api/")


@functools.lru_cache(maxsize=4096)
def route_key(method: str, canonical: str, prefix: str = "") -> tuple[str, str]:
    """The RULES key of a registered route: its method and canonical path without the static
    prefix, ``/api/`` or ``/ajax-api/``, with placeholders reduced to ``{}``."""
    path = canonical[len(prefix) :] if prefix and canonical.startswith(prefix) else canonical
    for p in _API_PREFIXES:
        if path.startswith(p):
            path = path[len(p) :]
            break
    return method, _PLACEHOLDER.sub("{}", path)


@functools.lru_cache(maxsize=4096)
def rule_for(method: str, canonical: str, prefix: str = "") -> Rule | None:
    return RULES.get(route_key(method, canonical, prefix))
