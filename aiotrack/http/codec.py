"""MLflow's wire format: request values in (query string or JSON body), JSON out.

GET requests carry their fields in the query string (repeated keys for lists); other methods in
a JSON object body. ``Args`` reads either with the same typed accessors, raising MLflow's
INVALID_PARAMETER_VALUE for a missing or mistyped field. Responses are serialized with orjson.
"""

from __future__ import annotations

import builtins
from typing import Any, Literal, cast, overload

import orjson
from aiohttp import web
from multidict import MultiMapping

from aiotrack.entities import KeyValue
from aiotrack.errors import invalid
from aiotrack.http import keys
from aiotrack.http.bodies import check_json_elements
from aiotrack.services import validation as v

JSON = "application/json"
SEE_DOCS = " See the API docs for more information about request parameters."


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type=JSON)


def page_response(field: str, items: list[Any], token: str | None) -> web.Response:
    """MLflow's paged answer: the items under ``field`` (left out when there are none, as proto
    JSON leaves out an empty list) and ``next_page_token`` when more follow."""
    body: dict[str, Any] = {field: items} if items else {}
    if token:
        body["next_page_token"] = token
    return json_response(body)


EMPTY = b"{}"


def empty_response() -> web.Response:
    return web.Response(body=EMPTY, content_type=JSON)


class Args:
    """Typed access to a request's fields."""

    __slots__ = ("_data", "_query")

    def __init__(self, data: dict[str, Any] | None = None, query: MultiMapping[str] | None = None):
        self._data = data or {}
        self._query = query

    def raw(self, name: str) -> Any:
        if self._query is not None:
            return self._query.get(name)
        return self._data.get(name)

    @overload
    def str(self, name: str, *, required: Literal[True]) -> str: ...
    @overload
    def str(self, name: str, *, required: bool = False, default: str) -> str: ...
    @overload
    def str(self, name: str, *, required: bool = False, default: None = None) -> str | None: ...
    def str(self, name: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = self.raw(name)
        if value is None or (value == "" and required):
            if required:
                raise invalid(v.missing_value(name) + SEE_DOCS)
            return default
        if not isinstance(value, str):
            raise invalid(
                v.invalid_value(name, value, f" Hint: Value was of type '{type(value).__name__}'.") + SEE_DOCS
            )
        return value

    @overload
    def int(self, name: builtins.str, *, required: Literal[True]) -> builtins.int: ...
    @overload
    def int(self, name: builtins.str, *, required: bool = False, default: builtins.int) -> builtins.int: ...
    @overload
    def int(self, name: builtins.str, *, required: bool = False, default: None = None) -> builtins.int | None: ...
    def int(
        self, name: builtins.str, *, required: bool = False, default: builtins.int | None = None
    ) -> builtins.int | None:
        value = self.raw(name)
        if value == "" and self._query is not None:
            value = None
        return v.parse_int64(value, name, required=required, default=default)

    def bool(self, name: builtins.str, *, default: builtins.bool = False) -> builtins.bool:
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        raise invalid(v.invalid_value(name, value, "Expected a boolean."))

    def str_list(self, name: builtins.str) -> list[builtins.str]:
        if self._query is not None:
            return [x for x in self._query.getall(name, []) if x != ""]
        value = self._data.get(name)
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise invalid(v.invalid_value(name, value, "Expected a list of strings."))
        return value

    def obj_list(self, name: builtins.str) -> list[dict[builtins.str, Any]]:
        value = self._data.get(name) if self._query is None else None
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
            raise invalid(v.invalid_value(name, value, "Expected a list of objects."))
        return value

    def tags(self, name: builtins.str = "tags") -> list[KeyValue]:
        """Tag objects with string-or-missing keys and values; a missing one stays None here (the
        services' validation refuses it with MLflow's message), hence the cast."""
        out: list[KeyValue] = []
        for i, t in enumerate(self.obj_list(name)):
            key, value = t.get("key"), t.get("value")
            if key is not None and not isinstance(key, str):
                raise invalid(v.invalid_value(f"{name}[{i}].key", key, "Expected a string."))
            if value is not None and not isinstance(value, str):
                raise invalid(v.invalid_value(f"{name}[{i}].value", value, "Expected a string."))
            out.append(cast(KeyValue, {"key": key, "value": value}))
        return out


async def read_args(request: web.Request) -> Args:
    """Query string for GET; a JSON object body otherwise (an empty body counts as ``{}``).

    The body is read and decoded within the worker's budget for large bodies, and refused
    before decoding when it holds too many elements (aiotrack/http/bodies.py)."""
    if request.method == "GET":
        return Args(query=request.query)
    budget = request.app.get(keys.BODY_BUDGET)
    if budget is None:
        return Args(_decode_object(await request.read()))
    async with budget.reserve(request.content_length):
        return Args(_decode_object(await request.read()))


def _decode_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    check_json_elements(body)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"Malformed JSON in request body: {exc.msg}") from None
    if not isinstance(data, dict):
        raise invalid("The request body must be a JSON object.")
    return data
