"""The auth service: who is calling (credentials), what they may do (grants), and the user, role,
grant and token operations of the auth REST API, with MLflow's rules and messages.

Lookups the permission checks need from the tracking side (a run's experiment, whether a
registered model is a prompt) are passed in as callables, so this layer knows no concrete store
but its own.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiotrack.entities import ReadScope
from aiotrack.errors import PERMISSION_DENIED, AiotrackError, ConfigError, invalid
from aiotrack.services.auth import credentials as cred
from aiotrack.services.auth import permissions as perms
from aiotrack.services.auth.config import AuthConfig
from aiotrack.services.auth.limits import FailureLimiter, SharedGeneration, TtlCache
from aiotrack.services.auth.permissions import Grant, Permission

if TYPE_CHECKING:
    from aiotrack.stores.sql.auth import SqlAuthStore

log = logging.getLogger("aiotrack.auth")

Json = dict[str, Any]
UNAUTHENTICATED_MESSAGE = (
    "You are not authenticated. Please see "
    "https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate."
)
TOKEN_NAME_MAX = 256


class Unauthenticated(AiotrackError):
    """401 with a Basic challenge."""

    def __init__(self) -> None:
        super().__init__(UNAUTHENTICATED_MESSAGE, "UNAUTHENTICATED", status=401)


class TooManyAttempts(AiotrackError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many failed sign-in attempts; try again in {retry_after} seconds.",
            "REQUEST_LIMIT_EXCEEDED",
            status=429,
        )
        self.retry_after = retry_after


def forbidden() -> AiotrackError:
    return AiotrackError("Permission denied", PERMISSION_DENIED)


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    is_admin: bool
    token_id: int | None = None  # signed in with an access token


@dataclass(frozen=True)
class Lookups:
    """What the checks need to know about tracking and registry objects."""

    experiment_of_run: Callable[[str], Awaitable[str]]
    experiment_of_logged_model: Callable[[str], Awaitable[str]]
    experiment_id_by_name: Callable[[str], Awaitable[str]]
    is_prompt: Callable[[str], Awaitable[bool]]
    # Set once a trace store is served (MLflow's trace routes); until then trace routes are admin-only.
    experiment_of_trace: Callable[[str], Awaitable[str]] | None = None


class AuthService:
    def __init__(
        self, store: SqlAuthStore, config: AuthConfig, lookups: Lookups, generation: SharedGeneration | None = None
    ) -> None:
        self.store = store
        self.config = config
        self.lookups = lookups
        self.default = config.default_permission
        ttl, size = config.cache_ttl_seconds, config.cache_max_size
        # Keys of verified passwords are an HMAC under a per-process secret, never the password.
        self._secret = secrets.token_bytes(32)
        self._passwords: TtlCache[tuple[str, bytes], Principal] = TtlCache(ttl, size)
        self._tokens: TtlCache[str, tuple[Principal, int | None]] = TtlCache(ttl, size)
        # The hot path: a keyed BLAKE2b digest of the whole Authorization header -> the caller and
        # the token's expiry, so a signed-in request costs one C hash and one dict lookup.
        self._headers: TtlCache[bytes, tuple[Principal, int | None]] = TtlCache(ttl, size)
        self._grants: TtlCache[int, tuple[Grant, ...]] = TtlCache(ttl, size)
        # A run's experiment never changes, so these may live for long; a deleted one just misses.
        self._run_experiments: TtlCache[str, str] = TtlCache(3600, 100_000)
        self._prompt_names: TtlCache[str, bool] = TtlCache(ttl, size)
        self.limiter = FailureLimiter()
        self._checking: dict[tuple[str, bytes], asyncio.Future[Principal]] = {}
        self.generation = generation or SharedGeneration()
        self._seen = self.generation.value()

    def _sync(self) -> None:
        """Drop this worker's caches when another worker changed users, grants or tokens."""
        current = self.generation.value()
        if current != self._seen:
            self._seen = current
            self._passwords.clear()
            self._tokens.clear()
            self._headers.clear()
            self._grants.clear()
            self._prompt_names.clear()

    def _changed(self) -> None:
        """After a change to users, grants, roles or tokens: tell every worker."""
        self.generation.bump()
        self._sync()

    # ------------------------------------------------------------------ bootstrap

    async def bootstrap_admin(self) -> None:
        """On an empty user table, create the configured admin; refuse to run without a password."""
        if await self.store.has_users():
            return
        name, password = self.config.admin_username, self.config.admin_password
        if not name or not password:
            raise BootstrapError(
                "basic-auth has no users yet and no admin password was given. Set MLFLOW_AUTH_ADMIN_PASSWORD "
                "(and optionally MLFLOW_AUTH_ADMIN_USERNAME, default 'admin') in the environment, or admin_password "
                "in the [mlflow] section of the file MLFLOW_AUTH_CONFIG_PATH names; it must have at least "
                f"{cred.MIN_PASSWORD_LENGTH} characters. It is used once, to create the first admin."
            )
        try:
            cred.check_username_rule(name)
            cred.check_password_rule(password)
        except AiotrackError as exc:
            raise BootstrapError(f"The configured admin account is refused: {exc.message}") from None
        try:
            await self.store.create_user(name, await cred.hash_password(password), is_admin=True)
            log.info("basic-auth: created the admin user %r", name)
        except AiotrackError:
            pass  # another process created it first

    # ------------------------------------------------------------------ authentication

    def _password_key(self, username: str, password: str) -> tuple[str, bytes]:
        return username, hmac.new(self._secret, password.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()

    async def authenticate(self, header: str | None, address: str) -> Principal:
        """The caller named by an ``Authorization`` header (Basic or Bearer), or 401/429."""
        self._sync()
        if not header:
            raise Unauthenticated()
        header_key = hashlib.blake2b(
            header.encode("utf-8", "surrogateescape"), key=self._secret, digest_size=20
        ).digest()
        hit = self._headers.get(header_key)
        if hit is not None and (hit[1] is None or hit[1] > time.time() * 1000):
            return hit[0]
        principal, expires = await self._authenticate(header, address)
        self._headers.put(header_key, (principal, expires))
        return principal

    async def _authenticate(self, header: str, address: str) -> tuple[Principal, int | None]:
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme == "basic":
            try:
                text = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise Unauthenticated() from None
            username, sep, password = text.partition(":")
            if not sep or not username:
                raise Unauthenticated()
            return await self._password_principal(username, password, address), None
        if scheme == "bearer" and value:
            return await self._token_principal(value, address)
        raise Unauthenticated()

    async def _password_principal(self, username: str, password: str, address: str) -> Principal:
        key = self._password_key(username, password)
        cached = self._passwords.get(key)
        if cached is not None:
            return cached
        # Concurrent requests with the same credentials share one check (one KDF run, not one each).
        pending = self._checking.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        task = asyncio.ensure_future(self._check_password(key, username, password, address))
        self._checking[key] = task

        def finished(t: asyncio.Future[Principal]) -> None:
            self._checking.pop(key, None)
            if not t.cancelled():
                t.exception()  # retrieved here too, in case every waiter went away

        task.add_done_callback(finished)
        return await asyncio.shield(task)

    async def _check_password(self, key: tuple[str, bytes], username: str, password: str, address: str) -> Principal:
        wait = self.limiter.retry_after(username, address)
        if wait:
            raise TooManyAttempts(wait)
        found = await self.store.get_credentials(username)
        ok = await cred.verify_password(found[1] if found else None, password)
        if not ok or found is None:
            self.limiter.failed(username, address)
            raise Unauthenticated()
        self.limiter.succeeded(username, address)
        user = found[0]
        principal = Principal(user["id"], user["username"], user["is_admin"])
        self._passwords.put(key, principal)
        return principal

    async def _token_principal(self, token: str, address: str) -> tuple[Principal, int | None]:
        digest = cred.token_digest(token)
        now_ms = int(time.time() * 1000)
        cached = self._tokens.get(digest)
        if cached is None:
            wait = self.limiter.retry_after("", address)
            if wait:
                raise TooManyAttempts(wait)
            found = await self.store.find_token(digest)
            if found is None:
                self.limiter.failed("", address)
                raise Unauthenticated()
            user, expires, token_id = found
            cached = (Principal(user["id"], user["username"], user["is_admin"], token_id), expires)
            self._tokens.put(digest, cached)
        principal, expires = cached
        if expires is not None and expires <= now_ms:
            raise Unauthenticated()
        return principal, expires

    def _forget_user(self, user_id: int | None = None, username: str | None = None) -> None:
        self._changed()

    # ------------------------------------------------------------------ authorization

    async def grants(self, principal: Principal) -> tuple[Grant, ...]:
        cached = self._grants.get(principal.user_id)
        if cached is None:
            cached = tuple(await self.store.grants_for_user(principal.user_id))
            self._grants.put(principal.user_id, cached)
        return cached

    async def is_admin(self, principal: Principal) -> bool:
        return principal.is_admin or perms.is_workspace_admin(await self.grants(principal))

    async def permission(self, principal: Principal, resource_type: str, resource_id: str) -> Permission:
        if principal.is_admin:
            return perms.MANAGE
        return perms.resolve(await self.grants(principal), resource_type, resource_id, self.default)

    async def require(self, principal: Principal, resource_type: str, resource_id: str, action: str) -> None:
        if not perms.allows(await self.permission(principal, resource_type, resource_id), action):
            raise forbidden()

    async def read_scope(self, principal: Principal, resource_type: str) -> ReadScope:
        if principal.is_admin:
            return perms.EVERYTHING
        return perms.read_scope(await self.grants(principal), resource_type, self.default)

    async def readable_experiments(self, principal: Principal, experiment_ids: Sequence[str]) -> list[str]:
        scope = await self.read_scope(principal, perms.EXPERIMENT)
        return [e for e in experiment_ids if scope.permits(str(e))]

    async def experiment_of_run(self, run_id: str) -> str:
        found = self._run_experiments.get(run_id)
        if found is None:
            found = await self.lookups.experiment_of_run(run_id)
            self._run_experiments.put(run_id, found)
        return found

    async def model_type(self, name: str) -> str:
        """``prompt`` or ``registered_model``: which grants govern the registry entry ``name``."""
        found = self._prompt_names.get(name)
        if found is None:
            found = await self.lookups.is_prompt(name)
            self._prompt_names.put(name, found)
        return perms.PROMPT if found else perms.REGISTERED_MODEL

    async def on_created(self, principal: Principal, resource_type: str, resource_id: str) -> None:
        """The creator of an experiment, registered model or prompt gets MANAGE on it."""
        await self.store.grant_user_permission(
            principal.user_id, principal.username, resource_type, resource_id, perms.MANAGE.name, replace=True
        )
        self._changed()

    async def on_model_deleted(self, name: str) -> None:
        await self.store.delete_grants_for_resource((perms.REGISTERED_MODEL, perms.PROMPT), name)
        self._changed()

    async def on_model_renamed(self, old: str, new: str) -> None:
        await self.store.rename_grants_for_resource((perms.REGISTERED_MODEL, perms.PROMPT), old, new)
        self._changed()

    # ------------------------------------------------------------------ users

    async def create_user(self, username: object, password: object, is_admin: bool = False) -> Json:
        name = cred.check_username_rule(username)
        secret = cred.check_password_rule(password)
        return await self.store.create_user(name, await cred.hash_password(secret), is_admin)

    async def get_user(self, username: object) -> Json:
        if not isinstance(username, str):
            raise invalid("Missing value for required parameter 'username'.")
        return await self.store.get_user(username)

    async def list_users(self) -> list[Json]:
        return await self.store.list_users_with_roles()

    async def update_password(
        self, principal: Principal, username: str, password: object, current_password: object
    ) -> None:
        secret = cred.check_password_rule(password)
        if principal.username == username:
            if not current_password or not isinstance(current_password, str):
                raise invalid("Current password is required when changing your own password.")
            found = await self.store.get_credentials(username)
            if found is None or not await cred.verify_password(found[1], current_password):
                raise invalid("Current password does not match.")
            if secret == current_password:
                raise invalid("New password must differ from the current password.")
        await self.store.update_user(username, password_hash=await cred.hash_password(secret))
        self._forget_user(username=username)

    async def update_admin(self, username: str, is_admin: object) -> None:
        if isinstance(is_admin, str) and is_admin.lower() in ("true", "false"):
            is_admin = is_admin.lower() == "true"
        if not isinstance(is_admin, bool):
            raise invalid(f"Invalid value {is_admin!r} for parameter 'is_admin': expected a boolean.")
        user = await self.store.get_user(username)
        await self.store.update_user(username, is_admin=is_admin)
        self._forget_user(user["id"], username)

    async def delete_user(self, principal: Principal, username: str) -> None:
        if username == principal.username:
            raise AiotrackError(
                "Users cannot delete their own account. Ask another admin to delete this user instead.", "BAD_REQUEST"
            )
        user = await self.store.get_user(username)
        await self.store.delete_user(username)
        self._forget_user(user["id"], username)

    # ------------------------------------------------------------------ per-user grants

    async def grant(self, username: str, resource_type: object, resource_id: object, permission: object) -> None:
        await self._write_grant(username, resource_type, resource_id, permission, existing=False)

    async def revoke(self, username: str, resource_type: object, resource_id: object) -> None:
        perms.validate_grant(resource_type, resource_id, "READ", role=False)
        user = await self.store.get_user(username)
        await self.store.revoke_user_permission(user["id"], username, str(resource_type), str(resource_id))
        self._changed()

    async def change_grant(self, username: str, resource_type: object, resource_id: object, permission: object) -> None:
        """Change a user's existing grant on one resource (MLflow has only grant and revoke)."""
        await self._write_grant(username, resource_type, resource_id, permission, existing=True)

    async def _write_grant(
        self, username: str, resource_type: object, resource_id: object, permission: object, *, existing: bool
    ) -> None:
        """A new per-user grant (``existing=False``: one already on the resource is an error) or a
        change of the one there (``existing=True``: none there is not-found), once validated."""
        perms.validate_grant(resource_type, resource_id, permission, role=False)
        user = await self.store.get_user(username)
        write = self.store.update_user_permission if existing else self.store.grant_user_permission
        await write(user["id"], username, str(resource_type), str(resource_id), str(permission))
        self._changed()

    async def resource_grants(self, resource_type: object, resource_id: object) -> list[Json]:
        """Who holds a per-user grant on one resource, and which."""
        perms.validate_grant(resource_type, resource_id, "READ", role=False)
        return await self.store.list_resource_grants(str(resource_type), str(resource_id))

    async def effective_permission(self, username: str, resource_type: object, resource_id: object) -> Permission:
        perms.validate_grant(resource_type, resource_id, "READ", role=False)
        user = await self.store.get_user(username)
        target = Principal(user["id"], user["username"], user["is_admin"])
        self._grants.drop(lambda k, v: k == user["id"])  # answer from the store, not a stale cache
        return await self.permission(target, str(resource_type), str(resource_id))

    async def permission_rows(self, username: str) -> tuple[bool, list[Json]]:
        user = await self.store.get_user(username)
        rows = [
            {
                "role_id": role["id"],
                "role_name": role["name"],
                "workspace": role["workspace"],
                "resource_type": rp["resource_type"],
                "resource_pattern": rp["resource_pattern"],
                "permission": rp["permission"],
            }
            for role in await self.store.list_user_roles(user["id"])
            for rp in role["permissions"]
        ]
        return bool(user["is_admin"]), rows

    # ------------------------------------------------------------------ roles

    async def create_role(self, name: object, workspace: object, description: object) -> Json:
        role_name = _role_name(name)
        ws = _workspace(workspace)
        if description is not None and not isinstance(description, str):
            raise invalid("Role description must be a string or null.")
        return await self.store.create_role(role_name, ws, description)

    async def update_role(self, role_id: int, name: object, description: object) -> Json:
        if name is None and description is None:
            raise invalid("At least one of 'name' or 'description' must be provided to update a role.")
        if name is not None:
            name = _role_name(name)
        if description is not None and not isinstance(description, str):
            raise invalid("Role description must be a string.")
        return await self.store.update_role(role_id, name, description)

    async def delete_role(self, role_id: int) -> None:
        await self.store.delete_role(role_id)
        self._changed()

    async def add_role_permission(
        self, role_id: int, resource_type: object, pattern: object, permission: object
    ) -> Json:
        perms.validate_grant(resource_type, pattern, permission, role=True)
        rp = await self.store.add_role_permission(role_id, str(resource_type), str(pattern), str(permission))
        self._changed()
        return rp

    async def remove_role_permission(self, role_permission_id: int) -> None:
        await self.store.remove_role_permission(role_permission_id)
        self._changed()

    async def update_role_permission(self, role_permission_id: int, permission: object) -> Json:
        current = await self.store.get_role_permission(role_permission_id)
        perms.validate_grant(current["resource_type"], current["resource_pattern"], permission, role=True)
        rp = await self.store.update_role_permission(role_permission_id, str(permission))
        self._changed()
        return rp

    async def assign_role(self, username: str, role_id: int) -> Json:
        user = await self.store.get_user(username)
        assignment = await self.store.assign_role(user["id"], role_id)
        self._changed()
        return assignment

    async def unassign_role(self, username: str, role_id: int) -> None:
        user = await self.store.get_user(username)
        await self.store.unassign_role(user["id"], role_id)
        self._changed()

    # ------------------------------------------------------------------ access tokens

    async def create_token(self, principal: Principal, name: object, expires_in_days: object) -> tuple[Json, str]:
        if name is None:
            name = "token"
        if not isinstance(name, str) or not name.strip() or len(name) > TOKEN_NAME_MAX:
            raise invalid(f"Parameter 'name' must be a non-empty string of at most {TOKEN_NAME_MAX} characters.")
        expires_at = None
        if expires_in_days is not None:
            if (
                isinstance(expires_in_days, bool)
                or not isinstance(expires_in_days, int)
                or not 0 < expires_in_days <= 3650
            ):
                raise invalid("Parameter 'expires_in_days' must be an integer from 1 to 3650.")
            expires_at = int(time.time() * 1000) + expires_in_days * 86_400_000
        token = cred.new_token()
        row = await self.store.create_token(principal.user_id, name.strip(), cred.token_digest(token), expires_at)
        return row, token

    async def list_tokens(self, principal: Principal) -> list[Json]:
        return await self.store.list_tokens(principal.user_id)

    async def delete_token(self, principal: Principal, token_id: int) -> None:
        await self.store.delete_token(principal.user_id, token_id)
        self._changed()


class BootstrapError(ConfigError):
    """The first start cannot create the admin; the CLI prints this and exits."""


def _role_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise invalid("Role name cannot be empty.")
    if name.startswith("__user_"):
        raise invalid(
            f"Role name {name!r} uses the reserved '__user_' prefix, which is held for the per-user permission "
            "representation. Choose a different name."
        )
    return name


def _workspace(workspace: object) -> str:
    if not isinstance(workspace, str) or not workspace.strip():
        raise invalid("Workspace cannot be empty.")
    if workspace != "default":
        raise invalid(
            f"Workspace {workspace!r} does not exist: aiotrack has no workspaces, every role lives in 'default'."
        )
    return workspace
