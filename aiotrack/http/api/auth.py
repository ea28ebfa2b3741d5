"""MLflow 3.17's basic-auth REST API (mlflow/server/auth/routes.py), same paths, shapes and errors,
plus aiotrack's access tokens. Served only with ``--app-name basic-auth``; who may call what is
decided by aiotrack/http/auth/rules.py before a handler runs.

aiotrack's own, for the UI's permission editor (MANAGE on the resource, or admin):
``GET 2.0/aiotrack/permissions/list?resource_type=&resource_id=`` answers the per-user grants on
one experiment, registered model or prompt (``{"resource_type", "resource_id",
"default_permission", "permissions": [{"user_id", "username", "is_admin", "permission"}]}``) and
``PATCH 2.0/aiotrack/permissions/update`` changes an existing one in place (MLflow has only
grant and revoke, and revoke-then-grant leaves a moment without the grant).

Users: ``{"user": {"id", "username", "is_admin"}}`` (never a hash). Roles:
``{"id", "name", "workspace", "description", "permissions": [RolePermission]}``. Access tokens
(``2.0/aiotrack/users/access-tokens/{create,list,delete}``): the secret is answered once, at
creation; the client sends it as ``Authorization: Bearer`` (``MLFLOW_TRACKING_TOKEN``).
"""

from __future__ import annotations

from aiohttp import web

from aiotrack.errors import invalid
from aiotrack.http import keys
from aiotrack.http.auth.middleware import principal_of
from aiotrack.http.codec import Args, empty_response, json_response, read_args
from aiotrack.http.routing import Routes
from aiotrack.services.auth.service import AuthService, Principal

routes = Routes()


def _auth(request: web.Request) -> AuthService:
    return request.app[keys.AUTH]


def _me(request: web.Request) -> Principal:
    principal = principal_of(request)
    assert principal is not None  # the auth middleware ran
    return principal


def _param(args: Args, name: str) -> str:
    value = args.raw(name)
    if value is None or value == "":
        raise invalid(
            f"Missing value for required parameter '{name}'. See the API docs for more information about request "
            "parameters."
        )
    if not isinstance(value, str):
        raise invalid(f"Parameter '{name}' must be a string.")
    return value


def _grant_target(args: Args) -> tuple[str, str, str]:
    """The (username, resource_type, resource_id) a per-user grant request names, in MLflow's order
    of checking them."""
    return _param(args, "username"), _param(args, "resource_type"), _param(args, "resource_id")


def _int_param(args: Args, name: str) -> int:
    raw = args.raw(name)
    if raw is None or raw == "":
        _param(args, name)
    if isinstance(raw, bool):
        raise invalid(f"Parameter '{name}' must be an integer. Got: {raw!r}")
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise invalid(f"Parameter '{name}' must be an integer. Got: {raw!r}") from None


# ---------------------------------------------------------------------- users


@routes.post("2.0/mlflow/users/create")
async def create_user(request: web.Request) -> web.Response:
    args = await read_args(request)
    username, password = args.raw("username"), args.raw("password")
    if not username or not password:
        raise invalid("Username and password cannot be empty.")
    user = await _auth(request).create_user(username, password)
    return json_response({"user": user})


@routes.get("2.0/mlflow/users/get")
async def get_user(request: web.Request) -> web.Response:
    args = await read_args(request)
    return json_response({"user": await _auth(request).get_user(_param(args, "username"))})


@routes.get("2.0/mlflow/users/list")
async def list_users(request: web.Request) -> web.Response:
    auth, me = _auth(request), _me(request)
    users = await auth.list_users()
    if not await auth.is_admin(me):  # others' roles are for admins to see
        users = [u if u["username"] == me.username else {**u, "roles": []} for u in users]
    return json_response({"users": users})


@routes.get("2.0/mlflow/users/current")
async def current_user(request: web.Request) -> web.Response:
    me = _me(request)
    user = await _auth(request).get_user(me.username)
    return json_response({"user": user, "is_basic_auth": True})


@routes.get("3.0/mlflow/users/current/permissions")
async def current_user_permissions(request: web.Request) -> web.Response:
    is_admin, rows = await _auth(request).permission_rows(_me(request).username)
    return json_response({"is_admin": is_admin, "permissions": rows})


@routes.get("3.0/mlflow/users/permissions/list")
async def user_permissions(request: web.Request) -> web.Response:
    args = await read_args(request)
    is_admin, rows = await _auth(request).permission_rows(_param(args, "username"))
    return json_response({"is_admin": is_admin, "permissions": rows})


@routes.patch("2.0/mlflow/users/update-password")
async def update_password(request: web.Request) -> web.Response:
    args = await read_args(request)
    await _auth(request).update_password(
        _me(request), _param(args, "username"), args.raw("password"), args.raw("current_password")
    )
    return empty_response()


@routes.patch("2.0/mlflow/users/update-admin")
async def update_admin(request: web.Request) -> web.Response:
    args = await read_args(request)
    username = _param(args, "username")
    if args.raw("is_admin") is None:
        _param(args, "is_admin")
    await _auth(request).update_admin(username, args.raw("is_admin"))
    return empty_response()


@routes.delete("2.0/mlflow/users/delete")
async def delete_user(request: web.Request) -> web.Response:
    args = await read_args(request)
    await _auth(request).delete_user(_me(request), _param(args, "username"))
    return empty_response()


# ---------------------------------------------------------------------- per-user grants


@routes.post("3.0/mlflow/users/permissions/grant")
async def grant_permission(request: web.Request) -> web.Response:
    args = await read_args(request)
    await _auth(request).grant(*_grant_target(args), _param(args, "permission"))
    return empty_response()


@routes.post("3.0/mlflow/users/permissions/revoke")
async def revoke_permission(request: web.Request) -> web.Response:
    args = await read_args(request)
    await _auth(request).revoke(*_grant_target(args))
    return empty_response()


@routes.get("3.0/mlflow/users/permissions/get")
async def get_permission(request: web.Request) -> web.Response:
    args = await read_args(request)
    perm = await _auth(request).effective_permission(*_grant_target(args))
    return json_response({"allowed": perm.can_use, "permission": perm.name})


# ---------------------------------------------------------------------- one resource's grants (aiotrack, for the UI)


@routes.get("2.0/aiotrack/permissions/list")
async def resource_permissions(request: web.Request) -> web.Response:
    args = await read_args(request)
    auth = _auth(request)
    resource_type, resource_id = _param(args, "resource_type"), _param(args, "resource_id")
    grants = await auth.resource_grants(resource_type, resource_id)
    return json_response(
        {
            "resource_type": resource_type,
            "resource_id": resource_id,
            "default_permission": auth.default.name,
            "permissions": grants,
        }
    )


@routes.patch("2.0/aiotrack/permissions/update")
async def update_resource_permission(request: web.Request) -> web.Response:
    args = await read_args(request)
    await _auth(request).change_grant(*_grant_target(args), _param(args, "permission"))
    return empty_response()


# ---------------------------------------------------------------------- roles


@routes.post("3.0/mlflow/roles/create")
async def create_role(request: web.Request) -> web.Response:
    args = await read_args(request)
    role = await _auth(request).create_role(args.raw("name"), args.raw("workspace"), args.raw("description"))
    return json_response({"role": role})


@routes.get("3.0/mlflow/roles/get")
async def get_role(request: web.Request) -> web.Response:
    args = await read_args(request)
    return json_response({"role": await _auth(request).store.get_role(_int_param(args, "role_id"))})


@routes.get("3.0/mlflow/roles/list")
async def list_roles(request: web.Request) -> web.Response:
    workspaces = request.query.getall("workspace", [])
    if any(not w.strip() for w in workspaces):
        raise invalid("Parameter 'workspace' must be a non-empty string when provided.")
    return json_response({"roles": await _auth(request).store.list_roles(workspaces or None)})


@routes.patch("3.0/mlflow/roles/update")
async def update_role(request: web.Request) -> web.Response:
    args = await read_args(request)
    role = await _auth(request).update_role(_int_param(args, "role_id"), args.raw("name"), args.raw("description"))
    return json_response({"role": role})


@routes.delete("3.0/mlflow/roles/delete")
async def delete_role(request: web.Request) -> web.Response:
    args = await read_args(request)
    await _auth(request).delete_role(_int_param(args, "role_id"))
    return empty_response()


@routes.post("3.0/mlflow/roles/permissions/add")
async def add_role_permission(request: web.Request) -> web.Response:
    args = await read_args(request)
    rp = await _auth(request).add_role_permission(
        _int_param(args, "role_id"),
        _param(args, "resource_type"),
        _param(args, "resource_pattern"),
        _param(args, "permission"),
    )
    return json_response({"role_permission": rp})


@routes.delete("3.0/mlflow/roles/permissions/remove")
async def remove_role_permission(request: web.Request) -> web.Response:
    args = await read_args(request)
    await _auth(request).remove_role_permission(_int_param(args, "role_permission_id"))
    return empty_response()


@routes.get("3.0/mlflow/roles/permissions/list")
async def list_role_permissions(request: web.Request) -> web.Response:
    args = await read_args(request)
    perms = await _auth(request).store.list_role_permissions(_int_param(args, "role_id"))
    return json_response({"role_permissions": perms})


@routes.patch("3.0/mlflow/roles/permissions/update")
async def update_role_permission(request: web.Request) -> web.Response:
    args = await read_args(request)
    rp = await _auth(request).update_role_permission(_int_param(args, "role_permission_id"), _param(args, "permission"))
    return json_response({"role_permission": rp})


@routes.post("3.0/mlflow/roles/assign")
async def assign_role(request: web.Request) -> web.Response:
    args = await read_args(request)
    assignment = await _auth(request).assign_role(_param(args, "username"), _int_param(args, "role_id"))
    return json_response({"assignment": assignment})


@routes.delete("3.0/mlflow/roles/unassign")
async def unassign_role(request: web.Request) -> web.Response:
    args = await read_args(request)
    await _auth(request).unassign_role(_param(args, "username"), _int_param(args, "role_id"))
    return empty_response()


@routes.get("3.0/mlflow/users/roles/list")
async def list_user_roles(request: web.Request) -> web.Response:
    args = await read_args(request)
    auth = _auth(request)
    user = await auth.get_user(_param(args, "username"))
    return json_response({"roles": await auth.store.list_user_roles(user["id"])})


@routes.get("3.0/mlflow/roles/users/list")
async def list_role_users(request: web.Request) -> web.Response:
    args = await read_args(request)
    return json_response({"assignments": await _auth(request).store.list_role_users(_int_param(args, "role_id"))})


# ---------------------------------------------------------------------- access tokens (aiotrack)


@routes.post("2.0/aiotrack/users/access-tokens/create")
async def create_access_token(request: web.Request) -> web.Response:
    args = await read_args(request)
    row, secret = await _auth(request).create_token(_me(request), args.raw("name"), args.raw("expires_in_days"))
    return json_response({"access_token": row, "token": secret})


@routes.get("2.0/aiotrack/users/access-tokens/list")
async def list_access_tokens(request: web.Request) -> web.Response:
    return json_response({"access_tokens": await _auth(request).list_tokens(_me(request))})


@routes.delete("2.0/aiotrack/users/access-tokens/delete")
async def delete_access_token(request: web.Request) -> web.Response:
    args = await read_args(request)
    await _auth(request).delete_token(_me(request), _int_param(args, "token_id"))
    return empty_response()
