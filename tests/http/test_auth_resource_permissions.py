"""aiotrack's endpoints behind the UI's permission editor, on both backends: one resource's grants
listed and changed in place, for admins and MANAGE holders only."""

from __future__ import annotations

import pytest
from auth_support import ADMIN, As, add_user, grant, make_auth_client

from aiotrack.names import IS_PROMPT_TAG

LIST = "2.0/aiotrack/permissions/list"
UPDATE = "2.0/aiotrack/permissions/update"
PERMS = "3.0/mlflow/users/permissions"


@pytest.fixture
async def client(aiohttp_client, store_uri, tmp_path):
    return await make_auth_client(aiohttp_client, store_uri, tmp_path)


def _who(answer: dict) -> list[tuple[str, str]]:
    return [(p["username"], p["permission"]) for p in answer["permissions"]]


async def test_a_manager_lists_and_changes_an_experiments_grants(client):
    admin = As(client, ADMIN)
    for name in ("alice", "bob", "carol"):
        await add_user(admin, name)
    a, b, c = As(client, "alice"), As(client, "bob"), As(client, "carol")
    exp = (await a.post("2.0/mlflow/experiments/create", {"name": "shared"}))["experiment_id"]
    other = (await admin.post("2.0/mlflow/experiments/create", {"name": "other"}))["experiment_id"]
    await grant(admin, "bob", "experiment", other, "EDIT")  # another resource: not listed
    query = {"resource_type": "experiment", "resource_id": exp}
    got = await a.get(LIST, query)
    assert got["resource_type"] == "experiment" and got["resource_id"] == exp
    assert got["default_permission"] == "READ"
    assert _who(got) == [("alice", "MANAGE")]  # the creator's grant
    assert set(got["permissions"][0]) == {"user_id", "username", "is_admin", "permission"}

    await a.post(f"{PERMS}/grant", {**query, "username": "bob", "permission": "READ"})
    assert _who(await a.get(LIST, query)) == [("alice", "MANAGE"), ("bob", "READ")]
    await b.post("2.0/mlflow/runs/create", {"experiment_id": exp}, status=403)
    # changed in place: effective at once (the grant cache is dropped)
    await a.patch(UPDATE, {**query, "username": "bob", "permission": "EDIT"})
    assert _who(await a.get(LIST, query)) == [("alice", "MANAGE"), ("bob", "EDIT")]
    await b.post("2.0/mlflow/runs/create", {"experiment_id": exp})
    # READ and EDIT holders, and users without a grant, neither list nor change
    await b.get(LIST, query, status=403)
    await b.patch(UPDATE, {**query, "username": "bob", "permission": "MANAGE"}, status=403)
    await c.get(LIST, query, status=403)
    await c.patch(UPDATE, {**query, "username": "bob", "permission": "READ"}, status=403)
    # ... nor does alice on the experiment she does not manage; the admin does
    await a.get(LIST, {"resource_type": "experiment", "resource_id": other}, status=403)
    got = await admin.get(LIST, {"resource_type": "experiment", "resource_id": other})
    assert _who(got) == [(ADMIN, "MANAGE"), ("bob", "EDIT")]
    # a revoked grant is gone from the list; changing a grant that does not exist is 404
    await a.post(f"{PERMS}/revoke", {**query, "username": "bob"})
    assert _who(await a.get(LIST, query)) == [("alice", "MANAGE")]
    missing = await a.patch(UPDATE, {**query, "username": "bob", "permission": "READ"}, status=404)
    assert missing["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    await a.patch(UPDATE, {**query, "username": "nobody", "permission": "READ"}, status=404)


async def test_model_and_prompt_grants_are_listed_by_their_own_type(client):
    admin = As(client, ADMIN)
    await add_user(admin, "alice")
    await add_user(admin, "bob")
    a = As(client, "alice")
    await a.post("2.0/mlflow/registered-models/create", {"name": "m"})
    await a.post(
        "2.0/mlflow/registered-models/create", {"name": "p", "tags": [{"key": IS_PROMPT_TAG, "value": "true"}]}
    )
    await a.post(
        f"{PERMS}/grant",
        {"username": "bob", "resource_type": "registered_model", "resource_id": "m", "permission": "EDIT"},
    )
    await a.post(
        f"{PERMS}/grant", {"username": "bob", "resource_type": "prompt", "resource_id": "p", "permission": "READ"}
    )
    model = await a.get(LIST, {"resource_type": "registered_model", "resource_id": "m"})
    assert _who(model) == [("alice", "MANAGE"), ("bob", "EDIT")]
    prompt = await a.get(LIST, {"resource_type": "prompt", "resource_id": "p"})
    assert _who(prompt) == [("alice", "MANAGE"), ("bob", "READ")]
    await a.patch(
        UPDATE, {"username": "bob", "resource_type": "registered_model", "resource_id": "m", "permission": "READ"}
    )
    assert _who(await a.get(LIST, {"resource_type": "registered_model", "resource_id": "m"}))[1] == ("bob", "READ")
    await As(client, "bob").get(LIST, {"resource_type": "registered_model", "resource_id": "m"}, status=403)


async def test_bad_arguments_get_mlflows_errors(client):
    admin = As(client, ADMIN)
    await add_user(admin, "bob")
    exp = (await admin.post("2.0/mlflow/experiments/create", {"name": "e"}))["experiment_id"]
    await grant(admin, "bob", "experiment", exp, "READ")
    for params in ({}, {"resource_type": "experiment"}, {"resource_id": exp}):
        got = await admin.get(LIST, params, status=400)
        assert got["error_code"] == "INVALID_PARAMETER_VALUE"
    got = await admin.get(LIST, {"resource_type": "scorer", "resource_id": exp}, status=400)
    assert got["message"].startswith("Invalid resource type 'scorer'")
    body = {"username": "bob", "resource_type": "experiment", "resource_id": exp}
    for bad in ({**body, "permission": "SUPERUSER"}, {**body, "permission": "NO_PERMISSIONS"}, body):
        got = await admin.patch(UPDATE, bad, status=400)
        assert got["error_code"] == "INVALID_PARAMETER_VALUE"
    # a wildcard is not one resource: MANAGE on it is never delegated
    await As(client, "bob").get(LIST, {"resource_type": "experiment", "resource_id": "*"}, status=403)
    assert _who(await admin.get(LIST, {"resource_type": "experiment", "resource_id": exp})) == [
        (ADMIN, "MANAGE"),
        ("bob", "READ"),
    ]


async def test_cross_site_writes_are_refused_even_with_an_admins_credentials(client):
    """Browsers resend cached Basic credentials: the origin check, before auth, stops cross-site
    grant changes from the admin page's and the editor's endpoints."""
    admin = As(client, ADMIN)
    await add_user(admin, "bob")
    exp = (await admin.post("2.0/mlflow/experiments/create", {"name": "e"}))["experiment_id"]
    await grant(admin, "bob", "experiment", exp, "READ")
    body = {"username": "bob", "resource_type": "experiment", "resource_id": exp, "permission": "MANAGE"}
    evil = As(client, ADMIN, headers={"Origin": "https://evil.example"})
    for method, path, payload in (
        ("PATCH", UPDATE, body),
        ("POST", f"{PERMS}/grant", {**body, "username": ADMIN}),
        ("POST", "2.0/mlflow/users/create", {"username": "mallory", "password": "mallory-password-1"}),
        ("PATCH", "2.0/mlflow/users/update-admin", {"username": "bob", "is_admin": True}),
    ):
        got = await evil.request(method, path, payload, status=403)
        assert got["error_code"] == "PERMISSION_DENIED", path
    assert _who(await admin.get(LIST, {"resource_type": "experiment", "resource_id": exp})) == [
        (ADMIN, "MANAGE"),
        ("bob", "READ"),
    ]
    users = {u["username"]: u for u in (await admin.get("2.0/mlflow/users/list"))["users"]}
    assert "mallory" not in users and users["bob"]["is_admin"] is False
    # the UI's own origin passes
    local = As(client, ADMIN, headers={"Origin": str(client.make_url("")).rstrip("/")})
    await local.patch(UPDATE, body)
