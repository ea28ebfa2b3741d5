"""The shapes that cross the store boundary: MLflow's entities as plain dicts.

Stores build these straight from rows and the HTTP layer serializes them with orjson as they are,
so the hot paths do no object conversion. Each shape is the JSON of the MLflow protobuf message
of the same name, with MLflow's proto-JSON conventions: int64 as numbers, unset fields and empty
lists left out. The TypedDicts below document the keys; they cost nothing at run time.
"""

from __future__ import annotations

from typing import Any, TypedDict

ACTIVE = "active"
DELETED = "deleted"

RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
VIEW_TYPES = ("ACTIVE_ONLY", "DELETED_ONLY", "ALL")


class KeyValue(TypedDict):
    key: str
    value: str


class Experiment(TypedDict, total=False):
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    last_update_time: int
    creation_time: int
    tags: list[KeyValue]


class Metric(TypedDict, total=False):
    key: str
    value: float | str  # "NaN" for NaN
    timestamp: int
    step: int
    run_id: str  # only in bulk history answers


class RunInfo(TypedDict, total=False):
    run_uuid: str
    run_id: str
    run_name: str
    experiment_id: str
    user_id: str
    status: str
    start_time: int
    end_time: int
    artifact_uri: str
    lifecycle_stage: str


class RunData(TypedDict, total=False):
    metrics: list[Metric]
    params: list[KeyValue]
    tags: list[KeyValue]


class Run(TypedDict, total=False):
    info: RunInfo
    data: RunData
    inputs: dict[str, Any]
    outputs: dict[str, Any]
