"""`aiotrack server --app-name basic-auth` with the unchanged mlflow client: username/password and
bearer-token sign-in, a full tracking, artifact and registry workflow as a permitted user, 401
and 403 where MLflow answers them, MLflow's AuthServiceClient end to end, and no credential in
any log line. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException

ADMIN_PASSWORD = "compat-admin-password-1"
ALICE_PASSWORD = "alice-password-12345"
BOB_PASSWORD = "bob-password-1234567"

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


@pytest.fixture
def auth_server(start_server, store_uri, tmp_path):
    return start_server(
        [
            "--backend-store-uri",
            store_uri,
            "--artifacts-destination",
            str(tmp_path / "artifacts"),
            "--workers",
            "2",
            "--app-name",
            "basic-auth",
        ],
        env={"MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD},
    )


@pytest.fixture
def as_user(auth_server, monkeypatch):
    """``as_user(name, password)`` (or ``as_user(token=...)``) sets the client's credentials."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", auth_server.url)
    mlflow.set_tracking_uri(auth_server.url)

    def use(username: str | None = None, password: str | None = None, token: str | None = None) -> None:
        for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
            monkeypatch.delenv(key, raising=False)
        if username is not None:
            monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", username)
            monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password or "")
        if token is not None:
            monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)

    yield use
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


def _auth_client(server):
    import mlflow.server

    return mlflow.server.get_app_client("basic-auth", tracking_uri=server.url)


def _rest(server, method, path, body, username, password):
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    req = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def _assert_no_credentials_logged(server, *secrets):
    log = server.log()
    assert "POST /api/2.0/mlflow/runs" in log or "GET " in log  # the access log is on
    for secret in secrets:
        assert secret not in log
        assert base64.b64encode(secret.encode()).decode()[:12] not in log


def test_workflow_with_password_then_token(auth_server, as_user, tmp_path):
    import mlflow

    as_user("admin", ADMIN_PASSWORD)
    _auth_client(auth_server).create_user("alice", ALICE_PASSWORD)
    as_user("alice", ALICE_PASSWORD)
    mlflow.set_experiment("alice-exp")
    with mlflow.start_run() as run:
        mlflow.log_param("lr", 0.1)
        for step in range(3):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.set_tag("team", "a")
        (tmp_path / "notes.txt").write_text("hello")
        mlflow.log_artifact(str(tmp_path / "notes.txt"))
        mlflow.log_dict({"a": 1}, "cfg/config.json")
    client = MlflowClient()
    got = client.get_run(run.info.run_id)
    assert got.data.params == {"lr": "0.1"} and got.data.metrics["loss"] == pytest.approx(1 / 3)
    assert sorted(a.path for a in client.list_artifacts(run.info.run_id)) == ["cfg", "notes.txt"]
    local = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=str(tmp_path / "dl"))
    assert (tmp_path / "dl" / "notes.txt").read_text() == "hello" and local
    assert [r.info.run_id for r in client.search_runs([run.info.experiment_id])] == [run.info.run_id]
    # registry as the same user
    client.create_registered_model("alice-model")
    mv = client.create_model_version("alice-model", f"runs:/{run.info.run_id}/cfg", run_id=run.info.run_id)
    client.set_registered_model_alias("alice-model", "prod", mv.version)
    assert client.get_model_version_by_alias("alice-model", "prod").version == mv.version
    assert [m.name for m in client.search_registered_models()] == ["alice-model"]

    # an access token works as MLFLOW_TRACKING_TOKEN, and stops working once revoked
    created = _rest(
        auth_server, "POST", "/api/2.0/aiotrack/users/access-tokens/create", {"name": "ci"}, "alice", ALICE_PASSWORD
    )
    token = created["token"]
    as_user(token=token)
    with mlflow.start_run(experiment_id=run.info.experiment_id):
        mlflow.log_metric("acc", 0.5)
    assert len(MlflowClient().search_runs([run.info.experiment_id])) == 2
    as_user("alice", ALICE_PASSWORD)
    _rest(
        auth_server,
        "DELETE",
        "/api/2.0/aiotrack/users/access-tokens/delete",
        {"token_id": created["access_token"]["id"]},
        "alice",
        ALICE_PASSWORD,
    )
    as_user(token=token)
    with pytest.raises(MlflowException, match="UNAUTHENTICATED"):
        MlflowClient().get_run(run.info.run_id)
    _assert_no_credentials_logged(auth_server, ADMIN_PASSWORD, ALICE_PASSWORD, token)


def test_401_and_403(auth_server, as_user):
    import mlflow

    as_user("admin", ADMIN_PASSWORD)
    admin = _auth_client(auth_server)
    admin.create_user("alice", ALICE_PASSWORD)
    admin.create_user("bob", BOB_PASSWORD)
    as_user("alice", ALICE_PASSWORD)
    exp = mlflow.create_experiment("private")
    run = MlflowClient().create_run(exp)
    as_user()  # no credentials at all
    with pytest.raises(MlflowException, match="UNAUTHENTICATED"):
        MlflowClient().get_experiment(exp)
    as_user("bob", BOB_PASSWORD)  # the default permission (READ) lets bob look, not touch
    bob = MlflowClient()
    assert bob.get_experiment(exp).name == "private"
    for forbidden in (
        lambda: bob.log_metric(run.info.run_id, "m", 1.0),
        lambda: bob.create_run(exp),
        lambda: bob.delete_experiment(exp),
        lambda: bob.set_experiment_tag(exp, "k", "v"),
        lambda: _auth_client(auth_server).update_user_admin("bob", True),
        lambda: _auth_client(auth_server).update_user_password("alice", "bob-chose-this-1"),
        lambda: _auth_client(auth_server).create_user("carol", "carol-password-1"),
    ):
        with pytest.raises(RestException) as caught:
            forbidden()
        assert caught.value.error_code == "PERMISSION_DENIED"
    url = f"{auth_server.url}/api/2.0/mlflow-artifacts/artifacts/{exp}/{run.info.run_id}/artifacts/x.txt"
    auth = base64.b64encode(f"bob:{BOB_PASSWORD}".encode()).decode()
    req = urllib.request.Request(url, data=b"x", method="PUT", headers={"Authorization": f"Basic {auth}"})
    with pytest.raises(urllib.error.HTTPError) as put:
        urllib.request.urlopen(req, timeout=30)
    assert put.value.code == 403
    _assert_no_credentials_logged(auth_server, ADMIN_PASSWORD, ALICE_PASSWORD, BOB_PASSWORD)


def test_auth_service_client_every_call(auth_server, as_user):
    as_user("admin", ADMIN_PASSWORD)
    c = _auth_client(auth_server)
    user = c.create_user("dave", "dave-password-123")
    assert (user.username, user.is_admin) == ("dave", False)
    assert c.get_user("dave").id == user.id
    c.update_user_password("dave", "dave-password-456")
    c.update_user_admin("dave", True)
    assert c.get_user("dave").is_admin is True
    c.update_user_admin("dave", False)
    with pytest.raises(RestException, match="RESOURCE_ALREADY_EXISTS"):
        c.create_user("dave", "dave-password-789")

    role = c.create_role("default", "readers", "read everything")
    assert (role.name, role.workspace, role.description) == ("readers", "default", "read everything")
    assert c.get_role(role.id).name == "readers"
    assert [r.name for r in c.list_roles("default")] == ["readers"]
    assert [r.name for r in c.list_all_roles()] == ["readers"]
    assert c.update_role(role.id, name="readers2").name == "readers2"
    rp = c.add_role_permission(role.id, "experiment", "*", "READ")
    assert (rp.resource_type, rp.resource_pattern, rp.permission) == ("experiment", "*", "READ")
    assert [p.id for p in c.list_role_permissions(role.id)] == [rp.id]
    assert c.update_role_permission(rp.id, "EDIT").permission == "EDIT"
    assignment = c.assign_role("dave", role.id)
    assert (assignment.user_id, assignment.role_id) == (user.id, role.id)
    assert [r.id for r in c.list_user_roles("dave")] == [role.id]
    assert [a.user_id for a in c.list_role_users(role.id)] == [user.id]
    c.unassign_role("dave", role.id)
    assert c.list_user_roles("dave") == []
    c.remove_role_permission(rp.id)
    assert c.list_role_permissions(role.id) == []
    c.delete_role(role.id)
    with pytest.raises(RestException, match="RESOURCE_DOES_NOT_EXIST"):
        c.get_role(role.id)

    exp = MlflowClient().create_experiment("granted")
    c.grant_user_permission("dave", "experiment", exp, "MANAGE")
    result = c.get_user_permission("dave", "experiment", exp)
    assert (result.allowed, result.permission) == (True, "MANAGE")
    c.revoke_user_permission("dave", "experiment", exp)
    assert c.get_user_permission("dave", "experiment", exp).permission == "READ"
    c.delete_user("dave")
    with pytest.raises(RestException, match="RESOURCE_DOES_NOT_EXIST"):
        c.get_user("dave")
    _assert_no_credentials_logged(auth_server, ADMIN_PASSWORD, "dave-password-123", "dave-password-456")


def test_server_refuses_to_start_without_an_admin_password(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "aiotrack", "server", "--app-name", "basic-auth", "--port", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in __import__("os").environ.items() if not k.startswith("MLFLOW_AUTH")},
    )
    assert proc.returncode != 0
    assert "MLFLOW_AUTH_ADMIN_PASSWORD" in proc.stderr
    other = subprocess.run(
        [sys.executable, "-m", "aiotrack", "server", "--app-name", "custom-auth"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert other.returncode == 2 and "basic-auth" in other.stderr
