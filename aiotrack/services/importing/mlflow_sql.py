"""An MLflow SQL database (SQLite, PostgreSQL or MySQL/MariaDB) as an import source, read directly.

The schema read is MLflow 3.17's (alembic head ``dc11669786a5``, in
``mlflow/store/db_migrations/``), and 3.18's head, whose two migrations since 3.17 only add the
skill registry's tables and change the MCP server tables, none of which this module reads; a
database at another revision is refused, naming it. SQLite
files are opened read-only; PostgreSQL is read in one repeatable-read, read-only transaction per
query stream, so a source that is still being written gives a consistent picture of each table.
MySQL (with PyMySQL, the ``mysql`` extra) is read on one connection in repeatable-read, read-only
mode. Metric history streams in chunks (a server-side cursor on PostgreSQL, an unbuffered one on
MySQL, ``fetchmany`` on SQLite), never held whole.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg

from aiotrack.errors import ConfigError
from aiotrack.services.importing.source import MetricSums, ModelRows, Row, Source, TraceCounts, metric_value
from aiotrack.services.importing.traces import LINK_TYPES, assessment_row_of_columns
from aiotrack.stores.sql.bulk import METRIC_SUMS_SQL, REGISTRY_TABLES, TRACE_TABLES, UNIT_TABLES
from aiotrack.stores.sql.database import to_dollar_params
from aiotrack.stores.sql.uri import StoreURI

# The alembic revisions whose layout this module reads (release heads). 3.18 = 3.17 + e7d1f4b2a9c6
# (creates the skill_* tables) + f4a9b2c7d1e6 (MCP server versions made case-sensitive).
KNOWN_REVISIONS = {"dc11669786a5": "MLflow 3.17", "f4a9b2c7d1e6": "MLflow 3.18"}
# What an MLflow database can hold that aiotrack does not serve, so the import cannot carry it:
# (what it is, the table that holds one row per item). MLflow's derived and operational tables
# (rollups, span and trace metrics computed from spans, jobs, locks, leases) are not listed.
NOT_CARRIED = (
    ("evaluation datasets", "evaluation_datasets"),
    ("scorers", "scorers"),
    ("online scoring configs", "online_scoring_configs"),
    ("labeling schemas", "label_schemas"),
    ("review queues", "review_queues"),
    ("issues", "issues"),
    ("webhooks", "webhooks"),
    ("AI gateway endpoints", "endpoints"),
    ("AI gateway secrets", "secrets"),
    ("MCP servers", "mcp_servers"),
    ("skills", "skills"),
)
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

_TRACES = "SELECT request_id FROM trace_info WHERE experiment_id = ?"
TRACE_NAME_TAG = "mlflow.traceName"
SESSION_METADATA = "mlflow.trace.session"
TOKEN_USAGE_METADATA = "mlflow.trace.tokenUsage"
COST_METADATA = "mlflow.trace.cost"
# trace_info's columns behind the token usage and cost metadata (each JSON key is its column's name)
_TOKEN_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "cache_creation_input_tokens_above_1hr",
)
_COST_COLUMNS = ("input_cost", "output_cost", "total_cost")
# (aiotrack trace table, query over MLflow's trace tables for one experiment id). Spans are
# MLflow's ``spans`` rows (the traces whose spansLocation tag says TRACKING_STORE); a trace whose
# spans MLflow keeps in its artifact has none here and keeps them there.
_TRACE_QUERIES: tuple[tuple[str, str], ...] = (
    (
        "trace_info",
        "SELECT request_id, experiment_id, timestamp_ms, execution_time_ms, status, client_request_id, "
        "request_preview, response_preview, 1 FROM trace_info WHERE experiment_id = ?",
    ),
    # MLflow 3.17 keeps some of a trace's tags and metadata in trace_info columns and answers
    # them as tags (the trace name) and metadata (session, token usage and cost as JSON); the
    # import writes them as the tags and metadata they are answered as.
    (
        "trace_tags",
        f"SELECT request_id, key, value FROM trace_tags WHERE key <> '{TRACE_NAME_TAG}' AND request_id IN ({_TRACES}) "
        f"UNION ALL SELECT request_id, '{TRACE_NAME_TAG}', trace_name FROM trace_info "
        "WHERE experiment_id = ? AND trace_name IS NOT NULL",
    ),
    (
        "trace_request_metadata",
        "SELECT request_id, key, value FROM trace_request_metadata "
        f"WHERE key NOT IN ('{SESSION_METADATA}', '{TOKEN_USAGE_METADATA}', '{COST_METADATA}') "
        f"AND request_id IN ({_TRACES}) "
        f"UNION ALL SELECT request_id, '{SESSION_METADATA}', session_id FROM trace_info "
        "WHERE experiment_id = ? AND session_id IS NOT NULL",
    ),
    (
        "trace_request_metadata",
        f"SELECT request_id, {', '.join(_TOKEN_COLUMNS)} FROM trace_info WHERE experiment_id = ? "
        f"AND ({' OR '.join(f'{c} IS NOT NULL' for c in _TOKEN_COLUMNS)})",
    ),
    (
        "trace_request_metadata",
        f"SELECT request_id, {', '.join(_COST_COLUMNS)} FROM trace_info WHERE experiment_id = ? "
        f"AND ({' OR '.join(f'{c} IS NOT NULL' for c in _COST_COLUMNS)})",
    ),
    (
        "spans",
        "SELECT trace_id, span_id, parent_span_id, name, type, status, start_time_unix_nano, end_time_unix_nano, "
        f"content FROM spans WHERE trace_id IN ({_TRACES})",
    ),
    (
        "assessments",
        "SELECT assessment_id, trace_id, name, assessment_type, value, error, created_timestamp, "
        "last_updated_timestamp, source_type, source_id, run_id, span_id, rationale, overrides, valid, "
        f"assessment_metadata FROM assessments WHERE trace_id IN ({_TRACES})",
    ),
    (
        "trace_links",
        "SELECT source_id, destination_type, destination_id FROM entity_associations WHERE source_type = 'trace' "
        f"AND destination_type IN ('run', 'prompt_version') AND source_id IN ({_TRACES})",
    ),
)
assert list(dict.fromkeys(t for t, _ in _TRACE_QUERIES)) == list(TRACE_TABLES)

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
        # SQLite and MySQL: one DB-API connection, read in a thread, one query at a time.
        self._dbapi: Any = None
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
                self._dbapi = await asyncio.to_thread(connect)
            except sqlite3.Error as exc:
                raise ConfigError(f"Cannot open the MLflow database {self.name}: {exc}") from None
        elif self.uri.kind == "mysql":
            self._dbapi = await asyncio.to_thread(_connect_mysql, self.uri, self.name)
        elif self.uri.kind == "postgresql":
            try:
                self._pg = await asyncpg.create_pool(self.uri.target, min_size=1, max_size=2)
            except (OSError, asyncpg.PostgresError) as exc:
                raise ConfigError(f"Cannot connect to the MLflow database {self.name}: {exc}") from None
        else:
            raise ConfigError(f"Unsupported MLflow database {self.name}")
        await self._check_schema()

    async def close(self) -> None:
        if self._dbapi is not None:
            self._dbapi.close()
            self._dbapi = None
        if self._pg is not None:
            await self._pg.close()
            self._pg = None

    async def _tables(self) -> set[str]:
        if self.uri.kind == "sqlite":
            rows = await self._fetch("SELECT name FROM sqlite_master WHERE type = 'table'")
        elif self.uri.kind == "mysql":
            rows = await self._fetch("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
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
                f"aiotrack cannot read; it reads {known}. An older database: upgrade it with one of those "
                f"MLflow versions first (`mlflow db upgrade <uri>`, after a backup), then import; a newer one "
                f"needs a newer aiotrack."
            )
        for table in _WORKSPACE_TABLES:
            row = await self._fetchrow(f"SELECT COUNT(*) FROM {table} WHERE workspace <> 'default'")
            if row and row[0]:
                raise ConfigError(
                    f"The MLflow database {self.name} has {row[0]} {table.replace('_', ' ')} in workspaces other "
                    "than 'default'; aiotrack has no workspaces, so it imports only databases without them."
                )

    # ------------------------------------------------------------------ queries

    def _sql(self, sql: str) -> str:
        """The query in the connection's own parameter style and quoting."""
        if self.uri.kind == "mysql":
            return mysql_sql(sql)
        return sql if self._dbapi is not None else to_dollar_params(sql)

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        if self._dbapi is not None:
            conn, text = self._dbapi, self._sql(sql)

            def run() -> list[Row]:
                cursor = conn.cursor()
                try:
                    cursor.execute(text, tuple(params))
                    return [tuple(r) for r in cursor.fetchall()]
                finally:
                    cursor.close()

            async with self._lock:
                return await asyncio.to_thread(run)
        assert self._pg is not None
        return [tuple(r) for r in await self._pg.fetch(self._sql(sql), *params)]

    async def _fetchrow(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self._fetch(sql, params)
        return rows[0] if rows else None

    def _stream(self, sql: str, params: Sequence[Any]) -> AsyncIterator[list[Row]]:
        """The query's rows in chunks of up to CHUNK_ROWS."""
        return self._stream_dbapi(sql, params) if self._dbapi is not None else self._stream_pg(sql, params)

    async def _stream_dbapi(self, sql: str, params: Sequence[Any]) -> AsyncIterator[list[Row]]:
        conn = self._dbapi
        assert conn is not None
        text = self._sql(sql)
        async with self._lock:
            # MySQL: an unbuffered cursor, so the rows stream from the server in chunks too.
            cursor = conn.cursor(_mysql_streaming_cursor()) if self.uri.kind == "mysql" else conn.cursor()
            try:
                await asyncio.to_thread(cursor.execute, text, tuple(params))
                while rows := await asyncio.to_thread(cursor.fetchmany, CHUNK_ROWS):
                    yield [tuple(r) for r in rows]
            finally:
                await asyncio.to_thread(cursor.close)

    async def _stream_pg(self, sql: str, params: Sequence[Any]) -> AsyncIterator[list[Row]]:
        assert self._pg is not None
        async with self._pg.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            cursor = await conn.cursor(self._sql(sql), *params)
            while records := await cursor.fetch(CHUNK_ROWS):
                yield [tuple(r) for r in records]

    # ------------------------------------------------------------------ the contract

    async def trace_rows(self, experiment_id: int) -> AsyncIterator[tuple[str, list[Row]]]:
        for table, sql in _TRACE_QUERIES:
            params = (experiment_id,) * sql.count("?")
            async for rows in self._stream(sql, params):
                if table == "trace_request_metadata" and len(rows[0]) > 3:
                    rows = [_analytics_metadata(r) for r in rows]
                elif table == "assessments":
                    rows = [_assessment(r) for r in rows]
                elif table == "trace_links":
                    rows = [(r[0], LINK_TYPES[r[1]], r[2]) for r in rows]
                yield table, rows

    async def trace_tally(self, experiment_ids: list[int]) -> TraceCounts:
        """Counted by the source database (one COUNT per trace table and experiment)."""
        out: TraceCounts = {}
        for eid in experiment_ids:
            counts = out[eid] = dict.fromkeys(TRACE_TABLES, 0)
            for table, sql in _TRACE_QUERIES:
                row = await self._fetchrow(f"SELECT COUNT(*) FROM ({sql}) q", (eid,) * sql.count("?"))
                counts[table] += int(row[0]) if row else 0
        return out

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

    async def not_carried(self) -> dict[str, int]:
        present = await self._tables()
        out = {}
        for what, table in NOT_CARRIED:
            if table in present:
                row = await self._fetchrow(f"SELECT COUNT(*) FROM {table}")
                if row and row[0]:
                    out[what] = int(row[0])
        return out

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


MYSQL_SCHEMES = ("mysql", "mysql+pymysql", "mysql+mysqldb", "mysql+mysqlconnector")


def mysql_uri(location: str) -> StoreURI | None:
    """An MLflow MySQL URI (any SQLAlchemy driver spelling: it is read with PyMySQL), or None."""
    scheme, sep, _rest = location.partition("://")
    if not sep or scheme.lower() not in MYSQL_SCHEMES:
        return None
    return StoreURI(kind="mysql", target=location, original=location)


def _connect_mysql(uri: StoreURI, name: str) -> Any:
    try:
        import pymysql
    except ImportError:
        raise ConfigError(f"Reading the MySQL database {name} needs PyMySQL: pip install 'aiotrack[mysql]'.") from None
    parts = urlsplit(uri.target)
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ConfigError(f"The MySQL URI {name} names no database (mysql://user@host:3306/<database>).")
    try:
        conn = pymysql.connect(
            host=parts.hostname or "localhost",
            port=parts.port or 3306,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            database=database,
            charset="utf8mb4",
        )
    except pymysql.MySQLError as exc:
        raise ConfigError(f"Cannot connect to the MLflow database {name}: {exc}") from None
    with conn.cursor() as cursor:  # one consistent, read-only picture per query, like PostgreSQL's
        cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    return conn


def _mysql_streaming_cursor() -> Any:
    import pymysql.cursors

    return pymysql.cursors.SSCursor


_MYSQL_RESERVED = re.compile(r"\bkey\b")


def mysql_sql(sql: str) -> str:
    """A query written for SQLite and PostgreSQL, for MySQL: ``%s`` parameters, and MLflow's
    column ``key`` (a reserved word there) quoted."""
    return _MYSQL_RESERVED.sub("`key`", sql.replace("%", "%%").replace("?", "%s"))


def _analytics_metadata(r: Row) -> Row:
    """(request id, token or cost columns...) -> the metadata row MLflow answers for them."""
    columns = _TOKEN_COLUMNS if len(r) == 1 + len(_TOKEN_COLUMNS) else _COST_COLUMNS
    if columns is _TOKEN_COLUMNS:
        values = {c: int(v) for c, v in zip(columns, r[1:], strict=True) if v is not None}
        return (r[0], TOKEN_USAGE_METADATA, json.dumps(values))
    costs = {c: float(v) for c, v in zip(columns, r[1:], strict=True) if v is not None}
    return (r[0], COST_METADATA, json.dumps(costs))


def _assessment(r: Row) -> Row:
    return assessment_row_of_columns(
        assessment_id=r[0],
        trace_id=r[1],
        name=r[2],
        kind=r[3],
        value=r[4],
        error=r[5],
        created_ms=int(r[6]),
        updated_ms=int(r[7]),
        source_type=r[8],
        source_id=r[9],
        run_id=r[10],
        span_id=r[11],
        rationale=r[12],
        overrides=r[13],
        valid=bool(r[14]),
        metadata=r[15],
    )


def _model_metric(row: Row) -> Row:
    value, is_nan = metric_value(row[4])
    return (*row[:4], value, is_nan, *row[6:])
