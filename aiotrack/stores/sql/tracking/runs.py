"""Runs: their lifecycle, hydration with data, inputs and outputs, the write paths and search."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import orjson

from aiotrack.entities import ACTIVE, KeyValue, Run, RunInfo
from aiotrack.errors import invalid, not_found
from aiotrack.names import (
    DATASET_CONTEXT_TAG,
    LOGGED_MODELS_TAG,
    MAX_TAG_VAL_LENGTH,
    RUN_NAME_TAG,
    run_not_found,
)
from aiotrack.stores.base import Batch, DatasetIn, Page
from aiotrack.stores.sql import search_sql
from aiotrack.stores.sql.common import (
    IN_CHUNK,
    change_one,
    chunks,
    given,
    marks,
    now_ms,
    parse_experiment_id,
    search_page,
)
from aiotrack.stores.sql.database import Database, Row, Tx
from aiotrack.stores.sql.tracking.rows import (
    RUN_COLUMNS,
    require_active,
    require_active_run,
    run_info,
)
from aiotrack.stores.sql.tracking.writes import create_run_body, log_batch_body, tag_upsert

# The hydrating UNION: (kind, run_uuid, key, text, value, ts, step, is_nan) per row. Data branches
# come first: PostgreSQL types the UNION's columns from the first branches.
_DATA_BRANCHES = (
    "SELECT 'm', run_uuid, key, NULL, value, timestamp, step, is_nan FROM latest_metrics WHERE run_uuid {member}",
    "SELECT 'p', run_uuid, key, value, NULL, NULL, NULL, NULL FROM params WHERE run_uuid {member}",
    "SELECT 't', run_uuid, key, value, NULL, NULL, NULL, NULL FROM tags WHERE run_uuid {member}",
    "SELECT 'o', run_uuid, model_id, NULL, NULL, NULL, step, NULL FROM run_outputs WHERE run_uuid {member}",
    "SELECT CASE source_type WHEN 'DATASET' THEN 'd' ELSE 'i' END, destination_id, source_id, NULL, NULL, "
    "NULL, NULL, NULL FROM inputs "
    "WHERE destination_type = 'RUN' AND destination_id {member} AND source_type IN ('DATASET', 'MODEL')",
)
_IO_BRANCHES = _DATA_BRANCHES[3:]  # model outputs; model and dataset inputs


def model_output(model_id: str, step: int) -> dict[str, Any]:
    return {"model_id": model_id, "step": step}


def model_input(model_id: str) -> dict[str, Any]:
    return {"model_id": model_id}


# A run's own columns spread over the typed columns (kinds r, R, L), when hydrating by id.
_INFO_BRANCHES = (
    "SELECT 'r', run_uuid, name, user_id, NULL, start_time, end_time, NULL FROM runs WHERE run_uuid {member}",
    "SELECT 'R', run_uuid, status, artifact_uri, NULL, experiment_id, NULL, NULL FROM runs WHERE run_uuid {member}",
    "SELECT 'L', run_uuid, lifecycle_stage, NULL, NULL, NULL, NULL, NULL FROM runs WHERE run_uuid {member}",
)


def experiment_ints(experiment_ids: list[str]) -> list[int]:
    """The ids a run search looks in: MLflow answers with no runs for an id that cannot exist."""
    ids = []
    for e in experiment_ids:
        try:
            ids.append(int(e))
        except (TypeError, ValueError):
            continue
    return ids


class RunsMixin:
    db: Database

    async def create_run(
        self, experiment_id: str, user_id: str, start_time: int, tags: Sequence[KeyValue], run_name: str
    ) -> Run:
        eid = parse_experiment_id(experiment_id)
        run_id = uuid.uuid4().hex
        all_tags = {t["key"]: t["value"] for t in tags}
        all_tags[RUN_NAME_TAG] = run_name
        artifact_uri = await self.db.run(
            create_run_body, eid, experiment_id, run_id, run_name, user_id, start_time, all_tags
        )
        info: RunInfo = {
            "run_uuid": run_id,
            "run_id": run_id,
            "run_name": run_name,
            "experiment_id": str(eid),
            "user_id": user_id,
            "status": "RUNNING",
            "start_time": start_time,
            "artifact_uri": artifact_uri,
            "lifecycle_stage": ACTIVE,
        }
        return {
            "info": info,
            "data": {"tags": [{"key": k, "value": v} for k, v in all_tags.items()]},
            "inputs": {},
            "outputs": {},
        }

    async def _run_info(self, run_id: str, tx: Tx | None = None) -> RunInfo:
        src = tx or self.db
        row = await src.fetchrow(f"SELECT {RUN_COLUMNS} FROM runs WHERE run_uuid = ?", (run_id,))
        if row is None:
            raise run_not_found(run_id)
        return run_info(row)

    async def _require_active_run(self, tx: Tx, run_id: str) -> None:
        require_active(
            await tx.fetchrow("SELECT lifecycle_stage FROM runs WHERE run_uuid = ?", (run_id,)), "run", run_id
        )

    async def get_run_info(self, run_id: str) -> RunInfo:
        return await self._run_info(run_id)

    async def get_run(self, run_id: str) -> Run:
        # The run's own columns travel in the same UNION as its data: one query, one round trip.
        runs = await self._hydrate((), ids=[run_id])
        if not runs:
            raise run_not_found(run_id)
        return runs[0]

    async def _hydrate(self, rows: Sequence[Row], *, ids: list[str] | None = None) -> list[Run]:
        """Runs with data, inputs and outputs. One UNION query brings metrics, params, tags,
        outputs and model inputs of every run in the chunk (a database round trip is the main
        cost of a read); a second one runs only when some run has dataset inputs.

        Given ``ids`` instead of run rows, the runs' own columns come in the same query, spread
        over the UNION's typed columns (kinds r, R, L); runs that do not exist are left out."""
        runs: dict[str, Run] = {}
        for row in rows:
            info = run_info(row)
            runs[info["run_id"]] = {"info": info, "data": {}, "inputs": {}, "outputs": {}}
        with_info = ids is not None
        if ids is None:
            ids = list(runs)
        for chunk in chunks(ids, IN_CHUNK // 8):
            member, member_params = self.db.dialect.member_of(chunk)
            branches = _DATA_BRANCHES + _INFO_BRANCHES if with_info else _DATA_BRANCHES
            sql = " UNION ALL ".join(branch.format(member=member) for branch in branches)
            # Per run: metrics, params, tags, model outputs, model inputs (filled, then attached if non-empty).
            acc: dict[str, tuple[list[Any], list[Any], list[Any], list[Any], list[Any]]] = {
                rid: ([], [], [], [], []) for rid in chunk
            }
            has_datasets = False
            info_parts: dict[str, list[Any]] = {}
            for kind, run_uuid, key, text, value, ts, step, is_nan in await self.db.fetch(
                sql, member_params * len(branches)
            ):
                if kind == "t":
                    acc[run_uuid][2].append({"key": key, "value": text})
                elif kind == "p":
                    acc[run_uuid][1].append({"key": key, "value": text})
                elif kind == "m":
                    acc[run_uuid][0].append(
                        {"key": key, "value": "NaN" if is_nan else value, "timestamp": ts, "step": step}
                    )
                elif kind == "o":
                    acc[run_uuid][3].append(model_output(key, step))
                elif kind == "i":
                    acc[run_uuid][4].append(model_input(key))
                elif kind == "d":
                    has_datasets = True
                else:  # r, R, L: the run's own columns
                    parts = info_parts.setdefault(run_uuid, [None] * 9)
                    parts[0] = run_uuid
                    if kind == "r":
                        parts[1], parts[3], parts[5], parts[6] = key, text, ts, step
                    elif kind == "R":
                        parts[4], parts[7], parts[2] = key, text, ts
                    else:
                        parts[8] = key
            for rid, parts in info_parts.items():
                runs[rid] = {"info": run_info(parts), "data": {}, "inputs": {}, "outputs": {}}
            for rid, (metrics, params, tags, outputs, model_inputs) in acc.items():
                run = runs.get(rid)
                if run is None:
                    continue  # asked for by id and does not exist
                data = run["data"]
                if metrics:
                    data["metrics"] = metrics
                if params:
                    data["params"] = params
                if tags:
                    data["tags"] = tags
                if outputs:
                    run["outputs"]["model_outputs"] = outputs
                if model_inputs:
                    run["inputs"]["model_inputs"] = model_inputs
            if has_datasets:
                await self._hydrate_datasets(runs, chunk)
        return list(runs.values())

    async def _run_io(self, chunk: list[str]) -> dict[str, Run]:
        """The model inputs and outputs and dataset inputs of the runs that have any, as
        ``{run_id: {"inputs": ..., "outputs": ...}}`` (the io branches of the hydrating UNION)."""
        member, member_params = self.db.dialect.member_of(chunk)
        sql = " UNION ALL ".join(branch.format(member=member) for branch in _IO_BRANCHES)
        runs: dict[str, Run] = {}
        has_datasets = False
        for kind, run_uuid, key, _text, _value, _ts, step, _is_nan in await self.db.fetch(
            sql, member_params * len(_IO_BRANCHES)
        ):
            run = runs.setdefault(run_uuid, {"inputs": {}, "outputs": {}})
            if kind == "o":
                run["outputs"].setdefault("model_outputs", []).append(model_output(key, step))
            elif kind == "i":
                run["inputs"].setdefault("model_inputs", []).append(model_input(key))
            else:
                has_datasets = True
        if has_datasets:
            await self._hydrate_datasets(runs, chunk)
        return runs

    async def _hydrate_datasets(self, runs: dict[str, Run], chunk: list[Any]) -> None:
        member, member_params = self.db.dialect.member_of(chunk)
        rows = await self.db.fetch(
            "SELECT i.destination_id, i.input_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source, "
            "d.dataset_schema, d.dataset_profile "
            "FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id "
            f"WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' AND i.destination_id {member} "
            "ORDER BY i.input_uuid",
            member_params,
        )
        by_input: dict[str, dict[str, Any]] = {}
        for run_uuid, input_uuid, name, digest, stype, source, schema, profile in rows:
            dataset = {"name": name, "digest": digest, "source_type": stype, "source": source}
            if schema is not None:
                dataset["schema"] = schema
            if profile is not None:
                dataset["profile"] = profile
            entry: dict[str, Any] = {"dataset": dataset}
            runs[run_uuid]["inputs"].setdefault("dataset_inputs", []).append(entry)
            by_input[input_uuid] = entry
        uuids = list(by_input)
        for sub in chunks(uuids):
            for input_uuid, name, value in await self.db.fetch(
                f"SELECT input_uuid, name, value FROM input_tags WHERE input_uuid IN ({marks(len(sub))})", sub
            ):
                by_input[input_uuid].setdefault("tags", []).append({"key": name, "value": value})

    async def update_run_info(
        self, run_id: str, status: str | None, end_time: int | None, run_name: str | None
    ) -> RunInfo:
        async with self.db.transaction() as tx:
            info = await self._run_info(run_id, tx)
            require_active_run(info)
            sets, params = given([("status = ?", status), ("end_time = ?", end_time), ("name = ?", run_name or None)])
            if run_name:
                await tx.executemany(*tag_upsert(run_id, [(RUN_NAME_TAG, run_name)]))
            if sets:
                await tx.write(f"UPDATE runs SET {', '.join(sets)} WHERE run_uuid = ?", (*params, run_id))
            return await self._run_info(run_id, tx)

    async def delete_run(self, run_id: str) -> None:
        async with self.db.transaction() as tx:
            await self._run_info(run_id, tx)
            await tx.execute(
                "UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ? WHERE run_uuid = ?", (now_ms(), run_id)
            )

    async def restore_run(self, run_id: str) -> None:
        async with self.db.transaction() as tx:
            await self._run_info(run_id, tx)
            await tx.execute(
                "UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE run_uuid = ?", (run_id,)
            )

    async def log_batch(self, run_id: str, batch: Batch) -> None:
        await self.db.run(log_batch_body, run_id, batch.metrics, batch.params, batch.tags)

    async def delete_tag(self, run_id: str, key: str) -> None:
        async with self.db.transaction() as tx:
            info = await self._run_info(run_id, tx)
            require_active_run(info)
            await change_one(
                tx,
                "DELETE FROM tags WHERE run_uuid = ? AND key = ?",
                (run_id, key),
                not_found(f"No tag with name: {key} in run with id {run_id}"),
            )

    async def log_inputs(self, run_id: str, datasets: Sequence[DatasetIn], model_ids: Sequence[str]) -> None:
        async with self.db.transaction() as tx:
            row = await tx.fetchrow("SELECT lifecycle_stage, experiment_id FROM runs WHERE run_uuid = ?", (run_id,))
            _, experiment_id = require_active(row, "run", run_id)
            for ds in datasets:
                existing = await tx.fetchrow(
                    "SELECT dataset_uuid FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?",
                    (experiment_id, ds.name, ds.digest),
                )
                if existing:
                    dataset_uuid = existing[0]
                else:
                    dataset_uuid = uuid.uuid4().hex
                    await tx.execute(
                        "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, dataset_source_type, "
                        "dataset_source, dataset_schema, dataset_profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            dataset_uuid,
                            experiment_id,
                            ds.name,
                            ds.digest,
                            ds.source_type,
                            ds.source,
                            ds.schema,
                            ds.profile,
                        ),
                    )
                link = await tx.fetchrow(
                    "SELECT input_uuid FROM inputs WHERE source_type = 'DATASET' AND source_id = ? "
                    "AND destination_type = 'RUN' AND destination_id = ?",
                    (dataset_uuid, run_id),
                )
                if link:
                    continue  # MLflow keeps the first link and its tags
                input_uuid = uuid.uuid4().hex
                await tx.execute(
                    "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id) "
                    "VALUES (?, 'DATASET', ?, 'RUN', ?)",
                    (input_uuid, dataset_uuid, run_id),
                )
                if ds.tags:
                    await tx.executemany(
                        "INSERT INTO input_tags (input_uuid, name, value) VALUES (?, ?, ?) "
                        "ON CONFLICT (input_uuid, name) DO UPDATE SET value = excluded.value",
                        [(input_uuid, k, v) for k, v in ds.tags],
                    )
            for model_id in model_ids:
                await tx.execute(
                    "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id) "
                    "VALUES (?, 'MODEL', ?, 'RUN', ?) ON CONFLICT DO NOTHING",
                    (uuid.uuid4().hex, model_id, run_id),
                )

    async def log_outputs(self, run_id: str, models: Sequence[tuple[str, int]]) -> None:
        async with self.db.transaction() as tx:
            await self._require_active_run(tx, run_id)
            await tx.executemany(
                "INSERT INTO run_outputs (run_uuid, model_id, step) VALUES (?, ?, ?) "
                "ON CONFLICT (run_uuid, model_id) DO UPDATE SET step = excluded.step",
                [(run_id, model_id, step) for model_id, step in models],
            )

    async def record_logged_model(self, run_id: str, model: dict[str, Any]) -> None:
        async with self.db.transaction() as tx:
            info = await self._run_info(run_id, tx)
            require_active_run(info)
            tag = await tx.fetchrow(
                "SELECT value FROM tags WHERE run_uuid = ? AND key = ?", (run_id, LOGGED_MODELS_TAG)
            )
            history: Any = []
            if tag and tag[0]:
                try:
                    history = orjson.loads(tag[0])
                except orjson.JSONDecodeError:
                    history = []
                if not isinstance(history, list):
                    history = []
            history.append(model)
            value = orjson.dumps(history).decode()
            if len(value) > MAX_TAG_VAL_LENGTH:
                raise invalid(f"'{LOGGED_MODELS_TAG}' exceeds the maximum length of {MAX_TAG_VAL_LENGTH} characters")
            await tx.executemany(*tag_upsert(run_id, [(LOGGED_MODELS_TAG, value)]))

    async def search_datasets(self, experiment_ids: list[str], limit: int) -> list[dict[str, Any]]:
        ids = [parse_experiment_id(e) for e in experiment_ids]
        rows = await self.db.fetch(
            "SELECT DISTINCT d.experiment_id, d.name, d.digest, t.value FROM datasets d "
            "JOIN inputs i ON i.source_type = 'DATASET' AND i.source_id = d.dataset_uuid "
            "LEFT JOIN input_tags t ON t.input_uuid = i.input_uuid AND t.name = ? "
            f"WHERE d.experiment_id IN ({marks(len(ids))}) ORDER BY d.experiment_id, d.name, d.digest LIMIT ?",
            (DATASET_CONTEXT_TAG, *ids, limit),
        )
        out = []
        for eid, name, digest, context in rows:
            summary = {"experiment_id": str(eid), "name": name, "digest": digest}
            if context is not None:
                summary["context"] = context
            out.append(summary)
        return out

    async def search_runs(self, experiment_ids: list[str], run_view_type: str, page: Page) -> tuple[list[Run], bool]:
        rows, more = await self._run_page(experiment_ids, run_view_type, page)
        return await self._hydrate(rows), more

    async def _run_page(self, experiment_ids: list[str], run_view_type: str, page: Page) -> tuple[list[Row], bool]:
        """The page's runs as rows of RUN_COLUMNS, and whether more follow."""
        ids = experiment_ints(experiment_ids)
        if not ids:
            return [], False
        return await search_page(
            self.db,
            search_sql.runs_query,
            page,
            columns=RUN_COLUMNS,
            experiment_ids=ids,
            run_view_type=run_view_type,
        )
