"""Every route is either mapped to a permission in rules.RULES or public; an unmapped one is refused."""

from __future__ import annotations

from aiohttp import web
from auth_support import ADMIN, As, auth_app

from aiotrack.http.auth import rules


def _routes(app: web.Application, prefix: str = "") -> set[tuple[str, str]]:
    out = set()
    for route in app.router.routes():
        if route.method in ("OPTIONS", "HEAD", "*") or route.resource is None:
            continue
        out.add(rules.route_key(route.method, route.resource.canonical, prefix))
    return out


def test_every_route_is_mapped(tmp_path):
    (tmp_path / "prom").mkdir()
    for prefix in ("", "/mlflow"):
        app = auth_app(
            f"sqlite:///{tmp_path}/r.db", tmp_path, static_prefix=prefix, expose_prometheus=str(tmp_path / "prom")
        )
        unmapped = sorted(k for k in _routes(app, prefix) if k not in rules.RULES)
        assert not unmapped, f"routes without a permission in aiotrack/http/auth/rules.py: {unmapped}"


def test_public_routes_are_exactly_the_public_list():
    public = sorted(k for k, rule in rules.RULES.items() if isinstance(rule, rules.Public))
    assert public == [
        ("GET", "/health"),
        ("GET", "/static-files/{}"),
        ("GET", "/version"),
        ("GET", "3.0/mlflow/server-info"),
    ]


def test_route_keys_ignore_placeholder_names_and_api_prefixes():
    assert rules.route_key("GET", "/mlflow/ajax-api/3.0/mlflow/traces/{request_id}", "/mlflow") == (
        "GET",
        "3.0/mlflow/traces/{}",
    )
    assert rules.rule_for("GET", "/api/3.0/mlflow/traces/{trace_id}") is rules.RULES[("GET", "3.0/mlflow/traces/{}")]


async def test_an_unmapped_route_answers_403_even_to_admins(aiohttp_client, tmp_path):
    app = auth_app(f"sqlite:///{tmp_path}/u.db", tmp_path)

    async def hidden(request: web.Request) -> web.Response:
        return web.json_response({"leaked": True})

    app.router.add_get("/api/2.0/mlflow/not-in-the-table", hidden)
    client = await aiohttp_client(app)
    body = await As(client, ADMIN).get("2.0/mlflow/not-in-the-table", status=403)
    assert body == {"error_code": "PERMISSION_DENIED", "message": "Permission denied"}
    # and without credentials it is a 401, as for every non-public route
    await As(client, None).get("2.0/mlflow/not-in-the-table", status=401)
