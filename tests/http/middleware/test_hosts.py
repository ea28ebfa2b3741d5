"""Host header decisions (pure) and the middleware on a bare app."""

from __future__ import annotations

import pytest
from aiohttp import web

from aiotrack.errors import ConfigError
from aiotrack.http.middleware.errors import error_middleware
from aiotrack.http.middleware.hosts import (
    INVALID_HOST_MSG,
    host_middleware,
    host_policy,
    is_allowed_host,
    parse_host_header,
)

DEFAULT = host_policy(None)


@pytest.mark.parametrize(
    "header",
    [
        "localhost",
        "localhost:5000",
        "LOCALHOST:80",
        "localhost.",
        "127.0.0.1",
        "127.0.0.1:5000",
        "127.1.2.3:8080",
        "[::1]",
        "[::1]:5000",
        "0.0.0.0:5000",
        "10.0.0.5",
        "10.255.255.255:5000",
        "172.16.0.1",
        "172.31.255.1:443",
        "192.168.1.10:5000",
        "[fd00::1]:5000",
        "[fc00::abcd]",
        "[::ffff:192.168.0.1]:80",
    ],
)
def test_default_allows_local_and_private_addresses(header):
    assert is_allowed_host(DEFAULT, header)


@pytest.mark.parametrize(
    "header",
    [
        # MLflow's default glob patterns ("10.*", "192.168.*", "172.16.*", "fd00:*") let these names
        # through; they are names an attacker's DNS answers for, not private addresses.
        "10.evil.com",
        "192.168.attacker.net",
        "172.16.evil.com",
        "10.0.0.1.nip.io",
        "10.0.0.1.nip.io:5000",
        "192.168.1.1.evil.com",
        "fd00.evil.com",
        # other refusals
        "evil.com",
        "evil.com:5000",
        "localhost.evil.com",
        "127.0.0.1.evil.com",
        "8.8.8.8",
        "172.32.0.1",
        "[2001:db8::1]",
        "",
        None,
        "localhost:notaport",
        "localhost:99999",
        "::1",
        "local host",
        "localhost@evil.com",
        "evil.com#localhost",
        "[::1",
        "[::1]x",
    ],
)
def test_default_refuses_names_and_public_addresses(header):
    assert not is_allowed_host(DEFAULT, header)


def test_parse_host_header():
    assert parse_host_header("Example.COM:8080").name == "example.com"
    assert parse_host_header("Example.COM:8080").port == 8080
    assert parse_host_header("[::1]:5000").port == 5000
    assert str(parse_host_header("[::1]").ip) == "::1"
    assert parse_host_header("example.com").port is None
    assert parse_host_header("a b") is None


def test_listed_host_matches_with_or_without_port():
    policy = host_policy("mlflow.example.com")
    assert is_allowed_host(policy, "mlflow.example.com")
    assert is_allowed_host(policy, "mlflow.example.com:5000")
    assert is_allowed_host(policy, "MLflow.Example.com.")
    assert not is_allowed_host(policy, "mlflow.example.com.evil.com")
    assert not is_allowed_host(policy, "evil-mlflow.example.com")
    # like MLflow, a list replaces the default
    assert not is_allowed_host(policy, "localhost")


def test_listed_host_with_port_requires_that_port():
    policy = host_policy("mlflow.example.com:443")
    assert is_allowed_host(policy, "mlflow.example.com:443")
    assert not is_allowed_host(policy, "mlflow.example.com:5000")
    assert not is_allowed_host(policy, "mlflow.example.com")


def test_wildcards():
    policy = host_policy("*.example.com, 10.1.*, localhost:*")
    assert is_allowed_host(policy, "a.example.com")
    assert is_allowed_host(policy, "a.b.example.com:8080")
    assert not is_allowed_host(policy, "example.com.evil.com")
    assert not is_allowed_host(policy, "evilexample.com")
    assert is_allowed_host(policy, "10.1.2.3:5000")
    assert not is_allowed_host(policy, "10.1.evil.com")  # an IPv4 pattern never matches a name
    assert is_allowed_host(policy, "localhost:1234")


def test_networks_and_ipv6():
    policy = host_policy("10.0.0.0/8,[2001:db8::1]:5000,2001:db8::2")
    assert is_allowed_host(policy, "10.9.8.7")
    assert not is_allowed_host(policy, "10.evil.com")
    assert is_allowed_host(policy, "[2001:db8::1]:5000")
    assert not is_allowed_host(policy, "[2001:db8::1]:5001")
    assert is_allowed_host(policy, "[2001:db8::2]:1")


def test_star_allows_everything():
    assert is_allowed_host(host_policy("*"), "anything.example")
    assert is_allowed_host(host_policy("a.com,*"), None)


@pytest.mark.parametrize("bad", ["http://example.com", "exa mple.com", "host:port", "10.0.0.0/99", "[zz]", "a/b"])
def test_bad_entries_are_refused(bad):
    with pytest.raises(ConfigError, match="--allowed-hosts"):
        host_policy(bad)


@pytest.fixture
def bare_app():
    app = web.Application(middlewares=[error_middleware, host_middleware(host_policy(None), "/p")])

    async def ok(request):
        return web.Response(text="ok")

    for path in ("/p/health", "/p/version", "/p/api/2.0/mlflow/x", "/health"):
        app.router.add_get(path, ok)
    return app


async def test_middleware_refuses_with_mlflow_message(aiohttp_client, bare_app):
    client = await aiohttp_client(bare_app)
    resp = await client.get("/p/api/2.0/mlflow/x", headers={"Host": "10.evil.com"})
    assert resp.status == 403
    assert await resp.json() == {"error_code": "PERMISSION_DENIED", "message": INVALID_HOST_MSG}
    resp = await client.get("/p/api/2.0/mlflow/x", headers={"Host": "localhost:1234"})
    assert resp.status == 200


async def test_health_and_version_are_exempt_under_the_prefix_only(aiohttp_client, bare_app):
    client = await aiohttp_client(bare_app)
    for path in ("/p/health", "/p/version"):
        resp = await client.get(path, headers={"Host": "evil.com"})
        assert resp.status == 200, path
    # the exemption is never wider than the routes that exist
    resp = await client.get("/health", headers={"Host": "evil.com"})
    assert resp.status == 403


@pytest.mark.parametrize("header", ["10.evil.com", "192.168.attacker.net", "172.16.evil.com", "10.0.0.1.nip.io"])
def test_names_mlflow_lets_through_are_refused_here(header):
    from mlflow.server.security_utils import get_default_allowed_hosts, is_allowed_host_header

    assert is_allowed_host_header(get_default_allowed_hosts(), header)  # MLflow 3.17's bypass
    assert not is_allowed_host(DEFAULT, header)
