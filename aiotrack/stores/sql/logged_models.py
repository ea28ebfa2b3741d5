"""MLflow 3 logged models over SQL (migration 0003), in the tracking database.

Search semantics follow MLflow's SQL store (``search_logged_models``):

- attribute comparisons on the model's columns; ``status`` accepts the enum name
  (``'READY'``, ``'LOGGED_MODEL_READY'``) or its number as a string;
- ``metrics.k <op> v`` holds when any metric row of the model with that name matches (restricted
  to the requested ``datasets`` when given); ``params.``/``tags.`` comparisons need the key;
- ``datasets`` without a metric filter keep the models with any metric on one of the datasets;
  a dataset entry without a digest matches any digest (MLflow 3.17 compares the digest with
  NULL there and so matches only metrics logged without a digest: a bug not copied);
- order: the given fields (attributes, or ``metrics.<name>`` by the model's latest value of that
  metric: newest timestamp, then step, then run id) with NULLs last, then
  ``creation_timestamp DESC`` and ``model_id ASC`` unless already ordered by them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from aiotrack.artifacts.locations import join_uri
from aiotrack.entities import KeyValue
from aiotrack.errors import INVALID_PARAMETER_VALUE, AiotrackError, invalid, not_found
from aiotrack.names import experiment_not_active, experiment_not_found, logged_model_not_found
from aiotrack.search import LOGGED_MODELS, parse_filter
from aiotrack.search.ast import ATTRIBUTE, METRIC, PARAM, TAG
from aiotrack.stores.base import LoggedModelIn, LoggedModelSearch, LoggedModelStore
from aiotrack.stores.sql.common import (
    chunks,
    experiment_ids_to_search,
    key_values_by,
    marks,
    now_ms,
    one_page,
    parse_experiment_id,
)
from aiotrack.stores.sql.database import Database, Row, Tx
from aiotrack.stores.sql.search_sql import _limit_offset, _Sql

STATUS_NAMES = {
    0: "LOGGED_MODEL_STATUS_UNSPECIFIED",
    1: "LOGGED_MODEL_PENDING",
    2: "LOGGED_MODEL_READY",
    3: "LOGGED_MODEL_UPLOAD_FAILED",
}
# Spellings a filter may use for a status (MLflow's entity names and the proto names).
_STATUS_VALUES = {
    **{name: n for n, name in STATUS_NAMES.items()},
    "UNSPECIFIED": 0,
    "PENDING": 1,
    "READY": 2,
    "FAILED": 3,
    "UPLOAD_FAILED": 3,
    **{str(n): n for n in STATUS_NAMES},
}
PENDING = 1

LM_COLUMNS = (
    "logged_models.model_id, logged_models.experiment_id, logged_models.name, logged_models.artifact_location, "
    "logged_models.creation_timestamp_ms, logged_models.last_updated_timestamp_ms, logged_models.status, "
    "logged_models.model_type, logged_models.source_run_id, logged_models.status_message"
)
# MLflow attribute (and alias) -> column
_ATTR_COLUMNS = {
    "model_id": "model_id",
    "experiment_id": "experiment_id",
    "name": "name",
    "artifact_location": "artifact_location",
    "creation_timestamp": "creation_timestamp_ms",
    "creation_time": "creation_timestamp_ms",
    "creation_timestamp_ms": "creation_timestamp_ms",
    "last_updated_timestamp": "last_updated_timestamp_ms",
    "last_updated_time": "last_updated_timestamp_ms",
    "last_updated_timestamp_ms": "last_updated_timestamp_ms",
    "status": "status",
    "lifecycle_stage": "lifecycle_stage",
    "model_type": "model_type",
    "source_run_id": "source_run_id",
    "status_message": "status_message",
}
_NUMERIC_COLUMNS = {"creation_timestamp_ms", "last_updated_timestamp_ms", "experiment_id", "status"}


def _info(row: Row, tags: list[Any] | None) -> dict[str, Any]:
    (
        model_id,
        experiment_id,
        name,
        artifact_location,
        creation_ms,
        last_updated_ms,
        status,
        model_type,
        source_run_id,
        status_message,
    ) = row  # LM_COLUMNS
    info: dict[str, Any] = {
        "model_id": model_id,
        "experiment_id": str(experiment_id),
        "name": name,
        "creation_timestamp_ms": creation_ms,
        "last_updated_timestamp_ms": last_updated_ms,
        "artifact_uri": artifact_location,
        "status": STATUS_NAMES.get(status, STATUS_NAMES[0]),
    }
    optional = (("model_type", model_type), ("source_run_id", source_run_id), ("status_message", status_message))
    info.update((key, value) for key, value in optional if value is not None)
    if tags:
        info["tags"] = tags
    return info


def _status_value(value: object) -> int:
    key = str(value).upper()
    if key not in _STATUS_VALUES:
        raise invalid(
            f"Invalid logged model status {value!r}. Expected one of "
            f"{sorted(k for k in _STATUS_VALUES if not k.isdigit())} or their numbers."
        )
    return _STATUS_VALUES[key]


class SqlLoggedModelStore(LoggedModelStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ helpers

    async def _row(self, model_id: str, src: Tx | Database | None = None, allow_deleted: bool = False) -> Row:
        src = src or self.db
        sql = f"SELECT {LM_COLUMNS} FROM logged_models WHERE model_id = ?"
        if not allow_deleted:
            sql += " AND lifecycle_stage <> 'deleted'"
        row = await src.fetchrow(sql, (model_id,))
        if row is None:
            raise logged_model_not_found(model_id)
        return row

    async def _hydrate(self, rows: Sequence[Row], src: Tx | Database | None = None) -> list[dict[str, Any]]:
        src = src or self.db  # no rows: no query runs (each read goes by chunks of the ids)
        ids = [r[0] for r in rows]
        tags = await key_values_by(
            src,
            "SELECT model_id, tag_key, tag_value FROM logged_model_tags WHERE model_id IN ({in_list}) "
            "ORDER BY model_id, tag_key",
            ids,
        )
        params = await key_values_by(
            src,
            "SELECT model_id, param_key, param_value FROM logged_model_params WHERE model_id IN ({in_list}) "
            "ORDER BY model_id, param_key",
            ids,
        )
        metrics: dict[str, list[Any]] = {}
        for chunk in chunks(ids):
            in_list = marks(len(chunk))
            for mid, key, ts, step, value, is_nan, run_id, ds_name, ds_digest in await src.fetch(
                "SELECT model_id, metric_name, metric_timestamp_ms, metric_step, metric_value, is_nan, run_id, "
                f"dataset_name, dataset_digest FROM logged_model_metrics WHERE model_id IN ({in_list}) "
                "ORDER BY model_id, metric_name, metric_timestamp_ms, metric_step, run_id",
                chunk,
            ):
                m: dict[str, Any] = {"key": key, "value": "NaN" if is_nan else value, "timestamp": ts, "step": step}
                if ds_name is not None:
                    m["dataset_name"] = ds_name
                if ds_digest is not None:
                    m["dataset_digest"] = ds_digest
                m["model_id"] = mid
                m["run_id"] = run_id
                metrics.setdefault(mid, []).append(m)
        out = []
        for r in rows:
            data: dict[str, Any] = {}
            if r[0] in params:
                data["params"] = params[r[0]]
            if r[0] in metrics:
                data["metrics"] = metrics[r[0]]
            out.append({"info": _info(r, tags.get(r[0])), "data": data})
        return out

    # ------------------------------------------------------------------ CRUD

    async def create_logged_model(self, experiment_id: str, model: LoggedModelIn) -> dict[str, Any]:
        eid = parse_experiment_id(experiment_id)
        model_id = f"m-{uuid.uuid4().hex}"
        now = now_ms()
        async with self.db.transaction() as tx:
            exp = await tx.fetchrow(
                "SELECT lifecycle_stage, artifact_location FROM experiments WHERE experiment_id = ?", (eid,)
            )
            if exp is None:
                raise experiment_not_found(experiment_id)
            if exp[0] != "active":
                raise experiment_not_active(experiment_id, exp[0])
            location = join_uri(exp[1] or "", "models", model_id, "artifacts")
            await tx.execute(
                "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_timestamp_ms, "
                "last_updated_timestamp_ms, status, lifecycle_stage, model_type, source_run_id, status_message) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, NULL)",
                (model_id, eid, model.name, location, now, now, PENDING, model.model_type, model.source_run_id),
            )
            await _upsert_key_values(tx, _PARAMS, model_id, eid, model.params)
            await _upsert_key_values(tx, _TAGS, model_id, eid, model.tags)
            row = await self._row(model_id, tx)
            return (await self._hydrate([row], tx))[0]

    async def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> dict[str, Any]:
        row = await self._row(model_id, allow_deleted=allow_deleted)
        return (await self._hydrate([row]))[0]

    async def delete_logged_model(self, model_id: str) -> None:
        async with self.db.transaction() as tx:
            await self._row(model_id, tx)
            await tx.execute(
                "UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_timestamp_ms = ? "
                "WHERE model_id = ?",
                (now_ms(), model_id),
            )

    async def finalize_logged_model(self, model_id: str, status: int) -> dict[str, Any]:
        async with self.db.transaction() as tx:
            await self._row(model_id, tx)
            await tx.execute(
                "UPDATE logged_models SET status = ?, last_updated_timestamp_ms = ? WHERE model_id = ?",
                (status, now_ms(), model_id),
            )
            row = await self._row(model_id, tx)
            return (await self._hydrate([row], tx))[0]

    async def set_logged_model_tags(self, model_id: str, tags: Sequence[KeyValue]) -> None:
        async with self.db.transaction() as tx:
            row = await self._row(model_id, tx)
            await _upsert_key_values(tx, _TAGS, model_id, row[1], tags)

    async def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        async with self.db.transaction() as tx:
            await self._row(model_id, tx)
            changed = await tx.execute(
                "DELETE FROM logged_model_tags WHERE model_id = ? AND tag_key = ?", (model_id, key)
            )
            if not changed:
                raise not_found(f"No tag with key {key!r} found for model with ID {model_id!r}.")

    async def log_logged_model_params(self, model_id: str, params: Sequence[KeyValue]) -> None:
        async with self.db.transaction() as tx:
            row = await self._row(model_id, tx)
            await _upsert_key_values(tx, _PARAMS, model_id, row[1], params)

    # ------------------------------------------------------------------ search

    async def search_logged_models(
        self, experiment_ids: list[str], search: LoggedModelSearch
    ) -> tuple[list[dict[str, Any]], bool]:
        ids = experiment_ids_to_search(experiment_ids)
        if not ids:
            return [], False
        sql, params = search_query(
            self.db, ids, search.filter_string, search.datasets, search.order_by, search.max_results + 1, search.offset
        )
        rows, more = one_page(await self.db.fetch(sql, params), search.max_results)
        return await self._hydrate(rows), more


def _dataset_condition(q: _Sql, alias: str, datasets: list[dict[str, Any]] | None) -> str | None:
    if not datasets:
        return None
    parts = []
    for d in datasets:
        cond = f"{alias}.dataset_name = {q.bind(d['dataset_name'])}"
        if d.get("dataset_digest"):
            cond += f" AND {alias}.dataset_digest = {q.bind(d['dataset_digest'])}"
        parts.append(f"({cond})")
    return "(" + " OR ".join(parts) + ")"


def search_query(
    db: Database,
    experiment_ids: list[int],
    filter_string: str | None,
    datasets: list[dict[str, Any]] | None,
    order_by: list[dict[str, Any]] | None,
    limit: int,
    offset: int,
) -> tuple[str, list[Any]]:
    comparisons = parse_filter(filter_string, LOGGED_MODELS)
    q = _Sql(db.dialect)
    joins: list[str] = []
    terms: list[str] = []
    has_created = has_id = False
    # ORDER BY joins come first in the text, so their parameters are bound first.
    for ob in order_by or []:
        field_name = ob.get("field_name")
        if not isinstance(field_name, str) or not field_name:
            raise invalid("Invalid order by field name: " + str(field_name))
        direction = "ASC" if ob.get("ascending", True) else "DESC"
        if "." not in field_name:
            column = _ATTR_COLUMNS.get(field_name)
            if column is None:
                raise AiotrackError(f"Invalid order by field name: {field_name}", INVALID_PARAMETER_VALUE)
            has_created |= column == "creation_timestamp_ms"
            has_id |= column == "model_id"
            terms += [
                f"CASE WHEN logged_models.{column} IS NULL THEN 1 ELSE 0 END",
                f"logged_models.{column} {direction}",
            ]
            continue
        entity, name = field_name.split(".", 1)
        if entity != "metrics":
            raise invalid(f"Invalid order by field name: {field_name}. Only metrics are supported.")
        a, inner = q.alias("om"), q.alias("lm")
        conds = [f"{inner}.metric_name = {q.bind(name)}"]
        if ob.get("dataset_name"):
            conds.append(f"{inner}.dataset_name = {q.bind(ob['dataset_name'])}")
        if ob.get("dataset_digest"):
            conds.append(f"{inner}.dataset_digest = {q.bind(ob['dataset_digest'])}")
        joins.append(
            f" LEFT JOIN (SELECT model_id, metric_value, ROW_NUMBER() OVER (PARTITION BY model_id "
            f"ORDER BY metric_timestamp_ms DESC, metric_step DESC, run_id ASC) AS rn FROM logged_model_metrics "
            f"{inner} WHERE {' AND '.join(conds)}) {a} ON {a}.model_id = logged_models.model_id AND {a}.rn = 1"
        )
        terms += [f"CASE WHEN {a}.metric_value IS NULL THEN 1 ELSE 0 END", f"{a}.metric_value {direction}"]
    if not has_created:
        terms.append("logged_models.creation_timestamp_ms DESC")
    if not has_id:
        terms.append("logged_models.model_id ASC")

    where = [
        "logged_models.lifecycle_stage <> 'deleted'",
        f"logged_models.experiment_id IN ({', '.join(q.bind(e) for e in experiment_ids)})",
    ]
    has_metric_filter = False
    for c in comparisons:
        if c.kind == ATTRIBUTE:
            column = _ATTR_COLUMNS[c.key]
            value = c.value
            if column == "status":
                # The parser makes IN / NOT IN values tuples.
                value = tuple(_status_value(v) for v in value) if isinstance(value, tuple) else _status_value(value)
            where.append(q.compare(f"logged_models.{column}", c.op, value, numeric=column in _NUMERIC_COLUMNS))
        elif c.kind == METRIC:
            has_metric_filter = True
            a = q.alias("fm")
            cond = (
                f"EXISTS (SELECT 1 FROM logged_model_metrics {a} WHERE {a}.model_id = logged_models.model_id"
                f" AND {a}.metric_name = {q.bind(c.key)} AND {a}.is_nan = 0"
                f" AND {q.compare(f'{a}.metric_value', c.op, c.value)}"
            )
            ds = _dataset_condition(q, a, datasets)
            where.append(cond + (f" AND {ds})" if ds else ")"))
        elif c.kind in (PARAM, TAG):
            table, kcol, vcol = (
                ("logged_model_params", "param_key", "param_value")
                if c.kind == PARAM
                else ("logged_model_tags", "tag_key", "tag_value")
            )
            a = q.alias("fp")
            where.append(
                f"EXISTS (SELECT 1 FROM {table} {a} WHERE {a}.model_id = logged_models.model_id"
                f" AND {a}.{kcol} = {q.bind(c.key)} AND {q.compare(f'{a}.{vcol}', c.op, c.value)})"
            )
        else:
            raise invalid(f"Invalid filter on '{c.kind}' for logged models.")
    if datasets and not has_metric_filter:
        a = q.alias("dm")
        where.append(
            f"EXISTS (SELECT 1 FROM logged_model_metrics {a} WHERE {a}.model_id = logged_models.model_id"
            f" AND {_dataset_condition(q, a, datasets)})"
        )
    sql = (
        f"SELECT {LM_COLUMNS} FROM logged_models{''.join(joins)} WHERE {' AND '.join(where)}"
        f" ORDER BY {', '.join(terms)}"
    )
    sql += _limit_offset(q, limit, offset)
    return sql, q.params


# Per logged model: (table, key column, value column) of its tags and of its params.
_TAGS = ("logged_model_tags", "tag_key", "tag_value")
_PARAMS = ("logged_model_params", "param_key", "param_value")


async def _upsert_key_values(
    tx: Tx, table: tuple[str, str, str], model_id: str, experiment_id: int, items: Iterable[KeyValue]
) -> None:
    """Tags or params of a model, the last value of a key winning (``table`` is _TAGS or _PARAMS)."""
    name, key_col, value_col = table
    pairs = {item["key"]: item["value"] for item in items}
    if pairs:
        await tx.executemany(
            f"INSERT INTO {name} (model_id, experiment_id, {key_col}, {value_col}) VALUES (?, ?, ?, ?) "
            f"ON CONFLICT (model_id, {key_col}) DO UPDATE SET {value_col} = excluded.{value_col}",
            [(model_id, experiment_id, k, v) for k, v in pairs.items()],
        )
