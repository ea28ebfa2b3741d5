"""A page of runs/search with each run's params, latest metrics and tags as JSON texts built by
the database, for responses that go straight out as JSON (runs/search itself, and the web UI's
runs table).

Hydrating a page of 1,000 runs of 10 params, 10 metrics and 5 tags into Python dicts costs a
Python object per entry, then orjson serializes them again. Here the database aggregates each
run's params and tags into one JSON text (exact: they are strings), and its latest metrics the
same way where the engine prints doubles exactly (PostgreSQL's shortest round-trip output);
SQLite's JSON prints 15 significant digits, so there the metrics are gathered in Python and
dumped per run. The HTTP layer splices the texts into the response unparsed (orjson.Fragment).

Two shapes: ``"entries"``, MLflow's lists (``[{"key": "lr", "value": "0.01"}]``; metrics with
timestamp and step), and ``"table"``, one object per run (``{"lr": "0.01"}``; metrics by key to
their latest value), about half the bytes, for the UI's table. The page itself (filter, order,
view, offset) is search_runs' own query, so both answer the same runs as search_runs.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from aiotrack.entities import RunJson, RunJsonShape
from aiotrack.stores.base import Page
from aiotrack.stores.sql.common import IN_CHUNK, chunks
from aiotrack.stores.sql.tracking.rows import run_info
from aiotrack.stores.sql.tracking.runs import RunsMixin

# MLflow's JSON for a stored metric value: NaN (is_nan) as the string "NaN", else the number
# (values are stored finite: validation keeps an infinity as +-FLOAT_MAX). PostgreSQL only.
_PG_METRIC_VALUE = "CASE WHEN is_nan <> 0 THEN to_json(CAST('NaN' AS text)) ELSE to_json(value) END"


class RunJsonMixin(RunsMixin):
    async def search_runs_json(
        self, experiment_ids: list[str], run_view_type: str, page: Page, shape: RunJsonShape
    ) -> tuple[list[RunJson], bool]:
        rows, more = await self._run_page(experiment_ids, run_view_type, page)
        out: dict[str, RunJson] = {}
        for row in rows:
            info = run_info(row)
            out[info["run_id"]] = {"info": info}
        for chunk in chunks(list(out), IN_CHUNK):
            await self._fill_json_chunk(out, chunk, shape)
        return list(out.values()), more

    async def _fill_json_chunk(self, out: dict[str, RunJson], chunk: list[str], shape: RunJsonShape) -> None:
        dialect = self.db.dialect
        member, member_params = dialect.member_of(chunk)
        table = shape == "table"

        def per_run(source: str, value: str, *extra: str) -> str:
            if table:
                agg = dialect.json_object_agg.format(key="key", value=value)
            else:
                pairs = ", ".join(("'key', key", f"'value', {value}", *extra))
                agg = dialect.json_array_agg.format(value=dialect.json_object.format(pairs=pairs))
            return f"SELECT run_uuid, {agg} FROM {source} WHERE run_uuid {member} GROUP BY run_uuid"

        in_sql = dialect.exact_float_json
        metrics_sql = (
            per_run("latest_metrics", _PG_METRIC_VALUE, "'timestamp', timestamp", "'step', step")
            if in_sql
            else f"SELECT run_uuid, key, value, timestamp, step, is_nan FROM latest_metrics WHERE run_uuid {member}"
        )
        # Independent reads: side by side on the database's readers (SQLite's reader threads
        # step in C without the GIL; PostgreSQL's pool connections).
        metrics, params, tags, io = await asyncio.gather(
            self.db.fetch(metrics_sql, member_params),
            self.db.fetch(per_run("params", "value"), member_params),
            self.db.fetch(per_run("tags", "value"), member_params),
            self._run_io(chunk),
        )
        if in_sql:
            for run_uuid, text in metrics:
                out[run_uuid]["metrics"] = text
        else:
            by_run: dict[str, Any] = {}
            for run_uuid, key, value, ts, step, is_nan in metrics:
                shown = "NaN" if is_nan else value
                if table:
                    by_run.setdefault(run_uuid, {})[key] = shown
                else:
                    by_run.setdefault(run_uuid, []).append({"key": key, "value": shown, "timestamp": ts, "step": step})
            for run_uuid, value in by_run.items():
                out[run_uuid]["metrics"] = orjson.dumps(value).decode()
        for run_uuid, text in params:
            out[run_uuid]["params"] = text
        for run_uuid, text in tags:
            out[run_uuid]["tags"] = text
        # Model inputs and outputs and dataset inputs, as search_runs has them.
        for run_uuid, run in io.items():
            row = out[run_uuid]
            if run["inputs"]:
                row["inputs"] = run["inputs"]
            if run["outputs"]:
                row["outputs"] = run["outputs"]
