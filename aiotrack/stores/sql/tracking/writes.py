"""Transaction bodies for ``Database.run``: generators that yield statements and receive results.

On SQLite a whole body runs on the writer's thread in one round trip; on PostgreSQL it is driven
statement by statement. A body may catch IntegrityViolation only to raise another error
(PostgreSQL has aborted the transaction by then).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from aiotrack.artifacts.locations import join_uri
from aiotrack.entities import KeyValue
from aiotrack.errors import invalid
from aiotrack.names import (
    RUN_NAME_TAG,
    logged_model_not_found,
)
from aiotrack.stores.base import MetricPoint
from aiotrack.stores.sql.common import marks
from aiotrack.stores.sql.database import ExecMany, Fetch, FetchRow
from aiotrack.stores.sql.tracking.rows import require_active


def create_run_body(
    eid: int,
    experiment_id: str,
    run_id: str,
    run_name: str,
    user_id: str,
    start_time: int,
    all_tags: dict[str, str],
) -> Generator[Fetch, Any, str]:
    row = yield FetchRow("SELECT lifecycle_stage, artifact_location FROM experiments WHERE experiment_id = ?", (eid,))
    row = require_active(row, "experiment", experiment_id)
    artifact_uri = join_uri(row[1] or "", f"{run_id}/artifacts")
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


def log_batch_body(
    run_id: str, metrics: Sequence[MetricPoint], params: Sequence[KeyValue], tags: Sequence[KeyValue]
) -> Generator[Fetch, Any, None]:
    require_active((yield FetchRow("SELECT lifecycle_stage FROM runs WHERE run_uuid = ?", (run_id,))), "run", run_id)
    if params:
        yield from _log_params(run_id, params)
    if tags:
        pairs = [(t["key"], t["value"]) for t in tags]
        yield tag_upsert(run_id, pairs)
        names = [v for k, v in pairs if k == RUN_NAME_TAG]
        if names:
            yield ExecMany("UPDATE runs SET name = ? WHERE run_uuid = ?", [(names[-1], run_id)])
    if metrics:
        yield from _log_metrics(run_id, metrics)
        if any(m.model_id for m in metrics):
            yield from _log_model_metrics(run_id, metrics)


def tag_upsert(run_id: str, pairs: list[tuple[str, str]]) -> ExecMany:
    return ExecMany(
        "INSERT INTO tags (run_uuid, key, value) VALUES (?, ?, ?) "
        "ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value",
        [(run_id, k, v) for k, v in pairs],
    )


def _log_params(run_id: str, params: Sequence[KeyValue]) -> Generator[Fetch, Any, None]:
    wanted = {p["key"]: p["value"] for p in params}
    keys = list(wanted)
    rows = yield Fetch(
        f"SELECT key, value FROM params WHERE run_uuid = ? AND key IN ({marks(len(keys))})",
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
    rows = yield Fetch(f"SELECT model_id FROM logged_models WHERE model_id IN ({marks(len(model_ids))})", model_ids)
    missing = set(model_ids) - {r[0] for r in rows}
    if missing:
        raise logged_model_not_found(sorted(missing)[0])
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
