"""Runs the web UI's own unit tests (vitest: URL state, nested runs, sorting, smoothing,
downsampling display, markdown escaping, CSV) so CI's pytest run covers them too."""

from __future__ import annotations

import subprocess

from ui_support import WEBUI


def test_webui_unit_tests(webui_deps):
    r = subprocess.run([webui_deps, "test"], cwd=WEBUI, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"vitest failed:\n{r.stdout[-4000:]}\n{r.stderr[-2000:]}"
    assert "passed" in r.stdout
