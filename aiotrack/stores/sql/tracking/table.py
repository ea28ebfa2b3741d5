"""The web UI's runs table: runs/search's page of runs with each run's params, latest metrics and
tags as JSON objects (``{"lr": "0.01"}``) built by the database, not MLflow's lists of entries.

MLflow's list-of-entries shape costs the server a Python object per entry and the browser 1.5 KB
of JSON per run of 10 params, 10 metrics and 5 tags, for a table that wants a map per run. Here the
database aggregates each run's params and tags into one JSON text (exact: they are strings), and
metrics where the engine prints doubles exactly (PostgreSQL's shortest round-trip output); SQLite
prints only 15 significant digits, so there the metrics are gathered in Python. The page itself
(filter, order, view, offset) is runs/search's own query.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from aiotrack.entities import RunTableRow
from aiotrack.stores.base import Page
from aiotrack.stores.sql import search_sql
from aiotrack.stores.sql.common import IN_CHUNK, chunks, search_page
from aiotrack.stores.sql.tracking.rows import RUN_COLUMNS, run_info
from aiotrack.stores.sql.tracking.runs import RunsMixin, experiment_ints

# MLflow's JSON for a stored metric value: NaN (is_nan) as the string "NaN", else the number
# (values are stored finite: validation keeps an infinity as +-FLOAT_MAX).
_PG_METRIC_JSON = "CASE WHEN is_nan <> 0 THEN to_json(CAST('NaN' AS text)) ELSE to_json(value) END"


class RunTableMixin(RunsMixin):
    async def search_run_table(
        self, experiment_ids: list[str], run_view_type: str, page: Page
    ) -> tuple[list[RunTableRow], bool]:
        ids = experiment_ints(experiment_ids)
        if not ids:
            return [], False
        rows, more = await search_page(
            self.db,
            search_sql.runs_query,
            page,
            columns=RUN_COLUMNS,
            experiment_ids=ids,
            run_view_type=run_view_type,
        )
        out: dict[str, RunTableRow] = {}
        for row in rows:
            info = run_info(row)
            out[info["run_id"]] = {"info": info, "params": "{}", "metrics": "{}", "tags": "{}"}
        for chunk in chunks(list(out), IN_CHUNK):
            await self._fill_table_chunk(out, chunk)
        return list(out.values()), more

    async def _fill_table_chunk(self, out: dict[str, RunTableRow], chunk: list[str]) -> None:
        dialect = self.db.dialect
        member, member_params = dialect.member_of(chunk)
        agg = dialect.json_object_agg

        def per_run(table: str, value: str) -> str:
            return (
                f"SELECT run_uuid, {agg.format(key='key', value=value)} FROM {table} "
                f"WHERE run_uuid {member} GROUP BY run_uuid"
            )

        metrics_sql = (
            per_run("latest_metrics", _PG_METRIC_JSON)
            if dialect.exact_float_json
            else f"SELECT run_uuid, key, value, is_nan FROM latest_metrics WHERE run_uuid {member}"
        )
        # Independent reads: side by side on the database's readers (SQLite's reader threads
        # step in C without the GIL; PostgreSQL's pool connections).
        params, tags, metrics, io = await asyncio.gather(
            self.db.fetch(per_run("params", "value"), member_params),
            self.db.fetch(per_run("tags", "value"), member_params),
            self.db.fetch(metrics_sql, member_params),
            self._run_io(chunk),
        )
        for run_uuid, text in params:
            out[run_uuid]["params"] = text
        for run_uuid, text in tags:
            out[run_uuid]["tags"] = text
        if dialect.exact_float_json:
            for run_uuid, text in metrics:
                out[run_uuid]["metrics"] = text
        else:
            by_run: dict[str, dict[str, Any]] = {}
            for run_uuid, key, value, is_nan in metrics:
                by_key = by_run.get(run_uuid)
                if by_key is None:
                    by_key = by_run[run_uuid] = {}
                by_key[key] = "NaN" if is_nan else value
            for run_uuid, by_key in by_run.items():
                out[run_uuid]["metrics"] = orjson.dumps(by_key).decode()
        # Model inputs and outputs and dataset inputs, as runs/search shows them.
        for run_uuid, run in io.items():
            row = out[run_uuid]
            if run["inputs"]:
                row["inputs"] = run["inputs"]
            if run["outputs"]:
                row["outputs"] = run["outputs"]
