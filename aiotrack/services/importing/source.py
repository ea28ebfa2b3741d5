"""The source contract of `aiotrack import`, and the value rules every source shares."""

from __future__ import annotations

import abc
import math
from collections.abc import AsyncIterator
from typing import Any

from aiotrack.names import FLOAT_MAX
from aiotrack.stores.sql.bulk import REGISTRY_TABLES, TRACE_TABLES, UNIT_TABLES

Row = tuple[Any, ...]
# A registered model's rows: table name -> rows in REGISTRY_TABLES' column order.
ModelRows = dict[str, list[Row]]
# Per run: (metric points, NaN points, infinite points, sum of the finite values).
MetricSums = dict[str, tuple[int, int, int, float]]
# Per experiment: rows of each trace table (TRACE_TABLES).
TraceCounts = dict[int, dict[str, int]]


def metric_value(value: Any) -> tuple[float, int]:
    """(value, is_nan) as aiotrack and MLflow's SQL stores keep a metric: NaN (also a NULL, which
    is how SQLite keeps a NaN) is 0 with is_nan set; infinities become +/-FLOAT_MAX."""
    if value is None:
        return 0.0, 1
    value = float(value)
    if math.isnan(value):
        return 0.0, 1
    if math.isinf(value):
        return (FLOAT_MAX if value > 0 else -FLOAT_MAX), 0
    return value, 0


class Source(abc.ABC):
    """An MLflow tracking store to import from. Rows come in aiotrack's table layout
    (``stores.sql.bulk.UNIT_TABLES`` / ``REGISTRY_TABLES``), with MLflow's ids."""

    #: The journal key: the source's location, without any password.
    name: str = ""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect, and refuse a store this aiotrack cannot read (naming why)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    @abc.abstractmethod
    async def experiments(self) -> list[Row]:
        """Every experiment (any lifecycle stage), as ``experiments`` rows, by id."""

    @abc.abstractmethod
    def experiment_rows(self, experiment_id: int) -> AsyncIterator[tuple[str, list[Row]]]:
        """The experiment's other rows as (table, rows) chunks; a table may come in many chunks,
        each after the chunks of the rows it refers to (a run before its params)."""

    @abc.abstractmethod
    async def registered_models(self) -> dict[str, ModelRows]:
        """Every registered model (prompts included) with its tags, versions and aliases."""

    @abc.abstractmethod
    def trace_rows(self, experiment_id: int) -> AsyncIterator[tuple[str, list[Row]]]:
        """The experiment's traces as (table, rows) chunks in TRACE_TABLES' layout, parents first
        (a trace's info before its tags). Spans come along where the source keeps them in its
        tracking store; spans kept in a trace's artifact (``traces.json``) stay there, and the
        trace's ``mlflow.artifactLocation`` tag keeps naming it."""

    async def trace_tally(self, experiment_ids: list[int]) -> TraceCounts:
        """Per experiment, rows of each trace table. By default one more read of the traces."""
        out: TraceCounts = {}
        for eid in experiment_ids:
            counts = out[eid] = dict.fromkeys(TRACE_TABLES, 0)
            async for table, rows in self.trace_rows(eid):
                counts[table] += len(rows)
        return out

    async def tally(self, experiment_ids: list[int]) -> tuple[dict[str, int], MetricSums]:
        """Rows per table in the given experiments, and per run (metric points, NaN points,
        infinite points, sum of the finite values). By default one more full read of the source; sources that can
        count cheaply (SQL) ask the source database instead."""
        totals = dict.fromkeys(UNIT_TABLES, 0)
        totals["experiments"] = len(experiment_ids)
        sums: dict[str, list[float]] = {}
        limit = FLOAT_MAX
        for eid in experiment_ids:
            async for table, rows in self.experiment_rows(eid):
                totals[table] += len(rows)
                if table != "metrics":
                    continue
                for run_uuid, _key, _step, _ts, value, is_nan in rows:
                    acc = sums.setdefault(run_uuid, [0, 0, 0, 0.0])
                    acc[0] += 1
                    if is_nan:
                        acc[1] += 1
                    elif abs(value) >= limit:
                        acc[2] += 1
                    else:
                        acc[3] += value
        return totals, {k: (int(v[0]), int(v[1]), int(v[2]), float(v[3])) for k, v in sums.items()}

    async def not_carried(self) -> dict[str, int]:
        """What the source holds that aiotrack does not serve (and the import so cannot carry), as
        {what: how many}; only non-zero entries. A file store holds nothing of the kind; a REST
        source cannot tell, so it says nothing."""
        return {}

    async def registry_counts(self) -> dict[str, int]:
        totals = dict.fromkeys(REGISTRY_TABLES, 0)
        for rows in (await self.registered_models()).values():
            for table, table_rows in rows.items():
                totals[table] += len(table_rows)
        return totals

    #: Whether ``tally`` is cheap (then the import shows totals on its progress bars).
    cheap_tally: bool = False


def optional_int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def registered_model_row(name: str, meta: dict[str, Any]) -> Row:
    """A ``registered_models`` row from the fields the file store's ``meta.yaml`` and the REST
    API's registered model share."""
    return (
        name,
        optional_int(meta.get("creation_timestamp")),
        optional_int(meta.get("last_updated_timestamp")),
        meta.get("description"),
    )


def model_version_row(name: str, v: dict[str, Any], *, storage_location: str | None) -> Row:
    """A ``model_versions`` row from the fields the file store's ``version-N/meta.yaml`` and the
    REST API's model version share (the REST API does not show ``storage_location``)."""
    return (
        name,
        int(v["version"]),
        optional_int(v.get("creation_timestamp")),
        optional_int(v.get("last_updated_timestamp")),
        v.get("description"),
        v.get("user_id"),
        v.get("current_stage") or "None",
        v.get("source"),
        storage_location,
        v.get("run_id"),
        v.get("run_link"),
        v.get("status") or "READY",
        v.get("status_message"),
        v.get("model_id") or None,
    )


def latest_of(points: list[Row]) -> list[Row]:
    """``latest_metrics`` rows for ``metrics`` rows: per (run, key) the greatest (step, timestamp,
    value), the rule aiotrack's writes and MLflow's stores follow."""
    best: dict[tuple[str, str], Row] = {}
    for p in points:
        k = (p[0], p[1])
        cur = best.get(k)
        if cur is None or (p[2], p[3], p[4]) >= (cur[2], cur[3], cur[4]):
            best[k] = p
    return list(best.values())
