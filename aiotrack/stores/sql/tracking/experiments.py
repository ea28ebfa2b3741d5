"""Experiments and their tags."""

from __future__ import annotations

from collections.abc import Sequence

from aiotrack.artifacts.locations import join_uri
from aiotrack.entities import ACTIVE, DELETED, Experiment, KeyValue, ReadScope
from aiotrack.errors import INVALID_STATE, AiotrackError, IntegrityViolation, already_exists, not_found
from aiotrack.names import experiment_not_active, experiment_not_found
from aiotrack.stores.base import Page
from aiotrack.stores.sql import search_sql
from aiotrack.stores.sql.common import (
    change_one,
    key_values_by,
    now_ms,
    parse_experiment_id,
    search_page,
)
from aiotrack.stores.sql.database import Database, Tx
from aiotrack.stores.sql.tracking.rows import EXPERIMENT_COLUMNS, experiment_entity


class ExperimentsMixin:
    db: Database

    async def initialize(self, default_artifact_root: str) -> None:
        if await self.db.fetchrow("SELECT 1 FROM experiments WHERE experiment_id = 0"):
            return
        now = now_ms()
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, "
                "last_update_time) VALUES (0, 'Default', ?, 'active', ?, ?) ON CONFLICT DO NOTHING",
                (join_uri(default_artifact_root, "0"), now, now),
            )

    async def create_experiment(
        self, name: str, artifact_location: str | None, tags: Sequence[KeyValue], default_artifact_root: str
    ) -> str:
        now = now_ms()
        async with self.db.transaction() as tx:
            existing = await tx.fetchrow("SELECT lifecycle_stage FROM experiments WHERE name = ?", (name,))
            if existing:
                if existing[0] == DELETED:
                    raise already_exists(
                        f"Experiment(name={name}) already exists in deleted state. You can restore the "
                        "experiment, or permanently delete the experiment to create a new one with this name."
                    )
                raise already_exists(f"Experiment(name={name}) already exists.")
            try:
                row = await tx.fetchrow(
                    "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, "
                    "last_update_time) VALUES (?, ?, 'active', ?, ?) RETURNING experiment_id",
                    (name, artifact_location, now, now),
                )
            except IntegrityViolation:  # a concurrent creator won the race for the name
                raise already_exists(f"Experiment(name={name}) already exists.") from None
            assert row is not None  # INSERT ... RETURNING returns the new row
            experiment_id = row[0]
            if not artifact_location:
                await tx.execute(
                    "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
                    (join_uri(default_artifact_root, str(experiment_id)), experiment_id),
                )
            if tags:
                await tx.executemany(
                    "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
                    [(experiment_id, t["key"], t["value"]) for t in tags],
                )
        return str(experiment_id)

    async def _experiment_tags(self, ids: list[int]) -> dict[int, list[KeyValue]]:
        return await key_values_by(
            self.db, "SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id IN ({in_list})", ids
        )

    async def get_experiment(self, experiment_id: str) -> Experiment:
        eid = parse_experiment_id(experiment_id)
        row = await self.db.fetchrow(f"SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE experiment_id = ?", (eid,))
        if row is None:
            raise experiment_not_found(experiment_id)
        tags = await self._experiment_tags([eid])
        return experiment_entity(row, tags.get(eid))

    async def get_experiment_by_name(self, name: str) -> Experiment:
        row = await self.db.fetchrow(f"SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE name = ?", (name,))
        if row is None:
            raise not_found(f"Could not find experiment with name '{name}'")
        tags = await self._experiment_tags([row[0]])
        return experiment_entity(row, tags.get(row[0]))

    async def _require_experiment(self, tx: Tx, eid: int, experiment_id: str) -> str:
        row = await tx.fetchrow("SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?", (eid,))
        if row is None:
            raise experiment_not_found(experiment_id)
        stage: str = row[0]
        return stage

    async def delete_experiment(self, experiment_id: str) -> None:
        eid = parse_experiment_id(experiment_id)
        now = now_ms()
        async with self.db.transaction() as tx:
            await self._require_experiment(tx, eid, experiment_id)
            await tx.execute(
                "UPDATE experiments SET lifecycle_stage = 'deleted', last_update_time = ? WHERE experiment_id = ?",
                (now, eid),
            )
            await tx.execute(
                "UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ? "
                "WHERE experiment_id = ? AND lifecycle_stage = 'active'",
                (now, eid),
            )

    async def restore_experiment(self, experiment_id: str) -> None:
        eid = parse_experiment_id(experiment_id)
        async with self.db.transaction() as tx:
            stage = await self._require_experiment(tx, eid, experiment_id)
            if stage != DELETED:
                raise AiotrackError(f"Cannot restore an active experiment. ID: {experiment_id}", INVALID_STATE)
            row = await tx.fetchrow("SELECT last_update_time FROM experiments WHERE experiment_id = ?", (eid,))
            assert row is not None  # _require_experiment found it in this transaction
            deleted_at = row[0]
            await tx.execute(
                "UPDATE experiments SET lifecycle_stage = 'active', last_update_time = ? WHERE experiment_id = ?",
                (now_ms(), eid),
            )
            # Restore the runs that were deleted together with the experiment.
            await tx.execute(
                "UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL "
                "WHERE experiment_id = ? AND lifecycle_stage = 'deleted' AND deleted_time = ?",
                (eid, deleted_at),
            )

    async def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        eid = parse_experiment_id(experiment_id)
        async with self.db.transaction() as tx:
            stage = await self._require_experiment(tx, eid, experiment_id)
            if stage != ACTIVE:
                raise AiotrackError("Cannot rename a non-active experiment.", INVALID_STATE)
            clash = await tx.fetchrow(
                "SELECT 1 FROM experiments WHERE name = ? AND experiment_id <> ?", (new_name, eid)
            )
            if clash:
                raise already_exists(f"Experiment(name={new_name}) already exists.")
            try:
                await tx.execute(
                    "UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?",
                    (new_name, now_ms(), eid),
                )
            except IntegrityViolation:
                raise already_exists(f"Experiment(name={new_name}) already exists.") from None

    async def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        eid = parse_experiment_id(experiment_id)
        async with self.db.transaction() as tx:
            stage = await self._require_experiment(tx, eid, experiment_id)
            if stage != ACTIVE:
                raise experiment_not_active(experiment_id, stage)
            await tx.execute(
                "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
                (eid, key, value),
            )
            await tx.execute("UPDATE experiments SET last_update_time = ? WHERE experiment_id = ?", (now_ms(), eid))

    async def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        eid = parse_experiment_id(experiment_id)
        async with self.db.transaction() as tx:
            stage = await self._require_experiment(tx, eid, experiment_id)
            if stage != ACTIVE:
                raise experiment_not_active(experiment_id, stage)
            await change_one(
                tx,
                "DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?",
                (eid, key),
                not_found(f"No tag with name: {key} in experiment with id {experiment_id}"),
            )

    async def search_experiments(
        self, view_type: str, page: Page, scope: ReadScope | None = None
    ) -> tuple[list[Experiment], bool]:
        rows, more = await search_page(
            self.db, search_sql.experiments_query, page, columns=EXPERIMENT_COLUMNS, view_type=view_type, scope=scope
        )
        tags = await self._experiment_tags([r[0] for r in rows]) if rows else {}
        return [experiment_entity(r, tags.get(r[0])) for r in rows], more
