"""The one list of REST prefixes: every route is served under each, and the middlewares' test of
"is this a REST call" matches exactly those paths behind the static prefix."""

from __future__ import annotations

import pytest

from aiotrack.http.routing import API_PREFIXES, Route, api_subpath, is_api_path


async def _handler(request):  # pragma: no cover - never called
    raise AssertionError


def test_routes_are_served_under_every_prefix():
    assert API_PREFIXES == ("/api/", "/ajax-api/")
    route = Route("GET", "2.0/mlflow/runs/get", _handler, True)
    assert route.paths("") == ["/api/2.0/mlflow/runs/get", "/ajax-api/2.0/mlflow/runs/get"]
    assert route.paths("/p") == ["/p/api/2.0/mlflow/runs/get", "/p/ajax-api/2.0/mlflow/runs/get"]
    assert Route("GET", "/get-artifact", _handler, False).paths("/p") == ["/p/get-artifact"]


@pytest.mark.parametrize(
    "path,prefix,expected",
    [
        ("/api/2.0/mlflow/runs/get", "", "2.0/mlflow/runs/get"),
        ("/ajax-api/2.0/mlflow/runs/get", "", "2.0/mlflow/runs/get"),
        ("/p/api/2.0/x", "/p", "2.0/x"),
        ("/p/ajax-api/2.0/x", "/p", "2.0/x"),
        ("/api/2.0/x", "/p", None),  # outside the static prefix
        ("/static-files/api/x", "", None),  # "api" deeper in a path is not the REST prefix
        ("/apix/2.0/x", "", None),
        ("/api", "", None),
        ("/", "", None),
    ],
)
def test_api_subpath(path, prefix, expected):
    assert api_subpath(path, prefix) == expected
    assert is_api_path(path, prefix) is (expected is not None)


async def test_unknown_endpoint_json_only_under_the_prefixes(make_client):
    client = await make_client(static_prefix="/p")
    r = await client.get("/p/api/2.0/mlflow/nope")
    assert r.status == 404 and (await r.json())["error_code"] == "ENDPOINT_NOT_FOUND"
    r = await client.get("/p/ajax-api/2.0/mlflow/nope")
    assert r.status == 404 and (await r.json())["error_code"] == "ENDPOINT_NOT_FOUND"
    r = await client.get("/p/static-files/api/nope")
    assert r.status == 404 and r.content_type != "application/json"
