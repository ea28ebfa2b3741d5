"""MLflow 3 traces over SQL (migration 0005), in the tracking database.

The hot writes (span ingest and start-trace) are ``Database.run`` bodies: on SQLite a whole
batch of spans, with the traces it creates or widens, is one transaction in one thread round
trip; spans go in with one batched upsert. Reads hydrate a page of traces with one UNION query
(tags, metadata and assessments together).

Spans and trace infos may arrive in either order (the mlflow client sends each span over OTLP
as it ends and the trace info after the root span): whichever comes first creates the trace.
Start-trace marks the info *finalized*; spans arriving later no longer move its time range.
"""

from __future__ import annotations

import uuid
from collections.abc import Generator, Sequence
from typing import Any

import orjson

from aiotrack.errors import AiotrackError, invalid, not_found
from aiotrack.stores.base import SpanRow, TraceMetricRow, TracesToDelete, TraceStore, TraceUpdate
from aiotrack.stores.sql.common import (
    change_one,
    experiment_ids_to_search,
    given,
    keyed_statements,
    marks,
    parse_experiment_id,
)
from aiotrack.stores.sql.database import Database, ExecMany, Execute, Fetch, FetchRow
from aiotrack.stores.sql.trace_search import INFO_COLUMNS, filter_condition, search_query

ARTIFACT_LOCATION_TAG = "mlflow.artifactLocation"
SPANS_LOCATION_TAG = "mlflow.trace.spansLocation"
TRACKING_STORE = "TRACKING_STORE"
FINALIZED_METADATA = "mlflow.trace.infoFinalized"
IN_PROGRESS = "IN_PROGRESS"
UNSPECIFIED = "STATE_UNSPECIFIED"
IN_CHUNK = 500


def _join_uri(root: str, *parts: str) -> str:
    """MLflow's append_to_uri_path: ``mlflow-artifacts:/2`` + ``traces`` -> ``mlflow-artifacts:/2/traces``."""
    tail = "/".join(parts)
    if not root:
        return tail
    if root.endswith(":/") or root.endswith(":///"):
        return root + tail
    return root.rstrip("/") + "/" + tail


def trace_not_found(trace_id: str) -> AiotrackError:
    return not_found(f"Trace with ID {trace_id} is not found.")


def _info(row: Sequence[Any]) -> dict[str, Any]:
    return {
        "trace_id": row[0],
        "experiment_id": str(row[1]),
        "timestamp_ms": row[2],
        "execution_time_ms": row[3],
        "state": row[4],
        "client_request_id": row[5],
        "request_preview": row[6],
        "response_preview": row[7],
        "tags": {},
        "metadata": {},
        "assessments": [],
    }


# The columns of a span row and of an assessment row, in the order span_values and assessment_row
# give them: the order of this module's INSERTs and of the import's bulk loads (bulk.TRACE_TABLES).
SPAN_FIELDS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "type",
    "status",
    "start_time_unix_nano",
    "end_time_unix_nano",
    "content",
)
ASSESSMENT_FIELDS = (
    "assessment_id",
    "trace_id",
    "name",
    "assessment_type",
    "value",
    "valid",
    "overrides",
    "created_timestamp",
    "last_updated_timestamp",
    "body",
)


def span_values(s: SpanRow) -> tuple[Any, ...]:
    """A span's row of the ``spans`` table, in the order of :data:`SPAN_FIELDS`."""
    return (
        s.trace_id,
        s.span_id,
        s.parent_span_id,
        s.name,
        s.type,
        s.status,
        s.start_time_unix_nano,
        s.end_time_unix_nano,
        s.content,
    )


def _status_of_root(spans: Sequence[SpanRow]) -> str | None:
    for s in spans:
        if s.parent_span_id is None:
            return "ERROR" if s.status == "ERROR" else "OK"
    return None


def _experiment_row(row: Sequence[Any] | None, experiment_id: str, *, active: bool) -> str:
    if row is None:
        raise not_found(f"No Experiment with id={experiment_id} exists")
    if active and row[0] != "active":
        raise invalid(f"The experiment {experiment_id} must be in the 'active' state. Current state is {row[0]}.")
    return row[1] or ""


_UPSERT_TAG, _DELETE_TAG = keyed_statements("trace_tags", ("request_id", "key"), "value")
_UPSERT_METADATA = keyed_statements("trace_request_metadata", ("request_id", "key"), "value")[0]
# A span sent again (same trace and span id) replaces every other column of its row.
_UPSERT_SPAN = (
    f"INSERT INTO spans ({', '.join(SPAN_FIELDS)}) VALUES ({marks(len(SPAN_FIELDS))}) "
    "ON CONFLICT (trace_id, span_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in SPAN_FIELDS if c not in ("trace_id", "span_id"))
)
_INSERT_ASSESSMENT = (
    f"INSERT INTO assessments ({', '.join(ASSESSMENT_FIELDS)}) VALUES ({marks(len(ASSESSMENT_FIELDS))})"
)


def _log_spans_body(
    experiment_id: str, by_trace: dict[str, list[SpanRow]], resource_tags: Sequence[tuple[str, str]]
) -> Generator[Any, Any, None]:
    ids = sorted(by_trace)
    existing: dict[str, Sequence[Any]] = {}
    for i in range(0, len(ids), IN_CHUNK):
        chunk = ids[i : i + IN_CHUNK]
        rows = yield Fetch(
            "SELECT request_id, experiment_id, finalized, status, request_preview, response_preview "
            f"FROM trace_info WHERE request_id IN ({marks(len(chunk))})",
            chunk,
        )
        existing.update({r[0]: r for r in rows})
    missing = [t for t in ids if t not in existing]
    tags: list[tuple[str, str, str | None]] = []
    if missing:
        eid = parse_experiment_id(experiment_id)
        exp = yield FetchRow(
            "SELECT lifecycle_stage, artifact_location FROM experiments WHERE experiment_id = ?", (eid,)
        )
        root = _experiment_row(exp, experiment_id, active=False)
        new_rows = []
        for t in missing:
            spans = by_trace[t]
            start = min(s.start_time_unix_nano for s in spans) // 1_000_000
            ends = [s.end_time_unix_nano for s in spans if s.end_time_unix_nano]
            root_span = next((s for s in spans if s.parent_span_id is None), None)
            new_rows.append(
                (
                    t,
                    eid,
                    start,
                    (max(ends) // 1_000_000 - start) if ends else None,
                    _status_of_root(spans) or IN_PROGRESS,
                    root_span.request_preview if root_span else None,
                    root_span.response_preview if root_span else None,
                )
            )
            tags.append((t, ARTIFACT_LOCATION_TAG, _join_uri(root, "traces", t, "artifacts")))
        # DO NOTHING: a start-trace that won a race keeps its (authoritative) values; the
        # updates below then treat the trace as an existing one.
        yield ExecMany(
            "INSERT INTO trace_info (request_id, experiment_id, timestamp_ms, execution_time_ms, status, "
            "request_preview, response_preview) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING",
            new_rows,
        )
    yield ExecMany(_UPSERT_SPAN, [span_values(s) for t in ids for s in by_trace[t]])
    # Every trace, the ones just inserted too: a concurrent batch of the same new trace may have
    # inserted it first (our INSERT then did nothing), and its values must still be widened by
    # these spans. For a row this batch inserted, the updates change nothing.
    widen = []
    for t in ids:
        spans = by_trace[t]
        start = min(s.start_time_unix_nano for s in spans) // 1_000_000
        ends = [s.end_time_unix_nano for s in spans if s.end_time_unix_nano]
        end = max(ends) // 1_000_000 if ends else start
        widen.append((end, start, start, start, start, t))
        root_span = next((s for s in spans if s.parent_span_id is None), None)
        if root_span is not None:
            status = _status_of_root(spans)
            yield ExecMany(
                "UPDATE trace_info SET status = CASE WHEN status IN (?, ?) THEN ? ELSE status END, "
                "request_preview = COALESCE(request_preview, ?), response_preview = COALESCE(response_preview, ?) "
                "WHERE request_id = ?",
                [(IN_PROGRESS, UNSPECIFIED, status, root_span.request_preview, root_span.response_preview, t)],
            )
    if widen:
        # Earliest start and latest end over all spans; the old end is timestamp + duration.
        yield ExecMany(
            "UPDATE trace_info SET execution_time_ms = CASE WHEN timestamp_ms + COALESCE(execution_time_ms, 0) > ? "
            "THEN timestamp_ms + COALESCE(execution_time_ms, 0) ELSE ? END - "
            "CASE WHEN timestamp_ms > ? THEN ? ELSE timestamp_ms END, "
            "timestamp_ms = CASE WHEN timestamp_ms > ? THEN ? ELSE timestamp_ms END "
            "WHERE request_id = ? AND finalized = 0",
            [(end, end, a, b, c, d, t) for end, a, b, c, d, t in widen],
        )
    for t in ids:
        tags.append((t, SPANS_LOCATION_TAG, TRACKING_STORE))
        for k, v in resource_tags:
            tags.append((t, k, v))
        for s in by_trace[t]:
            for k, v in s.trace_tags:
                tags.append((t, k, v))
    yield ExecMany(_UPSERT_TAG, tags)


def _start_trace_body(info: dict[str, Any], subpath: tuple[str, ...]) -> Generator[Any, Any, None]:
    eid = parse_experiment_id(info["experiment_id"])
    exp = yield FetchRow("SELECT lifecycle_stage, artifact_location FROM experiments WHERE experiment_id = ?", (eid,))
    root = _experiment_row(exp, info["experiment_id"], active=True)
    t = info["trace_id"]
    yield Execute(
        "INSERT INTO trace_info (request_id, experiment_id, timestamp_ms, execution_time_ms, status, "
        "client_request_id, request_preview, response_preview, finalized) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1) "
        "ON CONFLICT (request_id) DO UPDATE SET experiment_id = excluded.experiment_id, "
        "timestamp_ms = excluded.timestamp_ms, execution_time_ms = excluded.execution_time_ms, "
        "status = excluded.status, client_request_id = excluded.client_request_id, "
        "request_preview = COALESCE(excluded.request_preview, trace_info.request_preview), "
        "response_preview = COALESCE(excluded.response_preview, trace_info.response_preview), finalized = 1",
        (
            t,
            eid,
            info["timestamp_ms"],
            info.get("execution_time_ms"),
            info["state"],
            info.get("client_request_id"),
            info.get("request_preview"),
            info.get("response_preview"),
        ),
    )
    tags = dict(info.get("tags") or {})
    tags[ARTIFACT_LOCATION_TAG] = _join_uri(root, *subpath, t, "artifacts")
    yield ExecMany(_UPSERT_TAG, [(t, k, v) for k, v in sorted(tags.items())])
    metadata = dict(info.get("metadata") or {})
    metadata[FINALIZED_METADATA] = "true"
    yield ExecMany(_UPSERT_METADATA, [(t, k, v) for k, v in sorted(metadata.items())])
    assessments = info.get("assessments") or []
    if assessments:
        yield ExecMany(
            f"{_INSERT_ASSESSMENT} ON CONFLICT (assessment_id) DO NOTHING", [assessment_row(t, a) for a in assessments]
        )


def assessment_row(trace_id: str, a: dict[str, Any]) -> tuple[Any, ...]:
    """An assessment (with the store fields already set by the service) -> its row, in the order of
    :data:`ASSESSMENT_FIELDS`."""
    return (
        a["assessment_id"],
        trace_id,
        a["assessment_name"],
        a["_type"],
        a["_value"],
        0 if a.get("valid") is False else 1,
        a.get("overrides"),
        a["_created"],
        a["_updated"],
        orjson.dumps({k: v for k, v in a.items() if not k.startswith("_")}).decode(),
    )


class SqlTraceStore(TraceStore):
    def __init__(self, db: Database):
        self.db = db

    # ------------------------------------------------------------------ reads

    async def _hydrate(self, rows: Sequence[Sequence[Any]], src: Any = None) -> list[dict[str, Any]]:
        if not rows:
            return []
        src = src or self.db
        infos = [_info(r) for r in rows]
        by_id = {i["trace_id"]: i for i in infos}
        ids = list(by_id)
        assessments: dict[str, list[tuple[int, str]]] = {}
        for i in range(0, len(ids), IN_CHUNK):
            chunk = ids[i : i + IN_CHUNK]
            m = marks(len(chunk))
            for tid, kind, key, value, order in await src.fetch(
                f"SELECT request_id, 't', key, value, 0 FROM trace_tags WHERE request_id IN ({m}) "
                "UNION ALL SELECT request_id, 'm', key, value, 0 FROM trace_request_metadata "
                f"WHERE request_id IN ({m}) "
                f"UNION ALL SELECT trace_id, 'a', assessment_id, body, created_timestamp FROM assessments "
                f"WHERE trace_id IN ({m})",
                [*chunk, *chunk, *chunk],
            ):
                if kind == "t":
                    by_id[tid]["tags"][key] = value
                elif kind == "m":
                    by_id[tid]["metadata"][key] = value
                else:
                    assessments.setdefault(tid, []).append((order, value))
        for tid, items in assessments.items():
            items.sort()
            by_id[tid]["assessments"] = [orjson.loads(body) for _, body in items]
        return infos

    async def get_trace_infos(
        self, trace_ids: Sequence[str], experiment_ids: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        ids = list(dict.fromkeys(trace_ids))
        rows: list[Any] = []
        for i in range(0, len(ids), IN_CHUNK):
            chunk = ids[i : i + IN_CHUNK]
            sql = f"SELECT {INFO_COLUMNS} FROM trace_info WHERE request_id IN ({marks(len(chunk))})"
            params: list[Any] = list(chunk)
            if experiment_ids is not None:
                eids = [parse_experiment_id(e) for e in experiment_ids]
                if not eids:
                    return []
                sql += f" AND experiment_id IN ({marks(len(eids))})"
                params += eids
            rows += await self.db.fetch(sql, params)
        infos = {i["trace_id"]: i for i in await self._hydrate(rows)}
        return [infos[t] for t in ids if t in infos]

    async def get_span_contents(self, trace_ids: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        ids = list(dict.fromkeys(trace_ids))
        for i in range(0, len(ids), IN_CHUNK):
            chunk = ids[i : i + IN_CHUNK]
            for tid, content in await self.db.fetch(
                f"SELECT trace_id, content FROM spans WHERE trace_id IN ({marks(len(chunk))}) "
                "ORDER BY trace_id, start_time_unix_nano, span_id",
                chunk,
            ):
                out.setdefault(tid, []).append(content)
        return out

    async def search_traces(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None,
        order_by: Sequence[str],
        limit: int,
        offset: int,
    ) -> list[dict[str, Any]]:
        eids = experiment_ids_to_search(experiment_ids)
        sql, params = search_query(self.db.dialect, eids, filter_string, order_by, limit, offset)
        if not eids:
            return []
        return await self._hydrate(await self.db.fetch(sql, params))

    async def count_matching(self, experiment_ids: Sequence[str], filters: Sequence[str | None]) -> list[int]:
        """How many traces of the experiments match each filter (for filter correlation)."""
        eids = [parse_experiment_id(e) for e in experiment_ids]
        if not eids:
            return [0 for _ in filters]
        parts, params = [], []
        for f in filters:
            cond, p = filter_condition(self.db.dialect, f)
            parts.append(f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)")
            params += p
        sql = f"SELECT {', '.join(parts)} FROM trace_info WHERE experiment_id IN ({marks(len(eids))})"
        row = await self.db.fetchrow(sql, [*params, *eids])
        return [int(v or 0) for v in (row or [0] * len(filters))]

    async def metric_rows(
        self, experiment_ids: Sequence[str], filters: Sequence[str], time_range: tuple[int | None, int | None]
    ) -> list[TraceMetricRow]:
        start_time_ms, end_time_ms = time_range
        eids = [parse_experiment_id(e) for e in experiment_ids]
        if not eids:
            return []
        conds, params = [], []
        for f in filters:
            cond, p = filter_condition(self.db.dialect, f)
            conds.append(cond)
            params += p
        where = [f"trace_info.experiment_id IN ({marks(len(eids))})", *conds]
        in_range, range_params = given(
            [("trace_info.timestamp_ms >= ?", start_time_ms), ("trace_info.timestamp_ms < ?", end_time_ms)]
        )
        where += in_range
        params = [*eids, *params, *range_params]
        sql = (
            "SELECT trace_info.timestamp_ms, trace_info.execution_time_ms, trace_info.status, nt.value FROM trace_info "
            "LEFT JOIN trace_tags nt ON nt.request_id = trace_info.request_id AND nt.key = 'mlflow.traceName' "
            f"WHERE {' AND '.join(where)}"
        )
        return [tuple(r) for r in await self.db.fetch(sql, params)]

    # ------------------------------------------------------------------ writes

    async def start_trace(self, info: dict[str, Any], artifact_subpath: tuple[str, ...]) -> dict[str, Any]:
        await self.db.run(_start_trace_body, info, artifact_subpath)
        return (await self.get_trace_infos([info["trace_id"]]))[0]

    async def log_spans(
        self, experiment_id: str, spans: Sequence[SpanRow], resource_tags: Sequence[tuple[str, str]]
    ) -> None:
        by_trace: dict[str, list[SpanRow]] = {}
        for s in spans:
            by_trace.setdefault(s.trace_id, []).append(s)
        if by_trace:
            await self.db.run(_log_spans_body, experiment_id, by_trace, list(resource_tags))

    async def _require(self, tx: Any, trace_id: str) -> None:
        if await tx.fetchrow("SELECT 1 FROM trace_info WHERE request_id = ?", (trace_id,)) is None:
            raise trace_not_found(trace_id)

    async def set_trace_tag(self, trace_id: str, key: str, value: str) -> None:
        async with self.db.transaction() as tx:
            await self._require(tx, trace_id)
            await tx.execute(_UPSERT_TAG, (trace_id, key, value))

    async def delete_trace_tag(self, trace_id: str, key: str) -> None:
        async with self.db.transaction() as tx:
            await self._require(tx, trace_id)
            await change_one(
                tx,
                _DELETE_TAG,
                (trace_id, key),
                not_found(f"No trace tag with key '{key}' for trace with ID '{trace_id}'"),
            )

    async def delete_traces(self, experiment_id: str, which: TracesToDelete) -> tuple[int, list[str]]:
        eid = parse_experiment_id(experiment_id)
        async with self.db.transaction() as tx:
            if which.trace_ids:
                ids = list(dict.fromkeys(which.trace_ids))
                found = []
                for i in range(0, len(ids), IN_CHUNK):
                    chunk = ids[i : i + IN_CHUNK]
                    found += await tx.fetch(
                        "SELECT request_id FROM trace_info WHERE experiment_id = ? "
                        f"AND request_id IN ({marks(len(chunk))})",
                        [eid, *chunk],
                    )
            else:
                sql = "SELECT request_id FROM trace_info WHERE experiment_id = ? AND timestamp_ms <= ?"
                sql += " ORDER BY timestamp_ms ASC, request_id ASC"
                params: list[Any] = [eid, which.max_timestamp_millis]
                if which.max_traces is not None:
                    sql += " LIMIT ?"
                    params.append(which.max_traces)
                found = await tx.fetch(sql, params)
            doomed = [r[0] for r in found]
            locations = []
            for i in range(0, len(doomed), IN_CHUNK):
                chunk = doomed[i : i + IN_CHUNK]
                m = marks(len(chunk))
                locations += [
                    r[0]
                    for r in await tx.fetch(
                        f"SELECT value FROM trace_tags WHERE key = ? AND request_id IN ({m})",
                        [ARTIFACT_LOCATION_TAG, *chunk],
                    )
                    if r[0]
                ]
                # Children cascade (spans, tags, metadata, assessments, links).
                await tx.execute(f"DELETE FROM trace_info WHERE request_id IN ({m})", chunk)
            return len(doomed), locations

    async def link_traces(
        self, trace_ids: Sequence[str], destination_type: str, destination_ids: Sequence[str]
    ) -> None:
        ids = list(dict.fromkeys(trace_ids))
        async with self.db.transaction() as tx:
            present = []
            for i in range(0, len(ids), IN_CHUNK):
                chunk = ids[i : i + IN_CHUNK]
                present += [
                    r[0]
                    for r in await tx.fetch(
                        f"SELECT request_id FROM trace_info WHERE request_id IN ({marks(len(chunk))})", chunk
                    )
                ]
            rows = [(t, destination_type, d) for t in present for d in destination_ids]
            if rows:
                await tx.executemany(
                    "INSERT INTO trace_links (trace_id, destination_type, destination_id) VALUES (?, ?, ?) "
                    "ON CONFLICT (trace_id, destination_type, destination_id) DO NOTHING",
                    rows,
                )

    async def update_trace(self, trace_id: str, update: TraceUpdate) -> dict[str, Any]:
        async with self.db.transaction() as tx:
            await self._require(tx, trace_id)
            sets, params = given(
                [
                    ("timestamp_ms = ?", update.timestamp_ms),
                    ("execution_time_ms = ?", update.execution_time_ms),
                    ("status = ?", update.state),
                ]
            )
            if sets:
                await tx.execute(f"UPDATE trace_info SET {', '.join(sets)} WHERE request_id = ?", [*params, trace_id])
            if update.tags:
                await tx.executemany(_UPSERT_TAG, [(trace_id, k, v) for k, v in sorted(update.tags.items())])
            if update.metadata:
                await tx.executemany(_UPSERT_METADATA, [(trace_id, k, v) for k, v in sorted(update.metadata.items())])
        return (await self.get_trace_infos([trace_id]))[0]

    # ------------------------------------------------------------------ assessments

    async def create_assessment(self, trace_id: str, assessment: dict[str, Any]) -> dict[str, Any]:
        async with self.db.transaction() as tx:
            await self._require(tx, trace_id)
            overrides = assessment.get("overrides")
            if overrides:
                row = await tx.fetchrow(
                    "SELECT body FROM assessments WHERE trace_id = ? AND assessment_id = ?", (trace_id, overrides)
                )
                if row is None:
                    raise not_found(f"Assessment with ID '{overrides}' not found for trace '{trace_id}'")
                body = orjson.loads(row[0])
                body["valid"] = False
                await tx.execute(
                    "UPDATE assessments SET valid = 0, body = ? WHERE assessment_id = ?",
                    (orjson.dumps(body).decode(), overrides),
                )
            await tx.execute(_INSERT_ASSESSMENT, assessment_row(trace_id, assessment))
        return {k: v for k, v in assessment.items() if not k.startswith("_")}

    async def get_assessment(self, trace_id: str, assessment_id: str) -> dict[str, Any]:
        row = await self.db.fetchrow(
            "SELECT body FROM assessments WHERE trace_id = ? AND assessment_id = ?", (trace_id, assessment_id)
        )
        if row is None:
            raise not_found(f"Assessment with ID '{assessment_id}' not found for trace '{trace_id}'")
        body: dict[str, Any] = orjson.loads(row[0])
        return body

    async def replace_assessment(self, trace_id: str, assessment: dict[str, Any]) -> dict[str, Any]:
        row = assessment_row(trace_id, assessment)
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE assessments SET name = ?, value = ?, valid = ?, last_updated_timestamp = ?, body = ? "
                "WHERE trace_id = ? AND assessment_id = ?",
                (row[2], row[4], row[5], row[8], row[9], trace_id, row[0]),
            )
            if not changed:
                raise not_found(f"Assessment with ID '{row[0]}' not found for trace '{trace_id}'")
        return {k: v for k, v in assessment.items() if not k.startswith("_")}

    async def delete_assessment(self, trace_id: str, assessment_id: str) -> None:
        async with self.db.transaction() as tx:
            await self._require(tx, trace_id)
            row = await tx.fetchrow(
                "SELECT overrides FROM assessments WHERE trace_id = ? AND assessment_id = ?", (trace_id, assessment_id)
            )
            if row is None:
                return
            if row[0]:
                old = await tx.fetchrow("SELECT body FROM assessments WHERE assessment_id = ?", (row[0],))
                if old is not None:
                    body = orjson.loads(old[0])
                    body["valid"] = True
                    await tx.execute(
                        "UPDATE assessments SET valid = 1, body = ? WHERE assessment_id = ?",
                        (orjson.dumps(body).decode(), row[0]),
                    )
            await tx.execute("DELETE FROM assessments WHERE assessment_id = ?", (assessment_id,))


def new_assessment_id() -> str:
    return "a-" + uuid.uuid4().hex
