"""MLflow 3 logged-model semantics over a LoggedModelStore: names, statuses, search paging."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from aiotrack.entities import KeyValue
from aiotrack.errors import invalid
from aiotrack.names import SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT, SEARCH_LOGGED_MODEL_MAX_RESULTS_MAX
from aiotrack.services import validation as v
from aiotrack.services.run_names import random_run_name
from aiotrack.stores.base import LoggedModelIn, LoggedModelSearch, LoggedModelStore

_BAD_NAME_CHARS = ("/", ":", ".", "%", '"', "'")
_STATUS = {
    "LOGGED_MODEL_STATUS_UNSPECIFIED": 0,
    "LOGGED_MODEL_PENDING": 1,
    "LOGGED_MODEL_READY": 2,
    "LOGGED_MODEL_UPLOAD_FAILED": 3,
}


def validate_logged_model_name(name: object) -> str | None:
    if name is None or name == "":
        return None
    if not isinstance(name, str) or any(c in name for c in _BAD_NAME_CHARS):
        raise invalid(
            f"Invalid model name ({name!r}) provided. Model name must be a non-empty string and cannot contain "
            f"the following characters: {_BAD_NAME_CHARS}"
        )
    return name


def parse_status(value: object) -> int:
    if isinstance(value, bool):
        raise invalid(v.invalid_value("status", value))
    if isinstance(value, int) and value in _STATUS.values():
        return value
    if isinstance(value, str):
        if value in _STATUS:
            return _STATUS[value]
        if value.strip().isdigit() and int(value) in _STATUS.values():
            return int(value)
    raise invalid(v.invalid_value("status", value))


def _key_values(items: Sequence[Mapping[str, object]], what: str) -> list[KeyValue]:
    out: list[KeyValue] = []
    for i, item in enumerate(items):
        key, value = item.get("key"), item.get("value")
        if not isinstance(key, str) or not key:
            raise invalid(v.missing_value(f"{what}[{i}].key"))
        if value is None:
            value = ""  # an unset proto string
        if not isinstance(value, str):
            raise invalid(v.invalid_value(f"{what}[{i}].value", value, "Expected a string."))
        out.append({"key": key, "value": value})
    return out


def _optional_str(item: Mapping[str, Any], name: str, path: str) -> str | None:
    """A string field of a request object; None when absent or empty (an unset proto string)."""
    value = item.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid(v.invalid_value(f"{path}.{name}", value, "Expected a string."))
    return value


def _order_by(items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The request's order_by entries as MLflow hands them to its store (and puts them in tokens)."""
    if not items:
        return None
    out = []
    for i, ob in enumerate(items):
        field_name = ob.get("field_name")
        if not isinstance(field_name, str) or not field_name:
            raise invalid(v.missing_value(f"order_by[{i}].field_name"))
        ascending = ob.get("ascending", True)
        if not isinstance(ascending, bool):
            raise invalid(v.invalid_value(f"order_by[{i}].ascending", ascending))
        out.append(
            {
                "field_name": field_name,
                "ascending": ascending,
                "dataset_name": _optional_str(ob, "dataset_name", f"order_by[{i}]"),
                "dataset_digest": _optional_str(ob, "dataset_digest", f"order_by[{i}]"),
            }
        )
    return out


def make_token(
    experiment_ids: list[str], filter_string: str | None, order_by: list[dict[str, Any]] | None, offset: int
) -> str:
    data = {"experiment_ids": experiment_ids, "filter_string": filter_string, "order_by": order_by, "offset": offset}
    return base64.b64encode(json.dumps(data).encode()).decode()


def parse_token(
    token: str, experiment_ids: list[str], filter_string: str | None, order_by: list[dict[str, Any]] | None
) -> int:
    try:
        data = json.loads(base64.b64decode(token.encode(), validate=True).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid(f"Invalid page token: {token}.") from None
    if not isinstance(data, dict):
        raise invalid(f"Invalid page token: {token}.")
    if data.get("experiment_ids") != experiment_ids:
        raise invalid(
            "Experiment IDs in the page token do not match the requested experiment IDs. "
            f"Expected: {experiment_ids}. Found: {data.get('experiment_ids')}"
        )
    if (data.get("filter_string") or None) != filter_string:
        raise invalid(
            "Filter string in the page token does not match the requested filter string. "
            f"Expected: {filter_string}. Found: {data.get('filter_string')}"
        )
    if (data.get("order_by") or None) != order_by:
        raise invalid(
            "Order by in the page token does not match the requested order by. "
            f"Expected: {order_by}. Found: {data.get('order_by')}"
        )
    offset = data.get("offset") or 0
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise invalid(f"Invalid page token: {token}.")
    return offset


class LoggedModelService:
    def __init__(self, store: LoggedModelStore) -> None:
        self.store = store

    async def create_logged_model(
        self,
        experiment_id: str,
        name: str | None,
        model_type: str | None,
        source_run_id: str | None,
        params: list[KeyValue],
        tags: list[KeyValue],
    ) -> dict[str, Any]:
        if not experiment_id:
            raise invalid(v.missing_value("experiment_id"))
        name = validate_logged_model_name(name) or random_run_name()
        return await self.store.create_logged_model(
            experiment_id,
            LoggedModelIn(
                name,
                model_type=model_type if model_type is not None else "",
                source_run_id=source_run_id if source_run_id is not None else "",
                params=_key_values(params, "params"),
                tags=_key_values(tags, "tags"),
            ),
        )

    async def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> dict[str, Any]:
        return await self.store.get_logged_model(model_id, allow_deleted)

    async def delete_logged_model(self, model_id: str) -> None:
        await self.store.delete_logged_model(model_id)

    async def finalize_logged_model(self, model_id: str, status: object) -> dict[str, Any]:
        if status is None:
            raise invalid(v.missing_value("status"))
        return await self.store.finalize_logged_model(model_id, parse_status(status))

    async def set_logged_model_tags(self, model_id: str, tags: list[KeyValue]) -> None:
        await self.store.set_logged_model_tags(model_id, _key_values(tags, "tags"))

    async def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        await self.store.delete_logged_model_tag(model_id, key)

    async def log_params(self, model_id: str, params: list[KeyValue]) -> None:
        await self.store.log_logged_model_params(model_id, _key_values(params, "params"))

    async def search_logged_models(
        self,
        experiment_ids: list[str],
        filter_string: str | None,
        datasets: list[dict[str, Any]],
        max_results: int | None,
        order_by: list[dict[str, Any]],
        page_token: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        if not experiment_ids:
            raise invalid(v.missing_value("experiment_ids"))
        filter_string = filter_string or None
        clean_datasets = []
        for i, d in enumerate(datasets or []):
            name = _optional_str(d, "dataset_name", f"datasets[{i}]")
            if not name:
                raise invalid("`dataset_name` in the `datasets` clause must be specified.")
            clean_datasets.append(
                {"dataset_name": name, "dataset_digest": _optional_str(d, "dataset_digest", f"datasets[{i}]")}
            )
        orders = _order_by(order_by)
        if not max_results:
            max_results = SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT
        if max_results < 0 or max_results > SEARCH_LOGGED_MODEL_MAX_RESULTS_MAX:
            raise invalid(
                f"Invalid value {max_results} for parameter 'max_results' supplied. It must be between 1 and "
                f"{SEARCH_LOGGED_MODEL_MAX_RESULTS_MAX}."
            )
        offset = parse_token(page_token, experiment_ids, filter_string, orders) if page_token else 0
        models, more = await self.store.search_logged_models(
            experiment_ids, LoggedModelSearch(filter_string, clean_datasets or None, orders, max_results, offset)
        )
        token = make_token(experiment_ids, filter_string, orders, offset + max_results) if more else None
        return models, token
