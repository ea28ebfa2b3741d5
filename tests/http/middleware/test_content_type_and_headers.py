"""Content-Type on JSON endpoints, security headers on every response: pure functions, a bare
app, and the real app from create_app."""

from __future__ import annotations

import pytest
from aiohttp import web

from aiotrack.config import Settings
from aiotrack.http.app import create_app
from aiotrack.http.middleware.content_type import (
    MISSING_MSG,
    WRONG_MSG,
    content_type_error,
    content_type_middleware,
)
from aiotrack.http.middleware.errors import error_middleware
from aiotrack.http.middleware.headers import security_headers

CREATE = "/api/2.0/mlflow/experiments/create"


def test_messages_match_mlflow():
    assert MISSING_MSG == "Bad Request. Content-Type header is missing."
    assert WRONG_MSG == "Bad Request. Content-Type must be one of ['application/json']."


@pytest.mark.parametrize(
    "method,path,ctype,expected",
    [
        ("POST", CREATE, "application/json", None),
        ("POST", CREATE, "application/json; charset=utf-8", None),
        ("POST", CREATE, "Application/JSON", None),
        ("POST", CREATE, None, MISSING_MSG),
        ("POST", CREATE, "text/plain", WRONG_MSG),
        ("POST", CREATE, "application/x-www-form-urlencoded", WRONG_MSG),
        ("POST", CREATE, "multipart/form-data; boundary=x", WRONG_MSG),
        ("PUT", "/ajax-api/2.0/mlflow/x", "text/plain", WRONG_MSG),
        ("POST", "/p" + CREATE, "text/plain", None),  # not under the prefix: not an API path here
        ("GET", CREATE, None, None),
        ("DELETE", CREATE, None, None),  # MLflow checks POST and PUT only
        ("PATCH", CREATE, "text/plain", None),
        # raw-body uploads carry the file's type
        ("PUT", "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model.pkl", "application/octet-stream", None),
        ("PUT", "/ajax-api/2.0/mlflow-artifacts/artifacts/x.png", "image/png", None),
        ("PUT", "/api/2.0/mlflow-artifacts/artifacts/x.txt", None, None),
        ("POST", "/ajax-api/2.0/mlflow/upload-artifact", "text/plain", None),
        # but the multipart-upload control endpoints are JSON
        ("POST", "/api/2.0/mlflow-artifacts/mpu/create/x", "text/plain", WRONG_MSG),
    ],
)
def test_content_type_decision(method, path, ctype, expected):
    assert content_type_error(method, path, "", ctype) == expected


def test_prefix():
    assert content_type_error("POST", "/p" + CREATE, "/p", "text/plain") == WRONG_MSG
    assert content_type_error("POST", CREATE, "/p", "text/plain") is None


def test_security_headers():
    assert security_headers("SAMEORIGIN") == {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "SAMEORIGIN"}
    assert security_headers("deny")["X-Frame-Options"] == "DENY"
    assert security_headers("NONE") == {"X-Content-Type-Options": "nosniff"}


async def test_bare_app_upload_route_keeps_its_content_type(aiohttp_client):
    app = web.Application(middlewares=[error_middleware, content_type_middleware("")])

    async def upload(request):
        return web.json_response({"type": request.content_type, "size": len(await request.read())})

    app.router.add_put("/api/2.0/mlflow-artifacts/artifacts/{path:.*}", upload)
    app.router.add_post(CREATE, upload)
    client = await aiohttp_client(app)
    resp = await client.put(
        "/api/2.0/mlflow-artifacts/artifacts/a/b.png", data=b"\x89PNG", headers={"Content-Type": "image/png"}
    )
    assert resp.status == 200
    assert await resp.json() == {"type": "image/png", "size": 4}
    resp = await client.post(CREATE, data=b'{"name": "x"}', headers={"Content-Type": "text/plain"})
    assert resp.status == 400
    assert await resp.json() == {"error_code": "INVALID_PARAMETER_VALUE", "message": WRONG_MSG}


@pytest.fixture
def settings(tmp_path):
    return Settings(backend_store_uri=f"sqlite:///{tmp_path}/t.db", artifacts_destination=str(tmp_path / "art"))


async def test_real_app_content_type_answers(aiohttp_client, settings):
    client = await aiohttp_client(create_app(settings))
    resp = await client.post(CREATE, data=b'{"name": "x"}')
    assert resp.status == 400
    assert (await resp.json())["message"] in (MISSING_MSG, WRONG_MSG)
    resp = await client.post(CREATE, data=b'{"name": "x"}', headers={"Content-Type": "text/plain"})
    assert resp.status == 400
    assert await resp.json() == {"error_code": "INVALID_PARAMETER_VALUE", "message": WRONG_MSG}
    resp = await client.post(CREATE, json={"name": "ok"})
    assert resp.status == 200, await resp.text()
    # an unknown endpoint is still a 404, whatever its body
    resp = await client.post("/api/2.0/mlflow/nope", data=b"x", headers={"Content-Type": "text/plain"})
    assert resp.status == 404


@pytest.mark.parametrize("xfo,expected", [("SAMEORIGIN", "SAMEORIGIN"), ("DENY", "DENY"), ("NONE", None)])
async def test_headers_on_every_response_errors_included(aiohttp_client, tmp_path, xfo, expected):
    settings = Settings(backend_store_uri=f"sqlite:///{tmp_path}/t.db", x_frame_options=xfo)
    client = await aiohttp_client(create_app(settings))
    requests = [
        client.get("/health"),
        client.get("/api/2.0/mlflow/experiments/get", params={"experiment_id": "12345"}),  # 404 JSON
        client.get("/api/2.0/mlflow/no-such-endpoint"),  # ENDPOINT_NOT_FOUND
        client.get("/no-such-page"),  # aiohttp's own 404
        client.post(CREATE, data=b"x", headers={"Content-Type": "text/plain"}),  # 400 refusal
        client.get("/health", headers={"Host": "evil.com"}),  # exempt
        client.get("/api/2.0/mlflow/experiments/search", headers={"Host": "evil.com"}),  # 403
        client.post(CREATE, json={"name": "y"}, headers={"Origin": "http://evil.com"}),  # 403
        client.options(CREATE, headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"}),
    ]
    statuses = []
    for request in requests:
        resp = await request
        statuses.append(resp.status)
        assert resp.headers["X-Content-Type-Options"] == "nosniff", resp
        assert resp.headers.get("X-Frame-Options") == expected, resp
    assert statuses == [200, 404, 404, 404, 400, 200, 403, 403, 204]


async def test_disable_security_middleware_removes_host_and_origin_checks(aiohttp_client, tmp_path):
    settings = Settings(backend_store_uri=f"sqlite:///{tmp_path}/t.db", disable_security_middleware=True)
    client = await aiohttp_client(create_app(settings))
    resp = await client.get("/api/2.0/mlflow/experiments/search", headers={"Host": "evil.com"})
    assert resp.status == 200
    resp = await client.post(CREATE, json={"name": "z"}, headers={"Origin": "http://evil.com"})
    assert resp.status == 200
    # the content-type rule is MLflow's request validation, not part of the security middleware
    resp = await client.post(CREATE, data=b"{}", headers={"Content-Type": "text/plain"})
    assert resp.status == 400
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
