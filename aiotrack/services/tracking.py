"""MLflow's tracking semantics on top of a TrackingStore: validation, limits, run names, paging.

Never imports aiohttp or a concrete store: the HTTP layer hands in typed values and gets
entities (plain dicts) back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import orjson

from aiotrack import names
from aiotrack.entities import (
    RUN_STATUSES,
    VIEW_TYPES,
    Experiment,
    KeyValue,
    Metric,
    ReadScope,
    Run,
    RunInfo,
    RunJson,
    RunJsonShape,
)
from aiotrack.errors import invalid
from aiotrack.services import paging
from aiotrack.services import validation as v
from aiotrack.services.run_names import random_run_name
from aiotrack.stores.base import Batch, DatasetIn, MetricPoint, Page, TrackingStore


def _now_ms() -> int:
    return int(time.time() * 1000)


class TrackingService:
    def __init__(
        self,
        store: TrackingStore,
        default_artifact_root: str,
        check_artifact_location: Callable[[str], str] | None = None,
    ) -> None:
        self.store = store
        self.default_artifact_root = default_artifact_root
        # A callable that refuses artifact locations outside the configured roots (artifacts layer).
        self._check_artifact_location = check_artifact_location

    # ------------------------------------------------------------------ experiments

    async def create_experiment(self, name: str, artifact_location: str | None, tags: list[KeyValue]) -> str:
        v.validate_experiment_name(name)
        if artifact_location:
            if len(artifact_location) > names.MAX_ARTIFACT_LOCATION_LENGTH:
                raise invalid(
                    f"Invalid artifact path length. The length of the artifact path cannot be greater than "
                    f"{names.MAX_ARTIFACT_LOCATION_LENGTH} characters."
                )
            if self._check_artifact_location is not None:
                artifact_location = self._check_artifact_location(artifact_location)
        tags = [self._experiment_tag(t["key"], t["value"]) for t in tags]
        return await self.store.create_experiment(name, artifact_location or None, tags, self.default_artifact_root)

    @staticmethod
    def _experiment_tag(key: str | None, value: str | None) -> KeyValue:
        key = v.validate_key(key, "key")
        if len(key) > names.MAX_EXPERIMENT_TAG_KEY_LENGTH:
            raise invalid(v.exceeds_maximum_length("key", names.MAX_EXPERIMENT_TAG_KEY_LENGTH))
        if value is not None and len(value) > names.MAX_EXPERIMENT_TAG_VAL_LENGTH:
            raise invalid(v.exceeds_maximum_length("value", names.MAX_EXPERIMENT_TAG_VAL_LENGTH))
        # An experiment tag's value may be absent (None); the store keeps it as NULL, as MLflow does.
        return cast(KeyValue, {"key": key, "value": value})

    async def get_experiment(self, experiment_id: str) -> Experiment:
        return await self.store.get_experiment(experiment_id)

    async def get_experiment_by_name(self, name: str) -> Experiment:
        return await self.store.get_experiment_by_name(name)

    async def delete_experiment(self, experiment_id: str) -> None:
        await self.store.delete_experiment(experiment_id)

    async def restore_experiment(self, experiment_id: str) -> None:
        await self.store.restore_experiment(experiment_id)

    async def update_experiment(self, experiment_id: str, new_name: str | None) -> None:
        if new_name is None:
            return
        v.validate_experiment_name(new_name)
        await self.store.rename_experiment(experiment_id, new_name)

    async def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        tag = self._experiment_tag(key, value)
        await self.store.set_experiment_tag(experiment_id, tag["key"], tag["value"])

    async def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        await self.store.delete_experiment_tag(experiment_id, key)

    async def search_experiments(
        self,
        view_type: str | None,
        max_results: int | None,
        filter_string: str | None,
        order_by: list[str],
        page_token: str | None,
        scope: ReadScope | None = None,
    ) -> tuple[list[Experiment], str | None]:
        view_type = _view_type(view_type)
        max_results = _page_size(max_results, names.MAX_EXPERIMENTS_LISTED_PER_PAGE, f", but got value {max_results}")
        offset = paging.parse_token(page_token)
        experiments, more = await self.store.search_experiments(
            view_type, Page(filter_string, order_by, max_results, offset), scope
        )
        return experiments, (paging.make_token(offset + max_results) if more else None)

    # ------------------------------------------------------------------ runs

    async def create_run(
        self,
        experiment_id: str | None,
        user_id: str | None,
        start_time: int | None,
        tags: list[KeyValue],
        run_name: str | None,
    ) -> Run:
        experiment_id = experiment_id or "0"
        clean_tags = [self._run_tag(t["key"], t["value"], f"tags[{i}]") for i, t in enumerate(tags)]
        name_tag = next((t["value"] for t in clean_tags if t["key"] == names.RUN_NAME_TAG), None)
        if run_name and name_tag and run_name != name_tag:
            raise invalid(
                "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values "
                f"(run_name='{run_name}', mlflow.runName='{name_tag}')."
            )
        run_name = run_name or name_tag or random_run_name()
        return await self.store.create_run(
            experiment_id, user_id or "", start_time if start_time is not None else _now_ms(), clean_tags, run_name
        )

    @staticmethod
    def _run_tag(key: object, value: object, path: str) -> KeyValue:
        key = v.validate_key(key, f"{path}.key" if path else "key")
        if value is not None and not isinstance(value, str):
            raise invalid(v.invalid_value(f"{path}.value" if path else "value", value, "Expected a string."))
        name = f"{path}.value" if path else "value"
        return {"key": key, "value": v.limit_length(value or "", names.MAX_TAG_VAL_LENGTH, name, truncate=True)}

    async def get_run(self, run_id: str) -> Run:
        v.validate_run_id(run_id)
        return await self.store.get_run(run_id)

    async def update_run(self, run_id: str, status: str | None, end_time: int | None, run_name: str | None) -> RunInfo:
        v.validate_run_id(run_id)
        if status is not None and status not in RUN_STATUSES:
            raise invalid(v.invalid_value("status", status))
        return await self.store.update_run_info(run_id, status, end_time, run_name)

    async def delete_run(self, run_id: str) -> None:
        v.validate_run_id(run_id)
        await self.store.delete_run(run_id)

    async def restore_run(self, run_id: str) -> None:
        v.validate_run_id(run_id)
        await self.store.restore_run(run_id)

    async def log_batch(
        self, run_id: str, metrics: list[dict[str, Any]], params: list[dict[str, Any]], tags: list[dict[str, Any]]
    ) -> None:
        v.validate_run_id(run_id)
        v.validate_batch_limits(len(metrics), len(params), len(tags))
        points = [self._metric(m, f"metrics[{i}]") for i, m in enumerate(metrics)]
        clean_params = [self._param(p.get("key"), p.get("value"), f"params[{i}]") for i, p in enumerate(params)]
        keys = [p["key"] for p in clean_params]
        if len(set(keys)) != len(keys):
            seen: set[str] = set()
            dupes: list[str] = []
            for k in keys:
                (dupes.append(k) if k in seen else seen.add(k))
            raise invalid(
                f"Duplicate parameter keys have been submitted: {dupes}. Please ensure the request contains "
                "only one param value per param key."
            )
        clean_tags = [self._run_tag(t.get("key"), t.get("value"), f"tags[{i}]") for i, t in enumerate(tags)]
        await self.store.log_batch(run_id, Batch(points, clean_params, clean_tags))

    async def log_metric(self, run_id: str, metric: dict[str, Any]) -> None:
        v.validate_run_id(run_id)
        await self.store.log_batch(run_id, Batch(metrics=[self._metric(metric, "")]))

    async def log_param(self, run_id: str, key: object, value: object) -> None:
        v.validate_run_id(run_id)
        await self.store.log_batch(run_id, Batch(params=[self._param(key, value, "")]))

    async def set_tag(self, run_id: str, key: object, value: object) -> None:
        v.validate_run_id(run_id)
        await self.store.log_batch(run_id, Batch(tags=[self._run_tag(key, value, "")]))

    async def delete_tag(self, run_id: str, key: str) -> None:
        v.validate_run_id(run_id)
        await self.store.delete_tag(run_id, key)

    @staticmethod
    def _param(key: object, value: object, path: str) -> KeyValue:
        key = v.validate_key(key, f"{path}.key" if path else "key")
        if value is None:
            raise invalid(v.missing_value(f"{path}.value" if path else "value"))
        if not isinstance(value, str):
            raise invalid(v.invalid_value(f"{path}.value" if path else "value", value, "Expected a string."))
        return {"key": key, "value": v.limit_length(value, names.MAX_PARAM_VAL_LENGTH, "Param value", truncate=True)}

    @staticmethod
    def _metric(m: dict[str, Any], path: str) -> MetricPoint:
        def at(name: str) -> str:
            return f"{path}.{name}" if path else name

        key = v.validate_key(m.get("key"), at("name"), what="Metric name")
        timestamp = v.parse_int64(m.get("timestamp"), at("timestamp"), required=True)
        if timestamp < 0:
            raise invalid(
                v.invalid_value(
                    at("timestamp"),
                    timestamp,
                    f"metric '{key}' (value={m.get('value')}). Timestamp must be a nonnegative long (64-bit integer) ",
                )
            )
        step = v.parse_int64(m.get("step"), at("step"), default=0)
        value, is_nan = v.encode_metric_value(m.get("value"), at("value"), timestamp)
        model_id = m.get("model_id") or None
        return MetricPoint(
            key,
            value,
            timestamp,
            step,
            is_nan,
            model_id,
            m.get("dataset_name") or None,
            m.get("dataset_digest") or None,
        )

    async def log_inputs(self, run_id: str, datasets: list[dict[str, Any]], models: list[dict[str, Any]]) -> None:
        v.validate_run_id(run_id)
        clean: list[DatasetIn] = []
        for i, item in enumerate(datasets):
            ds = item.get("dataset")
            if not isinstance(ds, dict):
                raise invalid("Dataset input must have a dataset associated with it.")
            name, digest, source_type, source = (
                _required_dataset_field(ds, field, i) for field in ("name", "digest", "source_type", "source")
            )
            v.limit_length(name, names.MAX_DATASET_NAME_SIZE, "name", truncate=False)
            v.limit_length(digest, names.MAX_DATASET_DIGEST_SIZE, "digest", truncate=False)
            v.limit_length(source, names.MAX_DATASET_SOURCE_SIZE, "source", truncate=False)
            v.limit_length(ds.get("schema"), names.MAX_DATASET_SCHEMA_SIZE, "schema", truncate=False)
            v.limit_length(ds.get("profile"), names.MAX_DATASET_PROFILE_SIZE, "profile", truncate=False)
            tags = []
            raw_tags = item.get("tags") or []
            if not isinstance(raw_tags, list):
                raise invalid(v.invalid_value(f"datasets[{i}].tags", raw_tags, "Expected a list of objects."))
            for t in raw_tags:
                if not isinstance(t, dict):
                    raise invalid(v.invalid_value(f"datasets[{i}].tags", raw_tags, "Expected a list of objects."))
                key, value = t.get("key"), t.get("value")
                if not isinstance(key, str) or not key:
                    raise invalid(v.missing_value(f"datasets[{i}].tags.key"))
                if not isinstance(value, str):
                    raise invalid(v.missing_value(f"datasets[{i}].tags.value"))
                v.limit_length(key, names.MAX_INPUT_TAG_KEY_SIZE, "key", truncate=False)
                v.limit_length(value, names.MAX_INPUT_TAG_VALUE_SIZE, "value", truncate=False)
                tags.append((key, value))
            clean.append(DatasetIn(name, digest, source_type, source, ds.get("schema"), ds.get("profile"), tuple(tags)))
        model_ids = []
        for m in models:
            model_id = m.get("model_id")
            if not isinstance(model_id, str) or not model_id:
                raise invalid(v.missing_value("models.model_id"))
            model_ids.append(model_id)
        await self.store.log_inputs(run_id, clean, model_ids)

    async def log_outputs(self, run_id: str, models: list[dict[str, Any]]) -> None:
        v.validate_run_id(run_id)
        out = []
        for i, m in enumerate(models):
            model_id = m.get("model_id")
            if not isinstance(model_id, str) or not model_id:
                raise invalid(v.missing_value(f"models[{i}].model_id"))
            out.append((model_id, v.parse_int64(m.get("step"), f"models[{i}].step", default=0)))
        await self.store.log_outputs(run_id, out)

    async def log_model(self, run_id: str, model_json: str) -> None:
        v.validate_run_id(run_id)
        try:
            model = orjson.loads(model_json)
        except orjson.JSONDecodeError:
            raise invalid(f"Malformed model info. \n {model_json} \n is not a valid JSON.") from None
        if not isinstance(model, dict):
            raise invalid(f"Malformed model info. \n {model_json} \n is not a valid JSON.")
        missing = {"artifact_path", "flavors", "utc_time_created", "run_id"} - set(model)
        if missing:
            raise invalid(f"Model json is missing mandatory fields: {missing}")
        # What MLflow keeps of it: the identifying fields and each flavor without its 'config'.
        summary = {k: model[k] for k in ("run_id", "utc_time_created", "artifact_path", "model_uuid") if k in model}
        flavors = model.get("flavors") or {}
        summary["flavors"] = {
            name: ({k: val for k, val in conf.items() if k != "config"} if isinstance(conf, dict) else conf)
            for name, conf in (flavors.items() if isinstance(flavors, dict) else [])
        }
        await self.store.record_logged_model(run_id, summary)

    async def search_datasets(self, experiment_ids: list[str]) -> list[dict[str, Any]]:
        if not experiment_ids:
            raise invalid("SearchDatasets request must specify at least one experiment_id.")
        if len(experiment_ids) > 20:
            raise invalid(
                "SearchDatasets request cannot specify more than 20 experiment_ids. "
                f"Received {len(experiment_ids)} experiment_ids."
            )
        return await self.store.search_datasets(experiment_ids, 1000)

    async def search_runs(self, query: RunQuery) -> tuple[list[Run], str | None]:
        view, page = query.page()
        runs, more = await self.store.search_runs(query.experiment_ids, view, page)
        return runs, _next_token(page, more)

    async def search_runs_json(self, query: RunQuery, shape: RunJsonShape) -> tuple[list[RunJson], str | None]:
        """search_runs' page, arguments and errors, with each run's params, metrics and tags as
        JSON texts in ``shape`` (for a response that sends them on as they are)."""
        view, page = query.page()
        rows, more = await self.store.search_runs_json(query.experiment_ids, view, page, shape)
        return rows, _next_token(page, more)

    # ------------------------------------------------------------------ metric history

    async def get_metric_history(
        self, run_id: str, key: str, max_results: int | None, page_token: str | None
    ) -> tuple[list[Metric], str | None]:
        v.validate_run_id(run_id)
        if max_results is not None and max_results < 1:
            raise invalid(v.invalid_value("max_results", max_results, "It must be a positive integer"))
        if max_results is not None:
            max_results = min(max_results, names.GET_METRIC_HISTORY_MAX_RESULTS)
        offset, after = paging.parse_history_token(page_token)
        if page_token and max_results is None:
            max_results = names.GET_METRIC_HISTORY_MAX_RESULTS
        metrics, cursor = await self.store.get_metric_history(run_id, key, max_results, offset, after)
        # The store says more follow only for a limited page, so max_results is set then.
        if cursor is None or max_results is None:
            return metrics, None
        return metrics, paging.make_token(offset + max_results, after=cursor)

    async def get_metric_history_bulk(
        self, run_ids: list[str], key: str | None, max_results: int | None
    ) -> list[Metric]:
        if not run_ids:
            raise invalid("GetMetricHistoryBulk request must specify at least one run_id.")
        if len(run_ids) > 100:
            raise invalid(
                f"GetMetricHistoryBulk request cannot specify more than 100 run_ids. Received {len(run_ids)} run_ids."
            )
        if key is None:
            raise invalid("GetMetricHistoryBulk request must specify a metric_key.")
        limit = min(max_results if max_results is not None else 25000, 25000)
        return await self.store.get_metric_history_bulk(run_ids, key, limit)

    async def get_metric_history_bulk_interval(
        self,
        run_ids: list[str],
        key: str | None,
        start_step: int | None,
        end_step: int | None,
        max_results: int | None,
    ) -> list[Metric]:
        if not run_ids:
            raise invalid(v.missing_value("run_ids"))
        if len(run_ids) > names.MAX_RUNS_GET_METRIC_HISTORY_BULK:
            raise invalid(
                f"GetMetricHistoryBulkInterval request must specify at most {names.MAX_RUNS_GET_METRIC_HISTORY_BULK} "
                f"run_ids. Received {len(run_ids)} run_ids."
            )
        if not key:
            raise invalid(v.missing_value("metric_key"))
        if max_results is None:
            max_results = names.MAX_RESULTS_PER_RUN
        if not 1 <= max_results <= names.MAX_RESULTS_PER_RUN:
            raise invalid(f"max_results must be between 1 and {names.MAX_RESULTS_PER_RUN}.")
        if (start_step is None) != (end_step is None):
            raise invalid("If either start step or end step are specified, both must be specified.")
        if start_step is not None and end_step is not None and start_step > end_step:
            raise invalid(
                f"end_step must be greater than start_step. Found start_step={start_step} and end_step={end_step}."
            )
        for rid in run_ids:
            v.validate_run_id(rid, "run_ids")
        return await self.store.get_metric_history_bulk_interval(run_ids, key, max_results, start_step, end_step)


def _required_dataset_field(ds: dict[str, Any], field: str, i: int) -> str:
    val = ds.get(field)
    if not isinstance(val, str) or not val:
        raise invalid(v.missing_value(f"datasets[{i}].dataset.{field}"))
    return val


@dataclass(frozen=True, slots=True)
class RunQuery:
    """A run search as runs/search asks for it (unchecked: :meth:`page` checks it)."""

    experiment_ids: list[str]
    filter_string: str | None = None
    run_view_type: str | int | None = None
    max_results: int | None = None
    order_by: list[str] = field(default_factory=list)
    page_token: str | None = None

    def page(self) -> tuple[str, Page]:
        """The view type and the store's page, or MLflow's INVALID_PARAMETER_VALUE."""
        view = _view_type(self.run_view_type)
        size = _page_size(self.max_results, names.SEARCH_MAX_RESULTS_THRESHOLD)
        return view, Page(self.filter_string, self.order_by, size, paging.parse_token(self.page_token))


def _next_token(page: Page, more: bool) -> str | None:
    return paging.make_token(page.offset + page.max_results) if more else None


def _page_size(max_results: int | None, limit: int, detail: str = "") -> int:
    """A search's max_results: MLflow's default when absent, 1 to ``limit`` otherwise."""
    if max_results is None:
        return names.SEARCH_MAX_RESULTS_DEFAULT
    if max_results < 1:
        raise invalid(
            f"Invalid value {max_results} for parameter 'max_results' supplied. It must be a positive integer"
        )
    if max_results > limit:
        raise invalid(
            f"Invalid value {max_results} for parameter 'max_results' supplied. It must be at most {limit}{detail}"
        )
    return max_results


def _view_type(value: str | int | None) -> str:
    if value is None or value == "":
        return "ACTIVE_ONLY"
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        # proto enum numbers: ACTIVE_ONLY = 1, DELETED_ONLY = 2, ALL = 3
        by_number = {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}
        if int(value) in by_number:
            return by_number[int(value)]
    if isinstance(value, str) and value.upper() in VIEW_TYPES:
        return value.upper()
    raise invalid(v.invalid_value("view_type", value))
