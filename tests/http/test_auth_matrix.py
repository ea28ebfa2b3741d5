"""The permission matrix: no grant, READ, EDIT, MANAGE and admin, against every kind of route.

The server's default permission is NO_PERMISSIONS, so a user's level on a resource is exactly the
grant made here. Each (user, action) pair gets fresh resources, created by the admin and granted
to the user, so destructive actions never disturb the next pair.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from auth_support import ADMIN, As, add_user, grant, make_auth_client

LEVELS = {"none": 0, "READ": 1, "EDIT": 3, "MANAGE": 4, "admin": 9}
NEEDS = {"read": 1, "update": 3, "delete": 4}


@dataclass
class World:
    exp: str
    run: str
    model: str
    logged_model: str
    artifact: str  # a proxied artifact path under the run


async def _world(admin: As, name: str) -> World:
    exp = (await admin.post("2.0/mlflow/experiments/create", {"name": f"e-{name}"}))["experiment_id"]
    run = (await admin.post("2.0/mlflow/runs/create", {"experiment_id": exp}))["run"]["info"]["run_id"]
    await admin.post("2.0/mlflow/runs/log-metric", {"run_id": run, "key": "m", "value": 1, "timestamp": 1, "step": 0})
    await admin.post("2.0/mlflow/registered-models/create", {"name": f"m-{name}"})
    await admin.post(
        "2.0/mlflow/model-versions/create", {"name": f"m-{name}", "source": f"runs:/{run}/model", "run_id": run}
    )
    lm = (await admin.post("2.0/mlflow/logged-models", {"experiment_id": exp, "name": "lm"}))["model"]["info"]
    artifact = f"{exp}/{run}/artifacts/f.txt"
    resp = await admin.client.put(
        f"/api/2.0/mlflow-artifacts/artifacts/{artifact}", data=b"hello", headers=admin.headers
    )
    assert resp.status == 200
    return World(exp, run, f"m-{name}", lm["model_id"], artifact)


Action = Callable[[As, World], Awaitable[int]]


def _status(method: str, path: str, body: Callable[[World], dict] | None = None, query: bool = False) -> Action:
    async def act(user: As, w: World) -> int:
        data = body(w) if body else {}
        p = path.format(w=w)
        if query:
            status, _, _ = await user.request(method, p, params=data, status=None)
        else:
            status, _, _ = await user.request(method, p, data, status=None)
        return int(status)

    return act


async def _put_artifact(user: As, w: World) -> int:
    resp = await user.client.put(
        f"/api/2.0/mlflow-artifacts/artifacts/{w.exp}/{w.run}/artifacts/new.txt", data=b"x", headers=user.headers
    )
    return resp.status


async def _restore_experiment(user: As, w: World) -> int:
    await As(user.client, ADMIN).post("2.0/mlflow/experiments/delete", {"experiment_id": w.exp})
    return await _status("POST", "2.0/mlflow/experiments/restore", lambda w: {"experiment_id": w.exp})(user, w)


ACTIONS: dict[str, tuple[str, Action]] = {
    "get experiment": ("read", _status("GET", "2.0/mlflow/experiments/get", lambda w: {"experiment_id": w.exp}, True)),
    "rename experiment": (
        "update",
        _status("POST", "2.0/mlflow/experiments/update", lambda w: {"experiment_id": w.exp, "new_name": w.exp + "x"}),
    ),
    "tag experiment": (
        "update",
        _status(
            "POST",
            "2.0/mlflow/experiments/set-experiment-tag",
            lambda w: {"experiment_id": w.exp, "key": "k", "value": "v"},
        ),
    ),
    "delete experiment": (
        "delete",
        _status("POST", "2.0/mlflow/experiments/delete", lambda w: {"experiment_id": w.exp}),
    ),
    "restore experiment": ("delete", _restore_experiment),
    "create run": ("update", _status("POST", "2.0/mlflow/runs/create", lambda w: {"experiment_id": w.exp})),
    "get run": ("read", _status("GET", "2.0/mlflow/runs/get", lambda w: {"run_id": w.run}, True)),
    "log metric": (
        "update",
        _status(
            "POST", "2.0/mlflow/runs/log-metric", lambda w: {"run_id": w.run, "key": "x", "value": 2, "timestamp": 2}
        ),
    ),
    "log batch": (
        "update",
        _status(
            "POST", "2.0/mlflow/runs/log-batch", lambda w: {"run_id": w.run, "params": [{"key": "p", "value": "1"}]}
        ),
    ),
    "delete run": ("delete", _status("POST", "2.0/mlflow/runs/delete", lambda w: {"run_id": w.run})),
    "metric history": (
        "read",
        _status("GET", "2.0/mlflow/metrics/get-history", lambda w: {"run_id": w.run, "metric_key": "m"}, True),
    ),
    "bulk interval": (
        "read",
        _status(
            "GET",
            "2.0/mlflow/metrics/get-history-bulk-interval",
            lambda w: {"run_ids": w.run, "metric_key": "m", "max_results": "10"},
            True,
        ),
    ),
    "list run artifacts": ("read", _status("GET", "2.0/mlflow/artifacts/list", lambda w: {"run_id": w.run}, True)),
    "upload artifact": ("update", _put_artifact),
    "download artifact": ("read", _status("GET", "2.0/mlflow-artifacts/artifacts/{w.artifact}")),
    "list proxied artifacts": (
        "read",
        _status("GET", "2.0/mlflow-artifacts/artifacts", lambda w: {"path": f"{w.exp}/{w.run}/artifacts"}, True),
    ),
    "delete artifact": ("delete", _status("DELETE", "2.0/mlflow-artifacts/artifacts/{w.artifact}")),
    "ui get-artifact": ("read", _status("GET", "/get-artifact", lambda w: {"run_uuid": w.run, "path": "f.txt"}, True)),
    "create logged model": ("update", _status("POST", "2.0/mlflow/logged-models", lambda w: {"experiment_id": w.exp})),
    "get logged model": ("read", _status("GET", "2.0/mlflow/logged-models/{w.logged_model}")),
    "delete logged model": ("delete", _status("DELETE", "2.0/mlflow/logged-models/{w.logged_model}")),
    "get model": ("read", _status("GET", "2.0/mlflow/registered-models/get", lambda w: {"name": w.model}, True)),
    "update model": (
        "update",
        _status("PATCH", "2.0/mlflow/registered-models/update", lambda w: {"name": w.model, "description": "d"}),
    ),
    "tag model": (
        "update",
        _status("POST", "2.0/mlflow/registered-models/set-tag", lambda w: {"name": w.model, "key": "k", "value": "v"}),
    ),
    "delete model": ("delete", _status("DELETE", "2.0/mlflow/registered-models/delete", lambda w: {"name": w.model})),
    "create version": (
        "update",
        _status(
            "POST",
            "2.0/mlflow/model-versions/create",
            lambda w: {"name": w.model, "source": f"runs:/{w.run}/m", "run_id": w.run},
        ),
    ),
    "get version": (
        "read",
        _status("GET", "2.0/mlflow/model-versions/get", lambda w: {"name": w.model, "version": "1"}, True),
    ),
    "delete version": (
        "delete",
        _status("DELETE", "2.0/mlflow/model-versions/delete", lambda w: {"name": w.model, "version": "1"}),
    ),
}


@pytest.mark.parametrize("level", list(LEVELS))
async def test_permission_matrix(aiohttp_client, store_uri, tmp_path, level):
    client = await make_auth_client(aiohttp_client, store_uri, tmp_path, default_permission="NO_PERMISSIONS")
    admin = As(client, ADMIN)
    if level == "admin":
        user = admin
    else:
        await add_user(admin, "u")
        user = As(client, "u")
    wrong = []
    for i, (name, (action, act)) in enumerate(ACTIONS.items()):
        world = await _world(admin, f"{level}-{i}")
        if level in ("READ", "EDIT", "MANAGE"):
            await grant(admin, "u", "experiment", world.exp, level)
            await grant(admin, "u", "registered_model", world.model, level)
        status = await act(user, world)
        expected = 200 if LEVELS[level] >= NEEDS[action] else 403
        if status != expected:
            wrong.append((name, status, expected))
    assert not wrong, f"{level}: (action, got, expected) {wrong}"
