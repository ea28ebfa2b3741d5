"""The shapes that cross the store boundary: MLflow's entities as plain dicts.

Stores build these straight from rows and the HTTP layer serializes them with orjson as they are,
so the hot paths do no object conversion. Each shape is the JSON of the MLflow protobuf message
of the same name, with MLflow's proto-JSON conventions: int64 as numbers, unset fields and empty
lists left out. The TypedDicts below document the keys; they cost nothing at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypedDict

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


# Where a page of a metric's history ended: the last point's (timestamp, step, value, is_nan), the
# history's order. The next page starts after it (keyset paging).
HistoryCursor = tuple[int, int, float, int]


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


# How a page of runs carries each run's params, metrics and tags as JSON texts: "entries" as
# MLflow's lists of {"key", "value"} (metrics with "timestamp" and "step"), "table" as one object
# per run (key -> value; a metric's latest value), for the web UI's runs table.
RunJsonShape = Literal["entries", "table"]


class RunJson(TypedDict, total=False):
    """A run whose params, latest metrics and tags are JSON texts in one :data:`RunJsonShape`,
    passed to the response unparsed; each left out when the run has none. Values as in MLflow's
    JSON (a NaN metric as "NaN"); info, inputs and outputs as in :class:`Run`."""

    info: RunInfo
    metrics: str
    params: str
    tags: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]


@dataclass(frozen=True)
class ReadScope:
    """The resources of one type a caller may read (``--app-name basic-auth``), in a form a search
    can filter by in SQL: everything but ``deny`` (``allow`` None), or only ``allow``. Ids are
    experiment ids or registered-model / prompt names."""

    allow: frozenset[str] | None = None
    deny: frozenset[str] = frozenset()

    @property
    def everything(self) -> bool:
        return self.allow is None and not self.deny

    def permits(self, resource_id: str) -> bool:
        if self.allow is not None:
            return resource_id in self.allow
        return resource_id not in self.deny
