"""The browser UI's files: index at the root (and under a prefix), hashed assets cached long."""

from __future__ import annotations

import pytest

from aiotrack.http.api import webui

pytestmark = pytest.mark.skipif(
    not (webui.DIST / "index.html").is_file(), reason="the web UI is not built (cd webui && npm ci && npm run build)"
)


async def test_index_and_assets(make_client):
    client = await make_client()
    resp = await client.get("/")
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-cache"
    html = await resp.text()
    assert "static-files/" in html
    asset = next(p for p in (webui.ASSETS).iterdir() if p.suffix == ".js")
    resp = await client.get(f"/static-files/{asset.name}")
    assert resp.status == 200
    assert "immutable" in resp.headers["Cache-Control"]
    assert (await client.get("/static-files/../index.html")).status == 404
    assert (await client.get("/static-files/%2e%2e/index.html")).status == 404
    assert (await client.get("/static-files/nope.js")).status == 404


async def test_under_a_static_prefix(make_client):
    client = await make_client(static_prefix="/p")
    resp = await client.get("/p", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/p/"
    assert (await client.get("/p/")).status == 200
    asset = next(p for p in (webui.ASSETS).iterdir() if p.suffix == ".js")
    assert (await client.get(f"/p/static-files/{asset.name}")).status == 200
