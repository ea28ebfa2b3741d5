"""The settings table: every option of `aiotrack server`, declared once.

`Settings` below *is* the table. Each field is one entry, declared with `setting(...)`:

- the name is the field's name; the type is its annotation (`str`, `int`, `bool`, or one of
  them `| None`); the default is written once, here;
- `help` is the text of `aiotrack server --help` (and of the README row);
- the click flag is derived from the name (`foo_bar` -> `--foo-bar`; a bool gets
  `--foo-bar/--no-foo-bar`), plus an optional one-letter `short` flag;
- `mlflow_env` is the environment variable `mlflow server` reads for the same option (None
  where MLflow has none); `env` is aiotrack's own variable, `AIOTRACK_<NAME>` unless given;
- `choices`, `min_value`, `max_value` constrain the value (click refuses anything else);
- `uri=True` marks a value that may carry a password: the start-up banner hides it;
- `default_doc` is how the README and --help describe a default that is not a plain value.

`SETTINGS` is the same table as `Setting` rows, in declaration order. The CLI builds the click
options of `aiotrack server` from it (cli/server.py: flag, then AIOTRACK_* variable, then the
MLflow variable, then the default), and tests/test_docs.py checks the README's option table
against it (flags, both variables, defaults).

To add a setting, add one field to `Settings`, e.g.::

    request_timeout: int = setting(60, "Seconds a request may take.", mlflow_env=None, min_value=1)

and read it where it is used as `settings.request_timeout`. The flag (`--request-timeout`), its
variables (`AIOTRACK_REQUEST_TIMEOUT`, and MLflow's if you name one), --help, precedence and the
banner's "from" column all follow from the entry. Two tests then ask for what only a person can
write: the setting's row in the README's "`aiotrack server` options" table (tests/test_docs.py
prints what is missing) and a probe showing that setting it by its variable changes what a real
server does (PROBED in tests/cli/test_settings_behaviour.py).

This module uses the standard library only; workers receive the `Settings` object itself (never
through environment variables).
"""

from __future__ import annotations

import os
import typing
from dataclasses import MISSING, dataclass, field, fields
from types import NoneType, UnionType
from typing import Any, TypeVar
from urllib.parse import urlsplit

DEFAULT_DB_FILE = "aiotrack.db"
DEFAULT_ARTIFACTS_DIR = "aiotrack-artifacts"
DEFAULT_SERVED_ARTIFACT_ROOT = "mlflow-artifacts:/"
DEFAULT_LOCAL_ARTIFACT_ROOT = "./mlruns"

_T = TypeVar("_T")
_META = "aiotrack.setting"


@dataclass(frozen=True)
class _Spec:
    help: str
    mlflow_env: str | None
    env: str | None
    short: str | None
    choices: tuple[str, ...] | None
    min_value: int | None
    max_value: int | None
    uri: bool
    default_doc: str | None


def setting(
    default: _T,
    help: str,
    *,
    mlflow_env: str | None,
    env: str | None = None,
    short: str | None = None,
    choices: tuple[str, ...] | None = None,
    min_value: int | None = None,
    max_value: int | None = None,
    uri: bool = False,
    default_doc: str | None = None,
) -> _T:
    """One entry of the settings table (a dataclass field carrying its CLI and docs facts)."""
    spec = _Spec(help, mlflow_env, env, short, choices, min_value, max_value, uri, default_doc)
    return field(default=default, metadata={_META: spec})


@dataclass(frozen=True)
class Settings:
    backend_store_uri: str = setting(
        f"sqlite:///{DEFAULT_DB_FILE}",
        "Where runs, experiments and metrics live: sqlite:///file.db or postgresql://... "
        f"(by default ./{DEFAULT_DB_FILE}, a file of aiotrack's own, never MLflow's mlflow.db).",
        mlflow_env="MLFLOW_BACKEND_STORE_URI",
        uri=True,
    )
    registry_store_uri: str | None = setting(
        None,
        "Model registry store URI.",
        mlflow_env="MLFLOW_REGISTRY_STORE_URI",
        uri=True,
        default_doc="the backend store",
    )
    read_replica_backend_store_uri: str | None = setting(
        None,
        "A PostgreSQL read replica of the backend store: read-only requests read there, writes and a "
        "client's reads after its own writes use --backend-store-uri; an unreachable replica falls back "
        "to the primary.",
        mlflow_env="MLFLOW_READ_REPLICA_BACKEND_STORE_URI",
        uri=True,
        default_doc="none (every read on the backend store)",
    )
    default_artifact_root: str | None = setting(
        None,
        "Artifact root recorded for new experiments.",
        mlflow_env="MLFLOW_DEFAULT_ARTIFACT_ROOT",
        uri=True,
        default_doc="mlflow-artifacts:/ when serving artifacts, else ./mlruns",
    )
    serve_artifacts: bool = setting(
        True, "Proxy artifact uploads and downloads through this server.", mlflow_env="MLFLOW_SERVE_ARTIFACTS"
    )
    artifacts_only: bool = setting(
        False, "Serve only the artifact API (plus /health and /version).", mlflow_env="MLFLOW_ARTIFACTS_ONLY"
    )
    artifacts_destination: str = setting(
        f"./{DEFAULT_ARTIFACTS_DIR}",
        "Where proxied artifacts are stored: a directory, file:// URI or s3://bucket/prefix.",
        mlflow_env="MLFLOW_ARTIFACTS_DESTINATION",
        uri=True,
    )
    host: str = setting(
        "127.0.0.1",
        "Address to listen on. Use 0.0.0.0 to listen on every interface.",
        mlflow_env="MLFLOW_HOST",
        short="-h",
    )
    port: int = setting(5000, "Port to listen on.", mlflow_env="MLFLOW_PORT", short="-p", min_value=0, max_value=65535)
    workers: int = setting(
        4,
        "Number of worker processes sharing the listening socket (1 with --dev).",
        mlflow_env="MLFLOW_WORKERS",
        short="-w",
        min_value=1,
    )
    static_prefix: str = setting(
        "",
        "A path prefix under which everything is served, e.g. /mlflow.",
        mlflow_env="MLFLOW_STATIC_PREFIX",
        default_doc="none",
    )
    allowed_hosts: str | None = setting(
        None,
        "Comma-separated Host header values accepted (wildcards, '*').",
        mlflow_env="MLFLOW_SERVER_ALLOWED_HOSTS",
        default_doc="localhost, loopback, private addresses",
    )
    cors_allowed_origins: str | None = setting(
        None,
        "Comma-separated origins allowed cross-origin (wildcards, '*').",
        mlflow_env="MLFLOW_SERVER_CORS_ALLOWED_ORIGINS",
        default_doc="localhost origins",
    )
    disable_security_middleware: bool = setting(
        False,
        "Turn off host and origin checks (not recommended).",
        mlflow_env="MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE",
    )
    x_frame_options: str = setting(
        "SAMEORIGIN",
        "X-Frame-Options header: SAMEORIGIN, DENY or NONE.",
        mlflow_env="MLFLOW_SERVER_X_FRAME_OPTIONS",
        choices=("SAMEORIGIN", "DENY", "NONE"),
    )
    dev: bool = setting(False, "Development mode: reload on code change, debug logging, one worker.", mlflow_env=None)
    expose_prometheus: str | None = setting(
        None,
        "A directory for Prometheus multiprocess metrics; enables /metrics.",
        mlflow_env="MLFLOW_EXPOSE_PROMETHEUS",
        default_doc="off",
    )
    log_format: str = setting(
        "text",
        "Log lines as text, or as one JSON object per line (the access log too, with request ids).",
        mlflow_env=None,
        choices=("text", "json"),
    )
    # Hardening (issue 14): limits on what one client may hold up.
    header_read_timeout: int = setting(
        60,
        "Seconds a connection may take to send a complete request header before it is closed "
        "(slow or stalled clients); 0 turns the limit off.",
        mlflow_env=None,
        min_value=0,
    )
    worker_header: bool = setting(False, "Debug aid: add X-Aiotrack-Worker: <pid> to every response.", mlflow_env=None)
    # ---- The database: pool, time bounds, start-up wait (aiotrack/stores/sql/database.py and
    # connect.py). Each but the start-up wait may also be given per store as a URI query parameter
    # without the db_ prefix (postgresql://host/db?pool_size=20&query_timeout=10; fractions of a
    # second allowed there), which wins over the option.
    db_pool_size: int = setting(
        10,
        "PostgreSQL connections each worker process may open; the connection budget is this x workers x servers.",
        mlflow_env="MLFLOW_SQLALCHEMYSTORE_POOL_SIZE",
        min_value=1,
    )
    db_connect_timeout: int = setting(
        10, "Seconds to wait for a new PostgreSQL connection before answering 503.", mlflow_env=None, min_value=1
    )
    db_pool_timeout: int = setting(
        10,
        "Seconds a request waits for a free pooled PostgreSQL connection (all busy, or the database "
        "unreachable) before answering 503.",
        mlflow_env=None,
        min_value=1,
    )
    db_query_timeout: int = setting(
        30,
        "Per-query time budget in seconds (PostgreSQL's statement_timeout; on SQLite a progress "
        "handler): a query past it is stopped and answered 503. A database that stops answering is "
        "given this plus 2 s.",
        mlflow_env=None,
        min_value=1,
    )
    db_startup_timeout: int = setting(
        60,
        "Seconds the server retries an unreachable database at start (with backoff) before it exits with an error.",
        mlflow_env=None,
        min_value=0,
    )
    # Not a URI parameter: it applies to every PostgreSQL store of the server.
    db_transaction_pooler: bool = setting(
        False,
        "The PostgreSQL URIs lead to a transaction-pooling proxy (PgBouncer pool_mode=transaction): no "
        "prepared-statement cache, no session settings (the query budget is SET LOCAL in every transaction).",
        mlflow_env=None,
    )
    app_name: str | None = setting(
        None,
        "basic-auth: require sign-in (HTTP Basic or a bearer access token) and enforce permissions, "
        "configured as MLflow's basic-auth app (MLFLOW_AUTH_CONFIG_PATH, MLFLOW_AUTH_ADMIN_PASSWORD).",
        mlflow_env=None,
        choices=("basic-auth",),
        default_doc="none (no sign-in)",
    )

    @property
    def effective_registry_store_uri(self) -> str:
        return self.registry_store_uri or self.backend_store_uri

    @property
    def effective_default_artifact_root(self) -> str:
        if self.default_artifact_root:
            return self.default_artifact_root
        if self.serve_artifacts:
            return DEFAULT_SERVED_ARTIFACT_ROOT
        return "file://" + os.path.abspath(DEFAULT_LOCAL_ARTIFACT_ROOT)

    @property
    def prefix(self) -> str:
        """The static prefix normalised to '' or '/something' (no trailing slash)."""
        p = (self.static_prefix or "").strip()
        if not p or p == "/":
            return ""
        return "/" + p.strip("/")


@dataclass(frozen=True)
class Setting:
    """One row of the settings table, as the CLI and the docs test read it."""

    name: str
    type: type  # str, int or bool
    optional: bool  # the annotation is `type | None`
    default: Any
    help: str
    flags: tuple[str, ...]  # click declarations: ("--port", "-p"), ("--serve-artifacts/--no-serve-artifacts",)
    mlflow_env: str | None
    env: str
    choices: tuple[str, ...] | None
    min_value: int | None
    max_value: int | None
    uri: bool
    default_doc: str | None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def envvars(self) -> tuple[str, ...]:
        """The variables read for this setting, in order of precedence."""
        return (self.env,) + ((self.mlflow_env,) if self.mlflow_env else ())


def _row(f: Any, annotation: Any) -> Setting:
    spec: _Spec = f.metadata[_META]
    optional = False
    base = annotation
    if isinstance(annotation, UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not NoneType]
        optional, base = True, args[0]
        assert len(args) == 1, f"setting {f.name}: one type or one type | None"
    assert base in (str, int, bool), f"setting {f.name}: type {base!r} is not str, int or bool"
    assert f.default is not MISSING, f"setting {f.name} has no default"
    flag = "--" + f.name.replace("_", "-")
    if base is bool:  # --no-...: so that the command line can turn off what a variable turned on
        flags: tuple[str, ...] = (f"{flag}/--no-{flag[2:]}",)
    else:
        flags = (flag, spec.short) if spec.short else (flag,)
    return Setting(
        name=f.name,
        type=base,
        optional=optional,
        default=f.default,
        help=spec.help,
        flags=flags,
        mlflow_env=spec.mlflow_env,
        env=spec.env or "AIOTRACK_" + f.name.upper(),
        choices=spec.choices,
        min_value=spec.min_value,
        max_value=spec.max_value,
        uri=spec.uri,
        default_doc=spec.default_doc,
    )


def _table() -> tuple[Setting, ...]:
    hints = typing.get_type_hints(Settings)
    rows = tuple(_row(f, hints[f.name]) for f in fields(Settings))
    for kind in ("env", "mlflow_env"):
        names = [getattr(r, kind) for r in rows if getattr(r, kind)]
        assert len(names) == len(set(names)), f"two settings read the same {kind} variable"
    return rows


SETTINGS: tuple[Setting, ...] = _table()
SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def hide_password(value: str) -> str:
    """A URI with its password replaced by ***, for banners and logs (other values unchanged)."""
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:
        return value
    if not password:
        return value
    user_info, _, host = parts.netloc.rpartition("@")
    user = user_info.partition(":")[0]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()
