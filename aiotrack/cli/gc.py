"""`aiotrack gc`: `mlflow gc` for an aiotrack database."""

from __future__ import annotations

import asyncio

import click

from aiotrack.cli.db import _open as open_database
from aiotrack.config import SETTINGS
from aiotrack.errors import AiotrackError, ConfigError
from aiotrack.services.gc import ArtifactDeleter, GcPlan, GcResult, plan_gc, run_gc
from aiotrack.stores.sql import migrations
from aiotrack.stores.sql.bulk import BulkStore

_DEFAULTS = {s.name: s.default for s in SETTINGS}


def _ids(text: str | None) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


@click.command("gc")
@click.option(
    "--older-than",
    default=None,
    help="Only what was deleted at least this long ago: #d#h#m#s, floats allowed (1d2h3m4s, 1.2d3h).",
)
@click.option(
    "--backend-store-uri",
    default=_DEFAULTS["backend_store_uri"],
    show_default=True,
    help="The aiotrack database to collect.",
)
@click.option(
    "--artifacts-destination",
    envvar="MLFLOW_ARTIFACTS_DESTINATION",
    default=_DEFAULTS["artifacts_destination"],
    show_default=True,
    help="Where the server keeps proxied (mlflow-artifacts:/) artifacts: a directory, file:// or s3:// URI.",
)
@click.option("--run-ids", default=None, help="Comma-separated runs to remove (they must be deleted).")
@click.option(
    "--experiment-ids",
    default=None,
    help="Comma-separated experiments to remove with all their runs (they must be deleted).",
)
@click.option(
    "--logged-model-ids", default=None, help="Comma-separated logged models to remove (they must be deleted)."
)
@click.option(
    "--tracking-uri",
    default=None,
    help="A running server (http://host:port) whose artifact API deletes proxied artifacts, "
    "instead of --artifacts-destination.",
)
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
def gc(
    older_than: str | None,
    backend_store_uri: str,
    artifacts_destination: str,
    run_ids: str | None,
    experiment_ids: str | None,
    logged_model_ids: str | None,
    tracking_uri: str | None,
    dry_run: bool,
) -> None:
    """Permanently delete runs, experiments and logged models in the `deleted` lifecycle stage,
    with all their data and artifacts (the selection of `mlflow gc`)."""
    if tracking_uri and not tracking_uri.lower().startswith(("http://", "https://")):
        raise click.UsageError("--tracking-uri must be an http(s) URL of a running tracking server.")

    async def run() -> tuple[GcPlan, GcResult | None]:
        database = await open_database(backend_store_uri)
        try:
            await migrations.ensure_current(database, initialize_empty=False)
            bulk = BulkStore(database)
            plan = await plan_gc(
                bulk,
                older_than=older_than,
                run_ids=_ids(run_ids),
                experiment_ids=_ids(experiment_ids),
                logged_model_ids=_ids(logged_model_ids),
            )
            if dry_run:
                return plan, None
            deleter = ArtifactDeleter(artifacts_destination, tracking_uri)
            await deleter.start()
            try:
                return plan, await run_gc(bulk, plan, deleter)
            finally:
                await deleter.close()
        finally:
            await database.close()

    try:
        plan, result = asyncio.run(run())
    except AiotrackError as exc:
        raise click.ClickException(f"{exc.error_code}: {exc.message}") from None
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if result is None:
        click.echo(
            f"Dry run: would permanently delete {len(plan.run_ids)} run(s), {len(plan.experiment_ids)} experiment(s) "
            f"and {len(plan.logged_model_ids)} logged model(s) (plus those inside the experiments), "
            f"and the {sum(len(t) for t in plan.traces.values())} trace(s) of those experiments."
        )
        for run_id in plan.run_ids:
            click.echo(f"  run {run_id}")
        for eid in plan.experiment_ids:
            click.echo(
                f"  experiment {eid}" + (f" with {len(plan.traces[eid])} trace(s)" if plan.traces.get(eid) else "")
            )
        for model_id in plan.logged_model_ids:
            click.echo(f"  logged model {model_id}")
        return
    for run_id in result.runs:
        click.echo(f"Run with ID {run_id} has been permanently deleted.")
    for model_id in result.logged_models:
        click.echo(f"Logged model with ID {model_id} has been permanently deleted.")
    for eid in result.experiments:
        click.echo(f"Experiment with ID {eid} has been permanently deleted.")
    for warning in result.warnings:
        click.secho(f"Warning: {warning}", fg="yellow", err=True)
    click.echo(
        f"Summary: {len(result.runs)} run(s), {len(result.experiments)} experiment(s), "
        f"{len(result.logged_models)} logged model(s), {result.traces} trace(s) "
        f"and {result.artifact_roots_deleted} artifact location(s) deleted."
    )
