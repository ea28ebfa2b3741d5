"""Builds the web UI (webui/, a Vite + TypeScript app) into aiotrack/webui_dist during install.

Everything else about the package is in pyproject.toml. The build runs when the UI sources are
newer than the last build and npm is available; without npm the install still succeeds and the
server says at / how to build the UI. Set AIOTRACK_SKIP_WEBUI=1 to skip it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
WEBUI = ROOT / "webui"
DIST = ROOT / "aiotrack" / "webui_dist"


def _newest(path: Path) -> float:
    newest = 0.0
    for p in path.rglob("*"):
        if "node_modules" in p.parts or not p.is_file():
            continue
        newest = max(newest, p.stat().st_mtime)
    return newest


def build_webui() -> None:
    if os.environ.get("AIOTRACK_SKIP_WEBUI") or not (WEBUI / "package.json").is_file():
        return
    index = DIST / "index.html"
    if index.is_file() and index.stat().st_mtime >= _newest(WEBUI):
        return
    npm = shutil.which("npm")
    if npm is None:
        print("aiotrack: npm not found, the web UI is not built (the REST API works without it)")
        return
    deps = ROOT / "scripts" / "webui-deps"  # npm ci once per lock file (absent from an sdist)
    if deps.is_file():
        subprocess.run([str(deps)], check=True)
    elif not (WEBUI / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEBUI, check=True)
    subprocess.run([npm, "run", "build"], cwd=WEBUI, check=True)


class BuildPyWithWebUI(build_py):
    def run(self) -> None:
        build_webui()
        super().run()


setup(cmdclass={"build_py": BuildPyWithWebUI})
