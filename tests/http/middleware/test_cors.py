"""Origin decisions (pure), the origin middleware on a bare app, aiohttp-cors preflights."""

from __future__ import annotations

import pytest
from aiohttp import web

from aiotrack.errors import ConfigError
from aiotrack.http.middleware.cors import (
    CORS_BLOCKED_MSG,
    is_allowed_origin,
    origin_middleware,
    origin_policy,
    parse_origin,
    setup_cors,
    should_block,
)
from aiotrack.http.middleware.errors import error_middleware
from aiotrack.http.middleware.headers import install_security_headers, preflight_middleware

DEFAULT = origin_policy(None)


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost",
        "http://localhost:3000",
        "https://localhost:8443",
        "http://127.0.0.1:5000",
        "http://[::1]:5173",
        "HTTP://LOCALHOST:3000",
    ],
)
def test_default_allows_localhost_origins_on_any_port(origin):
    assert is_allowed_origin(DEFAULT, origin)
    assert not should_block(DEFAULT, "POST", origin)


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.com",
        "null",
        "https://localhost.evil.com",
        "http://127.0.0.1.nip.io",
        "http://10.0.0.1",
        "file://",
        "chrome-extension://localhost",
        "http://localhost@evil.com",
        "http://localhost/path",
        "garbage",
        # parsed strictly: not read as the loopback address or localhost
        "http://[::1].evil.com",
        "http://[::1]evil",
        "http://[::1]:5000.evil.com",
        "http://local host",
        "http://localhost:80x",
        "http://localhost\\@evil.com",
    ],
)
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "post"])
def test_state_changing_requests_from_other_origins_are_blocked(origin, method):
    assert should_block(DEFAULT, method, origin)


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_reads_are_not_blocked(method):
    assert not should_block(DEFAULT, method, "http://evil.com")


def test_requests_without_origin_pass():
    # the mlflow client and curl send no Origin: they are not cross-site requests
    assert not should_block(DEFAULT, "POST", None)


def test_listed_origins():
    policy = origin_policy("https://app.example.com, https://*.corp.example.com, http://10.0.0.5:*")
    assert is_allowed_origin(policy, "https://app.example.com")
    assert is_allowed_origin(policy, "https://app.example.com:443")
    assert not is_allowed_origin(policy, "https://app.example.com:8443")  # no port listed: the default port
    assert not is_allowed_origin(policy, "http://app.example.com")  # scheme matters
    assert is_allowed_origin(policy, "https://a.corp.example.com")
    assert not is_allowed_origin(policy, "https://corp.example.com.evil.com")
    assert is_allowed_origin(policy, "http://10.0.0.5:3000")
    assert is_allowed_origin(policy, "http://localhost:3000")  # localhost stays allowed
    assert not is_allowed_origin(policy, "null")


def test_star_allows_every_origin():
    policy = origin_policy("*")
    assert not should_block(policy, "POST", "http://evil.com")
    assert not should_block(policy, "POST", "null")


@pytest.mark.parametrize("bad", ["example.com", "ftp://example.com", "https://example.com/path", "https://a:b"])
def test_bad_entries_are_refused(bad):
    with pytest.raises(ConfigError, match="--cors-allowed-origins"):
        origin_policy(bad)


def test_parse_origin():
    assert parse_origin("https://Example.com").port == 443
    assert parse_origin("http://[::1]:5000").host == "::1"
    assert parse_origin("null") is None


def _bare_app(allowed: str | None = None) -> web.Application:
    policy = origin_policy(allowed)
    app = web.Application(middlewares=[error_middleware, preflight_middleware(""), origin_middleware(policy)])
    install_security_headers(app, "SAMEORIGIN", "")

    async def ok(request):
        return web.json_response({})

    app.router.add_post("/api/2.0/mlflow/x", ok)
    app.router.add_get("/api/2.0/mlflow/y", ok)
    setup_cors(app, policy)
    return app


async def test_middleware_blocks_with_mlflow_message(aiohttp_client):
    client = await aiohttp_client(_bare_app())
    for origin in ("http://evil.com", "null"):
        resp = await client.post("/api/2.0/mlflow/x", json={}, headers={"Origin": origin})
        assert resp.status == 403
        assert await resp.json() == {"error_code": "PERMISSION_DENIED", "message": CORS_BLOCKED_MSG}
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "Access-Control-Allow-Origin" not in resp.headers
    resp = await client.post("/api/2.0/mlflow/x", json={}, headers={"Origin": "http://localhost:3000"})
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    resp = await client.post("/api/2.0/mlflow/x", json={})
    assert resp.status == 200
    assert "Access-Control-Allow-Origin" not in resp.headers
    # a cross-origin read is answered, but without CORS headers the browser hides it
    resp = await client.get("/api/2.0/mlflow/y", headers={"Origin": "http://evil.com"})
    assert resp.status == 200
    assert "Access-Control-Allow-Origin" not in resp.headers


async def test_preflight_answers(aiohttp_client):
    client = await aiohttp_client(_bare_app("https://app.example.com"))
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    resp = await client.options("/api/2.0/mlflow/x", headers={"Origin": "https://app.example.com", **ask})
    assert resp.status == 204  # MLflow answers API preflights with 204
    assert resp.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    assert resp.headers["Access-Control-Allow-Headers"].lower() == "content-type"
    assert resp.headers["X-Frame-Options"] == "SAMEORIGIN"
    resp = await client.options("/api/2.0/mlflow/x", headers={"Origin": "http://localhost:5173", **ask})
    assert resp.status == 204
    resp = await client.options("/api/2.0/mlflow/x", headers={"Origin": "https://evil.com", **ask})
    assert resp.status == 400  # as MLflow (Starlette's CORS middleware) answers, not aiohttp-cors's 403
    assert await resp.json() == {"error_code": "BAD_REQUEST", "message": "Disallowed CORS origin"}
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    resp = await client.options("/api/2.0/mlflow/x", headers={"Origin": "http://[::1].evil.com", **ask})
    assert resp.status == 400 and "Access-Control-Allow-Origin" not in resp.headers


async def test_star_origins_drop_credentials(aiohttp_client):
    client = await aiohttp_client(_bare_app("*"))
    resp = await client.post("/api/2.0/mlflow/x", json={}, headers={"Origin": "http://anything.example"})
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "http://anything.example"
    assert "Access-Control-Allow-Credentials" not in resp.headers
