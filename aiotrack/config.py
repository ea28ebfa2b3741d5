"""One frozen Settings object, declared as a table of settings with defaults and help.

The CLI builds it from `aiotrack server` options (the same names and meaning as `mlflow server`),
workers receive it as an object (never through environment variables), and the README's option
table is checked against SETTINGS by a test.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields

DEFAULT_DB_FILE = "aiotrack.db"
DEFAULT_ARTIFACTS_DIR = "aiotrack-artifacts"
DEFAULT_SERVED_ARTIFACT_ROOT = "mlflow-artifacts:/"
DEFAULT_LOCAL_ARTIFACT_ROOT = "./mlruns"


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "backend_store_uri",
        f"sqlite:///{DEFAULT_DB_FILE}",
        "Where runs, experiments and metrics live: sqlite:///file.db or postgresql://... "
        f"Default: ./{DEFAULT_DB_FILE} (a file of aiotrack's own, never MLflow's mlflow.db).",
    ),
    Setting("registry_store_uri", None, "Model registry store URI. Default: the backend store."),
    Setting(
        "default_artifact_root",
        None,
        "Artifact root recorded for new experiments. Default: mlflow-artifacts:/ when serving "
        "artifacts, ./mlruns otherwise.",
    ),
    Setting("serve_artifacts", True, "Proxy artifact uploads and downloads through this server."),
    Setting("artifacts_only", False, "Serve only the artifact API (plus /health and /version)."),
    Setting(
        "artifacts_destination",
        f"./{DEFAULT_ARTIFACTS_DIR}",
        "Where proxied artifacts are stored: a directory, file:// URI or s3://bucket/prefix.",
    ),
    Setting("host", "127.0.0.1", "Address to listen on. Use 0.0.0.0 to listen on every interface."),
    Setting("port", 5000, "Port to listen on."),
    Setting("workers", 4, "Number of worker processes sharing the listening socket."),
    Setting("static_prefix", "", "A path prefix under which everything is served, e.g. /mlflow."),
    Setting(
        "allowed_hosts",
        None,
        "Comma-separated Host header values accepted (wildcards, '*'). Default: localhost, "
        "loopback and private addresses.",
    ),
    Setting(
        "cors_allowed_origins",
        None,
        "Comma-separated origins allowed cross-origin (wildcards, '*'). Default: localhost origins.",
    ),
    Setting("disable_security_middleware", False, "Turn off host and origin checks (not recommended)."),
    Setting("x_frame_options", "SAMEORIGIN", "X-Frame-Options header: SAMEORIGIN, DENY or NONE."),
    Setting("dev", False, "Development mode: reload on code change, debug logging, one worker."),
    Setting("expose_prometheus", None, "A directory for Prometheus multiprocess metrics; enables /metrics."),
    # ---- The database: pool, time bounds, start-up wait (aiotrack/stores/sql/database.py). Each
    # may also be given per store as a URI query parameter without the db_ prefix
    # (postgresql://host/db?pool_size=20&query_timeout=10), which wins over the option.
    Setting(
        "db_pool_size",
        10,
        "PostgreSQL connections each worker process may open (the connection budget is pool size x workers x servers).",
    ),
    Setting("db_connect_timeout", 10.0, "Seconds to wait for a new database connection before answering 503."),
    Setting(
        "db_pool_timeout",
        10.0,
        "Seconds a request waits for a free pooled database connection (all busy, or the database "
        "unreachable) before answering 503.",
    ),
    Setting(
        "db_query_timeout",
        30.0,
        "Per-query time budget in seconds: PostgreSQL's statement_timeout, on SQLite a progress "
        "handler; a query past it is stopped and answered 503. A database that stops answering "
        "is given this plus a 2 s margin.",
    ),
    Setting(
        "db_startup_timeout",
        60.0,
        "Seconds the server keeps retrying an unreachable database at start (with backoff) "
        "before it exits with an error.",
    ),
)

_DEFAULTS = {s.name: s.default for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    backend_store_uri: str = _DEFAULTS["backend_store_uri"]  # type: ignore[assignment]
    registry_store_uri: str | None = None
    default_artifact_root: str | None = None
    serve_artifacts: bool = True
    artifacts_only: bool = False
    artifacts_destination: str = _DEFAULTS["artifacts_destination"]  # type: ignore[assignment]
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 4
    static_prefix: str = ""
    allowed_hosts: str | None = None
    cors_allowed_origins: str | None = None
    disable_security_middleware: bool = False
    x_frame_options: str = "SAMEORIGIN"
    dev: bool = False
    expose_prometheus: str | None = None
    # ---- The database (see the block in SETTINGS).
    db_pool_size: int = _DEFAULTS["db_pool_size"]  # type: ignore[assignment]
    db_connect_timeout: float = _DEFAULTS["db_connect_timeout"]  # type: ignore[assignment]
    db_pool_timeout: float = _DEFAULTS["db_pool_timeout"]  # type: ignore[assignment]
    db_query_timeout: float = _DEFAULTS["db_query_timeout"]  # type: ignore[assignment]
    db_startup_timeout: float = _DEFAULTS["db_startup_timeout"]  # type: ignore[assignment]
    # Not user options: resolved facts the CLI fills in.
    extra: dict = field(default_factory=dict, compare=False, hash=False)

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


assert {s.name for s in SETTINGS} == {f.name for f in fields(Settings)} - {"extra"}
