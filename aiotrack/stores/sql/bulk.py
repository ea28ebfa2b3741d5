"""Bulk writes and permanent deletes: the store side of `aiotrack import` and `aiotrack gc`.

Import writes *units*: an experiment with everything in it (runs, their params, tags, full metric
history, latest metrics, datasets and inputs, outputs, logged models with their data), an
experiment's traces (infos, tags, metadata, spans, assessments, links: their own unit, so an
import with ``--skip-traces`` can be followed by one that brings them), or a registered model with
its versions, tags and aliases. A unit is one transaction that ends with
its row in ``aiotrack_import_journal`` (migration 0007), so the target holds a unit wholly or not
at all: a rerun skips journaled units, an interrupted one is rolled back and written again.
Rows arrive in the column order of :data:`UNIT_TABLES` / :data:`REGISTRY_TABLES` and go in by
``Tx.copy_rows`` (COPY on PostgreSQL, one executemany per chunk on SQLite).

Permanent deletes touch only what is in the ``deleted`` stage: every statement selects its rows
through ``lifecycle_stage = 'deleted'`` on the run, experiment or logged model itself (a trace
goes with its experiment), so an active id passed by mistake removes nothing.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from aiotrack.stores.sql.common import chunks, fetch_in, marks
from aiotrack.stores.sql.database import Database, Tx
from aiotrack.stores.sql.registry import MV_FIELDS
from aiotrack.stores.sql.traces import ARTIFACT_LOCATION_TAG as TRACE_ARTIFACT_LOCATION_TAG
from aiotrack.stores.sql.traces import ASSESSMENT_FIELDS, SPAN_FIELDS

JOURNAL = "aiotrack_import_journal"

# Tables of an experiment unit, in the order their rows must be written (parents first).
UNIT_TABLES: dict[str, tuple[str, ...]] = {
    "experiments": (
        "experiment_id",
        "name",
        "artifact_location",
        "lifecycle_stage",
        "creation_time",
        "last_update_time",
    ),
    "experiment_tags": ("experiment_id", "key", "value"),
    "runs": (
        "run_uuid",
        "experiment_id",
        "name",
        "source_type",
        "source_name",
        "entry_point_name",
        "user_id",
        "status",
        "start_time",
        "end_time",
        "deleted_time",
        "source_version",
        "lifecycle_stage",
        "artifact_uri",
    ),
    "params": ("run_uuid", "key", "value"),
    "tags": ("run_uuid", "key", "value"),
    "metrics": ("run_uuid", "key", "step", "timestamp", "value", "is_nan"),
    "latest_metrics": ("run_uuid", "key", "step", "timestamp", "value", "is_nan"),
    "datasets": (
        "dataset_uuid",
        "experiment_id",
        "name",
        "digest",
        "dataset_source_type",
        "dataset_source",
        "dataset_schema",
        "dataset_profile",
    ),
    "inputs": ("input_uuid", "source_type", "source_id", "destination_type", "destination_id", "step"),
    "input_tags": ("input_uuid", "name", "value"),
    "run_outputs": ("run_uuid", "model_id", "step"),
    "logged_models": (
        "model_id",
        "experiment_id",
        "name",
        "artifact_location",
        "creation_timestamp_ms",
        "last_updated_timestamp_ms",
        "status",
        "lifecycle_stage",
        "model_type",
        "source_run_id",
        "status_message",
    ),
    "logged_model_tags": ("model_id", "experiment_id", "tag_key", "tag_value"),
    "logged_model_params": ("model_id", "experiment_id", "param_key", "param_value"),
    "logged_model_metrics": (
        "model_id",
        "metric_name",
        "metric_timestamp_ms",
        "metric_step",
        "metric_value",
        "is_nan",
        "experiment_id",
        "run_id",
        "dataset_uuid",
        "dataset_name",
        "dataset_digest",
    ),
}

# Tables of an experiment's traces unit (migration 0005), parents first.
TRACE_TABLES: dict[str, tuple[str, ...]] = {
    "trace_info": (
        "request_id",
        "experiment_id",
        "timestamp_ms",
        "execution_time_ms",
        "status",
        "client_request_id",
        "request_preview",
        "response_preview",
        "finalized",
    ),
    "trace_tags": ("request_id", "key", "value"),
    "trace_request_metadata": ("request_id", "key", "value"),
    "spans": SPAN_FIELDS,
    "assessments": ASSESSMENT_FIELDS,
    "trace_links": ("trace_id", "destination_type", "destination_id"),
}

REGISTRY_TABLES: dict[str, tuple[str, ...]] = {
    "registered_models": ("name", "creation_time", "last_updated_time", "description"),
    "registered_model_tags": ("name", "key", "value"),
    "model_versions": MV_FIELDS,
    "model_version_tags": ("name", "version", "key", "value"),
    "registered_model_aliases": ("name", "alias", "version"),
}

# How each counted entity is found among the given experiments ({in_list} is their id list).
_RUNS_OF = "SELECT run_uuid FROM runs WHERE experiment_id IN ({in_list})"
_UNIT_COUNTS: dict[str, str] = {
    "experiments": "SELECT COUNT(*) FROM experiments WHERE experiment_id IN ({in_list})",
    "experiment_tags": "SELECT COUNT(*) FROM experiment_tags WHERE experiment_id IN ({in_list})",
    "runs": "SELECT COUNT(*) FROM runs WHERE experiment_id IN ({in_list})",
    "params": f"SELECT COUNT(*) FROM params WHERE run_uuid IN ({_RUNS_OF})",
    "tags": f"SELECT COUNT(*) FROM tags WHERE run_uuid IN ({_RUNS_OF})",
    "metrics": f"SELECT COUNT(*) FROM metrics WHERE run_uuid IN ({_RUNS_OF})",
    "latest_metrics": f"SELECT COUNT(*) FROM latest_metrics WHERE run_uuid IN ({_RUNS_OF})",
    "datasets": "SELECT COUNT(*) FROM datasets WHERE experiment_id IN ({in_list})",
    "inputs": f"SELECT COUNT(*) FROM inputs WHERE destination_type = 'RUN' AND destination_id IN ({_RUNS_OF})",
    "input_tags": "SELECT COUNT(*) FROM input_tags WHERE input_uuid IN (SELECT input_uuid FROM inputs "
    f"WHERE destination_type = 'RUN' AND destination_id IN ({_RUNS_OF}))",
    "run_outputs": f"SELECT COUNT(*) FROM run_outputs WHERE run_uuid IN ({_RUNS_OF})",
    "logged_models": "SELECT COUNT(*) FROM logged_models WHERE experiment_id IN ({in_list})",
    "logged_model_tags": "SELECT COUNT(*) FROM logged_model_tags WHERE experiment_id IN ({in_list})",
    "logged_model_params": "SELECT COUNT(*) FROM logged_model_params WHERE experiment_id IN ({in_list})",
    "logged_model_metrics": "SELECT COUNT(*) FROM logged_model_metrics WHERE experiment_id IN ({in_list})",
}
_TRACES_OF = "SELECT request_id FROM trace_info WHERE experiment_id = ?"
# Per experiment (one ? for its id): rows of each trace table.
TRACE_COUNTS: dict[str, str] = {
    "trace_info": "SELECT COUNT(*) FROM trace_info WHERE experiment_id = ?",
    "trace_tags": f"SELECT COUNT(*) FROM trace_tags WHERE request_id IN ({_TRACES_OF})",
    "trace_request_metadata": f"SELECT COUNT(*) FROM trace_request_metadata WHERE request_id IN ({_TRACES_OF})",
    "spans": f"SELECT COUNT(*) FROM spans WHERE trace_id IN ({_TRACES_OF})",
    "assessments": f"SELECT COUNT(*) FROM assessments WHERE trace_id IN ({_TRACES_OF})",
    "trace_links": f"SELECT COUNT(*) FROM trace_links WHERE trace_id IN ({_TRACES_OF})",
}
assert list(TRACE_COUNTS) == list(TRACE_TABLES)
_REGISTRY_COUNTS: dict[str, str] = {
    "registered_models": "SELECT COUNT(*) FROM registered_models WHERE name IN ({in_list})",
    "registered_model_tags": "SELECT COUNT(*) FROM registered_model_tags WHERE name IN ({in_list})",
    "model_versions": "SELECT COUNT(*) FROM model_versions WHERE name IN ({in_list})",
    "model_version_tags": "SELECT COUNT(*) FROM model_version_tags WHERE name IN ({in_list})",
    "registered_model_aliases": "SELECT COUNT(*) FROM registered_model_aliases WHERE name IN ({in_list})",
}

# A run's metric history summed for the import's verification. Infinities are kept as
# +/-FLOAT_MAX, whose sum depends on the order of addition, so they are counted, not added.
METRIC_SUMS_SQL = (
    "SELECT run_uuid, COUNT(*), SUM(CASE WHEN {nan} THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN NOT ({nan}) AND ABS(value) >= 1.7976931348623157e308 THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN {nan} OR ABS(value) >= 1.7976931348623157e308 THEN 0 ELSE value END) "
    "FROM metrics WHERE run_uuid IN ({runs}) GROUP BY run_uuid"
)

_CHUNK = 500  # ids per IN (...) list, and per transaction of a permanent delete


class UnitWriter:
    """The rows of one unit, written inside its transaction."""

    def __init__(self, tx: Tx, tables: dict[str, tuple[str, ...]]):
        self._tx = tx
        self._tables = tables

    async def rows(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            await self._tx.copy_rows(table, self._tables[table], rows)


class BulkStore:
    def __init__(self, db: Database):
        self.db = db

    # ------------------------------------------------------------------ import

    async def journal(self, source: str) -> set[tuple[str, str]]:
        """(entity, id) of every unit already imported from ``source``."""
        rows = await self.db.fetch(f"SELECT entity, entity_id FROM {JOURNAL} WHERE source = ?", (source,))
        return {(r[0], r[1]) for r in rows}

    async def experiments_present(self) -> dict[int, tuple[str, bool]]:
        """Every experiment in the target: id -> (name, whether anything hangs off it)."""
        rows = await self.db.fetch(
            "SELECT e.experiment_id, e.name, "
            "EXISTS (SELECT 1 FROM runs r WHERE r.experiment_id = e.experiment_id) "
            "OR EXISTS (SELECT 1 FROM logged_models m WHERE m.experiment_id = e.experiment_id) "
            "OR EXISTS (SELECT 1 FROM experiment_tags t WHERE t.experiment_id = e.experiment_id) "
            "FROM experiments e"
        )
        return {int(r[0]): (r[1], bool(r[2])) for r in rows}

    async def registered_model_names(self) -> set[str]:
        return {r[0] for r in await self.db.fetch("SELECT name FROM registered_models")}

    @contextlib.asynccontextmanager
    async def experiment_unit(
        self, source: str, experiment_id: int, *, replace_empty: bool = False
    ) -> AsyncIterator[UnitWriter]:
        """One experiment's transaction. ``replace_empty`` first removes an experiment of the same
        id that has nothing in it (the ``Default`` experiment a fresh aiotrack creates)."""
        async with self.db.transaction() as tx:
            if replace_empty:
                await tx.execute(
                    "DELETE FROM experiments WHERE experiment_id = ? "
                    "AND NOT EXISTS (SELECT 1 FROM runs WHERE experiment_id = ?) "
                    "AND NOT EXISTS (SELECT 1 FROM logged_models WHERE experiment_id = ?) "
                    "AND NOT EXISTS (SELECT 1 FROM experiment_tags WHERE experiment_id = ?)",
                    (experiment_id,) * 4,
                )
            yield UnitWriter(tx, UNIT_TABLES)
            await self._journal(tx, source, "experiment", str(experiment_id))

    @contextlib.asynccontextmanager
    async def traces_unit(self, source: str, experiment_id: int) -> AsyncIterator[UnitWriter]:
        """One experiment's traces in one transaction (the experiment is in the target already)."""
        async with self.db.transaction() as tx:
            yield UnitWriter(tx, TRACE_TABLES)
            await self._journal(tx, source, "experiment_traces", str(experiment_id))

    @contextlib.asynccontextmanager
    async def registry_unit(self, source: str, name: str) -> AsyncIterator[UnitWriter]:
        async with self.db.transaction() as tx:
            yield UnitWriter(tx, REGISTRY_TABLES)
            await self._journal(tx, source, "registered_model", name)

    async def _journal(self, tx: Tx, source: str, entity: str, entity_id: str) -> None:
        await tx.execute(
            f"INSERT INTO {JOURNAL} (source, entity, entity_id, imported_at) VALUES (?, ?, ?, ?)",
            (source, entity, entity_id, int(time.time() * 1000)),
        )

    async def resync_identities(self) -> None:
        """Move the experiment id generator past the ids an import wrote explicitly."""
        template = self.db.dialect.identity_resync
        if template is None:
            return
        async with self.db.transaction() as tx:
            await tx.fetch(template.format(table="experiments", column="experiment_id"))

    # ------------------------------------------------------------------ verification

    async def unit_counts(self, experiment_ids: Sequence[int]) -> dict[str, int]:
        """Rows per table belonging to the given experiments."""
        return {table: await self._count(sql, experiment_ids) for table, sql in _UNIT_COUNTS.items()}

    async def trace_counts(self, experiment_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        """Per experiment: rows of each trace table."""
        out: dict[int, dict[str, int]] = {}
        for eid in experiment_ids:
            counts = out[eid] = {}
            for table, sql in TRACE_COUNTS.items():
                row = await self.db.fetchrow(sql, (eid,))
                counts[table] = int(row[0]) if row else 0
        return out

    async def registry_counts(self, names: Sequence[str]) -> dict[str, int]:
        return {table: await self._count(sql, names) for table, sql in _REGISTRY_COUNTS.items()}

    async def _count(self, sql: str, values: Sequence[Any]) -> int:
        """``SELECT COUNT(*) ... IN ({in_list})`` over ``values``, summed across the chunks."""
        return sum(int(r[0]) for r in await fetch_in(self.db, sql, values, _CHUNK))

    async def metric_sums(self, experiment_ids: Sequence[int]) -> dict[str, tuple[int, int, int, float]]:
        """Per run of the given experiments: :data:`METRIC_SUMS_SQL`'s (points, NaN points,
        infinite points, sum of the finite values)."""
        sql = METRIC_SUMS_SQL.format(nan="is_nan = 1", runs=_RUNS_OF)
        return {
            run_uuid: (int(n), int(nans or 0), int(infs or 0), float(total or 0.0))
            for run_uuid, n, nans, infs, total in await fetch_in(self.db, sql, experiment_ids, _CHUNK)
        }

    # ------------------------------------------------------------------ permanent deletes (gc)

    async def deleted_run_ids(self, deleted_before_ms: int | None) -> list[str]:
        """Runs in the deleted stage (deleted at or before the given time, when given)."""
        if deleted_before_ms is None:
            rows = await self.db.fetch("SELECT run_uuid FROM runs WHERE lifecycle_stage = 'deleted'")
        else:
            rows = await self.db.fetch(
                "SELECT run_uuid FROM runs WHERE lifecycle_stage = 'deleted' AND deleted_time <= ?",
                (deleted_before_ms,),
            )
        return [r[0] for r in rows]

    async def run_states(self, run_ids: Sequence[str]) -> dict[str, tuple[str, int | None, str | None]]:
        """run id -> (lifecycle stage, deleted_time, artifact_uri) for the runs that exist."""
        rows = await fetch_in(
            self.db,
            "SELECT run_uuid, lifecycle_stage, deleted_time, artifact_uri FROM runs WHERE run_uuid IN ({in_list})",
            run_ids,
            _CHUNK,
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    async def experiment_states(
        self, experiment_ids: Sequence[int] | None
    ) -> dict[int, tuple[str, str, int | None, str | None]]:
        """id -> (name, lifecycle stage, last_update_time, artifact_location); all deleted ones
        when ``experiment_ids`` is None."""
        if experiment_ids is None:
            rows = await self.db.fetch(
                "SELECT experiment_id, name, lifecycle_stage, last_update_time, artifact_location FROM experiments "
                "WHERE lifecycle_stage = 'deleted'"
            )
        else:
            rows = await fetch_in(
                self.db,
                "SELECT experiment_id, name, lifecycle_stage, last_update_time, artifact_location "
                "FROM experiments WHERE experiment_id IN ({in_list})",
                experiment_ids,
                _CHUNK,
            )
        return {int(r[0]): (r[1], r[2], r[3], r[4]) for r in rows}

    async def runs_of_experiments(self, experiment_ids: Sequence[int]) -> list[str]:
        return [r[0] for r in await fetch_in(self.db, _RUNS_OF, experiment_ids, _CHUNK)]

    async def logged_model_states(
        self, model_ids: Sequence[str] | None
    ) -> dict[str, tuple[str, int | None, str | None, int]]:
        """model id -> (lifecycle stage, last update, artifact location, experiment id); all
        deleted ones when ``model_ids`` is None."""
        cols = "model_id, lifecycle_stage, last_updated_timestamp_ms, artifact_location, experiment_id"
        if model_ids is None:
            rows = await self.db.fetch(f"SELECT {cols} FROM logged_models WHERE lifecycle_stage = 'deleted'")
        else:
            rows = await fetch_in(
                self.db, f"SELECT {cols} FROM logged_models WHERE model_id IN ({{in_list}})", model_ids, _CHUNK
            )
        return {r[0]: (r[1], r[2], r[3], int(r[4])) for r in rows}

    async def logged_models_of_experiments(self, experiment_ids: Sequence[int]) -> list[str]:
        sql = "SELECT model_id FROM logged_models WHERE experiment_id IN ({in_list})"
        return [r[0] for r in await fetch_in(self.db, sql, experiment_ids, _CHUNK)]

    async def hard_delete_runs(self, run_ids: Sequence[str]) -> int:
        """Remove deleted-stage runs among ``run_ids`` with all their rows; returns how many."""
        removed = 0
        for ids in chunks(list(run_ids), _CHUNK):
            doomed = f"SELECT run_uuid FROM runs WHERE run_uuid IN ({marks(len(ids))}) AND lifecycle_stage = 'deleted'"
            async with self.db.transaction() as tx:
                await tx.execute(
                    "DELETE FROM input_tags WHERE input_uuid IN (SELECT input_uuid FROM inputs "
                    f"WHERE destination_type = 'RUN' AND destination_id IN ({doomed}))",
                    ids,
                )
                await tx.execute(
                    f"DELETE FROM inputs WHERE destination_type = 'RUN' AND destination_id IN ({doomed})", ids
                )
                for table, column in (
                    ("metrics", "run_uuid"),
                    ("latest_metrics", "run_uuid"),
                    ("params", "run_uuid"),
                    ("tags", "run_uuid"),
                    ("run_outputs", "run_uuid"),
                    ("logged_model_metrics", "run_id"),
                ):
                    await tx.execute(f"DELETE FROM {table} WHERE {column} IN ({doomed})", ids)
                removed += await tx.execute(
                    f"DELETE FROM runs WHERE run_uuid IN ({marks(len(ids))}) AND lifecycle_stage = 'deleted'", ids
                )
        return removed

    async def hard_delete_logged_models(self, model_ids: Sequence[str]) -> int:
        removed = 0
        for ids in chunks(list(model_ids), _CHUNK):
            doomed = (
                f"SELECT model_id FROM logged_models WHERE model_id IN ({marks(len(ids))}) "
                "AND lifecycle_stage = 'deleted'"
            )
            async with self.db.transaction() as tx:
                for table in ("logged_model_tags", "logged_model_params", "logged_model_metrics"):
                    await tx.execute(f"DELETE FROM {table} WHERE model_id IN ({doomed})", ids)
                removed += await tx.execute(
                    f"DELETE FROM logged_models WHERE model_id IN ({marks(len(ids))}) AND lifecycle_stage = 'deleted'",
                    ids,
                )
        return removed

    async def traces_of_experiment(self, experiment_id: int) -> list[tuple[str, str | None]]:
        """(trace id, its artifact location tag) of every trace in the experiment."""
        rows = await self.db.fetch(
            "SELECT t.request_id, a.value FROM trace_info t LEFT JOIN trace_tags a ON a.request_id = t.request_id "
            "AND a.key = ? WHERE t.experiment_id = ? ORDER BY t.request_id",
            (TRACE_ARTIFACT_LOCATION_TAG, experiment_id),
        )
        return [(r[0], r[1]) for r in rows]

    async def hard_delete_experiment(self, experiment_id: int) -> bool:
        """Remove a deleted-stage experiment with its traces (spans, tags, metadata, assessments,
        links), logged models, datasets and tags. Its runs must have been removed first
        (``hard_delete_runs``, after their artifacts): while any run is left, nothing is removed
        and the answer is False."""
        doomed = "SELECT experiment_id FROM experiments WHERE experiment_id = ? AND lifecycle_stage = 'deleted'"
        traces = f"SELECT request_id FROM trace_info WHERE experiment_id IN ({doomed})"
        async with self.db.transaction() as tx:
            left = await tx.fetchrow(f"SELECT COUNT(*) FROM runs WHERE experiment_id IN ({doomed})", (experiment_id,))
            if left and left[0]:
                return False  # a run in it is not in the deleted stage: never remove it with the experiment
            # (the trace tables cascade from trace_info; named one by one all the same, so the
            # removal does not depend on the connection enforcing foreign keys)
            for table, column in (
                ("trace_links", "trace_id"),
                ("assessments", "trace_id"),
                ("spans", "trace_id"),
                ("trace_request_metadata", "request_id"),
                ("trace_tags", "request_id"),
            ):
                await tx.execute(f"DELETE FROM {table} WHERE {column} IN ({traces})", (experiment_id,))
            for table in (
                "trace_info",
                "logged_model_tags",
                "logged_model_params",
                "logged_model_metrics",
                "logged_models",
                "datasets",
                "experiment_tags",
            ):
                await tx.execute(f"DELETE FROM {table} WHERE experiment_id IN ({doomed})", (experiment_id,))
            removed = await tx.execute(
                "DELETE FROM experiments WHERE experiment_id = ? AND lifecycle_stage = 'deleted'", (experiment_id,)
            )
        return bool(removed)
