"""MLflow's auth configuration: ``basic_auth.ini`` (or the file ``MLFLOW_AUTH_CONFIG_PATH`` names),
section ``[mlflow]``, plus ``MLFLOW_AUTH_ADMIN_USERNAME`` / ``MLFLOW_AUTH_ADMIN_PASSWORD``.

Read once by the CLI (workers get the resulting object, not the environment). Keys MLflow has
and aiotrack honours: ``default_permission``, ``database_uri``, ``admin_username``,
``admin_password``, ``auth_cache_ttl_seconds``, ``auth_cache_max_size``. Keys that would change
behaviour aiotrack does not have (a custom ``authorization_function``, ``read_database_uri``,
``grant_default_workspace_access = true``) are refused with the reason; the workspace cache
sizes configure a cache aiotrack does not need (it has no workspaces) and are accepted as no-ops.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field

from aiotrack.errors import ConfigError
from aiotrack.services.auth.permissions import PERMISSIONS, Permission

MLFLOW_DEFAULT_AUTHORIZATION_FUNCTION = "mlflow.server.auth:authenticate_request_basic_auth"
DEFAULT_ADMIN_USERNAME = "admin"
DEFAULT_CACHE_TTL_SECONDS = 10
DEFAULT_CACHE_MAX_SIZE = 10_000

_KNOWN_KEYS = {
    "default_permission",
    "database_uri",
    "admin_username",
    "admin_password",
    "authorization_function",
    "grant_default_workspace_access",
    "workspace_cache_max_size",
    "workspace_cache_ttl_seconds",
    "auth_cache_max_size",
    "auth_cache_ttl_seconds",
    "read_database_uri",
}


@dataclass(frozen=True)
class AuthConfig:
    default_permission: Permission
    database_uri: str | None  # None: the backend store
    admin_username: str
    admin_password: str | None = field(default=None, repr=False)  # never printed
    cache_ttl_seconds: float = DEFAULT_CACHE_TTL_SECONDS
    cache_max_size: int = DEFAULT_CACHE_MAX_SIZE
    source: str = "defaults"


def _int(section: configparser.SectionProxy, key: str, default: int) -> int:
    try:
        value = section.getint(key, fallback=default)
    except ValueError:
        raise ConfigError(f"Auth configuration: {key} must be an integer, got {section.get(key)!r}.") from None
    if value < 0:
        raise ConfigError(f"Auth configuration: {key} must not be negative.")
    return value


def read_auth_config(environ: dict[str, str] | None = None) -> AuthConfig:
    env = os.environ if environ is None else environ
    path = env.get("MLFLOW_AUTH_CONFIG_PATH") or None
    parser = configparser.ConfigParser(interpolation=None)
    if path is not None:
        try:
            with open(path, encoding="utf-8") as f:
                parser.read_file(f)
        except OSError as exc:
            raise ConfigError(f"MLFLOW_AUTH_CONFIG_PATH={path}: cannot read it ({exc.strerror}).") from None
        except configparser.Error as exc:
            raise ConfigError(f"MLFLOW_AUTH_CONFIG_PATH={path}: not an ini file ({exc.message}).") from None
        if not parser.has_section("mlflow"):
            raise ConfigError(f"MLFLOW_AUTH_CONFIG_PATH={path}: it has no [mlflow] section.")
    section = parser["mlflow"] if parser.has_section("mlflow") else configparser.ConfigParser()["DEFAULT"]
    unknown = sorted(set(section.keys()) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"Auth configuration {path}: unknown keys {', '.join(unknown)}.")
    function = section.get("authorization_function", MLFLOW_DEFAULT_AUTHORIZATION_FUNCTION)
    if function != MLFLOW_DEFAULT_AUTHORIZATION_FUNCTION:
        raise ConfigError(
            f"Auth configuration: authorization_function = {function} is refused: aiotrack does not load Python "
            "plugins into the server; it authenticates with HTTP Basic passwords and bearer access tokens."
        )
    if section.get("read_database_uri"):
        raise ConfigError("Auth configuration: read_database_uri (a read replica) is not supported; remove it.")
    try:
        workspace_access = section.getboolean("grant_default_workspace_access", fallback=False)
    except ValueError:
        raise ConfigError("Auth configuration: grant_default_workspace_access must be true or false.") from None
    if workspace_access:
        raise ConfigError(
            "Auth configuration: grant_default_workspace_access = true is refused: aiotrack has no workspaces."
        )
    default_name = section.get("default_permission", "READ").strip().upper()
    if default_name not in PERMISSIONS or default_name == "DENY":
        raise ConfigError(
            f"Auth configuration: default_permission = {default_name} is not one of READ, USE, EDIT, MANAGE, "
            "NO_PERMISSIONS."
        )
    # An environment variable that is set wins even when empty (as in MLflow), so an empty
    # injected secret is an error, not a silent fall-back to the file.
    if "MLFLOW_AUTH_ADMIN_USERNAME" in env:
        admin_username = env["MLFLOW_AUTH_ADMIN_USERNAME"]
    else:
        admin_username = section.get("admin_username", DEFAULT_ADMIN_USERNAME)
    if "MLFLOW_AUTH_ADMIN_PASSWORD" in env:
        admin_password: str | None = env["MLFLOW_AUTH_ADMIN_PASSWORD"]
    else:
        admin_password = section.get("admin_password")
    database_uri = (section.get("database_uri") or "").strip() or None
    return AuthConfig(
        default_permission=PERMISSIONS[default_name],
        database_uri=database_uri,
        admin_username=(admin_username or "").strip(),
        admin_password=admin_password or None,
        cache_ttl_seconds=_int(section, "auth_cache_ttl_seconds", DEFAULT_CACHE_TTL_SECONDS),
        cache_max_size=_int(section, "auth_cache_max_size", DEFAULT_CACHE_MAX_SIZE) or 1,
        source=path or "defaults",
    )
