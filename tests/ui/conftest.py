"""Fixtures of the browser tests; see ui_support.py for what they need and how they skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from seed import seed
from server_process import ServerProcess
from ui_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DIST,
    WEBUI,
    _get,
    _skip_or_fail,
    ensure_webui_deps,
)


class UiServer:
    """A running aiotrack server that serves the UI itself (at <prefix>/), with seeded data."""

    def __init__(self, tmp: Path, prefix: str = ""):
        self.prefix = prefix
        self.server = ServerProcess(
            [
                "--workers",
                "1",
                "--backend-store-uri",
                f"sqlite:///{tmp}/db.sqlite",
                "--artifacts-destination",
                f"{tmp}/artifacts",
                *(["--static-prefix", prefix] if prefix else []),
            ],
            tmp,
        ).wait_ready(f"{prefix}/health", 60)
        self.api = f"{self.server.url}{prefix}"  # REST API root (for seeding)
        status, _, body = _get(f"{self.api}/")
        assert status == 200 and b'<div id="app">' in body, f"the server does not serve the UI at {self.api}/"
        self.url = f"{self.api}/"
        self.data = seed(self.api)

    def stop(self):
        self.server.stop()


@pytest.fixture(scope="session")
def webui_deps() -> str:
    """npm, with webui/node_modules installed (once per lock file, not once per test)."""
    return ensure_webui_deps()


@pytest.fixture(scope="session")
def webui_dist(request):
    """The built bundle; builds it once when missing."""
    if not (DIST / "index.html").exists():
        npm = request.getfixturevalue("webui_deps")
        r = subprocess.run([npm, "run", "build"], cwd=WEBUI, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            _skip_or_fail(f"building the web UI failed (npm run build):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return DIST


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory, webui_dist):
    s = UiServer(tmp_path_factory.mktemp("ui-root"))
    yield s
    s.stop()


@pytest.fixture(scope="session")
def ui_server_prefix(tmp_path_factory, webui_dist):
    s = UiServer(tmp_path_factory.mktemp("ui-prefix"), prefix="/p")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        _skip_or_fail(f"{CHROMIUM} is missing: apt-get update && apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 860})
    pg = ctx.new_page()
    pg.set_default_timeout(10_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.page_errors = errors  # type: ignore[attr-defined]
    yield pg
    ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
