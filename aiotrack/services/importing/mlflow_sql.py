"""An MLflow SQL database (SQLite or PostgreSQL) as an import source, read directly.

The schema read is MLflow 3.17's (alembic head ``dc11669786a5``, in
``mlflow/store/db_migrations/``); a database at another revision is refused, naming it. SQLite
files are opened read-only; PostgreSQL is read in one repeatable-read, read-only transaction per
query stream, so a source that is still being written gives a consistent picture of each table.
Metric history streams in chunks (a server-side cursor on PostgreSQL, ``fetchmany`` on SQLite),
never held whole.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg

from aiotrack.errors import ConfigError
from aiotrack.services.importing.source import MetricSums, ModelRows, Row, Source, metric_value
from aiotrack.stores.sql.bulk import METRIC_SUMS_SQL, REGISTRY_TABLES, UNIT_TABLES
from aiotrack.stores.sql.database import to_dollar_params
from aiotrack.stores.sql.uri import StoreURI

# The alembic revisions whose layout this module reads (MLflow 3.17's head).
KNOWN_REVISIONS = {"dc11669786a5": "MLflow 3.17"}
CHUNK_ROWS = 50_000

_RUNS = "SELECT run_uuid FROM runs WHERE experiment_id = ?"
# (aiotrack table, query over MLflow's tables for one experiment id; every ? is that id)
_EXPERIMENT_QUERIES: tuple[tuple[str, str], ...] = (
    ("experiment_tags", "SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id = ?"),
    (
        "runs",
        "SELECT run_uuid, experiment_id, name, source_type, source_name, entry_point_name, user_id, "
        "COALESCE(status, 'RUNNING'), start_time, end_time, deleted_time, source_version, "
        "COALESCE(lifecycle_stage, 'active'), artifact_uri FROM runs WHERE experiment_id = ?",
    ),
    ("params", f"SELECT run_uuid, key, value FROM params WHERE run_uuid IN ({_RUNS})"),
    ("tags", f"SELECT run_uuid, key, value FROM tags WHERE run_uuid IN ({_RUNS})"),
    (
        "metrics",
        "SELECT run_uuid, key, step, timestamp, value, CASE WHEN is_nan THEN 1 ELSE 0 END "
        f"FROM metrics WHERE run_uuid IN ({_RUNS})",
    ),
    (
        "latest_metrics",
        "SELECT run_uuid, key, step, COALESCE(timestamp, 0), value, CASE WHEN is_nan THEN 1 ELSE 0 END "
        f"FROM latest_metrics WHERE run_uuid IN ({_RUNS})",
    ),
    (
        "datasets",
        "SELECT dataset_uuid, experiment_id, name, digest, dataset_source_type, dataset_source, dataset_schema, "
        "dataset_profile FROM datasets WHERE experiment_id = ?",
    ),
    # Dataset inputs keep their shape; MLflow's model inputs (RUN_INPUT -> MODEL_INPUT) become
    # aiotrack's (MODEL -> RUN), and its outputs (RUN_OUTPUT -> MODEL_OUTPUT) the run_outputs table.
    (
        "inputs",
        "SELECT input_uuid, 'DATASET', source_id, 'RUN', destination_id, step FROM inputs "
        f"WHERE source_type = 'DATASET' AND destination_type = 'RUN' AND destination_id IN ({_RUNS}) "
        "UNION ALL SELECT input_uuid, 'MODEL', destination_id, 'RUN', source_id, step FROM inputs "
        f"WHERE source_type = 'RUN_INPUT' AND destination_type = 'MODEL_INPUT' AND source_id IN ({_RUNS})",
    ),
    (
        "input_tags",
        "SELECT input_uuid, name, value FROM input_tags WHERE input_uuid IN (SELECT input_uuid FROM inputs "
        f"WHERE source_type = 'DATASET' AND destination_type = 'RUN' AND destination_id IN ({_RUNS}))",
    ),
    (
        "run_outputs",
        "SELECT source_id, destination_id, step FROM inputs "
        f"WHERE source_type = 'RUN_OUTPUT' AND destination_type = 'MODEL_OUTPUT' AND source_id IN ({_RUNS})",
    ),
    (
        "logged_models",
        "SELECT model_id, experiment_id, name, artifact_location, creation_timestamp_ms, last_updated_timestamp_ms, "
        "status, COALESCE(lifecycle_stage, 'active'), model_type, source_run_id, status_message FROM logged_models "
        "WHERE experiment_id = ?",
    ),
    (
        "logged_model_tags",
        "SELECT model_id, experiment_id, tag_key, tag_value FROM logged_model_tags WHERE experiment_id = ?",
    ),
    (
        "logged_model_params",
        "SELECT model_id, experiment_id, param_key, param_value FROM logged_model_params WHERE experiment_id = ?",
    ),
    (
        "logged_model_metrics",
        "SELECT model_id, metric_name, metric_timestamp_ms, metric_step, metric_value, 0, experiment_id, run_id, "
        "dataset_uuid, dataset_name, dataset_digest FROM logged_model_metrics WHERE experiment_id = ?",
    ),
)
assert [t for t, _ in _EXPERIMENT_QUERIES] == list(UNIT_TABLES)[1:]

_REGISTRY_QUERIES: tuple[tuple[str, str], ...] = (
    (
        "registered_models",
        "SELECT name, creation_time, last_updated_time, description FROM registered_models WHERE workspace = 'default'",
    ),
    ("registered_model_tags", "SELECT name, key, value FROM registered_model_tags WHERE workspace = 'default'"),
    (
        "model_versions",
        "SELECT name, version, creation_time, last_updated_time, description, user_id, "
        "COALESCE(current_stage, 'None'), source, storage_location, run_id, run_link, COALESCE(status, 'READY'), "
        "status_message, NULL FROM model_versions WHERE workspace = 'default'",
    ),
    (
        "model_version_tags",
        "SELECT name, version, key, value FROM model_version_tags WHERE workspace = 'default'",
    ),
    (
        "registered_model_aliases",
        "SELECT name, alias, version FROM registered_model_aliases WHERE workspace = 'default'",
    ),
)
assert [t for t, _ in _REGISTRY_QUERIES] == list(REGISTRY_TABLES)

_WORKSPACE_TABLES = ("experiments", "registered_models")


class MlflowSqlSource(Source):
    cheap_tally = True

    def __init__(self, uri: StoreURI):
        self.uri = uri
        self.name = uri.redacted()
        self._sqlite: sqlite3.Connection | None = None
        self._pg: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------------ connection

    async def open(self) -> None:
        if self.uri.kind == "sqlite":
            target = self.uri.target

            def connect() -> sqlite3.Connection:
                conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True, check_same_thread=False)
                conn.execute("SELECT 1 FROM sqlite_master").fetchall()
                return conn

            try:
                self._sqlite = await asyncio.to_thread(connect)
            except sqlite3.Error as exc:
                raise ConfigError(f"Cannot open the MLflow database {self.name}: {exc}") from None
        elif self.uri.kind == "postgresql":
            try:
                self._pg = await asyncpg.create_pool(self.uri.target, min_size=1, max_size=2)
            except (OSError, asyncpg.PostgresError) as exc:
                raise ConfigError(f"Cannot connect to the MLflow database {self.name}: {exc}") from None
        else:
            raise ConfigError(f"Unsupported MLflow database {self.name}")
        await self._check_schema()

    async def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self._pg is not None:
            await self._pg.close()
            self._pg = None

    async def _tables(self) -> set[str]:
        if self._sqlite is not None:
            rows = await self._fetch("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            rows = await self._fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return {r[0] for r in rows}

    async def _check_schema(self) -> None:
        tables = await self._tables()
        if "alembic_version" not in tables:
            raise ConfigError(
                f"{self.name} is not an MLflow database (it has no alembic_version table)"
                + (" - it looks like aiotrack's own" if "aiotrack_migrations" in tables else "")
                + "."
            )
        rows = await self._fetch("SELECT version_num FROM alembic_version")
        versions = sorted(r[0] for r in rows)
        if len(versions) != 1 or versions[0] not in KNOWN_REVISIONS:
            known = ", ".join(f"{rev} ({what})" for rev, what in KNOWN_REVISIONS.items())
            raise ConfigError(
                f"The MLflow database {self.name} has schema version {', '.join(versions) or '(none)'}, which this "
                f"aiotrack cannot read; it reads {known}. Upgrade it with that MLflow first "
                f"(`mlflow db upgrade <uri>`, after a backup), then import."
            )
        for table in _WORKSPACE_TABLES:
            row = await self._fetchrow(f"SELECT COUNT(*) FROM {table} WHERE workspace <> 'default'")
            if row and row[0]:
                raise ConfigError(
                    f"The MLflow database {self.name} has {row[0]} {table.replace('_', ' ')} in workspaces other "
                    "than 'default'; aiotrack has no workspaces, so it imports only databases without them."
                )

    # ------------------------------------------------------------------ queries

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        if self._sqlite is not None:
            conn = self._sqlite

            def run() -> list[Row]:
                return [tuple(r) for r in conn.execute(sql, tuple(params)).fetchall()]

            async with self._lock:
                return await asyncio.to_thread(run)
        assert self._pg is not None
        return [tuple(r) for r in await self._pg.fetch(to_dollar_params(sql), *params)]

    async def _fetchrow(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self._fetch(sql, params)
        return rows[0] if rows else None

    def _stream(self, sql: str, params: Sequence[Any]) -> AsyncIterator[list[Row]]:
        """The query's rows in chunks of up to CHUNK_ROWS."""
        return self._stream_sqlite(sql, params) if self._sqlite is not None else self._stream_pg(sql, params)

    async def _stream_sqlite(self, sql: str, params: Sequence[Any]) -> AsyncIterator[list[Row]]:
        conn = self._sqlite
        assert conn is not None
        async with self._lock:
            cursor = await asyncio.to_thread(conn.execute, sql, tuple(params))
            try:
                while rows := await asyncio.to_thread(cursor.fetchmany, CHUNK_ROWS):
                    yield rows
            finally:
                cursor.close()

    async def _stream_pg(self, sql: str, params: Sequence[Any]) -> AsyncIterator[list[Row]]:
        assert self._pg is not None
        async with self._pg.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            cursor = await conn.cursor(to_dollar_params(sql), *params)
            while records := await cursor.fetch(CHUNK_ROWS):
                yield [tuple(r) for r in records]

    # ------------------------------------------------------------------ the contract

    async def trace_count(self) -> int:
        if "trace_info" not in await self._tables():
            return 0
        row = await self._fetchrow("SELECT COUNT(*) FROM trace_info")
        return int(row[0]) if row else 0

    async def experiments(self) -> list[Row]:
        return await self._fetch(
            "SELECT experiment_id, name, artifact_location, COALESCE(lifecycle_stage, 'active'), creation_time, "
            "last_update_time FROM experiments WHERE workspace = 'default' ORDER BY experiment_id"
        )

    async def experiment_rows(self, experiment_id: int) -> AsyncIterator[tuple[str, list[Row]]]:
        for table, sql in _EXPERIMENT_QUERIES:
            params = (experiment_id,) * sql.count("?")
            async for rows in self._stream(sql, params):
                if table == "logged_model_metrics":
                    rows = [_model_metric(r) for r in rows]
                yield table, rows

    async def registered_models(self) -> dict[str, ModelRows]:
        models: dict[str, ModelRows] = {}
        for table, sql in _REGISTRY_QUERIES:
            for row in await self._fetch(sql):
                entry = models.setdefault(row[0], {t: [] for t in REGISTRY_TABLES})
                entry[table].append(row)
        return models

    async def registry_counts(self) -> dict[str, int]:
        totals = {}
        for table, sql in _REGISTRY_QUERIES:
            row = await self._fetchrow(f"SELECT COUNT(*) FROM ({sql}) q")
            totals[table] = int(row[0]) if row else 0
        return totals

    async def tally(self, experiment_ids: list[int]) -> tuple[dict[str, int], MetricSums]:
        """Counted by the source database itself (COUNT and SUM queries), not by reading rows."""
        totals = dict.fromkeys(UNIT_TABLES, 0)
        totals["experiments"] = len(experiment_ids)
        for eid in experiment_ids:
            for table, sql in _EXPERIMENT_QUERIES:
                row = await self._fetchrow(f"SELECT COUNT(*) FROM ({sql}) q", (eid,) * sql.count("?"))
                totals[table] += int(row[0]) if row else 0
        out: MetricSums = {}
        for eid in experiment_ids:
            rows = await self._fetch(METRIC_SUMS_SQL.format(nan="is_nan", runs=_RUNS), (eid,))
            for run_uuid, n, nans, infs, total in rows:
                out[run_uuid] = (int(n), int(nans or 0), int(infs or 0), float(total or 0.0))
        return totals, out


def _model_metric(row: Row) -> Row:
    value, is_nan = metric_value(row[4])
    return (*row[:4], value, is_nan, *row[6:])
