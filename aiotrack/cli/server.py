"""`aiotrack server`: the options of `mlflow server`, with the same meaning and defaults.

The options are built from the settings table (aiotrack/config.py): each setting becomes one
click option reading, in this order, the flag, aiotrack's `AIOTRACK_*` variable, the variable
`mlflow server` reads for it (`MLFLOW_*`), then the default. Where each value that is not the
default came from is shown in the start-up banner.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from aiotrack.cli.env_file import loaded_from_env_file
from aiotrack.cli.logs import configure_logging
from aiotrack.config import SETTINGS, Setting, Settings
from aiotrack.errors import ConfigError
from aiotrack.stores.sql import migrations
from aiotrack.stores.sql.uri import parse_store_uri

_F = TypeVar("_F", bound=Callable[..., Any])


class SettingOption(click.Option):
    """A click option built from one row of the settings table."""

    def __init__(self, param_decls: Sequence[str] = (), *, setting: Setting, **attrs: Any) -> None:
        entry = self.setting = setting
        kwargs: dict[str, Any] = {
            "default": entry.default,
            "envvar": list(entry.envvars),
            "show_envvar": True,
            "help": entry.help,
        }
        if entry.default_doc is not None:
            kwargs["show_default"] = entry.default_doc
        elif entry.default not in (None, "", False):
            kwargs["show_default"] = True
        if entry.type is bool:
            kwargs["is_flag"] = True
        elif entry.choices:
            kwargs["type"] = click.Choice(entry.choices, case_sensitive=False)
        elif entry.type is int:
            kwargs["type"] = click.IntRange(entry.min_value, entry.max_value)
        else:
            kwargs["type"] = click.STRING
        super().__init__([*entry.flags, entry.name, *param_decls], **kwargs, **attrs)

    def variable_used(self) -> str | None:
        """The environment variable the value was read from (click takes the first non-empty one)."""
        return next((name for name in self.setting.envvars if os.environ.get(name)), None)

    def process_value(self, ctx: click.Context, value: Any) -> Any:
        try:
            return super().process_value(ctx, value)
        except click.BadParameter as exc:
            if ctx.get_parameter_source(self.name or "") is not ParameterSource.ENVIRONMENT:
                raise
            message = f"{exc.message.rstrip('.')} (from the environment variable {self.variable_used()})."
            raise click.BadParameter(message, ctx=ctx, param=self) from None


def setting_options(f: _F) -> _F:
    """Decorate a click command with one option per setting, in the table's order."""
    for entry in reversed(SETTINGS):
        f = click.option(cls=SettingOption, setting=entry)(f)
    return f


def setting_origins(ctx: click.Context) -> dict[str, str]:
    """For every setting given by a flag or a variable (not left to its default): which, for the banner."""
    env_file, from_file = loaded_from_env_file(ctx)
    origins: dict[str, str] = {}
    for param in ctx.command.params:
        if not isinstance(param, SettingOption):
            continue
        source = ctx.get_parameter_source(param.setting.name)
        if source is ParameterSource.COMMANDLINE:
            origins[param.setting.name] = "the command line"
        elif source is ParameterSource.ENVIRONMENT:
            variable = param.variable_used() or "the environment"
            where = f" in {env_file}" if variable in from_file else ""
            origins[param.setting.name] = f"{variable}{where}"
    return origins


_OTHER_SERVERS = {
    "--gunicorn-opts": ("gunicorn", "MLFLOW_GUNICORN_OPTS"),
    "--waitress-opts": ("waitress", None),
    "--uvicorn-opts": ("uvicorn", "MLFLOW_UVICORN_OPTS"),
}


def _refuse_other_server(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        where = param.opts[0]
        if ctx.get_parameter_source(param.name or "") is ParameterSource.ENVIRONMENT:
            where = f"{_OTHER_SERVERS[param.opts[0]][1]} (the environment variable for {param.opts[0]})"
        raise click.UsageError(
            f"{where} configures a server aiotrack does not use: aiotrack runs its own aiohttp "
            "workers. Use --workers for the process count, --host/--port for the address."
        )


def _other_server_option(flag: str) -> Callable[[_F], _F]:
    name, envvar = _OTHER_SERVERS[flag]
    return click.option(
        flag,
        default=None,
        envvar=envvar,
        expose_value=False,
        callback=_refuse_other_server,
        help=f"Refused: aiotrack does not run {name}.",
    )


@click.command()
@setting_options
@_other_server_option("--gunicorn-opts")
@_other_server_option("--waitress-opts")
@_other_server_option("--uvicorn-opts")
@click.pass_context
def server(ctx: click.Context, /, **options: Any) -> None:
    """Run the tracking server."""
    origins = setting_origins(ctx)
    if options["dev"]:
        if "workers" in origins and options["workers"] > 1:
            given = "" if origins["workers"] == "the command line" else f" (from {origins['workers']})"
            raise click.UsageError(
                f"--dev runs a single worker that restarts when the code changes; it cannot be combined "
                f"with --workers {options['workers']}{given}. Drop --workers for development, or --dev for "
                "production."
            )
        options["workers"] = 1
    options["x_frame_options"] = options["x_frame_options"].upper()
    settings = Settings(**options)
    try:
        run_server(settings, origins, env_file=loaded_from_env_file(ctx)[0])
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def prepare(settings: Settings) -> None:
    """Checks that must pass once, before any worker starts: URIs parse, the schema is current
    (created on an empty database, so that workers never race to create it)."""
    # A bad artifact option fails here once, with a clear message, not in every worker.
    from aiotrack.artifacts.local import LocalArtifactRepository
    from aiotrack.http.app import auth_database_uri, bootstrap_auth
    from aiotrack.services.artifact_uris import ArtifactLocations
    from aiotrack.services.auth.config import read_auth_config
    from aiotrack.stores.sql.connect import open_when_ready
    from aiotrack.stores.sql.replica import replica_uri

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
    if not settings.artifacts_only:
        replica_uri(settings)  # a replica that cannot work is refused here, once

    async def init() -> None:
        for uri in uris:
            # An unreachable database is retried with backoff up to --db-startup-timeout, then
            # DatabaseUnreachable (a ConfigError): one line on stderr and a non-zero exit.
            db = await open_when_ready(uri, settings, migrations.ensure_current, readers=1)
            try:
                if uri == auth_uri:
                    await bootstrap_auth(db, read_auth_config())
            finally:
                await db.close()

    asyncio.run(init())


def run_server(settings: Settings, origins: Mapping[str, str] | None = None, *, env_file: str | None = None) -> None:
    from aiotrack.cli import devserver, workers

    configure_logging(settings)
    if env_file is not None:
        logging.getLogger("aiotrack").info("Loaded environment variables from: %s", env_file)
    if settings.dev:
        devserver.check_available()
    prepare(settings)
    origins = origins or {}
    code = devserver.serve(settings, origins) if settings.dev else workers.serve(settings, origins=origins)
    if code:
        sys.exit(code)
