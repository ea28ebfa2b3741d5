"""Fixtures of the browser tests; see ui_support.py for what they need and how they skip."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from seed import seed  # noqa: E402
from ui_support import (  # noqa: E402
    CHROMIUM, CHROMIUM_ARGS, DIST, WEBUI, _free_port, _get, _skip_or_fail,
)


class Proc:
    def __init__(self, cmd: list[str], log: Path):
        self.log_path = log
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(cmd, cwd=str(log.parent), stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_http(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.proc.args} exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if _get(url, 2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{url} did not answer within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_bytes().decode(errors="replace")[-5000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        self._log.close()


class UiServer:
    """A running aiotrack server (+ stand-in front if needed) with seeded data."""

    def __init__(self, tmp: Path, prefix: str = ""):
        self.prefix = prefix
        port = _free_port()
        self.api = f"http://127.0.0.1:{port}{prefix}"  # REST API root (for seeding)
        self.procs: list[Proc] = []
        server = Proc([sys.executable, "-m", "aiotrack", "server", "--port", str(port), "--workers", "1",
                       "--backend-store-uri", f"sqlite:///{tmp}/db.sqlite", "--artifacts-destination", f"{tmp}/artifacts",
                       *(["--static-prefix", prefix] if prefix else [])], tmp / "server.log")
        self.procs.append(server)
        try:
            server.wait_http(f"{self.api}/health", 60)
        except RuntimeError:
            server.wait_http(f"http://127.0.0.1:{port}/health", 5)
        status, _, body = _get(f"{self.api}/")
        self.server_serves_ui = status == 200 and b'<div id="app">' in body
        if self.server_serves_ui:
            self.url = f"{self.api}/"
        else:
            fport = _free_port()
            front = Proc([sys.executable, str(Path(__file__).parent / "front.py"), "--dist", str(DIST),
                          "--upstream", f"http://127.0.0.1:{port}", "--port", str(fport), "--prefix", prefix],
                         tmp / "front.log")
            self.procs.append(front)
            front.wait_http(f"http://127.0.0.1:{fport}{prefix}/", 30)
            self.url = f"http://127.0.0.1:{fport}{prefix}/"
        self.data = seed(self.api)

    def stop(self):
        for p in reversed(self.procs):
            p.stop()


@pytest.fixture(scope="session")
def webui_dist():
    """The built bundle; builds it once when missing."""
    if not (DIST / "index.html").exists():
        npm = shutil.which("npm")
        if not npm:
            _skip_or_fail(f"{DIST} is missing and npm is not installed to build it (cd webui && npm ci && npm run build)")
        steps = ([] if (WEBUI / "node_modules").exists() else [[npm, "ci", "--no-audit", "--no-fund"]]) + [[npm, "run", "build"]]
        for cmd in steps:
            r = subprocess.run(cmd, cwd=WEBUI, capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                _skip_or_fail(f"building the web UI failed ({' '.join(cmd)}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
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


