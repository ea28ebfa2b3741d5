"""--static-prefix: the API, ajax-api, artifacts, UI, health and version all live under it."""

from __future__ import annotations

from pathlib import Path

import aiotrack
from aiotrack.config import Settings
from aiotrack.http.app import create_app


async def test_everything_lives_under_the_prefix(aiohttp_client, tmp_path):
    settings = Settings(
        backend_store_uri=f"sqlite:///{tmp_path}/p.db",
        artifacts_destination=str(tmp_path / "a"),
        static_prefix="/mlflow/",
    )
    client = await aiohttp_client(create_app(settings))
    asset = next((Path(aiotrack.__file__).parent / "webui_dist" / "static-files").iterdir()).name
    inside = [
        "/mlflow/health",
        "/mlflow/version",
        "/mlflow/api/2.0/mlflow/experiments/search?max_results=1",
        "/mlflow/ajax-api/2.0/mlflow/experiments/search?max_results=1",
        "/mlflow/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default",
        "/mlflow/api/2.0/mlflow-artifacts/artifacts",
        "/mlflow/ajax-api/3.0/mlflow/server-info",
        "/mlflow/",
        f"/mlflow/static-files/{asset}",
    ]
    for path in inside:
        resp = await client.get(path)
        assert resp.status == 200, (path, resp.status, await resp.text())
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    for path in (
        "/health",
        "/version",
        "/api/2.0/mlflow/experiments/search",
        "/ajax-api/3.0/mlflow/server-info",
        "/api/2.0/mlflow-artifacts/artifacts",
        f"/static-files/{asset}",
    ):
        resp = await client.get(path)
        assert resp.status == 404, path
    # the security rules follow the prefix: health is exempt from the host check only under it
    assert (await client.get("/mlflow/health", headers={"Host": "evil.com"})).status == 200
    assert (await client.get("/mlflow/api/2.0/mlflow/experiments/search", headers={"Host": "evil.com"})).status == 403
    resp = await client.post(
        "/mlflow/api/2.0/mlflow/experiments/create", data=b'{"name":"x"}', headers={"Content-Type": "text/plain"}
    )
    assert resp.status == 400
    resp = await client.post(
        "/mlflow/api/2.0/mlflow/experiments/create", json={"name": "x"}, headers={"Origin": "http://evil.com"}
    )
    assert resp.status == 403
    resp = await client.options(
        "/mlflow/api/2.0/mlflow/experiments/create",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
    )
    assert resp.status == 204
