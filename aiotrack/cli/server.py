"""`aiotrack server`: the options of `mlflow server`, with the same meaning and defaults."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time

import click

from aiotrack.config import SETTINGS, Settings
from aiotrack.errors import ConfigError
from aiotrack.stores.sql import migrations
from aiotrack.stores.sql.uri import parse_store_uri

_HELP = {s.name: s.help for s in SETTINGS}
_DEFAULT = {s.name: s.default for s in SETTINGS}

_OTHER_SERVERS = {
    "gunicorn_opts": "--gunicorn-opts",
    "waitress_opts": "--waitress-opts",
    "uvicorn_opts": "--uvicorn-opts",
}


def _refuse_other_server(ctx, param, value):
    if value is not None:
        raise click.UsageError(
            f"{param.opts[0]} configures a server aiotrack does not use: aiotrack runs its own aiohttp "
            "workers. Use --workers for the process count, --host/--port for the address."
        )
    return value


APP_NAMES = ("basic-auth",)


def _check_app_name(ctx, param, value):
    if value is not None and value not in APP_NAMES:
        raise click.UsageError(
            f"--app-name {value}: aiotrack has one app, basic-auth (MLflow's); it refuses others rather than "
            "serve without the protection you asked for."
        )
    return value


@click.command()
@click.option(
    "--backend-store-uri", default=_DEFAULT["backend_store_uri"], show_default=True, help=_HELP["backend_store_uri"]
)
@click.option("--registry-store-uri", default=None, help=_HELP["registry_store_uri"])
@click.option("--default-artifact-root", default=None, help=_HELP["default_artifact_root"])
@click.option("--serve-artifacts/--no-serve-artifacts", default=True, show_default=True, help=_HELP["serve_artifacts"])
@click.option("--artifacts-only", is_flag=True, default=False, help=_HELP["artifacts_only"])
@click.option(
    "--artifacts-destination",
    default=_DEFAULT["artifacts_destination"],
    show_default=True,
    help=_HELP["artifacts_destination"],
)
@click.option("-h", "--host", default="127.0.0.1", show_default=True, help=_HELP["host"])
@click.option("-p", "--port", default=5000, type=int, show_default=True, help=_HELP["port"])
@click.option("-w", "--workers", default=None, type=click.IntRange(min=1), help=_HELP["workers"] + " [default: 4]")
@click.option("--static-prefix", default="", help=_HELP["static_prefix"])
@click.option("--allowed-hosts", default=None, help=_HELP["allowed_hosts"])
@click.option("--cors-allowed-origins", default=None, help=_HELP["cors_allowed_origins"])
@click.option("--disable-security-middleware", is_flag=True, default=False, help=_HELP["disable_security_middleware"])
@click.option(
    "--x-frame-options",
    default="SAMEORIGIN",
    show_default=True,
    type=click.Choice(["SAMEORIGIN", "DENY", "NONE"], case_sensitive=False),
    help=_HELP["x_frame_options"],
)
@click.option("--dev", is_flag=True, default=False, help=_HELP["dev"])
@click.option("--expose-prometheus", default=None, help=_HELP["expose_prometheus"])
@click.option(
    "--gunicorn-opts",
    default=None,
    expose_value=False,
    callback=_refuse_other_server,
    help="Refused: aiotrack does not run gunicorn.",
)
@click.option(
    "--waitress-opts",
    default=None,
    expose_value=False,
    callback=_refuse_other_server,
    help="Refused: aiotrack does not run waitress.",
)
@click.option(
    "--uvicorn-opts",
    default=None,
    expose_value=False,
    callback=_refuse_other_server,
    help="Refused: aiotrack does not run uvicorn.",
)
@click.option("--app-name", default=None, callback=_check_app_name, help=_HELP["app_name"])
def server(**options) -> None:
    """Run the tracking server."""
    if options["dev"] and options["workers"] is not None and options["workers"] > 1:
        raise click.UsageError(
            f"--dev runs a single worker that restarts when the code changes; it cannot be combined "
            f"with --workers {options['workers']}. Drop --workers for development, or --dev for production."
        )
    if options["workers"] is None:
        options["workers"] = 1 if options["dev"] else 4
    options["x_frame_options"] = options["x_frame_options"].upper()
    settings = Settings(**options)
    if settings.app_name == "basic-auth":
        from aiotrack.services.auth.config import read_auth_config

        try:
            settings.extra["auth_config"] = read_auth_config()
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
        from aiotrack.services.auth.limits import SharedGeneration

        settings.extra["auth_generation"] = SharedGeneration()  # made before the fork: shared by workers
    if os.environ.get("AIOTRACK_WORKER_HEADER") == "1":  # debug/test aid: X-Aiotrack-Worker: <pid>
        settings.extra["worker_header"] = True
    try:
        run_server(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def prepare(settings: Settings) -> None:
    """Checks that must pass once, before any worker starts: URIs parse, the schema is current
    (created on an empty database, so that workers never race to create it)."""
    # A bad artifact option fails here once, with a clear message, not in every worker.
    from aiotrack.artifacts.local import LocalArtifactRepository
    from aiotrack.http.app import auth_database_uri, bootstrap_auth, open_database
    from aiotrack.services.artifact_uris import ArtifactLocations

    for repo in ArtifactLocations(settings).repositories():
        if isinstance(repo, LocalArtifactRepository):
            try:
                repo.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"Cannot use {repo.root} as an artifact directory: {exc.strerror}") from None
    auth_uri = auth_database_uri(settings)
    uris = set() if settings.artifacts_only else {settings.backend_store_uri, settings.effective_registry_store_uri}
    if auth_uri is not None:
        uris.add(auth_uri)  # basic-auth: its tables, and the first admin, exist before any worker starts
    for uri in uris:
        parse_store_uri(uri)

    async def init():
        for uri in uris:
            db = await open_database(uri)
            try:
                await migrations.ensure_current(db)
                if uri == auth_uri:
                    await bootstrap_auth(db, settings.extra["auth_config"])
            finally:
                await db.close()

    asyncio.run(init())


class LogFormatter(logging.Formatter):
    """The standard format, with the time text made once a second: with an access-log line per
    request, strftime was a visible share of a small request's CPU."""

    _second = -1
    _text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._text = time.strftime("%Y-%m-%d %H:%M:%S", self.converter(second))
            self._second = second
        return f"{self._text},{int(record.msecs):03d}"


def run_server(settings: Settings) -> None:
    from aiotrack.cli import workers

    # The optimizations the logging documentation lists, for a log line per request: no caller
    # lookup (a frame walk), no thread or multiprocessing names (the format shows the pid only).
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogFormatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if settings.dev else logging.INFO, handlers=[handler])
    if settings.dev:
        from aiotrack.cli import devserver

        devserver.check_available()
    prepare(settings)
    code = devserver.serve(settings) if settings.dev else workers.serve(settings)
    if code:
        sys.exit(code)
