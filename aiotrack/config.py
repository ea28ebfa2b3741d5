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
    Setting(
        "app_name",
        None,
        "basic-auth: require sign-in (HTTP Basic or a bearer access token) and enforce permissions, "
        "configured as MLflow's basic-auth app (MLFLOW_AUTH_CONFIG_PATH, MLFLOW_AUTH_ADMIN_PASSWORD).",
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
    app_name: str | None = None
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
