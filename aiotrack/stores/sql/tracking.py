"""The tracking store over SQL, written once for SQLite and PostgreSQL (see dialect.py)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Generator, Iterator, Sequence
from typing import Any

import orjson

from aiotrack.entities import ACTIVE, DELETED, Experiment, KeyValue, Metric, Run, RunInfo
from aiotrack.errors import INVALID_STATE, AiotrackError, already_exists, invalid, not_found
from aiotrack.stores.base import DatasetIn, MetricPoint, TrackingStore
from aiotrack.stores.sql import search_sql
from aiotrack.stores.sql.database import Database, ExecMany, Fetch, FetchRow, IntegrityViolation, Row, Tx

RUN_NAME_TAG = "mlflow.runName"
LOGGED_MODELS_TAG = "mlflow.log-model.history"
MAX_TAG_VAL_LENGTH = 8000
DATASET_CONTEXT_TAG = "mlflow.data.context"
IN_CHUNK = 5000  # ids per IN (...) list: far below both engines' parameter limits

RUN_COLUMNS = (
    "runs.run_uuid, runs.name, runs.experiment_id, runs.user_id, runs.status, runs.start_time, "
    "runs.end_time, runs.artifact_uri, runs.lifecycle_stage"
)
EXPERIMENT_COLUMNS = (
    "experiments.experiment_id, experiments.name, experiments.artifact_location, "
    "experiments.lifecycle_stage, experiments.creation_time, experiments.last_update_time"
)


def now_ms() -> int:
    return int(time.time() * 1000)


def _placeholders(n: int) -> str:
    return ",".join("?" * n)


def _chunks(seq: list[Any], size: int = IN_CHUNK) -> Iterator[list[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def _experiment_id(experiment_id: str) -> int:
    """Experiment ids are strings on the wire and BIGINT in the database."""
    try:
        value = int(experiment_id)
    except (TypeError, ValueError):
        raise invalid(f"Invalid experiment ID '{experiment_id}'. Experiment ID must be a valid integer.") from None
    if not -(2**63) <= value < 2**63:
        raise not_found(f"No Experiment with id={experiment_id} exists")
    return value


def _run_info(row: Row) -> RunInfo:
    info: RunInfo = {
        "run_uuid": row[0],
        "run_id": row[0],
        "run_name": row[1] or "",
        "experiment_id": str(row[2]),
        "user_id": row[3] or "",
        "status": row[4],
        "start_time": row[5],
        "artifact_uri": row[7] or "",
        "lifecycle_stage": row[8],
    }
    if row[6] is not None:
        info["end_time"] = row[6]
    if row[5] is None:
        del info["start_time"]
    return info


def _experiment(row: Row, tags: list[KeyValue] | None) -> Experiment:
    exp: Experiment = {
        "experiment_id": str(row[0]),
        "name": row[1],
        "artifact_location": row[2] or "",
        "lifecycle_stage": row[3],
    }
    if row[5] is not None:
        exp["last_update_time"] = row[5]
    if row[4] is not None:
        exp["creation_time"] = row[4]
    if tags:
        exp["tags"] = tags
    return exp


def metric_json(key: str, value: float, timestamp: int, step: int, is_nan: object) -> Metric:
    return {"key": key, "value": "NaN" if is_nan else value, "timestamp": timestamp, "step": step}


class SqlTrackingStore(TrackingStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def close(self) -> None:
        await self.db.close()

    async def initialize(self, default_artifact_root: str) -> None:
        if await self.db.fetchrow("SELECT 1 FROM experiments WHERE experiment_id = 0"):
            return
        now = now_ms()
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, "
                "last_update_time) VALUES (0, 'Default', ?, 'active', ?, ?) ON CONFLICT DO NOTHING",
                (_join_uri(default_artifact_root, "0"), now, now),
            )

    # ------------------------------------------------------------------ experiments

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
                    (_join_uri(default_artifact_root, str(experiment_id)), experiment_id),
                )
            if tags:
                await tx.executemany(
                    "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
                    [(experiment_id, t["key"], t["value"]) for t in tags],
                )
        return str(experiment_id)

    async def _experiment_tags(self, ids: list[int]) -> dict[int, list[KeyValue]]:
        out: dict[int, list[KeyValue]] = {}
        for chunk in _chunks(ids):
            rows = await self.db.fetch(
                "SELECT experiment_id, key, value FROM experiment_tags "
                f"WHERE experiment_id IN ({_placeholders(len(chunk))})",
                chunk,
            )
            for eid, key, value in rows:
                out.setdefault(eid, []).append({"key": key, "value": value})
        return out

    async def get_experiment(self, experiment_id: str) -> Experiment:
        eid = _experiment_id(experiment_id)
        row = await self.db.fetchrow(f"SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE experiment_id = ?", (eid,))
        if row is None:
            raise not_found(f"No Experiment with id={experiment_id} exists")
        tags = await self._experiment_tags([eid])
        return _experiment(row, tags.get(eid))

    async def get_experiment_by_name(self, name: str) -> Experiment:
        row = await self.db.fetchrow(f"SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE name = ?", (name,))
        if row is None:
            raise not_found(f"Could not find experiment with name '{name}'")
        tags = await self._experiment_tags([row[0]])
        return _experiment(row, tags.get(row[0]))

    async def _require_experiment(self, tx: Tx, eid: int, experiment_id: str) -> str:
        row = await tx.fetchrow("SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?", (eid,))
        if row is None:
            raise not_found(f"No Experiment with id={experiment_id} exists")
        stage: str = row[0]
        return stage

    async def delete_experiment(self, experiment_id: str) -> None:
        eid = _experiment_id(experiment_id)
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
        eid = _experiment_id(experiment_id)
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
        eid = _experiment_id(experiment_id)
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
        eid = _experiment_id(experiment_id)
        async with self.db.transaction() as tx:
            stage = await self._require_experiment(tx, eid, experiment_id)
            if stage != ACTIVE:
                raise invalid(
                    f"The experiment {experiment_id} must be in the 'active' state. Current state is {stage}."
                )
            await tx.execute(
                "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
                (eid, key, value),
            )
            await tx.execute("UPDATE experiments SET last_update_time = ? WHERE experiment_id = ?", (now_ms(), eid))

    async def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        eid = _experiment_id(experiment_id)
        async with self.db.transaction() as tx:
            stage = await self._require_experiment(tx, eid, experiment_id)
            if stage != ACTIVE:
                raise invalid(
                    f"The experiment {experiment_id} must be in the 'active' state. Current state is {stage}."
                )
            changed = await tx.execute("DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?", (eid, key))
            if not changed:
                raise not_found(f"No tag with name: {key} in experiment with id {experiment_id}")

    async def search_experiments(
        self, view_type: str, max_results: int, filter_string: str | None, order_by: list[str], offset: int
    ) -> tuple[list[Experiment], bool]:
        sql, params = search_sql.experiments_query(
            self.db.dialect,
            columns=EXPERIMENT_COLUMNS,
            filter_string=filter_string,
            order_by=order_by,
            view_type=view_type,
            limit=max_results + 1,
            offset=offset,
        )
        rows, more = _one_page(await self.db.fetch(sql, params), max_results)
        tags = await self._experiment_tags([r[0] for r in rows]) if rows else {}
        return [_experiment(r, tags.get(r[0])) for r in rows], more

    # ------------------------------------------------------------------ runs

    async def create_run(
        self, experiment_id: str, user_id: str, start_time: int, tags: Sequence[KeyValue], run_name: str
    ) -> Run:
        eid = _experiment_id(experiment_id)
        run_id = uuid.uuid4().hex
        all_tags = {t["key"]: t["value"] for t in tags}
        all_tags[RUN_NAME_TAG] = run_name
        artifact_uri = await self.db.run(
            _create_run_body, eid, experiment_id, run_id, run_name, user_id, start_time, all_tags
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

    async def _run_row(self, run_id: str, tx: Tx | None = None) -> Row:
        src = tx or self.db
        row = await src.fetchrow(f"SELECT {RUN_COLUMNS} FROM runs WHERE run_uuid = ?", (run_id,))
        if row is None:
            raise not_found(f"Run with id={run_id} not found")
        return row

    async def get_run_info(self, run_id: str) -> RunInfo:
        return _run_info(await self._run_row(run_id))

    async def get_run(self, run_id: str) -> Run:
        # The run's own columns travel in the same UNION as its data: one query, one round trip.
        runs = await self._hydrate((), ids=[run_id])
        if not runs:
            raise not_found(f"Run with id={run_id} not found")
        return runs[0]

    async def _hydrate(self, rows: Sequence[Row], *, ids: list[str] | None = None) -> list[Run]:
        """Runs with data, inputs and outputs. One UNION query brings metrics, params, tags,
        outputs and model inputs of every run in the chunk (a database round trip is the main
        cost of a read); a second one runs only when some run has dataset inputs.

        Given ``ids`` instead of run rows, the runs' own columns come in the same query, spread
        over the UNION's typed columns (kinds r, R, L); runs that do not exist are left out."""
        runs: dict[str, Run] = {}
        for row in rows:
            runs[row[0]] = {"info": _run_info(row), "data": {}, "inputs": {}, "outputs": {}}
        with_info = ids is not None
        if ids is None:
            ids = list(runs)
        for chunk in _chunks(ids, IN_CHUNK // 8):
            marks = _placeholders(len(chunk))
            info_branches = (
                (
                    "SELECT 'r', run_uuid, name, user_id, NULL, start_time, end_time, NULL FROM runs "
                    f"WHERE run_uuid IN ({marks})",
                    "SELECT 'R', run_uuid, status, artifact_uri, NULL, experiment_id, NULL, NULL FROM runs "
                    f"WHERE run_uuid IN ({marks})",
                    "SELECT 'L', run_uuid, lifecycle_stage, NULL, NULL, NULL, NULL, NULL FROM runs "
                    f"WHERE run_uuid IN ({marks})",
                )
                if with_info
                else ()
            )
            # Data branches first: PostgreSQL types the UNION's columns from the first branches.
            sql = " UNION ALL ".join(
                (
                    "SELECT 'm', run_uuid, key, NULL, value, timestamp, step, is_nan FROM latest_metrics "
                    f"WHERE run_uuid IN ({marks})",
                    f"SELECT 'p', run_uuid, key, value, NULL, NULL, NULL, NULL FROM params WHERE run_uuid IN ({marks})",
                    f"SELECT 't', run_uuid, key, value, NULL, NULL, NULL, NULL FROM tags WHERE run_uuid IN ({marks})",
                    "SELECT 'o', run_uuid, model_id, NULL, NULL, NULL, step, NULL FROM run_outputs "
                    f"WHERE run_uuid IN ({marks})",
                    "SELECT CASE source_type WHEN 'DATASET' THEN 'd' ELSE 'i' END, destination_id, source_id, "
                    "NULL, NULL, NULL, NULL, NULL FROM inputs "
                    f"WHERE destination_type = 'RUN' AND destination_id IN ({marks}) "
                    "AND source_type IN ('DATASET', 'MODEL')",
                    *info_branches,
                )
            )
            # Per run: metrics, params, tags, model outputs, model inputs (filled, then attached if non-empty).
            acc: dict[str, tuple[list[Any], list[Any], list[Any], list[Any], list[Any]]] = {
                rid: ([], [], [], [], []) for rid in chunk
            }
            has_datasets = False
            info_parts: dict[str, list[Any]] = {}
            n_branches = 8 if with_info else 5
            for kind, run_uuid, key, text, value, ts, step, is_nan in await self.db.fetch(sql, chunk * n_branches):
                if kind == "t":
                    acc[run_uuid][2].append({"key": key, "value": text})
                elif kind == "p":
                    acc[run_uuid][1].append({"key": key, "value": text})
                elif kind == "m":
                    acc[run_uuid][0].append(
                        {"key": key, "value": "NaN" if is_nan else value, "timestamp": ts, "step": step}
                    )
                elif kind == "o":
                    acc[run_uuid][3].append({"model_id": key, "step": step})
                elif kind == "i":
                    acc[run_uuid][4].append({"model_id": key})
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
                runs[rid] = {"info": _run_info(parts), "data": {}, "inputs": {}, "outputs": {}}
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
                await self._hydrate_datasets(runs, chunk, marks)
        return list(runs.values())

    async def _hydrate_datasets(self, runs: dict[str, Run], chunk: list[Any], marks: str) -> None:
        rows = await self.db.fetch(
            "SELECT i.destination_id, i.input_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source, "
            "d.dataset_schema, d.dataset_profile "
            "FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id "
            f"WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' AND i.destination_id IN ({marks}) "
            "ORDER BY i.input_uuid",
            chunk,
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
        for sub in _chunks(uuids):
            for input_uuid, name, value in await self.db.fetch(
                f"SELECT input_uuid, name, value FROM input_tags WHERE input_uuid IN ({_placeholders(len(sub))})", sub
            ):
                by_input[input_uuid].setdefault("tags", []).append({"key": name, "value": value})

    async def update_run_info(
        self, run_id: str, status: str | None, end_time: int | None, run_name: str | None
    ) -> RunInfo:
        async with self.db.transaction() as tx:
            row = await self._run_row(run_id, tx)
            _require_active_run(row)
            sets: list[str] = []
            params: list[Any] = []
            if status is not None:
                sets.append("status = ?")
                params.append(status)
            if end_time is not None:
                sets.append("end_time = ?")
                params.append(end_time)
            if run_name:
                sets.append("name = ?")
                params.append(run_name)
                await tx.executemany(*_tag_upsert(run_id, [(RUN_NAME_TAG, run_name)]))
            if sets:
                await tx.write(f"UPDATE runs SET {', '.join(sets)} WHERE run_uuid = ?", (*params, run_id))
            row = await self._run_row(run_id, tx)
        return _run_info(row)

    async def delete_run(self, run_id: str) -> None:
        async with self.db.transaction() as tx:
            await self._run_row(run_id, tx)
            await tx.execute(
                "UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ? WHERE run_uuid = ?", (now_ms(), run_id)
            )

    async def restore_run(self, run_id: str) -> None:
        async with self.db.transaction() as tx:
            await self._run_row(run_id, tx)
            await tx.execute(
                "UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE run_uuid = ?", (run_id,)
            )

    async def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricPoint],
        params: Sequence[KeyValue],
        tags: Sequence[KeyValue],
    ) -> None:
        await self.db.run(_log_batch_body, run_id, metrics, params, tags)

    async def delete_tag(self, run_id: str, key: str) -> None:
        async with self.db.transaction() as tx:
            row = await self._run_row(run_id, tx)
            _require_active_run(row)
            changed = await tx.execute("DELETE FROM tags WHERE run_uuid = ? AND key = ?", (run_id, key))
            if not changed:
                raise not_found(f"No tag with name: {key} in run with id {run_id}")

    async def log_inputs(self, run_id: str, datasets: Sequence[DatasetIn], model_ids: Sequence[str]) -> None:
        async with self.db.transaction() as tx:
            row = await tx.fetchrow("SELECT lifecycle_stage, experiment_id FROM runs WHERE run_uuid = ?", (run_id,))
            if row is None:
                raise not_found(f"Run with id={run_id} not found")
            if row[0] != ACTIVE:
                raise invalid(f"The run {run_id} must be in the 'active' state. Current state is {row[0]}.")
            experiment_id = row[1]
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
            row = await tx.fetchrow("SELECT lifecycle_stage FROM runs WHERE run_uuid = ?", (run_id,))
            if row is None:
                raise not_found(f"Run with id={run_id} not found")
            if row[0] != ACTIVE:
                raise invalid(f"The run {run_id} must be in the 'active' state. Current state is {row[0]}.")
            await tx.executemany(
                "INSERT INTO run_outputs (run_uuid, model_id, step) VALUES (?, ?, ?) "
                "ON CONFLICT (run_uuid, model_id) DO UPDATE SET step = excluded.step",
                [(run_id, model_id, step) for model_id, step in models],
            )

    async def record_logged_model(self, run_id: str, model: dict[str, Any]) -> None:
        async with self.db.transaction() as tx:
            row = await self._run_row(run_id, tx)
            _require_active_run(row)
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
            await tx.executemany(*_tag_upsert(run_id, [(LOGGED_MODELS_TAG, value)]))

    async def search_datasets(self, experiment_ids: list[str], limit: int) -> list[dict[str, Any]]:
        ids = [_experiment_id(e) for e in experiment_ids]
        rows = await self.db.fetch(
            "SELECT DISTINCT d.experiment_id, d.name, d.digest, t.value FROM datasets d "
            "JOIN inputs i ON i.source_type = 'DATASET' AND i.source_id = d.dataset_uuid "
            "LEFT JOIN input_tags t ON t.input_uuid = i.input_uuid AND t.name = ? "
            f"WHERE d.experiment_id IN ({_placeholders(len(ids))}) ORDER BY d.experiment_id, d.name, d.digest LIMIT ?",
            (DATASET_CONTEXT_TAG, *ids, limit),
        )
        out = []
        for eid, name, digest, context in rows:
            summary = {"experiment_id": str(eid), "name": name, "digest": digest}
            if context is not None:
                summary["context"] = context
            out.append(summary)
        return out

    async def search_runs(
        self,
        experiment_ids: list[str],
        filter_string: str | None,
        run_view_type: str,
        max_results: int,
        order_by: list[str],
        offset: int,
    ) -> tuple[list[Run], bool]:
        ids = []
        for e in experiment_ids:
            try:
                ids.append(int(e))
            except (TypeError, ValueError):
                continue  # MLflow answers with no runs for an id that cannot exist
        if not ids:
            return [], False
        sql, params = search_sql.runs_query(
            self.db.dialect,
            columns=RUN_COLUMNS,
            experiment_ids=ids,
            filter_string=filter_string,
            order_by=order_by,
            run_view_type=run_view_type,
            limit=max_results + 1,
            offset=offset,
        )
        rows, more = _one_page(await self.db.fetch(sql, params), max_results)
        return await self._hydrate(rows), more

    # ------------------------------------------------------------------ metric history

    async def _require_run(self, run_id: str) -> None:
        if not await self.db.fetchrow("SELECT 1 FROM runs WHERE run_uuid = ?", (run_id,)):
            raise not_found(f"Run with id={run_id} not found")

    async def get_metric_history(
        self, run_id: str, key: str, max_results: int | None, offset: int
    ) -> tuple[list[Metric], bool]:
        await self._require_run(run_id)
        sql = (
            "SELECT step, timestamp, value, is_nan FROM metrics WHERE run_uuid = ? AND key = ? "
            "ORDER BY timestamp, step, value"
        )
        params: list[Any] = [run_id, key]
        if max_results is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [max_results + 1, offset]
        elif offset:
            sql += " LIMIT -1 OFFSET ?" if self.db.dialect.name == "sqlite" else " OFFSET ?"
            params.append(offset)
        rows = await self.db.fetch(sql, params)
        more = max_results is not None and len(rows) > max_results
        if more:
            rows = rows[:max_results]
        return [metric_json(key, v, ts, step, nan) for step, ts, v, nan in rows], more

    async def get_metric_history_bulk(self, run_ids: list[str], key: str, max_results: int) -> list[Metric]:
        out: list[Metric] = []
        for run_id in sorted(set(run_ids)):
            rows = await self.db.fetch(
                "SELECT step, timestamp, value, is_nan FROM metrics WHERE run_uuid = ? AND key = ? "
                "ORDER BY timestamp, step, value LIMIT ?",
                (run_id, key, max_results),
            )
            for step, ts, v, nan in rows:
                m = metric_json(key, v, ts, step, nan)
                m["run_id"] = run_id
                out.append(m)
        return out

    async def get_metric_history_bulk_interval(
        self, run_ids: list[str], key: str, max_results: int, start_step: int | None, end_step: int | None
    ) -> list[Metric]:
        for run_id in run_ids:
            await self._require_run(run_id)
        out: list[Metric] = []
        k = max(1, max_results)
        for run_id in run_ids:
            where = "run_uuid = ? AND key = ?"
            params: list[Any] = [run_id, key]
            if start_step is not None and end_step is not None:
                where += " AND step >= ? AND step <= ?"
                params += [start_step, end_step]
            # Row i (0-based) of n is kept when it starts one of k even buckets, which keeps the
            # first and the last rows; with k == 1 only the last row is kept, as MLflow does.
            if k == 1:
                pick = "rn = n"
                pick_params: list[Any] = []
            else:
                pick = "n <= ? OR rn = n OR ((rn - 1) * ?) % (n - 1) < ?"
                pick_params = [k, k - 1, k - 1]
            sql = (
                "SELECT step, timestamp, value, is_nan FROM ("
                "SELECT step, timestamp, value, is_nan, "
                "ROW_NUMBER() OVER (ORDER BY step, timestamp, value, is_nan) AS rn, COUNT(*) OVER () AS n "
                f"FROM metrics WHERE {where}) sampled WHERE {pick} ORDER BY rn"
            )
            for step, ts, v, nan in await self.db.fetch(sql, params + pick_params):
                m = metric_json(key, v, ts, step, nan)
                m["run_id"] = run_id
                out.append(m)
        return out


def _one_page(rows: list[Any], max_results: int) -> tuple[list[Any], bool]:
    """Searches fetch one row more than a page: its presence says whether another page follows."""
    return rows[:max_results], len(rows) > max_results


def _require_active_run(row: Row) -> None:
    if row[8] != ACTIVE:
        raise invalid(f"The run {row[0]} must be in the 'active' state. Current state is {row[8]}.")


def _join_uri(root: str, tail: str) -> str:
    if not root:
        return tail
    return root.rstrip("/") + "/" + tail if not root.endswith(":/") else root + tail


# Transaction bodies for Database.run: generators that yield statements and receive results.
# A body may catch IntegrityViolation only to raise another error (PostgreSQL has aborted the
# transaction by then).


def _create_run_body(
    eid: int,
    experiment_id: str,
    run_id: str,
    run_name: str,
    user_id: str,
    start_time: int,
    all_tags: dict[str, str],
) -> Generator[Fetch, Any, str]:
    row = yield FetchRow("SELECT lifecycle_stage, artifact_location FROM experiments WHERE experiment_id = ?", (eid,))
    if row is None:
        raise not_found(f"No Experiment with id={experiment_id} exists")
    if row[0] != ACTIVE:
        raise invalid(f"The experiment {experiment_id} must be in the 'active' state. Current state is {row[0]}.")
    artifact_uri = _join_uri(row[1] or "", f"{run_id}/artifacts")
    yield ExecMany(
        "INSERT INTO runs (run_uuid, experiment_id, name, source_type, source_name, entry_point_name, "
        "user_id, status, start_time, end_time, source_version, lifecycle_stage, artifact_uri) "
        "VALUES (?, ?, ?, 'UNKNOWN', '', '', ?, 'RUNNING', ?, NULL, '', 'active', ?)",
        [(run_id, eid, run_name, user_id, start_time, artifact_uri)],
    )
    yield ExecMany(
        "INSERT INTO tags (run_uuid, key, value) VALUES (?, ?, ?)", [(run_id, k, v) for k, v in all_tags.items()]
    )
    return artifact_uri


def _log_batch_body(
    run_id: str, metrics: Sequence[MetricPoint], params: Sequence[KeyValue], tags: Sequence[KeyValue]
) -> Generator[Fetch, Any, None]:
    row = yield FetchRow("SELECT lifecycle_stage FROM runs WHERE run_uuid = ?", (run_id,))
    if row is None:
        raise not_found(f"Run with id={run_id} not found")
    if row[0] != ACTIVE:
        raise invalid(f"The run {run_id} must be in the 'active' state. Current state is {row[0]}.")
    if params:
        yield from _log_params(run_id, params)
    if tags:
        pairs = [(t["key"], t["value"]) for t in tags]
        yield _tag_upsert(run_id, pairs)
        names = [v for k, v in pairs if k == RUN_NAME_TAG]
        if names:
            yield ExecMany("UPDATE runs SET name = ? WHERE run_uuid = ?", [(names[-1], run_id)])
    if metrics:
        yield from _log_metrics(run_id, metrics)
        if any(m.model_id for m in metrics):
            yield from _log_model_metrics(run_id, metrics)


def _tag_upsert(run_id: str, pairs: list[tuple[str, str]]) -> ExecMany:
    return ExecMany(
        "INSERT INTO tags (run_uuid, key, value) VALUES (?, ?, ?) "
        "ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value",
        [(run_id, k, v) for k, v in pairs],
    )


def _log_params(run_id: str, params: Sequence[KeyValue]) -> Generator[Fetch, Any, None]:
    wanted = {p["key"]: p["value"] for p in params}
    keys = list(wanted)
    rows = yield Fetch(
        f"SELECT key, value FROM params WHERE run_uuid = ? AND key IN ({_placeholders(len(keys))})",
        (run_id, *keys),
    )
    existing = {k: v for k, v in rows}
    changed = {k: (existing[k], wanted[k]) for k in existing if existing[k] != wanted[k]}
    if changed:
        k, (old, new) = next(iter(changed.items()))
        raise invalid(
            f"Changing param values is not allowed. Param with key='{k}' was already logged with "
            f"value='{old}' for run ID='{run_id}'. Attempted logging new value '{new}'."
        )
    fresh = [(run_id, k, v) for k, v in wanted.items() if k not in existing]
    if fresh:
        yield ExecMany("INSERT INTO params (run_uuid, key, value) VALUES (?, ?, ?)", fresh)


def _log_metrics(run_id: str, metrics: Sequence[MetricPoint]) -> Generator[Fetch, Any, None]:
    yield ExecMany(
        "INSERT INTO metrics (run_uuid, key, step, timestamp, value, is_nan) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        [(run_id, m.key, m.step, m.timestamp, m.value, 1 if m.is_nan else 0) for m in metrics],
    )
    # The latest value per key is the greatest (step, timestamp, value); reduce the batch first
    # so that each key costs one upsert.
    latest: dict[str, MetricPoint] = {}
    for m in metrics:
        cur = latest.get(m.key)
        if cur is None or (m.step, m.timestamp, m.value) >= (cur.step, cur.timestamp, cur.value):
            latest[m.key] = m
    yield ExecMany(
        "INSERT INTO latest_metrics (run_uuid, key, step, timestamp, value, is_nan) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (run_uuid, key) DO UPDATE SET step = excluded.step, timestamp = excluded.timestamp, "
        "value = excluded.value, is_nan = excluded.is_nan "
        "WHERE (excluded.step, excluded.timestamp, excluded.value) >= "
        "(latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)",
        [(run_id, m.key, m.step, m.timestamp, m.value, 1 if m.is_nan else 0) for m in latest.values()],
    )


def _log_model_metrics(run_id: str, metrics: Sequence[MetricPoint]) -> Generator[Fetch, Any, None]:
    """Metrics logged with a model id also go to that logged model (MLflow's logged_model_metrics);
    the first value for (model, key, timestamp, step, run) is kept, as MLflow keeps it."""
    with_model = [m for m in metrics if m.model_id]
    model_ids = sorted({m.model_id for m in metrics if m.model_id})
    rows = yield Fetch(
        f"SELECT model_id FROM logged_models WHERE model_id IN ({_placeholders(len(model_ids))})", model_ids
    )
    missing = set(model_ids) - {r[0] for r in rows}
    if missing:
        raise not_found(f"Logged model with ID '{sorted(missing)[0]}' not found.")
    run = yield FetchRow("SELECT experiment_id FROM runs WHERE run_uuid = ?", (run_id,))
    yield ExecMany(
        "INSERT INTO logged_model_metrics (model_id, metric_name, metric_timestamp_ms, metric_step, metric_value, "
        "is_nan, experiment_id, run_id, dataset_uuid, dataset_name, dataset_digest) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?) ON CONFLICT DO NOTHING",
        [
            (
                m.model_id,
                m.key,
                m.timestamp,
                m.step,
                m.value,
                1 if m.is_nan else 0,
                run[0],
                run_id,
                m.dataset_name,
                m.dataset_digest,
            )
            for m in with_model
        ],
    )
