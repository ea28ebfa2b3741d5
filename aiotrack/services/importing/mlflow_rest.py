"""A running MLflow tracking server as an import source, over its REST API.

The slowest source (a metric history is one request per run and key, paged), but it works for
any backend the server has. What the REST API does not expose cannot come along: datasets and
inputs get ids derived from what identifies them (uuid5 of experiment, name and digest; of run
and dataset), runs' ``deleted_time`` is unknown (left empty), deleted logged models and the
redacted rows of deleted model versions are not listed. Everything else keeps MLflow's ids.

Traces come from the v3 trace search (infos with tags, metadata and assessments); the spans of
a trace MLflow keeps in its tracking store (``mlflow.trace.spansLocation`` = ``TRACKING_STORE``)
from ``get-trace-artifact``, one request per trace. Links: a prompt-version link is what the
``mlflow.linkedPrompts`` tag lists (MLflow writes both together); a run link is a trace the run
filter finds whose ``mlflow.sourceRun`` metadata does not name that run (the API does not list
entity associations themselves).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from aiotrack.errors import ConfigError
from aiotrack.search.traces import SOURCE_RUN_METADATA
from aiotrack.services.importing.source import (
    ModelRows,
    Row,
    Source,
    latest_of,
    metric_value,
    model_version_row,
    optional_int,
    registered_model_row,
)
from aiotrack.services.importing.traces import assessment_row_of, span_rows, v3_info_rows
from aiotrack.services.traces import LINKED_PROMPTS_TAG, SPANS_LOCATION_TAG, TRACKING_STORE
from aiotrack.stores.sql.bulk import REGISTRY_TABLES, TRACE_TABLES

PAGE = 1000
HISTORY_PAGE = 25_000
TRACE_PAGE = 500
PROMPT_FILTER = "tags.`mlflow.prompt.is_prompt` = 'true'"
_NAMESPACE = uuid.UUID("6f1d0a3e-6a55-4c1e-9b8e-0a2b1f3c4d5e")


def _derived_id(*parts: Any) -> str:
    return uuid.uuid5(_NAMESPACE, "\x00".join(str(p) for p in parts)).hex


class MlflowRestSource(Source):
    def __init__(self, url: str):
        self.base = url.rstrip("/")
        self.name = self.base
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300))
        try:
            await self._get("/api/2.0/mlflow/experiments/search", {"max_results": 1})
        except (aiohttp.ClientError, OSError) as exc:
            await self.close()
            raise ConfigError(f"Cannot reach the MLflow tracking server at {self.base}: {exc}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, path: str, params: dict[str, Any] | None, body: Any) -> dict[str, Any]:
        assert self._session is not None, "source is not open"
        kwargs: dict[str, Any] = {"params": params} if params else {}
        if body is not None:
            kwargs["data"] = orjson.dumps(body)
            kwargs["headers"] = {"Content-Type": "application/json"}
        async with self._session.request(method, self.base + path, **kwargs) as resp:
            text = await resp.read()
            if resp.status != 200:
                raise ConfigError(f"{self.base}{path} answered {resp.status}: {text[:300]!r}")
            data = orjson.loads(text) if text else {}
            return data if isinstance(data, dict) else {}

    async def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        return await self._call("GET", path, {k: v for k, v in params.items() if v is not None}, None)

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", path, None, {k: v for k, v in body.items() if v is not None})

    async def _pages(self, method: str, path: str, args: dict[str, Any], field: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page_args = {**args, "page_token": token}
            data = await (self._post(path, page_args) if method == "POST" else self._get(path, page_args))
            out += data.get(field, [])
            token = data.get("next_page_token")
            if not token:
                return out

    # ------------------------------------------------------------------ the contract

    async def experiments(self) -> list[Row]:
        found = await self._pages(
            "POST", "/api/2.0/mlflow/experiments/search", {"max_results": PAGE, "view_type": "ALL"}, "experiments"
        )
        self._experiment_tags = {int(e["experiment_id"]): e.get("tags", []) for e in found}
        rows = [
            (
                int(e["experiment_id"]),
                e["name"],
                e.get("artifact_location"),
                e.get("lifecycle_stage") or "active",
                optional_int(e.get("creation_time")),
                optional_int(e.get("last_update_time")),
            )
            for e in found
        ]
        return sorted(rows, key=lambda r: r[0])

    async def experiment_rows(self, experiment_id: int) -> AsyncIterator[tuple[str, list[Row]]]:
        if not hasattr(self, "_experiment_tags"):
            await self.experiments()
        tags = self._experiment_tags.get(experiment_id, [])
        yield "experiment_tags", [(experiment_id, t["key"], t.get("value")) for t in tags]
        runs = await self._pages(
            "POST",
            "/api/2.0/mlflow/runs/search",
            {"experiment_ids": [str(experiment_id)], "run_view_type": "ALL", "max_results": PAGE},
            "runs",
        )
        datasets: dict[str, Row] = {}
        for run in runs:
            info, data, inputs = run["info"], run.get("data", {}), run.get("inputs", {})
            run_id = info["run_id"]
            yield (
                "runs",
                [
                    (
                        run_id,
                        experiment_id,
                        info.get("run_name"),
                        "UNKNOWN",
                        None,
                        None,
                        info.get("user_id"),
                        info.get("status") or "RUNNING",
                        optional_int(info.get("start_time")),
                        optional_int(info.get("end_time")),
                        None,
                        None,
                        info.get("lifecycle_stage") or "active",
                        info.get("artifact_uri"),
                    )
                ],
            )
            yield "params", [(run_id, p["key"], p.get("value", "")) for p in data.get("params", [])]
            yield "tags", [(run_id, t["key"], t.get("value")) for t in data.get("tags", [])]
            points: list[Row] = []
            for key in sorted({m["key"] for m in data.get("metrics", [])}):
                history = await self._pages(
                    "GET",
                    "/api/2.0/mlflow/metrics/get-history",
                    {"run_id": run_id, "metric_key": key, "max_results": HISTORY_PAGE},
                    "metrics",
                )
                seen: dict[Row, None] = {}
                for m in history:
                    value, is_nan = metric_value(float(m["value"]) if m.get("value") is not None else None)
                    seen[(run_id, key, int(m.get("step", 0)), int(m["timestamp"]), value, is_nan)] = None
                points += list(seen)
            yield "metrics", points
            yield "latest_metrics", latest_of(points)
            input_rows: list[Row] = []
            input_tags: list[Row] = []
            for entry in inputs.get("dataset_inputs", []):
                ds = entry["dataset"]
                dataset_id = _derived_id(experiment_id, ds["name"], ds["digest"])
                datasets.setdefault(
                    dataset_id,
                    (
                        dataset_id,
                        experiment_id,
                        ds["name"],
                        ds["digest"],
                        ds.get("source_type", ""),
                        ds.get("source", ""),
                        ds.get("schema"),
                        ds.get("profile"),
                    ),
                )
                input_id = _derived_id(run_id, dataset_id)
                input_rows.append((input_id, "DATASET", dataset_id, "RUN", run_id, 0))
                input_tags += [(input_id, t["key"], t.get("value", "")) for t in entry.get("tags", [])]
            for model_input in inputs.get("model_inputs", []):
                model_id = model_input["model_id"]
                input_rows.append((_derived_id(run_id, model_id), "MODEL", model_id, "RUN", run_id, 0))
            yield "inputs", input_rows
            yield "input_tags", input_tags
            outputs = run.get("outputs", {}).get("model_outputs", [])
            yield "run_outputs", [(run_id, o["model_id"], int(o.get("step", 0))) for o in outputs]
        yield "datasets", list(datasets.values())
        async for table, rows in self._logged_models(experiment_id):
            yield table, rows

    async def trace_rows(self, experiment_id: int) -> AsyncIterator[tuple[str, list[Row]]]:
        location = {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": str(experiment_id)}}
        infos = await self._pages(
            "POST", "/api/3.0/mlflow/traces/search", {"locations": [location], "max_results": TRACE_PAGE}, "traces"
        )
        if not infos:
            return
        out: dict[str, list[Row]] = {t: [] for t in TRACE_TABLES}
        for info in infos:
            row, tags, metadata, assessments = v3_info_rows(info, experiment_id)
            trace_id = str(row[0])
            out["trace_info"].append(row)
            out["trace_tags"] += tags
            out["trace_request_metadata"] += metadata
            out["assessments"] += [assessment_row_of(trace_id, a) for a in assessments]
            if (info.get("tags") or {}).get(SPANS_LOCATION_TAG) == TRACKING_STORE:
                data = await self._get("/ajax-api/2.0/mlflow/get-trace-artifact", {"request_id": trace_id})
                out["spans"] += span_rows(trace_id, data.get("spans") or [])
            linked = orjson.loads((info.get("tags") or {}).get(LINKED_PROMPTS_TAG) or "[]")
            out["trace_links"] += [
                (trace_id, "PROMPT_VERSION", f"{p['name']}/{p['version']}") for p in linked if isinstance(p, dict)
            ]
        source_runs = {str(i["trace_id"]): (i.get("trace_metadata") or {}).get(SOURCE_RUN_METADATA) for i in infos}
        runs = await self._pages(
            "POST",
            "/api/2.0/mlflow/runs/search",
            {"experiment_ids": [str(experiment_id)], "run_view_type": "ALL", "max_results": PAGE},
            "runs",
        )
        for run in runs:
            run_id = run["info"]["run_id"]
            found = await self._pages(
                "POST",
                "/api/3.0/mlflow/traces/search",
                {"locations": [location], "max_results": TRACE_PAGE, "filter": f"attributes.run_id = '{run_id}'"},
                "traces",
            )
            out["trace_links"] += [
                (str(t["trace_id"]), "RUN", run_id) for t in found if source_runs.get(str(t["trace_id"])) != run_id
            ]
        for table, rows in out.items():
            yield table, rows

    async def _logged_models(self, experiment_id: int) -> AsyncIterator[tuple[str, list[Row]]]:
        models = await self._pages(
            "POST",
            "/api/2.0/mlflow/logged-models/search",
            {"experiment_ids": [str(experiment_id)], "max_results": 100},
            "models",
        )
        for model in models:
            info, data = model["info"], model.get("data", {})
            model_id = info["model_id"]
            yield (
                "logged_models",
                [
                    (
                        model_id,
                        experiment_id,
                        info["name"],
                        info.get("artifact_uri", ""),
                        optional_int(info.get("creation_timestamp_ms")),
                        optional_int(info.get("last_updated_timestamp_ms")),
                        _LOGGED_MODEL_STATUS.get(info.get("status", ""), 0),
                        "active",
                        info.get("model_type") or None,
                        info.get("source_run_id") or None,
                        info.get("status_message"),
                    )
                ],
            )
            yield (
                "logged_model_tags",
                [(model_id, experiment_id, t["key"], t.get("value")) for t in info.get("tags", [])],
            )
            yield (
                "logged_model_params",
                [(model_id, experiment_id, p["key"], p.get("value", "")) for p in data.get("params", [])],
            )
            metrics: dict[tuple[Any, ...], Row] = {}
            for m in data.get("metrics", []):
                value, is_nan = metric_value(m.get("value"))
                pk = (model_id, m["key"], int(m["timestamp"]), int(m.get("step", 0)), m.get("run_id", ""))
                metrics.setdefault(
                    pk,
                    (
                        *pk[:4],
                        value,
                        is_nan,
                        experiment_id,
                        pk[4],
                        None,
                        m.get("dataset_name"),
                        m.get("dataset_digest"),
                    ),
                )
            yield "logged_model_metrics", list(metrics.values())

    async def registered_models(self) -> dict[str, ModelRows]:
        found = await self._pages(
            "GET", "/api/2.0/mlflow/registered-models/search", {"max_results": PAGE}, "registered_models"
        )
        found += await self._pages(
            "GET",
            "/api/2.0/mlflow/registered-models/search",
            {"max_results": PAGE, "filter": PROMPT_FILTER},
            "registered_models",
        )
        models: dict[str, ModelRows] = {}
        for rm in found:
            name = rm["name"]
            if name in models:
                continue
            rows: ModelRows = {t: [] for t in REGISTRY_TABLES}
            rows["registered_models"] = [registered_model_row(name, rm)]
            rows["registered_model_tags"] = [(name, t["key"], t.get("value")) for t in rm.get("tags", [])]
            escaped = name.replace("'", "\\'")
            is_prompt = any(
                t["key"] == "mlflow.prompt.is_prompt" and t.get("value") == "true" for t in rm.get("tags", [])
            )
            # MLflow's searches leave prompts out unless the filter asks for them.
            version_filter = f"name = '{escaped}'" + (f" AND {PROMPT_FILTER}" if is_prompt else "")
            versions = await self._pages(
                "GET",
                "/api/2.0/mlflow/model-versions/search",
                {"filter": version_filter, "max_results": 10_000},
                "model_versions",
            )
            for v in versions:
                version = int(v["version"])
                rows["model_versions"].append(model_version_row(name, v, storage_location=v.get("source")))
                rows["model_version_tags"] += [(name, version, t["key"], t.get("value")) for t in v.get("tags", [])]
            rows["registered_model_aliases"] = [(name, a["alias"], int(a["version"])) for a in rm.get("aliases", [])]
            models[name] = rows
        return models


# LoggedModelStatus as MLflow's SQL store keeps it (an integer column).
_LOGGED_MODEL_STATUS = {
    "LOGGED_MODEL_STATUS_UNSPECIFIED": 0,
    "LOGGED_MODEL_PENDING": 1,
    "LOGGED_MODEL_READY": 2,
    "LOGGED_MODEL_UPLOAD_FAILED": 3,
}
