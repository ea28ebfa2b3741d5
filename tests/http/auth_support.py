"""An in-process basic-auth app and REST calls made as one user or another."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from aiotrack.config import Settings
from aiotrack.http.app import create_app
from aiotrack.services.auth.config import read_auth_config

ADMIN = "admin"
ADMIN_PASSWORD = "admin-password-1234"
PASSWORD = "user-password-1234"
JSON = {"Content-Type": "application/json"}


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def auth_settings(store_uri: str, tmp_path, default_permission: str = "READ", **overrides: Any) -> Settings:
    ini = tmp_path / "basic_auth.ini"
    ini.write_text(f"[mlflow]\ndefault_permission = {default_permission}\nadmin_username = {ADMIN}\n")
    env = {"MLFLOW_AUTH_CONFIG_PATH": str(ini), "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD}
    settings = Settings(
        backend_store_uri=store_uri,
        artifacts_destination=str(tmp_path / "artifacts"),
        app_name="basic-auth",
        **overrides,
    )
    return settings, read_auth_config(env)


def auth_app(store_uri: str, tmp_path, **kwargs: Any):
    settings, config = auth_settings(store_uri, tmp_path, **kwargs)
    return create_app(settings, auth_config=config)


async def make_auth_client(aiohttp_client, store_uri: str, tmp_path, **kwargs: Any):
    return await aiohttp_client(auth_app(store_uri, tmp_path, **kwargs))


class As:
    """REST calls as one user: ``await As(client, "bob").post("2.0/mlflow/runs/create", {...})``."""

    def __init__(self, client, username: str | None, password: str | None = None, headers: dict | None = None):
        self.client = client
        self.headers = dict(headers or {})
        if username is not None:
            self.headers.update(basic(username, password or (ADMIN_PASSWORD if username == ADMIN else PASSWORD)))

    async def request(self, method: str, path: str, body: Any = None, params: Any = None, status: int | None = 200):
        url = path if path.startswith("/") else f"/api/{path}"
        headers = dict(self.headers)
        kwargs: dict[str, Any] = {}
        if params is not None:
            kwargs["params"] = params
        if body is not None:
            kwargs["data"] = orjson.dumps(body)
            headers.update(JSON)
        resp = await self.client.request(method, url, headers=headers, **kwargs)
        raw = await resp.read()
        data = orjson.loads(raw) if raw and resp.content_type == "application/json" else raw
        if status is not None:
            assert resp.status == status, (method, path, resp.status, data)
        return data if status is not None else (resp.status, data, resp.headers)

    async def get(self, path: str, params: Any = None, status: int | None = 200):
        return await self.request("GET", path, params=params or {}, status=status)

    async def post(self, path: str, body: Any = None, status: int | None = 200):
        return await self.request("POST", path, body if body is not None else {}, status=status)

    async def patch(self, path: str, body: Any = None, status: int | None = 200):
        return await self.request("PATCH", path, body if body is not None else {}, status=status)

    async def delete(self, path: str, body: Any = None, status: int | None = 200):
        return await self.request("DELETE", path, body if body is not None else {}, status=status)


async def add_user(admin: As, username: str, password: str = PASSWORD) -> dict:
    return (await admin.post("2.0/mlflow/users/create", {"username": username, "password": password}))["user"]


async def grant(admin: As, username: str, resource_type: str, resource_id: str, permission: str) -> None:
    body = {"username": username, "resource_type": resource_type, "resource_id": resource_id, "permission": permission}
    await admin.post("3.0/mlflow/users/permissions/grant", body)
