"""The store contracts.

A store persists MLflow's entities and answers queries; it trusts its inputs (the services
validate them with MLflow's rules) and returns the plain-dict shapes of aiotrack.entities.
Every method is a coroutine; a method raises AiotrackError with MLflow's code for a missing
or conflicting entity (RESOURCE_DOES_NOT_EXIST, RESOURCE_ALREADY_EXISTS, INVALID_STATE) and
never lets driver or SQL text reach the caller.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiotrack.entities import (
    Experiment,
    HistoryCursor,
    KeyValue,
    Metric,
    ReadScope,
    Run,
    RunInfo,
    RunJson,
    RunJsonShape,
)


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
class Page:
    """One page of a search as a store is asked for it: MLflow's filter and order_by strings
    (the store compiles them and raises INVALID_PARAMETER_VALUE for bad ones), then up to
    ``max_results`` rows from ``offset``."""

    filter_string: str | None
    order_by: list[str]
    max_results: int
    offset: int


@dataclass(frozen=True, slots=True)
class Batch:
    """What one ``log_batch`` writes to a run."""

    metrics: Sequence[MetricPoint] = ()
    params: Sequence[KeyValue] = ()
    tags: Sequence[KeyValue] = ()


@dataclass(frozen=True, slots=True)
class ModelVersionIn:
    """A new model version as the registry store writes it (the service has checked its source;
    ``storage_location`` is where its files are, which the source may only point at)."""

    source: str
    storage_location: str
    run_id: str | None = None
    tags: Sequence[KeyValue] = ()
    run_link: str | None = None
    description: str | None = None
    model_id: str | None = None


@dataclass(frozen=True, slots=True)
class LoggedModelIn:
    """A new logged model as the store writes it."""

    name: str
    model_type: str | None = None
    source_run_id: str | None = None
    params: Sequence[KeyValue] = ()
    tags: Sequence[KeyValue] = ()


@dataclass(frozen=True, slots=True)
class TraceUpdate:
    """The fields a v2 ``end trace`` sets (None: left as they are); tags and metadata are merged."""

    timestamp_ms: int | None = None
    execution_time_ms: int | None = None
    state: str | None = None
    tags: dict[str, str] | None = None
    metadata: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class LoggedModelSearch:
    """A page of logged models: MLflow's filter over attributes, ``metrics.``, ``params.`` and
    ``tags.``; ``datasets`` restricts metric matches (and, without metric filters, requires a
    metric on one of them); ``order_by`` entries are ``{field_name, ascending, dataset_name?,
    dataset_digest?}``; then up to ``max_results`` models from ``offset``."""

    filter_string: str | None
    datasets: list[dict[str, Any]] | None
    order_by: list[dict[str, Any]] | None
    max_results: int
    offset: int


@dataclass(frozen=True, slots=True)
class TracesToDelete:
    """Which traces of an experiment a delete removes: the ones named in ``trace_ids``, else
    those at or before ``max_timestamp_millis``, oldest first, at most ``max_traces``."""

    trace_ids: Sequence[str] = ()
    max_timestamp_millis: int | None = None
    max_traces: int | None = None


# (timestamp_ms, execution_time_ms, state, trace name): what trace metrics are computed from.
TraceMetricRow = tuple[int, int | None, str, str | None]


@dataclass(frozen=True, slots=True)
class DatasetIn:
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None
    profile: str | None
    tags: tuple[tuple[str, str], ...] = ()


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
    async def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        """INVALID_STATE for a deleted experiment."""

    @abstractmethod
    async def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """INVALID_STATE for a deleted experiment; RESOURCE_DOES_NOT_EXIST for a missing tag."""

    @abstractmethod
    async def search_experiments(
        self, view_type: str, page: Page, scope: ReadScope | None = None
    ) -> tuple[list[Experiment], bool]:
        """One page of experiments; the flag says whether more follow. ``scope`` (basic-auth)
        keeps only the experiments the caller may read, before the page is cut."""

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
    async def log_batch(self, run_id: str, batch: Batch) -> None:
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
    async def record_logged_model(self, run_id: str, model: dict[str, Any]) -> None:
        """Append a model's summary to the run's ``mlflow.log-model.history`` tag (MLflow 2.x clients)."""

    @abstractmethod
    async def search_datasets(self, experiment_ids: list[str], limit: int) -> list[dict[str, Any]]:
        """Distinct (experiment_id, name, digest, context) of the datasets logged to the experiments."""

    @abstractmethod
    async def search_runs(self, experiment_ids: list[str], run_view_type: str, page: Page) -> tuple[list[Run], bool]:
        """One page of the experiments' runs; the flag says whether more follow. An experiment
        id that is not an integer names no runs."""

    @abstractmethod
    async def search_runs_json(
        self, experiment_ids: list[str], run_view_type: str, page: Page, shape: RunJsonShape
    ) -> tuple[list[RunJson], bool]:
        """search_runs' page (the same runs, order and flag) with each run's params, latest
        metrics and tags as JSON texts in ``shape``."""

    # ---- metric history
    @abstractmethod
    async def get_metric_history(
        self, run_id: str, key: str, max_results: int | None, offset: int, after: HistoryCursor | None = None
    ) -> tuple[list[Metric], HistoryCursor | None]:
        """Points ordered by (timestamp, step, value, is_nan): up to ``max_results`` (all when None)
        after ``after`` when given (then ``offset`` is not used), else from ``offset``; and the last
        point's cursor when more follow, else None."""

    @abstractmethod
    async def get_metric_history_bulk(self, run_ids: list[str], key: str, max_results: int) -> list[Metric]:
        """Points of several runs (each with ``run_id``), by run id then (timestamp, step, value)."""

    @abstractmethod
    async def get_metric_history_bulk_interval(
        self, run_ids: list[str], key: str, max_results: int, start_step: int | None, end_step: int | None
    ) -> list[Metric]:
        """Up to ``max_results`` points per run, evenly sampled by row, first and last kept."""

    # ---- the web UI's charts (not in MLflow's API)
    @abstractmethod
    async def existing_run_ids(self, run_ids: list[str]) -> set[str]:
        """Which of ``run_ids`` exist (in any lifecycle stage)."""

    @abstractmethod
    async def downsample_metric(
        self, run_id: str, key: str, *, buckets: int, x_axis: str, min_x: int | None, max_x: int | None
    ) -> dict[str, Any]:
        """One run's series for ``key`` reduced to each x bucket's first, min, max and last point
        (the shape documented in ``stores/sql/ui_queries.py``)."""

    @abstractmethod
    async def aggregate_metric(
        self, groups: dict[str, list[str]], key: str, *, buckets: int
    ) -> dict[str, list[tuple[int, int, float, float, float, float]]]:
        """Per group of runs, ``key``'s points bucketed by step over one common range: (first step,
        count, sum, sum of squares, min, max) per non-empty bucket, NaN and infinities left out."""

    @abstractmethod
    async def close(self) -> None: ...


class RegistryStore(ABC):
    """The model registry (MLflow's prompts are registered models with ``mlflow.prompt.*`` tags).

    Shapes are the JSON of MLflow's ``RegisteredModel`` and ``ModelVersion`` messages: version
    numbers are strings (``"version": "2"``), alias versions too. Inputs are validated by the
    service (names, tags, stages in canonical spelling, versions as ints). Missing models and
    versions are RESOURCE_DOES_NOT_EXIST with MLflow's messages; a taken name is
    RESOURCE_ALREADY_EXISTS. Deleted versions (stage ``Deleted_Internal``) are invisible.
    """

    # ---- registered models
    @abstractmethod
    async def create_registered_model(
        self, name: str, tags: Sequence[KeyValue], description: str | None
    ) -> dict[str, Any]:
        """RESOURCE_ALREADY_EXISTS when the name is taken, worded for models vs prompts as MLflow does."""

    @abstractmethod
    async def get_registered_model(self, name: str) -> dict[str, Any]:
        """With ``latest_versions`` (the newest version per stage), ``tags`` and ``aliases``."""

    @abstractmethod
    async def is_prompt(self, name: str) -> bool:
        """Whether the registry entry ``name`` is a prompt (RESOURCE_DOES_NOT_EXIST if there is none)."""

    @abstractmethod
    async def update_registered_model(self, name: str, description: str | None) -> dict[str, Any]: ...

    @abstractmethod
    async def rename_registered_model(self, name: str, new_name: str) -> dict[str, Any]:
        """Renames the model and all its versions, tags and aliases."""

    @abstractmethod
    async def delete_registered_model(self, name: str) -> None:
        """Deletes the model with its versions, tags and aliases."""

    @abstractmethod
    async def search_registered_models(
        self, page: Page, scopes: Mapping[str, ReadScope | None] | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page and whether more follow. Prompts are left out unless the filter
        asks for ``tags.`mlflow.prompt.is_prompt` = 'true'``. ``scopes`` (basic-auth, by resource
        type ``registered_model`` / ``prompt``) keeps only what the caller may read, in SQL."""

    @abstractmethod
    async def get_latest_versions(self, name: str, stages: list[str] | None) -> list[dict[str, Any]]:
        """The newest version in each of ``stages`` (canonical names; None or empty: every stage)."""

    @abstractmethod
    async def set_registered_model_tag(self, name: str, key: str, value: str | None) -> None: ...

    @abstractmethod
    async def delete_registered_model_tag(self, name: str, key: str) -> None:
        """A missing tag is not an error (MLflow); a missing model is."""

    # ---- model versions
    @abstractmethod
    async def create_model_version(self, name: str, version: ModelVersionIn) -> dict[str, Any]:
        """The next version number (one more than any version ever created, deleted ones included)."""

    @abstractmethod
    async def get_model_version(self, name: str, version: int) -> dict[str, Any]: ...

    @abstractmethod
    async def get_model_version_internal(self, name: str, version: int) -> dict[str, Any]:
        """The stored row as a dict with ``storage_location`` and ``model_id`` (not sent on the wire)."""

    @abstractmethod
    async def update_model_version(self, name: str, version: int, description: str | None) -> dict[str, Any]: ...

    @abstractmethod
    async def transition_model_version_stage(
        self, name: str, version: int, stage: str, archive_existing_versions: bool
    ) -> dict[str, Any]:
        """``stage`` is canonical; with ``archive_existing_versions`` the other versions in that stage
        move to Archived in the same transaction."""

    @abstractmethod
    async def delete_model_version(self, name: str, version: int) -> None:
        """Redacts the version (its number is never reused) and drops aliases pointing at it."""

    @abstractmethod
    async def get_model_version_download_uri(self, name: str, version: int) -> str: ...

    @abstractmethod
    async def search_model_versions(
        self, page: Page, scopes: Mapping[str, ReadScope | None] | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        """Like :meth:`search_registered_models`, for the versions (deleted ones never listed)."""

    @abstractmethod
    async def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None: ...

    @abstractmethod
    async def delete_model_version_tag(self, name: str, version: int, key: str) -> None: ...

    # ---- aliases
    @abstractmethod
    async def set_registered_model_alias(self, name: str, alias: str, version: int) -> None: ...

    @abstractmethod
    async def delete_registered_model_alias(self, name: str, alias: str) -> None: ...

    @abstractmethod
    async def get_model_version_by_alias(self, name: str, alias: str) -> dict[str, Any]:
        """``latest`` (any case) is the highest live version."""

    @abstractmethod
    async def close(self) -> None: ...


class LoggedModelStore(ABC):
    """MLflow 3 logged models, in the tracking database.

    Shapes are the JSON of MLflow's ``LoggedModel`` message (``info`` and ``data``), status as the
    enum name (``LOGGED_MODEL_READY``). Artifact locations are
    ``<experiment artifact_location>/models/<model_id>/artifacts``; ids are ``m-<32 hex>``.
    Deleted models are invisible unless asked for.
    """

    @abstractmethod
    async def create_logged_model(self, experiment_id: str, model: LoggedModelIn) -> dict[str, Any]:
        """A PENDING model in an active experiment."""

    @abstractmethod
    async def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> dict[str, Any]: ...

    @abstractmethod
    async def delete_logged_model(self, model_id: str) -> None: ...

    @abstractmethod
    async def finalize_logged_model(self, model_id: str, status: int) -> dict[str, Any]: ...

    @abstractmethod
    async def set_logged_model_tags(self, model_id: str, tags: Sequence[KeyValue]) -> None: ...

    @abstractmethod
    async def delete_logged_model_tag(self, model_id: str, key: str) -> None: ...

    @abstractmethod
    async def log_logged_model_params(self, model_id: str, params: Sequence[KeyValue]) -> None: ...

    @abstractmethod
    async def search_logged_models(
        self, experiment_ids: list[str], search: LoggedModelSearch
    ) -> tuple[list[dict[str, Any]], bool]:
        """The page and whether more follow; an experiment id outside BIGINT finds nothing."""


@dataclass(frozen=True, slots=True)
class SpanRow:
    """One span as the trace store writes it (built by aiotrack.services.trace_spans)."""

    trace_id: str  # MLflow's "tr-<32 hex>"
    span_id: str  # 16 hex
    parent_span_id: str | None
    name: str
    type: str | None
    status: str  # OK | ERROR | UNSET
    start_time_unix_nano: int
    end_time_unix_nano: int | None
    content: str  # MLflow's span dict as JSON (an element of traces.json)
    # Root-span facts a trace info is derived from (None/empty for child spans).
    request_preview: str | None = None
    response_preview: str | None = None
    trace_tags: tuple[tuple[str, str], ...] = ()


class TraceStore(ABC):
    """MLflow 3 traces, in the tracking database.

    A trace info is a plain dict: ``trace_id``, ``experiment_id`` (str), ``timestamp_ms``,
    ``execution_time_ms`` (or None), ``state`` (OK, ERROR, IN_PROGRESS, STATE_UNSPECIFIED),
    ``client_request_id``, ``request_preview``, ``response_preview``, ``tags`` and ``metadata``
    (dicts of str) and ``assessments`` (MLflow's Assessment JSON, oldest first). The services
    render it as v3 or v2 JSON. Spans are stored as MLflow span dicts (JSON text).
    """

    @abstractmethod
    async def start_trace(self, info: dict[str, Any], artifact_subpath: tuple[str, ...]) -> dict[str, Any]:
        """Create or complete a trace (spans may have arrived first): the caller's values win,
        tags and metadata are merged, ``mlflow.artifactLocation`` is set under the experiment's
        artifact location joined with ``artifact_subpath``. The experiment must be active."""

    @abstractmethod
    async def log_spans(
        self, experiment_id: str, spans: Sequence[SpanRow], resource_tags: Sequence[tuple[str, str]]
    ) -> None:
        """Upsert spans; create the traces they belong to when missing (in ``experiment_id``),
        widen a non-finalized trace's time range, take the root span's status and previews, tag
        the traces ``mlflow.trace.spansLocation = TRACKING_STORE``. All or nothing."""

    @abstractmethod
    async def get_trace_infos(
        self, trace_ids: Sequence[str], experiment_ids: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """The infos of the traces that exist, in the order asked."""

    @abstractmethod
    async def get_span_contents(self, trace_ids: Sequence[str]) -> dict[str, list[str]]:
        """Each trace's stored span dicts (JSON text), by start time."""

    @abstractmethod
    async def search_traces(
        self, experiment_ids: Sequence[str], filter_string: str | None, order_by: Sequence[str], limit: int, offset: int
    ) -> list[dict[str, Any]]: ...

    @abstractmethod
    async def count_matching(self, experiment_ids: Sequence[str], filters: Sequence[str | None]) -> list[int]:
        """For each filter (None: all traces), how many traces of the experiments match it."""

    @abstractmethod
    async def metric_rows(
        self, experiment_ids: Sequence[str], filters: Sequence[str], time_range: tuple[int | None, int | None]
    ) -> list[TraceMetricRow]:
        """The rows of the traces matching every filter with a timestamp in ``[start, end)`` of
        ``time_range`` (None: unbounded)."""

    @abstractmethod
    async def set_trace_tag(self, trace_id: str, key: str, value: str) -> None: ...

    @abstractmethod
    async def delete_trace_tag(self, trace_id: str, key: str) -> None: ...

    @abstractmethod
    async def delete_traces(self, experiment_id: str, which: TracesToDelete) -> tuple[int, list[str]]:
        """Delete traces with their spans, tags, metadata, assessments and links. Return how
        many, and the deleted traces' artifact locations (the caller removes those artifacts)."""

    @abstractmethod
    async def link_traces(
        self, trace_ids: Sequence[str], destination_type: str, destination_ids: Sequence[str]
    ) -> None:
        """Entity associations (``RUN`` or ``PROMPT_VERSION``), idempotent; unknown traces skipped."""

    @abstractmethod
    async def update_trace(self, trace_id: str, update: TraceUpdate) -> dict[str, Any]:
        """The v2 ``end trace``: set the given fields, merge tags and metadata."""

    @abstractmethod
    async def create_assessment(self, trace_id: str, assessment: dict[str, Any]) -> dict[str, Any]:
        """Store MLflow's Assessment JSON (id and times assigned); with ``overrides`` the
        overridden assessment becomes ``valid: false``."""

    @abstractmethod
    async def get_assessment(self, trace_id: str, assessment_id: str) -> dict[str, Any]: ...

    @abstractmethod
    async def replace_assessment(self, trace_id: str, assessment: dict[str, Any]) -> dict[str, Any]:
        """Write back an updated assessment (same id)."""

    @abstractmethod
    async def delete_assessment(self, trace_id: str, assessment_id: str) -> None:
        """Delete; an assessment it overrode becomes valid again. Unknown ids are ignored."""
