"""An MLflow file store (an ``mlruns/`` directory) as an import source.

Layout (MLflow 3.17's FileStore and FileStore registry): ``<exp>/meta.yaml`` and ``<exp>/tags/``;
deleted experiments under ``.trash/<exp>``; ``<exp>/<run>/{meta.yaml,params/,tags/,metrics/,
inputs/<id>/meta.yaml,outputs/<model>/meta.yaml}``; ``<exp>/datasets/<id>/meta.yaml``;
``<exp>/models/<model_id>/{meta.yaml,params/,tags/,metrics/}``; the registry under
``models/<name>/{meta.yaml,tags/,aliases/,version-N/{meta.yaml,tags/}}``; traces under
``<exp>/traces/<trace id>/{trace_info.yaml,tags/,request_metadata/,assessments/<id>.yaml}`` (the
file store keeps no spans: they are in each trace's artifact, ``traces.json``, and stay there;
it has no links between traces and runs or prompts either). Tag and param keys are file paths
relative to their folder (a key with ``/`` is a nested file).
Metric lines are ``timestamp value [step [dataset_name dataset_digest]]``
(MLflow's own reader takes the step of a five-field line as 0; the import keeps the step the
file holds, as MLflow's SQL stores keep it); values go through the same
rule as every write (NaN kept as NaN, infinities as +/-FLOAT_MAX). Files are read in a thread,
a batch of runs at a time.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import yaml

from aiotrack.errors import ConfigError
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
from aiotrack.services.importing.traces import assessment_row_of, v3_info_rows
from aiotrack.stores.sql.bulk import REGISTRY_TABLES, TRACE_TABLES

TRASH = ".trash"
TRACE_INFO = "trace_info.yaml"
REGISTRY_DIR = "models"
_RUN_BATCH = 200
_RUN_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
_SOURCE_TYPE = {1: "NOTEBOOK", 2: "JOB", 3: "PROJECT", 4: "LOCAL", 5: "UNKNOWN"}
_TRACE_BATCH = 500
_SKIP_IN_EXPERIMENT = {"tags", "datasets", "models", "traces", "meta.yaml"}


def _yaml(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    return data if isinstance(data, dict) else {}


def _key_files(folder: str) -> list[tuple[str, str]]:
    """(key, file contents) under a params/ or tags/ folder; nested files are keys with '/'."""
    out: list[tuple[str, str]] = []
    if not os.path.isdir(folder):
        return out
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as f:
                out.append((os.path.relpath(path, folder).replace(os.sep, "/"), f.read()))
    return out


def _metric_lines(folder: str) -> list[tuple[str, list[list[str]]]]:
    """(key, [fields of each line]) for every metric file under folder."""
    out: list[tuple[str, list[list[str]]]] = []
    if not os.path.isdir(folder):
        return out
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as f:
                lines = [line.split() for line in f if line.strip()]
            out.append((os.path.relpath(path, folder).replace(os.sep, "/"), lines))
    return out


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _enum(value: Any, names: dict[int, str], default: str) -> str:
    if isinstance(value, int):
        return names.get(value, default)
    return str(value) if value else default


class MlflowFileSource(Source):
    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.name = "file://" + self.root
        self._dirs: dict[int, str] = {}

    async def open(self) -> None:
        def scan() -> dict[int, str]:
            found: dict[int, str] = {}
            for base in (self.root, os.path.join(self.root, TRASH)):
                if not os.path.isdir(base):
                    continue
                for name in os.listdir(base):
                    meta = os.path.join(base, name, "meta.yaml")
                    if name.isdigit() and os.path.isfile(meta):
                        found[int(name)] = os.path.join(base, name)
            return found

        self._dirs = await asyncio.to_thread(scan)
        if not self._dirs and not os.path.isdir(os.path.join(self.root, REGISTRY_DIR)):
            raise ConfigError(f"{self.root} is not an MLflow file store (no experiment with a meta.yaml in it).")
        for eid, path in self._dirs.items():
            workspace = (await asyncio.to_thread(_yaml, os.path.join(path, "meta.yaml"))).get("workspace")
            if workspace not in (None, "default"):
                raise ConfigError(
                    f"Experiment {eid} in {self.root} is in workspace {workspace!r}; aiotrack has no workspaces, "
                    "so it imports only stores without them."
                )

    async def close(self) -> None:
        self._dirs = {}

    async def trace_rows(self, experiment_id: int) -> AsyncIterator[tuple[str, list[Row]]]:
        traces_dir = os.path.join(self._dirs[experiment_id], "traces")
        trace_ids = await asyncio.to_thread(
            lambda: (
                sorted(n for n in os.listdir(traces_dir) if os.path.isfile(os.path.join(traces_dir, n, TRACE_INFO)))
                if os.path.isdir(traces_dir)
                else []
            )
        )
        for start in range(0, len(trace_ids), _TRACE_BATCH):
            batch = trace_ids[start : start + _TRACE_BATCH]
            tables = await asyncio.to_thread(self._read_traces, experiment_id, traces_dir, batch)
            for table, rows in tables.items():
                yield table, rows

    def _read_traces(self, experiment_id: int, traces_dir: str, trace_ids: list[str]) -> dict[str, list[Row]]:
        out: dict[str, list[Row]] = {t: [] for t in TRACE_TABLES}
        for folder in trace_ids:
            trace_dir = os.path.join(traces_dir, folder)
            info = _yaml(os.path.join(trace_dir, TRACE_INFO))
            info["tags"] = dict(_key_files(os.path.join(trace_dir, "tags")))
            info["trace_metadata"] = dict(_key_files(os.path.join(trace_dir, "request_metadata")))
            row, tags, metadata, _ = v3_info_rows(info, experiment_id)
            out["trace_info"].append(row)
            out["trace_tags"] += tags
            out["trace_request_metadata"] += metadata
            assessments_dir = os.path.join(trace_dir, "assessments")
            if os.path.isdir(assessments_dir):
                bodies = [_yaml(os.path.join(assessments_dir, n)) for n in sorted(os.listdir(assessments_dir))]
                out["assessments"] += [assessment_row_of(str(row[0]), b) for b in bodies if b]
        return out

    async def experiments(self) -> list[Row]:
        def read() -> list[Row]:
            rows = []
            for eid in sorted(self._dirs):
                meta = _yaml(os.path.join(self._dirs[eid], "meta.yaml"))
                rows.append(
                    (
                        eid,
                        str(meta.get("name")),
                        _text(meta.get("artifact_location")),
                        meta.get("lifecycle_stage") or "active",
                        optional_int(meta.get("creation_time")),
                        optional_int(meta.get("last_update_time")),
                    )
                )
            return rows

        return await asyncio.to_thread(read)

    async def experiment_rows(self, experiment_id: int) -> AsyncIterator[tuple[str, list[Row]]]:
        path = self._dirs[experiment_id]
        tags = await asyncio.to_thread(_key_files, os.path.join(path, "tags"))
        yield "experiment_tags", [(experiment_id, k, v) for k, v in tags]
        run_ids = await asyncio.to_thread(
            lambda: sorted(
                n
                for n in os.listdir(path)
                if n not in _SKIP_IN_EXPERIMENT and os.path.isfile(os.path.join(path, n, "meta.yaml"))
            )
        )
        for start in range(0, len(run_ids), _RUN_BATCH):
            batch = run_ids[start : start + _RUN_BATCH]
            tables = await asyncio.to_thread(self._read_runs, experiment_id, path, batch)
            for table, rows in tables:
                yield table, rows
        yield "datasets", await asyncio.to_thread(self._read_datasets, experiment_id, path)
        for table, rows in await asyncio.to_thread(self._read_models, experiment_id, path):
            yield table, rows

    def _read_runs(self, experiment_id: int, path: str, run_ids: list[str]) -> list[tuple[str, list[Row]]]:
        out: dict[str, list[Row]] = {
            t: [] for t in ("runs", "params", "tags", "metrics", "inputs", "input_tags", "run_outputs")
        }
        for run_id in run_ids:
            run_dir = os.path.join(path, run_id)
            meta = _yaml(os.path.join(run_dir, "meta.yaml"))
            out["runs"].append(
                (
                    run_id,
                    experiment_id,
                    _text(meta.get("run_name")),
                    _enum(meta.get("source_type"), _SOURCE_TYPE, "UNKNOWN"),
                    _text(meta.get("source_name")),
                    _text(meta.get("entry_point_name")),
                    _text(meta.get("user_id")),
                    _enum(meta.get("status"), _RUN_STATUS, "RUNNING"),
                    optional_int(meta.get("start_time")),
                    optional_int(meta.get("end_time")),
                    optional_int(meta.get("deleted_time")),
                    _text(meta.get("source_version")),
                    meta.get("lifecycle_stage") or "active",
                    _text(meta.get("artifact_uri")),
                )
            )
            out["params"] += [(run_id, k, v) for k, v in _key_files(os.path.join(run_dir, "params"))]
            out["tags"] += [(run_id, k, v) for k, v in _key_files(os.path.join(run_dir, "tags"))]
            points: dict[tuple[Any, ...], Row] = {}
            for key, lines in _metric_lines(os.path.join(run_dir, "metrics")):
                for fields in lines:
                    value, is_nan = metric_value(float(fields[1]))
                    step = int(fields[2]) if len(fields) > 2 else 0
                    row = (run_id, key, step, int(fields[0]), value, is_nan)
                    points[row] = row  # identical points are one point, as in the SQL stores
            out["metrics"] += list(points.values())
            for input_id, fs_input in _children(os.path.join(run_dir, "inputs")):
                kind = fs_input.get("source_type")
                if kind == "DATASET":
                    out["inputs"].append((input_id, "DATASET", str(fs_input["source_id"]), "RUN", run_id, 0))
                    out["input_tags"] += [(input_id, str(k), str(v)) for k, v in (fs_input.get("tags") or {}).items()]
                elif kind == "MODEL":
                    out["inputs"].append((input_id, "MODEL", str(fs_input["source_id"]), "RUN", run_id, 0))
            for model_id, fs_output in _children(os.path.join(run_dir, "outputs")):
                if fs_output.get("destination_type") in ("MODEL_OUTPUT", None):
                    out["run_outputs"].append((run_id, model_id, int(fs_output.get("step") or 0)))
        latest = latest_of(out["metrics"])
        return [*out.items(), ("latest_metrics", latest)]

    def _read_datasets(self, experiment_id: int, path: str) -> list[Row]:
        rows: list[Row] = []
        for dataset_id, meta in _children(os.path.join(path, "datasets")):
            rows.append(
                (
                    dataset_id,
                    experiment_id,
                    str(meta.get("name")),
                    str(meta.get("digest")),
                    str(meta.get("source_type")),
                    str(meta.get("source")),
                    _text(meta.get("schema")),
                    _text(meta.get("profile")),
                )
            )
        return rows

    def _read_models(self, experiment_id: int, path: str) -> list[tuple[str, list[Row]]]:
        out: dict[str, list[Row]] = {
            t: [] for t in ("logged_models", "logged_model_tags", "logged_model_params", "logged_model_metrics")
        }
        models_dir = os.path.join(path, "models")
        for model_id, meta in _children(models_dir):
            model_dir = os.path.join(models_dir, model_id)
            out["logged_models"].append(
                (
                    model_id,
                    experiment_id,
                    str(meta.get("name")),
                    str(meta.get("artifact_location")),
                    optional_int(meta.get("creation_timestamp")),
                    optional_int(meta.get("last_updated_timestamp")),
                    int(meta.get("status") or 0),
                    meta.get("lifecycle_stage") or "active",
                    meta.get("model_type") or None,
                    meta.get("source_run_id") or None,
                    meta.get("status_message"),
                )
            )
            out["logged_model_tags"] += [
                (model_id, experiment_id, k, v) for k, v in _key_files(os.path.join(model_dir, "tags"))
            ]
            out["logged_model_params"] += [
                (model_id, experiment_id, k, v) for k, v in _key_files(os.path.join(model_dir, "params"))
            ]
            seen: dict[tuple[Any, ...], Row] = {}
            for key, lines in _metric_lines(os.path.join(model_dir, "metrics")):
                for f in lines:
                    # timestamp value step run_id [dataset_name dataset_digest]
                    value, is_nan = metric_value(float(f[1]))
                    ts, step, run_id = int(f[0]), int(f[2]), f[3]
                    name, digest = (f[4], f[5]) if len(f) > 5 else (None, None)
                    pk = (model_id, key, ts, step, run_id)
                    seen.setdefault(
                        pk, (model_id, key, ts, step, value, is_nan, experiment_id, run_id, None, name, digest)
                    )
            out["logged_model_metrics"] += list(seen.values())
        return list(out.items())

    async def registered_models(self) -> dict[str, ModelRows]:
        return await asyncio.to_thread(self._read_registry)

    def _read_registry(self) -> dict[str, ModelRows]:
        models: dict[str, ModelRows] = {}
        base = os.path.join(self.root, REGISTRY_DIR)
        for folder, meta in _children(base):
            name = str(meta.get("name") or folder)
            rows: ModelRows = {t: [] for t in REGISTRY_TABLES}
            rows["registered_models"].append(registered_model_row(name, meta))
            model_dir = os.path.join(base, folder)
            rows["registered_model_tags"] = [(name, k, v) for k, v in _key_files(os.path.join(model_dir, "tags"))]
            for entry in sorted(os.listdir(model_dir)):
                version_meta = os.path.join(model_dir, entry, "meta.yaml")
                if not entry.startswith("version-") or not os.path.isfile(version_meta):
                    continue
                v = _yaml(version_meta)
                version = int(v["version"])
                rows["model_versions"].append(model_version_row(name, v, storage_location=v.get("storage_location")))
                rows["model_version_tags"] += [
                    (name, version, k, val) for k, val in _key_files(os.path.join(model_dir, entry, "tags"))
                ]
            versions = {r[1] for r in rows["model_versions"]}
            aliases = meta.get("aliases") or {}
            rows["registered_model_aliases"] = [
                (name, str(alias), int(version)) for alias, version in aliases.items() if int(version) in versions
            ]
            models[name] = rows
        return models


def _children(folder: str) -> list[tuple[str, dict[str, Any]]]:
    """(entry name, its meta.yaml) for every entry of folder that has one."""
    if not os.path.isdir(folder):
        return []
    out = []
    for name in sorted(os.listdir(folder)):
        meta = os.path.join(folder, name, "meta.yaml")
        if os.path.isfile(meta):
            out.append((name, _yaml(meta)))
    return out
