"""`aiotrack --env-file FILE`: load environment variables from a dotenv file, as `mlflow --env-file` does.

The file is read with python-dotenv, the parser `mlflow --env-file` itself uses, so a file written
for `mlflow server` means the same here (quotes, `export`, comments, `${VAR}` expansion).
Variables already set in the environment win over the file (MLflow's `override=False`), and the
file is loaded before `aiotrack server` reads its options, so they see it: flag, then variable
(from the environment or the file), then default. The file also reaches libraries that read the
environment themselves (AWS credentials, MLFLOW_S3_ENDPOINT_URL).

The names it set are kept in the click context's `meta`, so that the banner can say that a
setting came from the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from dotenv import dotenv_values

_META_KEY = "aiotrack.env_file"


def load_env_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Eager click callback of the group's --env-file option."""
    if value is None:
        return None
    path = Path(value)
    if not path.is_file():
        raise click.BadParameter(f"Environment file '{value}' does not exist.", ctx=ctx, param=param)
    try:
        values = dotenv_values(path, interpolate=True)
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"Cannot read environment file '{value}': {exc}", ctx=ctx, param=param) from None
    loaded = set()
    for name, text in values.items():
        if text is None or name in os.environ:
            continue  # a bare `NAME` line sets nothing; the environment wins over the file
        os.environ[name] = text
        loaded.add(name)
    ctx.meta[_META_KEY] = (value, frozenset(loaded))
    return value


def announce_env_file(ctx: click.Context) -> None:
    """Say which file was loaded, as mlflow does; `aiotrack server` says it in its log instead
    (so that a JSON log stays all JSON)."""
    env_file, _ = loaded_from_env_file(ctx)
    if env_file is not None and ctx.invoked_subcommand != "server":
        click.echo(f"Loaded environment variables from: {env_file}", err=True)


def loaded_from_env_file(ctx: click.Context) -> tuple[str | None, frozenset[str]]:
    """The env file given to the group (or None) and the variables it set."""
    found: tuple[str, frozenset[str]] | None = ctx.meta.get(_META_KEY)
    return found if found is not None else (None, frozenset())
