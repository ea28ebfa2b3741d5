"""An OpenAPI 3 description of every route the app serves, generated, never written by hand.

The paths and methods come from the app's router (so a route added anywhere is described, under
the static prefix, /api/ and /ajax-api/ alike); the request fields come from the handlers
themselves: each handler reads its input through :class:`aiotrack.http.codec.Args`
(``args.str("run_id", required=True)``, ``args.int("max_results")``, ``args.str_list(...)``,
``args.obj_list(...)``, ``args.tags(...)``, ``args.bool(...)``, ``args.raw(...)``) or
``request.query.get(...)``, and the generator reads those calls from the handler's source (and from
the module-level helpers it calls, such as ``_run_id(args)``). GET fields are query parameters,
other methods' fields JSON body properties. So the description cannot drift from the parsers:
it is made from them.

Served at ``/api/openapi.json`` (under the static prefix); the schema-aware fuzzing test
(tests/http/test_openapi_fuzz.py) runs schemathesis over it against a real server.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from aiotrack import MLFLOW_COMPAT_VERSION, __version__

OPENAPI_PATH = "/api/openapi.json"

_ACCESSORS: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer", "format": "int64"},
    "bool": {"type": "boolean"},
    "str_list": {"type": "array", "items": {"type": "string"}},
    "obj_list": {"type": "array", "items": {"type": "object"}},
    "tags": {
        "type": "array",
        "items": {"type": "object", "properties": {"key": {"type": "string"}, "value": {"type": "string"}}},
    },
    "raw": {},
}
_PATH_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")
_ERROR = {
    "type": "object",
    "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
    "required": ["error_code", "message"],
}


@dataclass(frozen=True)
class Field:
    name: str
    schema: dict[str, Any]
    required: bool


def _call_field(node: ast.Call) -> Field | None:
    """``args.<accessor>("name", required=...)`` or ``request.query.get("name")`` -> a Field."""
    func = node.func
    if not isinstance(func, ast.Attribute) or not node.args:
        return None
    first = node.args[0]
    if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
        return None
    required = any(
        k.arg == "required" and isinstance(k.value, ast.Constant) and k.value.value is True for k in node.keywords
    )
    owner = func.value
    if func.attr in _ACCESSORS and isinstance(owner, ast.Name) and owner.id == "args":
        return Field(first.value, _ACCESSORS[func.attr], required)
    if func.attr in ("get", "getall", "getone") and isinstance(owner, ast.Attribute) and owner.attr == "query":
        schema = {"type": "array", "items": {"type": "string"}} if func.attr == "getall" else {"type": "string"}
        return Field(first.value, schema, False)
    return None


def _function_tree(fn: Callable[..., Any]) -> ast.AST | None:
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None


@functools.cache
def handler_fields(handler: Callable[..., Any]) -> tuple[Field, ...]:
    """The request fields a handler reads, in the order it reads them (first reading wins)."""
    tree = _function_tree(handler)
    if tree is None:
        return ()
    module = inspect.getmodule(handler)
    trees = [tree]
    for node in ast.walk(tree):  # module-level helpers the handler calls (one level deep)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and module is not None:
            helper = getattr(module, node.func.id, None)
            if inspect.isfunction(helper) and helper.__module__ == module.__name__ and helper is not handler:
                sub = _function_tree(helper)
                if sub is not None:
                    trees.append(sub)
    found: dict[str, Field] = {}
    for t in trees:
        for node in ast.walk(t):
            if isinstance(node, ast.Call):
                f = _call_field(node)
                if f is not None and f.name not in found:
                    found[f.name] = f
    return tuple(found.values())


def _operation(method: str, path: str, handler: Callable[..., Any]) -> dict[str, Any]:
    fields = handler_fields(handler)
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in _PATH_PARAM.findall(path)
    ]
    op: dict[str, Any] = {
        "operationId": f"{method.lower()} {path}",
        "responses": {
            "200": {"description": "Success"},
            "default": {"description": "MLflow's error", "content": {"application/json": {"schema": _ERROR}}},
        },
    }
    if method == "GET":
        for f in fields:
            schema = f.schema or {"type": "string"}
            if schema.get("type") == "object" or schema.get("items", {}).get("type") == "object":
                continue  # objects never travel in a query string
            parameters.append({"name": f.name, "in": "query", "required": f.required, "schema": schema})
    else:
        body: dict[str, Any] = {"type": "object", "properties": {f.name: f.schema for f in fields}}
        required = [f.name for f in fields if f.required]
        if required:
            body["required"] = required
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
    if parameters:
        op["parameters"] = parameters
    return op


def _openapi_path(path: str) -> str:
    return _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", path)


def build_document(app: web.Application) -> dict[str, Any]:
    """The OpenAPI 3.0 document of every route registered on ``app`` (CORS preflights aside)."""
    paths: dict[str, dict[str, Any]] = {}
    for resource in app.router.resources():
        info = resource.get_info()
        raw = info.get("path") or info.get("formatter") or info.get("prefix")
        if not raw:
            continue
        for route in resource:
            method = route.method.upper()
            if method in ("OPTIONS", "HEAD", "*"):
                continue
            handler = route.handler
            if not callable(handler) or not inspect.iscoroutinefunction(handler):
                continue
            if "prefix" in info and "path" not in info and "formatter" not in info:  # a static directory
                path = raw.rstrip("/") + "/{filename}"
            else:
                path = _openapi_path(raw)
            paths.setdefault(path, {})[method.lower()] = _operation(method, path, handler)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "aiotrack",
            "version": __version__,
            "description": f"MLflow {MLFLOW_COMPAT_VERSION} tracking REST API, as served by aiotrack.",
        },
        "paths": dict(sorted(paths.items())),
    }


def add_route(app: web.Application, prefix: str) -> None:
    """Serve the document at ``<prefix>/api/openapi.json``, built once from the frozen router."""
    cache: dict[str, bytes] = {}

    async def openapi_json(request: web.Request) -> web.Response:
        if "doc" not in cache:
            cache["doc"] = orjson.dumps(build_document(request.app))
        return web.Response(body=cache["doc"], content_type="application/json")

    app.router.add_get(prefix + OPENAPI_PATH, openapi_json)
