"""The UI on a basic-auth server: the browser's own Basic sign-in, the signed-in user shown."""

from __future__ import annotations

import base64
import json
import urllib.request

import pytest
from server_process import ServerProcess

ADMIN_PASSWORD = "ui-admin-password-1"
ALICE_PASSWORD = "ui-alice-password-1"


@pytest.fixture
def auth_ui_server(tmp_path, webui_dist):
    server = ServerProcess(
        [
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{tmp_path}/db.sqlite",
            "--artifacts-destination",
            f"{tmp_path}/artifacts",
            "--app-name",
            "basic-auth",
        ],
        tmp_path,
        env={"MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD},
    ).wait_ready("/health", 60)
    auth = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
    req = urllib.request.Request(
        f"{server.url}/api/2.0/mlflow/users/create",
        data=json.dumps({"username": "alice", "password": ALICE_PASSWORD}).encode(),
        headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(req, timeout=30).close()
    yield server
    server.stop()


def test_signed_in_user_is_shown(browser, auth_ui_server):
    anonymous = browser.new_context()
    try:
        response = anonymous.request.get(auth_ui_server.url + "/")  # a page would show the browser's prompt
        assert response.status == 401
        assert response.headers["www-authenticate"] == 'Basic realm="mlflow"'
    finally:
        anonymous.close()
    for user, password, badge in (("alice", ALICE_PASSWORD, False), ("admin", ADMIN_PASSWORD, True)):
        ctx = browser.new_context(http_credentials={"username": user, "password": password})
        try:
            page = ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.goto(auth_ui_server.url + "/#/experiments")
            shown = page.locator(".current-user")
            shown.wait_for(timeout=15_000)
            assert shown.inner_text().startswith(user)
            assert (shown.locator(".badge").count() == 1) is badge
            page.get_by_text("Default").first.wait_for(timeout=15_000)  # the pages' ajax calls are signed in too
            assert not errors
        finally:
            ctx.close()
