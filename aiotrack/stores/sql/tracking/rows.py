"""Rows of the tracking tables as MLflow's JSON entities, and the checks every resource shares.

A row is read by unpacking it into named columns in the order of its column list
(:data:`RUN_COLUMNS`, :data:`EXPERIMENT_COLUMNS`), never by position elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiotrack.entities import ACTIVE, Experiment, KeyValue, Metric, RunInfo
from aiotrack.names import experiment_not_active, experiment_not_found, run_not_active, run_not_found

# The column lists are the unpacking order of run_info() and experiment_entity() below.
RUN_COLUMNS = ", ".join(
    f"runs.{c}"
    for c in (
        "run_uuid",
        "name",
        "experiment_id",
        "user_id",
        "status",
        "start_time",
        "end_time",
        "artifact_uri",
        "lifecycle_stage",
    )
)
EXPERIMENT_COLUMNS = ", ".join(
    f"experiments.{c}"
    for c in ("experiment_id", "name", "artifact_location", "lifecycle_stage", "creation_time", "last_update_time")
)


def run_info(row: Sequence[Any]) -> RunInfo:
    """A row of :data:`RUN_COLUMNS` as MLflow's RunInfo (unset times left out)."""
    run_uuid, name, experiment_id, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage = row
    info: RunInfo = {
        "run_uuid": run_uuid,
        "run_id": run_uuid,
        "run_name": name or "",
        "experiment_id": str(experiment_id),
        "user_id": user_id or "",
        "status": status,
        "start_time": start_time,
        "artifact_uri": artifact_uri or "",
        "lifecycle_stage": lifecycle_stage,
    }
    if end_time is not None:
        info["end_time"] = end_time
    if start_time is None:
        del info["start_time"]
    return info


def experiment_entity(row: Sequence[Any], tags: list[KeyValue] | None) -> Experiment:
    """A row of :data:`EXPERIMENT_COLUMNS` (and its tags) as MLflow's Experiment."""
    experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time = row
    exp: Experiment = {
        "experiment_id": str(experiment_id),
        "name": name,
        "artifact_location": artifact_location or "",
        "lifecycle_stage": lifecycle_stage,
    }
    if last_update_time is not None:
        exp["last_update_time"] = last_update_time
    if creation_time is not None:
        exp["creation_time"] = creation_time
    if tags:
        exp["tags"] = tags
    return exp


def metric_json(key: str, value: float, timestamp: int, step: int, is_nan: object) -> Metric:
    return {"key": key, "value": "NaN" if is_nan else value, "timestamp": timestamp, "step": step}


def require_active(row: Sequence[Any] | None, kind: str, ident: str) -> Sequence[Any]:
    """``row`` (``lifecycle_stage`` first) of the ``kind`` ("run" or "experiment") ``ident``, which
    must exist and be active; MLflow's not-found or not-active error otherwise."""
    if row is None:
        raise run_not_found(ident) if kind == "run" else experiment_not_found(ident)
    if row[0] != ACTIVE:
        raise run_not_active(ident, row[0]) if kind == "run" else experiment_not_active(ident, row[0])
    return row


def require_active_run(info: RunInfo) -> None:
    if info["lifecycle_stage"] != ACTIVE:
        raise run_not_active(info["run_id"], info["lifecycle_stage"])
