"""The store contracts.

A store persists MLflow's entities and answers queries; it trusts its inputs (the services
validate them with MLflow's rules) and returns the plain-dict shapes of aiotrack.entities.
Every method is a coroutine; a method raises AiotrackError with MLflow's code for a missing
or conflicting entity (RESOURCE_DOES_NOT_EXIST, RESOURCE_ALREADY_EXISTS, INVALID_STATE) and
never lets driver or SQL text reach the caller.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from aiotrack.entities import Experiment, KeyValue, Metric, Run, RunInfo


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One metric value as the store writes it: NaN and infinities already encoded."""

    key: str
    value: float
    timestamp: int
    step: int
    is_nan: bool = False
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass(frozen=True, slots=True)
class DatasetIn:
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None
    profile: str | None
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Page:
    items: list
    next_page_token: str | None


class TrackingStore(ABC):
    """Experiments, runs and everything logged to them."""

    # ---- lifecycle
    @abstractmethod
    async def initialize(self, default_artifact_root: str) -> None:
        """Make sure the Default experiment (id 0) exists, with its artifact location under the root."""

    # ---- experiments
    @abstractmethod
    async def create_experiment(
        self, name: str, artifact_location: str | None, tags: Sequence[KeyValue], default_artifact_root: str
    ) -> str:
        """Create an experiment; its artifact location defaults to ``<root>/<id>``. Returns the id.
        RESOURCE_ALREADY_EXISTS when the name is taken (by an active or a deleted experiment)."""

    @abstractmethod
    async def get_experiment(self, experiment_id: str) -> Experiment: ...

    @abstractmethod
    async def get_experiment_by_name(self, name: str) -> Experiment: ...

    @abstractmethod
    async def delete_experiment(self, experiment_id: str) -> None:
        """Mark the experiment and all its runs deleted."""

    @abstractmethod
    async def restore_experiment(self, experiment_id: str) -> None:
        """Mark the experiment and the runs deleted with it active again."""

    @abstractmethod
    async def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """INVALID_STATE for a deleted experiment; RESOURCE_ALREADY_EXISTS for a taken name."""

    @abstractmethod
    async def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None: ...

    @abstractmethod
    async def delete_experiment_tag(self, experiment_id: str, key: str) -> None: ...

    @abstractmethod
    async def search_experiments(
        self, view_type: str, max_results: int, filter_string: str | None, order_by: list[str], offset: int
    ) -> tuple[list[Experiment], bool]:
        """One page of experiments from ``offset``; the flag says whether more follow."""

    # ---- runs
    @abstractmethod
    async def create_run(
        self, experiment_id: str, user_id: str, start_time: int, tags: Sequence[KeyValue], run_name: str
    ) -> Run:
        """A new RUNNING run, artifact_uri ``<experiment location>/<run_id>/artifacts``; the run name is
        also kept as the ``mlflow.runName`` tag. The experiment must be active."""

    @abstractmethod
    async def get_run(self, run_id: str) -> Run: ...

    @abstractmethod
    async def get_run_info(self, run_id: str) -> RunInfo: ...

    @abstractmethod
    async def update_run_info(
        self, run_id: str, status: str | None, end_time: int | None, run_name: str | None
    ) -> RunInfo: ...

    @abstractmethod
    async def delete_run(self, run_id: str) -> None: ...

    @abstractmethod
    async def restore_run(self, run_id: str) -> None: ...

    @abstractmethod
    async def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricPoint],
        params: Sequence[KeyValue],
        tags: Sequence[KeyValue],
    ) -> None:
        """Write everything in one transaction, or nothing. The run must be active. A param already
        logged with another value is INVALID_PARAMETER_VALUE. Identical metric points are stored
        once (a retried request is harmless); latest metric values are kept up to date."""

    @abstractmethod
    async def delete_tag(self, run_id: str, key: str) -> None: ...

    @abstractmethod
    async def log_inputs(self, run_id: str, datasets: Sequence[DatasetIn], model_ids: Sequence[str]) -> None: ...

    @abstractmethod
    async def log_outputs(self, run_id: str, models: Sequence[tuple[str, int]]) -> None: ...

    @abstractmethod
    async def search_runs(
        self,
        experiment_ids: list[str],
        filter_string: str | None,
        run_view_type: str,
        max_results: int,
        order_by: list[str],
        offset: int,
    ) -> tuple[list[Run], bool]: ...

    # ---- metric history
    @abstractmethod
    async def get_metric_history(
        self, run_id: str, key: str, max_results: int | None, offset: int
    ) -> tuple[list[Metric], bool]:
        """Points ordered by (timestamp, step, value)."""

    @abstractmethod
    async def get_metric_history_bulk(self, run_ids: list[str], key: str, max_results: int) -> list[Metric]:
        """Points of several runs (each with ``run_id``), by run id then (timestamp, step, value)."""

    @abstractmethod
    async def get_metric_history_bulk_interval(
        self, run_ids: list[str], key: str, max_results: int, start_step: int | None, end_step: int | None
    ) -> list[Metric]:
        """Up to ``max_results`` points per run, evenly sampled by row, first and last kept."""

    @abstractmethod
    async def close(self) -> None: ...
