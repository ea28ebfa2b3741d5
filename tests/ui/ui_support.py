"""Shared helpers of the browser tests in tests/ui: a real `aiotrack server` subprocess, data made
through the REST API (tests/ui/seed.py), and headless Debian Chromium driven by Playwright.

- Chromium: /usr/bin/chromium (Debian's package; Playwright's own browser download does not work
  here). Missing -> the tests skip with the reason, except under CI (CI=true), where it fails.
- The UI bundle: aiotrack/webui_dist, built by `npm ci && npm run build` in webui/. If it is
  missing the fixture builds it (npm is needed); if that fails -> skip, or failure under CI.
- webui/node_modules: installed at most once per lock file by scripts/webui-deps (npm ci when
  webui/package-lock.json changed since the last install), through the `webui_deps` fixture.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "aiotrack" / "webui_dist"
WEBUI = ROOT / "webui"
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("AIOTRACK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _skip_or_fail(reason: str):
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def ensure_webui_deps() -> str:
    """npm's path, with webui/node_modules matching the lock file (scripts/webui-deps)."""
    npm = shutil.which("npm")
    if npm is None:
        _skip_or_fail("npm is not installed; the web UI's tools need Node.js (cd webui && npm ci)")
    r = subprocess.run([str(ROOT / "scripts" / "webui-deps")], capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        _skip_or_fail(f"installing webui/node_modules failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return npm


def _get(url: str, timeout: float = 5) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def screenshot(page, name: str, full_page: bool = False) -> None:
    """Screenshot of the viewport. Written to docs/screenshots/<name>.png (committed, linked from the
    docs) only when AIOTRACK_UI_SCREENSHOTS=1, so ordinary test runs leave the work tree alone."""
    page.wait_for_timeout(300)
    if os.environ.get("AIOTRACK_UI_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        size = page.viewport_size
        if full_page:  # the app scrolls inside <main>: grow the viewport to the content's height
            height = page.evaluate("document.querySelector('main').scrollHeight + 48")
            page.set_viewport_size({"width": size["width"], "height": min(height, 3000)})
            page.wait_for_timeout(300)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
        page.set_viewport_size(size)
    else:
        page.screenshot()  # still proves the page renders


def server_seeded_by_client(tmp: Path, script: Path):
    """A one-worker `aiotrack server` on a fresh SQLite file, then `script` run against it by the real
    mlflow client in a subprocess (MLFLOW_TRACKING_URI set). Returns (server, the script's output,
    the JSON its last line prints)."""
    import json
    import subprocess
    import sys

    from server_process import ServerProcess

    server = ServerProcess(
        ["--workers", "1", "--backend-store-uri", f"sqlite:///{tmp}/db.sqlite", "--artifacts-destination", f"{tmp}/a"],
        tmp,
    ).wait_ready("/health", 60)
    env = {**os.environ, "MLFLOW_TRACKING_URI": server.url, "GIT_PYTHON_REFRESH": "quiet"}
    r = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        server.stop()
        raise AssertionError(r.stderr[-3000:])
    return server, r.stdout + r.stderr, json.loads(r.stdout.strip().splitlines()[-1])
