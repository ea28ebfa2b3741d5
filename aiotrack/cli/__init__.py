"""The `aiotrack` command: `server`, `db upgrade|current`, `import`, `gc`, `--version`."""

from __future__ import annotations

import click

from aiotrack import MLFLOW_COMPAT_VERSION, __version__
from aiotrack.cli.db import db
from aiotrack.cli.gc import gc
from aiotrack.cli.importer import import_command
from aiotrack.cli.server import server


@click.group(context_settings={"help_option_names": ["--help"]})
@click.version_option(
    __version__, "--version", message=f"aiotrack %(version)s (MLflow REST API {MLFLOW_COMPAT_VERSION})"
)
def main() -> None:
    """aiotrack: an asyncio-native tracking server for the mlflow client."""


main.add_command(server)
main.add_command(db)
main.add_command(import_command)
main.add_command(gc)
