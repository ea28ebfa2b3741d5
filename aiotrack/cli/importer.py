"""`aiotrack import SOURCE`: copy an MLflow tracking store into an aiotrack database."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

import click
from tqdm import tqdm

from aiotrack.cli.db import _open as open_database
from aiotrack.config import SETTINGS
from aiotrack.errors import AiotrackError, ConfigError
from aiotrack.services.importing.mlflow_files import MlflowFileSource
from aiotrack.services.importing.mlflow_rest import MlflowRestSource
from aiotrack.services.importing.mlflow_sql import MlflowSqlSource, mysql_uri
from aiotrack.services.importing.source import Source
from aiotrack.services.importing.writer import ImportOptions, ImportResult, run_import
from aiotrack.stores.sql import migrations
from aiotrack.stores.sql.uri import parse_store_uri

_DEFAULT_BACKEND = next(s.default for s in SETTINGS if s.name == "backend_store_uri")


def make_source(location: str) -> Source:
    """An MLflow SQL database URI, an http(s) tracking server URL, or an mlruns directory
    (a path or file:// URI)."""
    lowered = location.lower()
    if lowered.startswith(("http://", "https://")):
        return MlflowRestSource(location)
    if lowered.startswith("file://") or "://" not in location:
        path = location[len("file://") :] if lowered.startswith("file://") else location
        if not os.path.isdir(path):
            raise ConfigError(f"{location} is not a directory (an MLflow file store, mlruns/, is one).")
        return MlflowFileSource(path)
    return MlflowSqlSource(mysql_uri(location) or parse_store_uri(location))


class BarProgress:
    """One tqdm bar per table (count, rate and, when the source counts cheaply, the total)."""

    def __init__(self, enabled: bool):
        self._enabled = enabled
        self._totals: dict[str, int | None] = {}
        self._bars: dict[str, Any] = {}

    def start(self, totals: dict[str, int | None]) -> None:
        self._totals = totals

    def advance(self, table: str, rows: int) -> None:
        if not self._enabled or not rows:
            return
        bar = self._bars.get(table)
        if bar is None:
            bar = tqdm(
                desc=f"{table:<24}",
                total=self._totals.get(table),
                unit=" rows",
                unit_scale=True,
                position=len(self._bars),
                leave=True,
                file=sys.stderr,
                dynamic_ncols=True,
            )
            self._bars[table] = bar
        bar.update(rows)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()


def _echo_not_carried(result: ImportResult, dry_run: bool) -> None:
    if not result.not_carried:
        return
    held = ", ".join(f"{n:,} {what}" for what, n in result.not_carried.items())
    click.echo(
        f"Warning: the source also holds {held}; aiotrack does not serve "
        + ("these, so an import leaves them behind" if dry_run else "these, so they were left behind")
        + " (they stay in the MLflow database).",
        err=True,
    )


def _echo_result(result: ImportResult, seconds: float, dry_run: bool) -> None:
    if dry_run:
        click.echo(f"Dry run: nothing written. {result.source} holds:")
        for table, n in result.counts.items():
            click.echo(f"  {table:<26}{n:>14,}")
        _echo_not_carried(result, dry_run)
        return
    written = sum(result.written.values())
    click.echo(
        f"Imported {result.experiments_imported} experiment(s) and {result.models_imported} registered model(s) "
        f"({written:,} rows) in {seconds:.1f} s"
        + (f", {written / seconds:,.0f} rows/s" if seconds > 0 and written else "")
        + f"; {result.experiments_skipped} experiment(s) and {result.models_skipped} model(s) were already imported."
    )
    if result.traces_imported:
        click.echo(f"Traces of {result.traces_imported} experiment(s) imported.")
    if result.artifacts is not None:
        a = result.artifacts
        click.echo(
            f"Artifacts: {a.files:,} file(s), {a.bytes:,} bytes copied from {a.roots:,} location(s); "
            f"{a.skipped_present:,} already present; {a.left_in_place:,} absolute location(s) left where they are."
        )
    if result.verification is not None:
        for line in result.verification.lines():
            click.echo(line)
    _echo_not_carried(result, dry_run)


@click.command("import")
@click.argument("source")
@click.option(
    "--backend-store-uri",
    default=_DEFAULT_BACKEND,
    show_default=True,
    help="The aiotrack database to import into (created if empty). The registry goes there too.",
)
@click.option("--dry-run", is_flag=True, help="Only count what the source holds; write nothing.")
@click.option(
    "--skip-traces",
    is_flag=True,
    help="Leave the traces out (they stay in the source; a later import without this flag brings them).",
)
@click.option(
    "--copy-artifacts",
    is_flag=True,
    help="Copy proxied artifacts (mlflow-artifacts:/ locations) from --source-artifacts to --artifacts-destination. "
    "Without it artifacts stay where they are: point aiotrack's --artifacts-destination at MLflow's.",
)
@click.option(
    "--source-artifacts", default=None, help="MLflow server's --artifacts-destination (for --copy-artifacts)."
)
@click.option(
    "--artifacts-destination", default=None, help="aiotrack's --artifacts-destination (for --copy-artifacts)."
)
@click.option(
    "--progress/--no-progress", default=None, help="Progress bars per table (default: when stderr is a terminal)."
)
def import_command(
    source: str,
    backend_store_uri: str,
    dry_run: bool,
    skip_traces: bool,
    copy_artifacts: bool,
    source_artifacts: str | None,
    artifacts_destination: str | None,
    progress: bool | None,
) -> None:
    """Import an MLflow tracking store, keeping MLflow's ids.

    SOURCE is an MLflow database (sqlite:///mlflow.db, postgresql://..., mysql://... with the
    mysql extra), an MLflow file store
    directory (./mlruns), or a running MLflow tracking server (http://host:5000). Each experiment
    (with all its runs, metrics and logged models), each experiment's traces (with their spans and
    assessments) and each registered model is one transaction,
    recorded in an import journal: a rerun adds nothing, an interrupted run continues where it
    stopped. At the end both sides are counted and compared; any difference exits non-zero.
    """
    if (source_artifacts or artifacts_destination) and not copy_artifacts:
        raise click.UsageError("--source-artifacts and --artifacts-destination go with --copy-artifacts.")
    options = ImportOptions(
        dry_run=dry_run,
        skip_traces=skip_traces,
        copy_artifacts=copy_artifacts,
        source_artifacts=source_artifacts,
        artifacts_destination=artifacts_destination,
    )
    bars = BarProgress(enabled=sys.stderr.isatty() if progress is None else progress)

    async def run() -> ImportResult:
        src = make_source(source)
        await src.open()
        try:
            if dry_run:
                return await run_import(src, None, options)
            target = await open_database(backend_store_uri)
            try:
                await migrations.ensure_current(target)
                return await run_import(src, target, options, bars)
            finally:
                await target.close()
        finally:
            await src.close()

    started = time.monotonic()
    try:
        result = asyncio.run(run())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except AiotrackError as exc:  # a value in the source that aiotrack's own rules refuse
        raise click.ClickException(f"{source}: {exc.error_code}: {exc.message}") from None
    _echo_result(result, time.monotonic() - started, dry_run)
    if result.verification is not None and not result.verification.ok:
        raise SystemExit(1)
