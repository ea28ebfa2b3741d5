"""The import: plan, conflicts, one journaled transaction per unit, verification."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aiotrack.errors import ConfigError
from aiotrack.services.importing.artifacts import ArtifactCopier, CopyStats
from aiotrack.services.importing.report import Verification, compare_sums, compare_traces
from aiotrack.services.importing.source import Row, Source, TraceCounts
from aiotrack.services.traces import ARTIFACT_LOCATION_TAG
from aiotrack.stores.sql.bulk import REGISTRY_TABLES, TRACE_TABLES, UNIT_TABLES, BulkStore
from aiotrack.stores.sql.database import Database

DEFAULT_EXPERIMENT_ID = 0


def _totals(counts: TraceCounts) -> dict[str, int]:
    out = dict.fromkeys(TRACE_TABLES, 0)
    for per_table in counts.values():
        for table, n in per_table.items():
            out[table] += n
    return out


async def _prefetched(
    chunks: AsyncIterator[tuple[str, list[Row]]], depth: int = 2
) -> AsyncIterator[tuple[str, list[Row]]]:
    """The source's chunks, read ahead by a task while the previous ones are written: reading the
    source and writing the target overlap (each runs on its own thread or connection)."""
    queue: asyncio.Queue[tuple[str, list[Row]] | None] = asyncio.Queue(maxsize=depth)

    async def produce() -> None:
        cancelled = False
        try:
            async with contextlib.aclosing(chunks) as reading:  # type: ignore[type-var]
                async for chunk in reading:
                    await queue.put(chunk)
        except asyncio.CancelledError:
            cancelled = True  # the consumer stopped reading: nobody waits for the end mark
            raise
        finally:
            if not cancelled:
                await queue.put(None)  # the end mark (after a read error too: the consumer re-raises it)

    task = asyncio.create_task(produce())
    try:
        while (chunk := await queue.get()) is not None:
            yield chunk
        await task  # re-raises a read error
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Progress(Protocol):
    """What the import reports as it goes (the CLI draws bars; tests pass a silent one)."""

    def start(self, totals: dict[str, int | None]) -> None: ...

    def advance(self, table: str, rows: int) -> None: ...

    def close(self) -> None: ...


class SilentProgress:
    def start(self, totals: dict[str, int | None]) -> None:
        pass

    def advance(self, table: str, rows: int) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class ImportOptions:
    dry_run: bool = False
    skip_traces: bool = False
    copy_artifacts: bool = False
    source_artifacts: str | None = None  # MLflow's --artifacts-destination
    artifacts_destination: str | None = None  # aiotrack's --artifacts-destination


@dataclass
class ImportResult:
    source: str
    experiments_total: int = 0
    experiments_skipped: int = 0  # already journaled: imported by an earlier run
    experiments_imported: int = 0
    models_total: int = 0
    models_skipped: int = 0
    models_imported: int = 0
    written: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # the dry run's counts
    traces: int = 0  # traces in the source (all experiments)
    traces_imported: int = 0  # experiments whose traces this run imported
    not_carried: dict[str, int] = field(default_factory=dict)  # Source.not_carried
    artifacts: CopyStats | None = None
    verification: Verification | None = None


def _conflicts(
    todo: Sequence[Row], present: dict[int, tuple[str, bool]], models: Sequence[str], present_models: set[str]
) -> tuple[list[str], set[int]]:
    """Why the target cannot take the planned units (ids must be kept), and which empty target
    experiments may be replaced (the Default experiment a fresh aiotrack creates)."""
    problems: list[str] = []
    replace: set[int] = set()
    by_name = {name: eid for eid, (name, _busy) in present.items()}
    for row in todo:
        eid, name = int(row[0]), row[1]
        if eid in present:
            target_name, busy = present[eid]
            if not busy and (eid == DEFAULT_EXPERIMENT_ID or target_name == name):
                replace.add(eid)
            else:
                problems.append(f"experiment id {eid} is taken in the target by {target_name!r}")
                continue
        other = by_name.get(name)
        if other is not None and other != eid and other not in replace:
            problems.append(f"experiment name {name!r} (id {eid} in the source) is taken in the target by id {other}")
    problems += [f"registered model {name!r} already exists in the target" for name in models if name in present_models]
    return problems, replace


async def run_import(
    source: Source, target: Database | None, options: ImportOptions, progress: Progress | None = None
) -> ImportResult:
    """Import everything not yet journaled from ``source`` into ``target`` (None for a dry run,
    which only counts)."""
    progress = progress or SilentProgress()
    result = ImportResult(source=source.name)

    experiments = await source.experiments()
    models = await source.registered_models()
    all_ids = [int(e[0]) for e in experiments]
    result.experiments_total, result.models_total = len(experiments), len(models)
    result.not_carried = await source.not_carried()

    if options.dry_run:
        counts, _sums = await source.tally(all_ids)
        traces = _totals(await source.trace_tally(all_ids))
        result.traces = traces["trace_info"]
        result.counts = {**counts, **traces, **await source.registry_counts()}
        return result
    if target is None:
        raise ValueError("an import that is not a dry run needs a target database")
    bulk = BulkStore(target)

    done = await bulk.journal(source.name)
    todo = [e for e in experiments if ("experiment", str(e[0])) not in done]
    todo_models = [n for n in models if ("registered_model", n) not in done]
    todo_traces = [] if options.skip_traces else [i for i in all_ids if ("experiment_traces", str(i)) not in done]
    result.experiments_skipped = len(experiments) - len(todo)
    result.models_skipped = len(models) - len(todo_models)
    problems, replace = _conflicts(
        todo, await bulk.experiments_present(), todo_models, await bulk.registered_model_names()
    )
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise ConfigError(
            f"The target cannot take this import with MLflow's ids kept: {shown}. "
            "Import into a new aiotrack database (or one that holds only earlier imports of this source)."
        )

    copier: ArtifactCopier | None = None
    if options.copy_artifacts:
        if not options.source_artifacts or not options.artifacts_destination:
            raise ConfigError("--copy-artifacts needs --source-artifacts and --artifacts-destination.")
        copier = ArtifactCopier(options.source_artifacts, options.artifacts_destination)
        await copier.start()

    totals: dict[str, int | None] = dict.fromkeys([*UNIT_TABLES, *TRACE_TABLES, *REGISTRY_TABLES])
    if source.cheap_tally:
        counts, _sums = await source.tally([int(e[0]) for e in todo])
        totals.update(counts)
        totals.update(_totals(await source.trace_tally(todo_traces)))
        registry = await source.registry_counts()
        if not result.models_skipped:
            totals.update(registry)
    result.written = dict.fromkeys(totals, 0)
    progress.start(totals)

    def wrote(table: str, n: int) -> None:
        result.written[table] += n
        progress.advance(table, n)

    try:
        for experiment in todo:
            eid = int(experiment[0])
            roots: list[str | None] = []
            async with bulk.experiment_unit(source.name, eid, replace_empty=eid in replace) as unit:
                await unit.rows("experiments", [experiment])
                wrote("experiments", 1)
                async for table, rows in _prefetched(source.experiment_rows(eid)):
                    await unit.rows(table, rows)
                    wrote(table, len(rows))
                    if copier is not None and table == "runs":
                        roots += [r[13] for r in rows]
                    elif copier is not None and table == "logged_models":
                        roots += [r[3] for r in rows]
                if copier is not None:
                    # Inside the transaction: the experiment is journaled only once its
                    # artifacts are in place too.
                    await copier.copy_roots(roots)
            result.experiments_imported += 1
        for eid in todo_traces:
            trace_roots: list[str | None] = []
            async with bulk.traces_unit(source.name, eid) as unit:
                async for table, rows in _prefetched(source.trace_rows(eid)):
                    await unit.rows(table, rows)
                    wrote(table, len(rows))
                    if copier is not None and table == "trace_tags":
                        trace_roots += [r[2] for r in rows if r[1] == ARTIFACT_LOCATION_TAG]
                if copier is not None:
                    await copier.copy_roots(trace_roots)
            result.traces_imported += 1
        for name in todo_models:
            async with bulk.registry_unit(source.name, name) as unit:
                for table in REGISTRY_TABLES:
                    rows = models[name][table]
                    await unit.rows(table, rows)
                    wrote(table, len(rows))
            result.models_imported += 1
        await bulk.resync_identities()
    finally:
        progress.close()
        if copier is not None:
            result.artifacts = copier.stats
            await copier.close()

    result.verification = await verify(source, bulk, all_ids, list(models), skip_traces=options.skip_traces)
    result.traces = result.verification.traces_in_source
    return result


async def verify(
    source: Source, bulk: BulkStore, experiment_ids: list[int], model_names: list[str], *, skip_traces: bool = False
) -> Verification:
    """Counts per entity on both sides, each run's metric sums, and (unless the traces were
    skipped) each experiment's traces and spans, compared."""
    verification = Verification()
    source_counts, source_sums = await source.tally(experiment_ids)
    target_counts = await bulk.unit_counts(experiment_ids)
    source_traces = await source.trace_tally(experiment_ids)
    verification.traces_in_source = _totals(source_traces)["trace_info"]
    if skip_traces:
        verification.traces_not_imported = verification.traces_in_source
    else:
        target_traces = await bulk.trace_counts(experiment_ids)
        source_counts.update(_totals(source_traces))
        target_counts.update(_totals(target_traces))
        compare_traces(source_traces, target_traces, verification)
    source_counts.update(await source.registry_counts())
    target_counts.update(await bulk.registry_counts(model_names))
    verification.counts = {k: (source_counts[k], target_counts.get(k, 0)) for k in source_counts}
    compare_sums(source_sums, await bulk.metric_sums(experiment_ids), verification)
    return verification
