"""`aiotrack db upgrade URI` and `aiotrack db current URI`."""

from __future__ import annotations

import asyncio
from types import ModuleType

import click

from aiotrack.errors import AiotrackError, ConfigError
from aiotrack.stores.sql import migrations
from aiotrack.stores.sql.connect import open_database
from aiotrack.stores.sql.database import Database


async def _open(uri: str) -> Database:
    return await open_database(uri, readers=1)


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command()
@click.argument("url")
def upgrade(url: str) -> None:
    """Create or upgrade the aiotrack schema in the database at URL."""

    async def run() -> list[str]:
        database = await _open(url)
        try:
            return await migrations.upgrade(database)
        finally:
            await database.close()

    try:
        applied = asyncio.run(run())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except AiotrackError as exc:  # the database is unavailable: one line, no traceback
        raise click.ClickException(exc.message) from None
    if applied:
        click.echo("Applied: " + ", ".join(applied))
    else:
        click.echo("The schema is up to date.")


@db.command()
@click.argument("url")
def current(url: str) -> None:
    """Show the migrations applied to the database at URL."""

    async def run() -> tuple[list[str] | None, list[ModuleType]]:
        database = await _open(url)
        try:
            return await migrations.applied(database), await migrations.pending(database)
        finally:
            await database.close()

    try:
        done, todo = asyncio.run(run())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except AiotrackError as exc:  # the database is unavailable: one line, no traceback
        raise click.ClickException(exc.message) from None
    if done is None:
        click.echo("No aiotrack schema (run `aiotrack db upgrade`).")
        return
    for name in done:
        click.echo(f"applied  {name}")
    for m in todo:
        click.echo(f"pending  {m.NAME}")
