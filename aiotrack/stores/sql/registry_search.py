"""Registry searches (registered models, model versions) -> one parameterized SQL query each.

The filter language is parsed by :mod:`aiotrack.search` (``REGISTERED_MODELS`` and
``MODEL_VERSIONS`` specs); this module compiles the AST over the registry tables of migration
0002, with MLflow's semantics (``mlflow/store/model_registry/sqlalchemy_store.py``):

- every tag comparison must hold for a tag of that key (``!=`` included: a model without the tag
  does not match);
- prompts (a tag ``mlflow.prompt.is_prompt = 'true'``: on the registered model for model
  searches, on any version for version searches) are left out unless the filter asks for them
  with ``tags.`mlflow.prompt.is_prompt` = 'true'`` (or ``!= 'false'``); a comparison on that tag
  that does not ask for prompts is dropped, as MLflow drops it;
- registered models order by the given keys, then ``name ASC``; model versions by the given keys
  (default ``last_updated_timestamp DESC, name ASC, version_number DESC``), then ``name ASC`` and
  ``version DESC``; deleted versions (``Deleted_Internal``) are never returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiotrack.entities import ReadScope
from aiotrack.names import IS_PROMPT_TAG
from aiotrack.search import MODEL_VERSIONS, REGISTERED_MODELS, Comparison, parse_filter, parse_order_by
from aiotrack.search.ast import ATTRIBUTE, EQ, NE, TAG
from aiotrack.stores.base import Page
from aiotrack.stores.sql.dialect import Dialect
from aiotrack.stores.sql.search_sql import _limit_offset, _Sql, scope_condition

STAGE_DELETED_INTERNAL = "Deleted_Internal"

_MV_COLUMNS = {
    "name": "name",
    "version_number": "version",
    "run_id": "run_id",
    "source_path": "source",
    "creation_timestamp": "creation_time",
    "last_updated_timestamp": "last_updated_time",
}
_MV_NUMERIC = {"version_number", "creation_timestamp", "last_updated_timestamp"}


def _querying_prompts(comparisons: tuple[Comparison, ...]) -> bool:
    for c in comparisons:
        if c.kind == TAG and c.key == IS_PROMPT_TAG:
            value = str(c.value).lower()
            return (c.op == EQ and value == "true") or (c.op == NE and value == "false")
    return False


def _tag_conditions(q: _Sql, comparisons: tuple[Comparison, ...], table: str, join_on: str, prompts: bool) -> list[str]:
    out = []
    for c in comparisons:
        if c.kind != TAG:
            continue
        if c.key == IS_PROMPT_TAG and not prompts:
            continue  # MLflow drops it and excludes prompts instead
        a = q.alias("t")
        out.append(
            f"EXISTS (SELECT 1 FROM {table} {a} WHERE {join_on.format(a=a)} AND {a}.key = {q.bind(c.key)}"
            f" AND {q.compare(f'{a}.value', c.op, c.value)})"
        )
    return out


Scopes = Mapping[str, ReadScope | None] | None


def _shared_conditions(
    q: _Sql, comparisons: tuple[Comparison, ...], table: str, join_on: str, name_column: str, scopes: Scopes
) -> list[str]:
    """What both registry searches add after their attribute conditions: the tag comparisons
    (rows of ``table`` joined ``join_on``); prompts left out unless the filter asks for them, as
    MLflow does (a model counts as a prompt by its ``table`` rows under ``name_column``); the
    caller's read scope over what is listed, prompts or registered models."""
    prompts = _querying_prompts(comparisons)
    out = _tag_conditions(q, comparisons, table, join_on, prompts)
    if not prompts:
        out.append(
            f"NOT EXISTS (SELECT 1 FROM {table} pt WHERE pt.name = {name_column}"
            f" AND pt.key = {q.bind(IS_PROMPT_TAG)} AND pt.value = {q.bind('true')})"
        )
    scope = None if scopes is None else scopes.get("prompt" if prompts else "registered_model")
    if (restricted := scope_condition(q, name_column, scope)) is not None:
        out.append(restricted)
    return out


def registered_models_query(
    dialect: Dialect, page: Page, *, columns: str, scopes: Scopes = None
) -> tuple[str, list[Any]]:
    """SELECT {columns} FROM registered_models WHERE <filter> ORDER BY ... LIMIT ? OFFSET ?"""
    comparisons = parse_filter(page.filter_string, REGISTERED_MODELS)
    orders = parse_order_by(page.order_by, REGISTERED_MODELS)
    q = _Sql(dialect)
    where: list[str] = []
    for c in comparisons:
        if c.kind == ATTRIBUTE:  # only "name" is searchable
            where.append(q.compare("registered_models.name", c.op, c.value))
    where += _shared_conditions(
        q, comparisons, "registered_model_tags", "{a}.name = registered_models.name", "registered_models.name", scopes
    )
    terms = []
    for ob in orders:
        column = "registered_models.name" if ob.key == "name" else "registered_models.last_updated_time"
        terms.append(f"{column} {'ASC' if ob.ascending else 'DESC'}")
    if not any(ob.key == "name" for ob in orders):
        terms.append("registered_models.name ASC")
    sql = f"SELECT {columns} FROM registered_models"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY " + ", ".join(terms) + _limit_offset(q, page.max_results, page.offset)
    return sql, q.params


def model_versions_query(dialect: Dialect, page: Page, *, columns: str, scopes: Scopes = None) -> tuple[str, list[Any]]:
    """SELECT {columns} FROM model_versions WHERE current_stage <> 'Deleted_Internal' AND <filter>
    ORDER BY ... LIMIT ? OFFSET ?"""
    comparisons = parse_filter(page.filter_string, MODEL_VERSIONS)
    orders = parse_order_by(
        page.order_by or ["last_updated_timestamp DESC", "name ASC", "version_number DESC"], MODEL_VERSIONS
    )
    q = _Sql(dialect)
    where = [f"model_versions.current_stage <> {q.bind(STAGE_DELETED_INTERNAL)}"]
    for c in comparisons:
        if c.kind == ATTRIBUTE:
            column = f"model_versions.{_MV_COLUMNS[c.key]}"
            where.append(q.compare(column, c.op, c.value, numeric=c.key in _MV_NUMERIC))
    where += _shared_conditions(
        q,
        comparisons,
        "model_version_tags",
        "{a}.name = model_versions.name AND {a}.version = model_versions.version",
        "model_versions.name",
        scopes,
    )
    terms = []
    for ob in orders:
        terms.append(f"model_versions.{_MV_COLUMNS[ob.key]} {'ASC' if ob.ascending else 'DESC'}")
    keys = {ob.key for ob in orders}
    if "name" not in keys:
        terms.append("model_versions.name ASC")
    if "version_number" not in keys:
        terms.append("model_versions.version DESC")
    sql = f"SELECT {columns} FROM model_versions WHERE {' AND '.join(where)} ORDER BY {', '.join(terms)}"
    sql += _limit_offset(q, page.max_results, page.offset)
    return sql, q.params
