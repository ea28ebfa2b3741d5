"""The `aiotrack` command: `server`, `db upgrade|current`, `--version`, `--env-file`."""

from __future__ import annotations

import click

from aiotrack import MLFLOW_COMPAT_VERSION, __version__
from aiotrack.cli.db import db
from aiotrack.cli.env_file import announce_env_file, load_env_file
from aiotrack.cli.server import server


@click.group(context_settings={"help_option_names": ["--help"]})
@click.version_option(
    __version__, "--version", message=f"aiotrack %(version)s (MLflow REST API {MLFLOW_COMPAT_VERSION})"
)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False),
    callback=load_env_file,
    expose_value=False,
    is_eager=True,
    help="Load environment variables from a dotenv file before running the command "
    "(as `mlflow --env-file`). Variables already set in the environment are not overridden.",
)
@click.pass_context
def main(ctx: click.Context) -> None:
    """aiotrack: an asyncio-native tracking server for the mlflow client."""
    announce_env_file(ctx)


main.add_command(server)
main.add_command(db)
