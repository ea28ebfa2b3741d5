"""Runs the web UI's own unit tests (vitest: URL state, nested runs, sorting, smoothing,
downsampling display, markdown escaping, CSV) so CI's pytest run covers them too."""

from __future__ import annotations

import shutil
import subprocess

from ui_support import WEBUI, _skip_or_fail


def test_webui_unit_tests():
    npm = shutil.which("npm")
    if npm is None:
        _skip_or_fail("npm is not installed; the web UI's unit tests need Node.js (cd webui && npm ci && npm test)")
    if not (WEBUI / "node_modules").is_dir():
        r = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=WEBUI, capture_output=True, text=True, timeout=600
        )
        if r.returncode != 0:
            _skip_or_fail(f"npm ci failed in webui/:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    r = subprocess.run([npm, "test"], cwd=WEBUI, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"vitest failed:\n{r.stdout[-4000:]}\n{r.stderr[-2000:]}"
    assert "passed" in r.stdout
