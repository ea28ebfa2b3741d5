"""The source contract of `aiotrack import`, and the value rules every source shares."""

from __future__ import annotations

import abc
import math
from collections.abc import AsyncIterator
from typing import Any

from aiotrack.names import FLOAT_MAX
from aiotrack.stores.sql.bulk import REGISTRY_TABLES, UNIT_TABLES

Row = tuple[Any, ...]
# A registered model's rows: table name -> rows in REGISTRY_TABLES' column order.
ModelRows = dict[str, list[Row]]
# Per run: (metric points, NaN points, infinite points, sum of the finite values).
MetricSums = dict[str, tuple[int, int, int, float]]


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

    async def trace_count(self) -> int:
        """How many traces the source holds (aiotrack imports them once it stores them)."""
        return 0

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

    async def registry_counts(self) -> dict[str, int]:
        totals = dict.fromkeys(REGISTRY_TABLES, 0)
        for rows in (await self.registered_models()).values():
            for table, table_rows in rows.items():
                totals[table] += len(table_rows)
        return totals

    #: Whether ``tally`` is cheap (then the import shows totals on its progress bars).
    cheap_tally: bool = False


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
