"""The UI on a basic-auth server: the browser's own Basic sign-in, the signed-in user shown, the admin
page (users, roles, grants) and the permission editor of experiment and model pages."""

from __future__ import annotations

import base64
import contextlib
import json
import urllib.error
import urllib.request

import pytest
from server_process import ServerProcess, wait_until
from ui_support import screenshot

ADMIN_PASSWORD = "ui-admin-password-1"
ALICE_PASSWORD = "ui-alice-password-1"


def api(server, user: str, password: str, method: str, path: str, body: dict | None = None, query: str = ""):
    """One REST call as ``user``: (status, JSON answer)."""
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    req = urllib.request.Request(
        f"{server.url}/api/{path}{'?' + query if query else ''}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def admin_api(server, method: str, path: str, body: dict | None = None, query: str = ""):
    status, answer = api(server, "admin", ADMIN_PASSWORD, method, path, body, query)
    assert status == 200, (path, status, answer)
    return answer


def _start(tmp_path, default_permission: str = "READ"):
    ini = tmp_path / "basic_auth.ini"
    ini.write_text(f"[mlflow]\ndefault_permission = {default_permission}\n")
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
        env={"MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD, "MLFLOW_AUTH_CONFIG_PATH": str(ini)},
    ).wait_ready("/health", 60)
    admin_api(server, "POST", "2.0/mlflow/users/create", {"username": "alice", "password": ALICE_PASSWORD})
    return server


@pytest.fixture
def auth_ui_server(tmp_path, webui_dist):
    server = _start(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def private_ui_server(tmp_path, webui_dist):
    """default_permission NO_PERMISSIONS: a user sees only what they were granted."""
    server = _start(tmp_path, "NO_PERMISSIONS")
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


# ---------------------------------------------------------------------- the admin page and permission editing

BOB_PASSWORD = "ui-bob-password-12"
PERMS = "3.0/mlflow/users/permissions"


@contextlib.contextmanager
def signed_in(browser, user: str, password: str):
    """A page in a browser context that answers the Basic prompt as ``user``; fails on JS errors."""
    ctx = browser.new_context(
        http_credentials={"username": user, "password": password}, viewport={"width": 1400, "height": 860}
    )
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield page
    finally:
        ctx.close()
    assert not errors, errors


def _experiment(server, user: str, password: str, name: str) -> str:
    status, answer = api(server, user, password, "POST", "2.0/mlflow/experiments/create", {"name": name})
    assert status == 200, answer
    return answer["experiment_id"]


def _grants(server, resource_type: str, resource_id: str) -> dict[str, str]:
    answer = admin_api(
        server, "GET", "2.0/aiotrack/permissions/list", query=f"resource_type={resource_type}&resource_id={resource_id}"
    )
    return {g["username"]: g["permission"] for g in answer["permissions"]}


def test_admin_creates_a_user_and_grants_read_the_user_sees_only_that(browser, private_ui_server):
    server = private_ui_server
    shown = _experiment(server, "admin", ADMIN_PASSWORD, "granted-exp")
    _experiment(server, "admin", ADMIN_PASSWORD, "withheld-exp")
    with signed_in(browser, "admin", ADMIN_PASSWORD) as page:
        page.goto(server.url + "/#/experiments")
        page.locator("nav a", has_text="Admin").click()
        users = page.get_by_role("table", name="Users")
        users.locator("tr[data-user=alice]").wait_for()
        form = page.get_by_role("form", name="Create user")
        form.get_by_label("New user name").fill("bob")
        form.get_by_label("New user password").fill("too-short")
        form.get_by_role("button", name="Create user").click()
        page.get_by_text("Password must be at least 12 characters.").wait_for()  # the server's rule, shown
        assert form.get_by_label("New user password").input_value() == ""  # not kept after sending
        form.get_by_label("New user password").fill("first-bob-password")
        form.get_by_role("button", name="Create user").click()
        bob = users.locator("tr[data-user=bob]")
        bob.wait_for()
        screenshot(page, "admin-users")
        # toggle admin on and off
        bob.get_by_label("bob is an admin").check()
        page.wait_for_function("() => document.querySelector('tr[data-user=bob] input[type=checkbox]').checked")
        _wait(lambda: admin_api(server, "GET", "2.0/mlflow/users/get", query="username=bob")["user"]["is_admin"])
        bob.get_by_label("bob is an admin").uncheck()
        _wait(lambda: not admin_api(server, "GET", "2.0/mlflow/users/get", query="username=bob")["user"]["is_admin"])
        # reset the password
        bob.get_by_role("button", name="Reset password").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("New password").fill(BOB_PASSWORD)
        dialog.get_by_role("button", name="Set password").click()
        dialog.get_by_text("Password changed.").wait_for()
        dialog.get_by_role("button", name="Close", exact=True).last.click()
        # grant READ on one experiment from bob's grants
        bob.get_by_role("link", name="Grants").click()
        grant_form = page.get_by_role("form", name="Grant to bob")
        grant_form.get_by_label("Resource type").select_option("experiment")
        grant_form.get_by_label("Resource id").fill(shown)
        grant_form.get_by_label("Permission").select_option("READ")
        grant_form.get_by_role("button", name="Grant").click()
        page.get_by_role("table", name="Grants of bob").locator(f"tr[data-resource='{shown}']").wait_for()
        assert _grants(server, "experiment", shown)["bob"] == "READ"
        # change it there, and back
        bobs = page.get_by_role("table", name="Grants of bob")
        bobs.get_by_label(f"Permission on experiment {shown}").select_option("EDIT")
        _wait(lambda: _grants(server, "experiment", shown)["bob"] == "EDIT")
        bobs.get_by_label(f"Permission on experiment {shown}").select_option("READ")
        _wait(lambda: _grants(server, "experiment", shown)["bob"] == "READ")
        screenshot(page, "admin-grants")
        # no password was kept by the page or put in an address
        stored = page.evaluate("() => JSON.stringify([{...localStorage}, {...sessionStorage}, location.href])")
        for secret in ("first-bob-password", BOB_PASSWORD, ADMIN_PASSWORD, "too-short"):
            assert secret not in stored
        # delete a user
        page.goto(server.url + "/#/admin")
        page.once("dialog", lambda d: d.accept())
        users.locator("tr[data-user=alice]").get_by_role("button", name="Delete").click()
        users.locator("tr[data-user=alice]").wait_for(state="detached")
        assert "alice" not in {u["username"] for u in admin_api(server, "GET", "2.0/mlflow/users/list")["users"]}
    assert api(server, "bob", "first-bob-password", "GET", "2.0/mlflow/users/current")[0] == 401
    with signed_in(browser, "bob", BOB_PASSWORD) as page:
        page.goto(server.url + "/#/experiments")
        page.get_by_role("link", name="granted-exp").wait_for()
        assert page.get_by_text("withheld-exp").count() == 0
        assert page.locator("nav a", has_text="Admin").count() == 0
        _open_without_editor(page, server.url + f"/#/experiments/{shown}", "granted-exp")  # READ: no editor
        page.goto(server.url + "/#/admin")
        page.get_by_role("alert").filter(has_text="Admins only").wait_for()
        assert page.get_by_role("table", name="Users").count() == 0


def test_a_manage_user_edits_permissions_on_an_experiment_page_and_a_model_page(browser, auth_ui_server):
    server = auth_ui_server
    for name in ("bob", "carol"):
        admin_api(server, "POST", "2.0/mlflow/users/create", {"username": name, "password": BOB_PASSWORD})
    exp = _experiment(server, "alice", ALICE_PASSWORD, "alice-exp")  # alice created it: MANAGE
    status, _ = api(
        server, "alice", ALICE_PASSWORD, "POST", "2.0/mlflow/registered-models/create", {"name": "alice-model"}
    )
    assert status == 200
    api(
        server,
        "alice",
        ALICE_PASSWORD,
        "POST",
        f"{PERMS}/grant",
        {"username": "bob", "resource_type": "experiment", "resource_id": exp, "permission": "READ"},
    )
    with signed_in(browser, "alice", ALICE_PASSWORD) as page:
        page.goto(server.url + f"/#/experiments/{exp}")
        page.get_by_role("button", name="Permissions").click()
        editor = page.get_by_role("dialog", name="Permissions")
        grants = editor.get_by_role("table", name="Grants")
        grants.locator("tr[data-user=alice]").wait_for()
        grants.locator("tr[data-user=bob]").wait_for()
        editor.get_by_label("User name").fill("carol")
        editor.get_by_label("Permission to grant").select_option("EDIT")
        editor.get_by_role("button", name="Grant").click()
        grants.locator("tr[data-user=carol]").wait_for()
        assert _grants(server, "experiment", exp) == {"alice": "MANAGE", "bob": "READ", "carol": "EDIT"}
        assert api(server, "carol", BOB_PASSWORD, "POST", "2.0/mlflow/runs/create", {"experiment_id": exp})[0] == 200
        screenshot(page, "permissions-editor")
        grants.get_by_label("Permission of carol").select_option("READ")
        _wait(lambda: _grants(server, "experiment", exp)["carol"] == "READ")
        assert api(server, "carol", BOB_PASSWORD, "POST", "2.0/mlflow/runs/create", {"experiment_id": exp})[0] == 403
        grants.locator("tr[data-user=bob]").get_by_role("button", name="Revoke").click()
        grants.locator("tr[data-user=bob]").wait_for(state="detached")
        assert _grants(server, "experiment", exp) == {"alice": "MANAGE", "carol": "READ"}
        page.keyboard.press("Escape")
        # the model page
        page.goto(server.url + "/#/models/alice-model")
        page.get_by_role("button", name="Permissions").click()
        editor = page.get_by_role("dialog", name="Permissions")
        editor.get_by_label("User name").fill("bob")
        editor.get_by_label("Permission to grant").select_option("EDIT")
        editor.get_by_role("button", name="Grant").click()
        editor.get_by_role("table", name="Grants").locator("tr[data-user=bob]").wait_for()
        assert _grants(server, "registered_model", "alice-model") == {"alice": "MANAGE", "bob": "EDIT"}
    # READ (carol on the experiment) and EDIT (bob on the model) holders see no editor; the server refuses them too
    with signed_in(browser, "carol", BOB_PASSWORD) as page:
        _open_without_editor(page, server.url + f"/#/experiments/{exp}", "alice-exp")
    with signed_in(browser, "bob", BOB_PASSWORD) as page:
        _open_without_editor(page, server.url + "/#/models/alice-model", "alice-model")
    query = f"resource_type=experiment&resource_id={exp}"
    assert api(server, "carol", BOB_PASSWORD, "GET", "2.0/aiotrack/permissions/list", query=query)[0] == 403
    body = {
        "username": "carol",
        "resource_type": "registered_model",
        "resource_id": "alice-model",
        "permission": "MANAGE",
    }
    assert api(server, "bob", BOB_PASSWORD, "POST", f"{PERMS}/grant", body)[0] == 403


def test_roles_created_and_assigned_on_the_admin_page_take_effect(browser, private_ui_server):
    server = private_ui_server
    exp = _experiment(server, "admin", ADMIN_PASSWORD, "team-exp")
    assert (
        api(server, "alice", ALICE_PASSWORD, "GET", "2.0/mlflow/experiments/get", query=f"experiment_id={exp}")[0]
        == 403
    )
    with signed_in(browser, "admin", ADMIN_PASSWORD) as page:
        page.goto(server.url + "/#/admin?tab=roles")
        form = page.get_by_role("form", name="Create role")
        form.get_by_label("Role name").fill("readers")
        form.get_by_label("Role description").fill("reads the team's experiment")
        form.get_by_role("button", name="Create role").click()
        card = page.get_by_role("region", name="Role readers")
        card.wait_for()
        add = card.get_by_role("form", name="Add a permission to readers")
        add.get_by_label("Resource type").select_option("experiment")
        add.get_by_label("Resource id or *").fill(exp)
        add.get_by_label("Permission").select_option("READ")
        add.get_by_role("button", name="Add permission").click()
        card.get_by_label(f"Permission on experiment {exp}").wait_for()
        assign = card.get_by_role("form", name="Assign readers")
        assign.get_by_label("User to assign").select_option("alice")
        assign.get_by_role("button", name="Assign").click()
        card.get_by_role("button", name="Unassign alice").wait_for()
        screenshot(page, "admin-roles")
    with signed_in(browser, "alice", ALICE_PASSWORD) as page:
        page.goto(server.url + "/#/experiments")
        page.get_by_role("link", name="team-exp").wait_for()
    assert api(server, "alice", ALICE_PASSWORD, "POST", "2.0/mlflow/runs/create", {"experiment_id": exp})[0] == 403
    with signed_in(browser, "admin", ADMIN_PASSWORD) as page:
        page.goto(server.url + "/#/admin?tab=roles")
        card = page.get_by_role("region", name="Role readers")
        card.get_by_label(f"Permission on experiment {exp}").select_option("EDIT")
        _wait(
            lambda: (
                api(server, "alice", ALICE_PASSWORD, "POST", "2.0/mlflow/runs/create", {"experiment_id": exp})[0] == 200
            )
        )
        # edit the role's name, then take alice out of it
        card.get_by_role("button", name="Edit").click()
        page.get_by_role("dialog").get_by_label("Name").fill("editors")
        page.get_by_role("dialog").get_by_role("button", name="Save").click()
        card = page.get_by_role("region", name="Role editors")
        card.get_by_role("button", name="Unassign alice").click()
        card.get_by_text("nobody").wait_for()
        assert (
            api(server, "alice", ALICE_PASSWORD, "GET", "2.0/mlflow/experiments/get", query=f"experiment_id={exp}")[0]
            == 403
        )
        page.once("dialog", lambda d: d.accept())
        card.get_by_role("button", name="Delete").click()
        card.wait_for(state="detached")
    assert admin_api(server, "GET", "3.0/mlflow/roles/list")["roles"] == []
    # a role's workspace-wide MANAGE makes an administrator: the server's admin rules and the UI agree
    with signed_in(browser, "alice", ALICE_PASSWORD) as page:
        page.goto(server.url + "/#/experiments")
        page.locator(".current-user").wait_for()  # drawn once the UI knows who alice is and what she holds
        assert page.locator("nav a", has_text="Admin").count() == 0
    with signed_in(browser, "admin", ADMIN_PASSWORD) as page:
        page.goto(server.url + "/#/admin?tab=roles")
        form = page.get_by_role("form", name="Create role")
        form.get_by_label("Role name").fill("operators")
        form.get_by_role("button", name="Create role").click()
        card = page.get_by_role("region", name="Role operators")
        add = card.get_by_role("form", name="Add a permission to operators")
        add.get_by_label("Resource type").select_option("workspace")
        assert add.get_by_label("Resource id or *").count() == 0  # workspace grants are always '*'
        add.get_by_label("Permission").select_option("MANAGE")
        add.get_by_role("button", name="Add permission").click()
        card.get_by_label("Permission on workspace *").wait_for()
        assign = card.get_by_role("form", name="Assign operators")
        assign.get_by_label("User to assign").select_option("alice")
        assign.get_by_role("button", name="Assign").click()
        card.get_by_role("button", name="Unassign alice").wait_for()
    with signed_in(browser, "alice", ALICE_PASSWORD) as page:
        page.goto(server.url + "/#/experiments")
        page.locator("nav a", has_text="Admin").click()
        users = page.get_by_role("table", name="Users")
        admin_row = users.locator("tr[data-user=admin]")
        admin_row.wait_for()
        # a workspace admin may not do what the server keeps for admin users (as MLflow does): the
        # page offers neither the admin flag, deleting a user, nor another user's password
        assert admin_row.get_by_label("admin is an admin").is_disabled()
        assert users.locator("tr[data-user=alice]").get_by_label("alice is an admin").is_disabled()
        assert admin_row.get_by_role("button", name="Delete").count() == 0
        assert admin_row.get_by_role("button", name="Reset password").count() == 0
        assert users.locator("tr[data-user=alice]").get_by_role("button", name="Reset password").count() == 1
        for method, path, body in (
            ("PATCH", "2.0/mlflow/users/update-admin", {"username": "alice", "is_admin": True}),
            ("DELETE", "2.0/mlflow/users/delete", {"username": "admin"}),
            ("PATCH", "2.0/mlflow/users/update-password", {"username": "admin", "password": "x" * 16}),
        ):
            assert api(server, "alice", ALICE_PASSWORD, method, path, body)[0] == 403, path
        page.goto(server.url + f"/#/experiments/{exp}")
        page.get_by_role("button", name="Permissions").click()
        page.get_by_role("dialog", name="Permissions").get_by_role("table", name="Grants").locator(
            "tr[data-user=admin]"
        ).wait_for()


def _open_without_editor(page, url: str, title: str) -> None:
    """Open a page as a user without MANAGE: once the UI has asked the server, no editor is offered."""
    with page.expect_response(lambda r: "/users/permissions/get" in r.url) as asked:
        page.goto(url)
    answer = asked.value.json()
    assert asked.value.status == 200 and answer["permission"] != "MANAGE", answer
    page.locator("h1", has_text=title).wait_for()
    page.get_by_role("button", name="Rename").wait_for()  # the header's actions are drawn
    page.wait_for_timeout(300)
    assert page.get_by_role("button", name="Permissions").count() == 0


def _wait(predicate, timeout: float = 10) -> None:
    wait_until(predicate, timeout, "the change made in the browser to reach the server")
