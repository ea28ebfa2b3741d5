"""The auth REST API on both backends: users, per-user grants, roles, access tokens, 401/403/429."""

from __future__ import annotations

import hashlib

import pytest
from auth_support import ADMIN, ADMIN_PASSWORD, PASSWORD, As, add_user, basic, grant, make_auth_client

from aiotrack.http import keys

USERS = "2.0/mlflow/users"
ROLES = "3.0/mlflow/roles"
PERMS = "3.0/mlflow/users/permissions"
TOKENS = "2.0/aiotrack/users/access-tokens"


@pytest.fixture
async def client(aiohttp_client, store_uri, tmp_path):
    return await make_auth_client(aiohttp_client, store_uri, tmp_path)


async def test_no_or_bad_credentials_answer_401_with_a_basic_challenge(client):
    for headers in (
        {},
        basic(ADMIN, "wrong-password-123"),
        basic("nobody", "whatever-password"),
        {"Authorization": "Basic !!!!"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Digest abc"},
    ):
        resp = await client.get("/api/2.0/mlflow/experiments/search", headers=headers)
        assert resp.status == 401, headers
        assert resp.headers["WWW-Authenticate"] == 'Basic realm="mlflow"'
        assert (await resp.json())["error_code"] == "UNAUTHENTICATED"
    for public in ("/health", "/version", "/api/3.0/mlflow/server-info"):
        assert (await client.get(public)).status == 200, public


async def test_users_lifecycle(client):
    admin = As(client, ADMIN)
    alice = await add_user(admin, "alice")
    assert alice == {"id": alice["id"], "username": "alice", "is_admin": False}
    await admin.post(f"{USERS}/create", {"username": "alice", "password": PASSWORD}, status=400)
    short = await admin.post(f"{USERS}/create", {"username": "bob", "password": "short"}, status=400)
    assert short["message"] == "Password must be at least 12 characters."
    await admin.post(f"{USERS}/create", {"username": "", "password": PASSWORD}, status=400)
    bob = await add_user(admin, "bob")
    a = As(client, "alice")
    # a non-admin creates no users and changes no admin flags
    await a.post(f"{USERS}/create", {"username": "carol", "password": PASSWORD}, status=403)
    await a.patch(f"{USERS}/update-admin", {"username": "alice", "is_admin": True}, status=403)
    # reads: oneself yes, others no; everyone may list (roles of others hidden)
    assert (await a.get(f"{USERS}/get", {"username": "alice"}))["user"]["username"] == "alice"
    await a.get(f"{USERS}/get", {"username": "bob"}, status=403)
    listed = (await a.get(f"{USERS}/list"))["users"]
    assert {u["username"] for u in listed} == {ADMIN, "alice", "bob"}
    assert all("password" not in str(u) for u in listed)
    assert await a.get(f"{USERS}/current") == {"user": alice, "is_basic_auth": True}
    # own password: the current one is required and checked
    await a.patch(f"{USERS}/update-password", {"username": "alice", "password": "new-password-123"}, status=400)
    wrong = {"username": "alice", "password": "new-password-123", "current_password": "not-it-at-all"}
    await a.patch(f"{USERS}/update-password", wrong, status=400)
    await a.patch(f"{USERS}/update-password", {"username": "bob", "password": "new-password-123"}, status=403)
    ok = {"username": "alice", "password": "new-password-123", "current_password": PASSWORD}
    await a.patch(f"{USERS}/update-password", ok)
    await a.get(f"{USERS}/current", status=401)  # the old password stops working at once
    a = As(client, "alice", "new-password-123")
    await a.get(f"{USERS}/current")
    # admins: set admin, reset a password without the current one, delete; never themselves
    await admin.patch(f"{USERS}/update-admin", {"username": "bob", "is_admin": True})
    assert (await As(client, "bob").get(f"{USERS}/current"))["user"]["is_admin"] is True
    await admin.patch(f"{USERS}/update-password", {"username": "bob", "password": "reset-password-99"})
    await As(client, "bob").get(f"{USERS}/current", status=401)
    await admin.delete(f"{USERS}/delete", {"username": ADMIN}, status=400)
    await admin.delete(f"{USERS}/delete", {"username": "bob"})
    await admin.get(f"{USERS}/get", {"username": "bob"}, status=404)
    await As(client, "bob", "reset-password-99").get(f"{USERS}/current", status=401)
    assert bob["id"] != alice["id"]


async def test_grants_and_effective_permissions(client):
    admin = As(client, ADMIN)
    await add_user(admin, "alice")
    await add_user(admin, "bob")
    a, b = As(client, "alice"), As(client, "bob")
    exp = (await a.post("2.0/mlflow/experiments/create", {"name": "alice-exp"}))["experiment_id"]
    # the creator holds MANAGE; bob gets the server's default (READ)
    got = await a.get(f"{PERMS}/get", {"username": "alice", "resource_type": "experiment", "resource_id": exp})
    assert got == {"allowed": True, "permission": "MANAGE"}
    got = await a.get(f"{PERMS}/get", {"username": "bob", "resource_type": "experiment", "resource_id": exp}, 403)
    got = await admin.get(f"{PERMS}/get", {"username": "bob", "resource_type": "experiment", "resource_id": exp})
    assert got == {"allowed": False, "permission": "READ"}
    # MANAGE on a resource lets its holder grant on it (MLflow's delegation); bob cannot
    body = {"username": "bob", "resource_type": "experiment", "resource_id": exp, "permission": "EDIT"}
    await b.post(f"{PERMS}/grant", body, status=403)
    await a.post(f"{PERMS}/grant", body)
    await a.post(f"{PERMS}/grant", body, status=400)  # already granted: RESOURCE_ALREADY_EXISTS
    await b.post("2.0/mlflow/runs/create", {"experiment_id": exp})
    await b.post("2.0/mlflow/experiments/delete", {"experiment_id": exp}, status=403)  # EDIT cannot delete
    mine = await b.get("3.0/mlflow/users/current/permissions")
    assert mine["is_admin"] is False
    assert [(p["resource_type"], p["resource_pattern"], p["permission"]) for p in mine["permissions"]] == [
        ("experiment", exp, "EDIT")
    ]
    assert mine["permissions"][0]["role_name"].startswith("__user_")
    revoke = {"username": "bob", "resource_type": "experiment", "resource_id": exp}
    await a.post(f"{PERMS}/revoke", revoke)
    await a.post(f"{PERMS}/revoke", revoke, status=404)
    await b.post("2.0/mlflow/runs/create", {"experiment_id": exp}, status=403)
    # bad grants are refused with MLflow's messages
    for bad in (
        {**body, "permission": "SUPERUSER"},
        {**body, "resource_type": "scorer"},
        {**body, "permission": "NO_PERMISSIONS"},
    ):
        await admin.post(f"{PERMS}/grant", bad, status=400)
    await admin.post(f"{PERMS}/grant", {**body, "username": "nobody"}, status=404)


async def test_deny_wins_over_the_default_and_other_grants(client):
    admin = As(client, ADMIN)
    await add_user(admin, "bob")
    exp = (await admin.post("2.0/mlflow/experiments/create", {"name": "secret"}))["experiment_id"]
    b = As(client, "bob")
    await b.get("2.0/mlflow/experiments/get", {"experiment_id": exp})
    await grant(admin, "bob", "experiment", exp, "DENY")
    await b.get("2.0/mlflow/experiments/get", {"experiment_id": exp}, status=403)
    role = (await admin.post(f"{ROLES}/create", {"workspace": "default", "name": "editors"}))["role"]
    await admin.post(
        f"{ROLES}/permissions/add",
        {"role_id": role["id"], "resource_type": "experiment", "resource_pattern": "*", "permission": "EDIT"},
    )
    await admin.post(f"{ROLES}/assign", {"username": "bob", "role_id": role["id"]})
    await b.get("2.0/mlflow/experiments/get", {"experiment_id": exp}, status=403)
    await b.get("2.0/mlflow/experiments/get", {"experiment_id": "0"})


async def test_roles(client):
    admin = As(client, ADMIN)
    alice = await add_user(admin, "alice")
    a = As(client, "alice")
    await a.post(f"{ROLES}/create", {"workspace": "default", "name": "x"}, status=403)
    role = (await admin.post(f"{ROLES}/create", {"workspace": "default", "name": "ml", "description": "d"}))["role"]
    assert role == {"id": role["id"], "name": "ml", "workspace": "default", "description": "d", "permissions": []}
    await admin.post(f"{ROLES}/create", {"workspace": "default", "name": "ml"}, status=400)
    await admin.post(f"{ROLES}/create", {"workspace": "default", "name": "__user_7__"}, status=400)
    await admin.post(f"{ROLES}/create", {"workspace": "other", "name": "y"}, status=400)
    rp = (
        await admin.post(
            f"{ROLES}/permissions/add",
            {"role_id": role["id"], "resource_type": "registered_model", "resource_pattern": "*", "permission": "READ"},
        )
    )["role_permission"]
    assert rp == {
        "id": rp["id"],
        "role_id": role["id"],
        "resource_type": "registered_model",
        "resource_pattern": "*",
        "permission": "READ",
    }
    bad = {"role_id": role["id"], "resource_type": "workspace", "resource_pattern": "*", "permission": "READ"}
    await admin.post(f"{ROLES}/permissions/add", bad, status=400)
    updated = await admin.patch(f"{ROLES}/permissions/update", {"role_permission_id": rp["id"], "permission": "EDIT"})
    assert updated["role_permission"]["permission"] == "EDIT"
    listed = await admin.get(f"{ROLES}/permissions/list", {"role_id": str(role["id"])})
    assert listed == {"role_permissions": [updated["role_permission"]]}
    got = await admin.get(f"{ROLES}/get", {"role_id": str(role["id"])})
    assert got["role"]["permissions"] == [updated["role_permission"]]
    assert [r["name"] for r in (await admin.get(f"{ROLES}/list", {"workspace": "default"}))["roles"]] == ["ml"]
    renamed = await admin.patch(f"{ROLES}/update", {"role_id": role["id"], "name": "ml2"})
    assert renamed["role"]["name"] == "ml2"
    await admin.patch(f"{ROLES}/update", {"role_id": role["id"]}, status=400)
    assignment = (await admin.post(f"{ROLES}/assign", {"username": "alice", "role_id": role["id"]}))["assignment"]
    assert assignment == {"id": assignment["id"], "user_id": alice["id"], "role_id": role["id"]}
    await admin.post(f"{ROLES}/assign", {"username": "alice", "role_id": role["id"]}, status=400)
    assert (await admin.get(f"{ROLES}/users/list", {"role_id": str(role["id"])}))["assignments"] == [assignment]
    assert [r["name"] for r in (await a.get("3.0/mlflow/users/roles/list", {"username": "alice"}))["roles"]] == ["ml2"]
    await a.get("3.0/mlflow/users/roles/list", {"username": ADMIN}, status=403)
    await admin.delete(f"{ROLES}/unassign", {"username": "alice", "role_id": role["id"]})
    await admin.delete(f"{ROLES}/unassign", {"username": "alice", "role_id": role["id"]}, status=404)
    await admin.delete(f"{ROLES}/permissions/remove", {"role_permission_id": rp["id"]})
    await admin.delete(f"{ROLES}/delete", {"role_id": role["id"]})
    await admin.get(f"{ROLES}/get", {"role_id": str(role["id"])}, status=404)
    await admin.get(f"{ROLES}/get", {"role_id": "abc"}, status=400)


async def test_workspace_manage_grant_makes_a_role_admin(client):
    admin = As(client, ADMIN)
    await add_user(admin, "wsadmin")
    exp = (await admin.post("2.0/mlflow/experiments/create", {"name": "x"}))["experiment_id"]
    w = As(client, "wsadmin")
    await w.post("2.0/mlflow/experiments/delete", {"experiment_id": exp}, status=403)
    role = (await admin.post(f"{ROLES}/create", {"workspace": "default", "name": "owners"}))["role"]
    await admin.post(
        f"{ROLES}/permissions/add",
        {"role_id": role["id"], "resource_type": "workspace", "resource_pattern": "*", "permission": "MANAGE"},
    )
    await admin.post(f"{ROLES}/assign", {"username": "wsadmin", "role_id": role["id"]})
    await w.post("2.0/mlflow/experiments/delete", {"experiment_id": exp})
    await w.post(f"{ROLES}/create", {"workspace": "default", "name": "by-wsadmin"})
    # As in MLflow 3.17: a workspace admin may create a user, but neither make anyone (itself
    # included) an admin nor delete a user.
    await add_user(w, "seeded")
    await w.patch(f"{USERS}/update-admin", {"username": "wsadmin", "is_admin": True}, status=403)
    await w.patch(f"{USERS}/update-admin", {"username": "seeded", "is_admin": True}, status=403)
    await w.delete(f"{USERS}/delete", {"username": "seeded"}, status=403)
    assert (await w.get(f"{USERS}/current"))["user"]["is_admin"] is False


async def test_access_tokens(client):
    admin = As(client, ADMIN)
    await add_user(admin, "alice")
    a = As(client, "alice")
    created = await a.post(f"{TOKENS}/create", {"name": "laptop", "expires_in_days": 30})
    secret, row = created["token"], created["access_token"]
    assert secret.startswith("atk_") and row["name"] == "laptop" and row["expires_at"] > row["created_at"]
    # the store keeps a SHA-256 digest, never the token
    digests = [r[0] for r in await client.app[keys.AUTH].store.db.fetch("SELECT token_digest FROM auth_tokens")]
    assert digests == [hashlib.sha256(secret.encode()).hexdigest()]
    bearer = As(client, None, headers={"Authorization": f"Bearer {secret}"})
    assert (await bearer.get(f"{USERS}/current"))["user"]["username"] == "alice"
    assert [t["name"] for t in (await bearer.get(f"{TOKENS}/list"))["access_tokens"]] == ["laptop"]
    assert "token" not in (await bearer.get(f"{TOKENS}/list"))["access_tokens"][0]
    # another user cannot revoke it; its owner can, and it stops working at once
    await add_user(admin, "bob")
    await As(client, "bob").delete(f"{TOKENS}/delete", {"token_id": row["id"]}, status=404)
    await a.delete(f"{TOKENS}/delete", {"token_id": row["id"]})
    await bearer.get(f"{USERS}/current", status=401)
    await a.post(f"{TOKENS}/create", {"name": ""}, status=400)
    await a.post(f"{TOKENS}/create", {"expires_in_days": 0}, status=400)


async def test_repeated_failures_are_limited_per_user_and_address(client):
    admin = As(client, ADMIN)
    await add_user(admin, "alice")
    wrong = As(client, "alice", "wrong-password-99")
    for _ in range(5):
        await wrong.get(f"{USERS}/current", status=401)
    status, body, headers = await wrong.get(f"{USERS}/current", status=None)
    assert status == 429 and body["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert int(headers["Retry-After"]) >= 1
    # the right password from the same address waits too (no oracle), others are unaffected
    status, _, _ = await As(client, "alice").get(f"{USERS}/current", status=None)
    assert status == 429
    await admin.get(f"{USERS}/current")
    assert ADMIN_PASSWORD not in str(body)
