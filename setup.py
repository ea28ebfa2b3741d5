"""Builds the web UI (webui/, a Vite + TypeScript app) into aiotrack/webui_dist during a build.

Everything else about the package is in pyproject.toml. `python -m build --wheel` (and `pip
install .`), when the UI sources are newer than the last build, install webui/node_modules
(scripts/webui-deps: `npm ci` only when the lock file changed) and run `npm run build`, so the
wheel carries the built UI and installing the wheel needs no Node.js.

Without a working Node.js -- node or npm missing, node older than webui/package.json's
`engines.node`, or `npm ci` / `npm run build` failing -- the build still succeeds: the server and
its REST API install and work, and a warning says so on stderr, once when it happens and again
at the end of the build (pip shows a build's output only with -v, so the warning is also written
to the terminal, /dev/tty, when there is one). The reason is recorded in
aiotrack/webui_dist/NOT-BUILT.json, from which the server's banner and its `/` page say that the
UI is missing and how to get it.

AIOTRACK_SKIP_WEBUI=1 skips the UI build on purpose (for example for a server-only image).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
WEBUI = ROOT / "webui"
DIST = ROOT / "aiotrack" / "webui_dist"
# Read by aiotrack/http/api/webui.py (the same name there).
NOT_BUILT = "NOT-BUILT.json"


def _newest(path: Path) -> float:
    newest = 0.0
    for p in path.rglob("*"):
        if "node_modules" in p.parts or not p.is_file():
            continue
        newest = max(newest, p.stat().st_mtime)
    return newest


def node_requirement(webui: Path) -> tuple[int, ...]:
    """The minimum Node.js version of package.json's engines.node (">=20.19" -> (20, 19))."""
    try:
        wanted = json.loads((webui / "package.json").read_text())["engines"]["node"]
    except (OSError, ValueError, KeyError):
        return ()
    found = re.fullmatch(r"\s*>=\s*v?(\d+(?:\.\d+)*)\s*", wanted)
    return tuple(int(x) for x in found.group(1).split(".")) if found else ()


def parse_node_version(text: str) -> tuple[int, ...] | None:
    """`node --version` output ("v20.20.2") as a tuple, or None when it is not a version."""
    found = re.fullmatch(r"\s*v?(\d+)\.(\d+)\.(\d+)\S*\s*", text)
    return tuple(int(x) for x in found.groups()) if found else None


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> int:
    """Run a build step with its output on our stderr (stdout is the build frontend's)."""
    try:
        return subprocess.run(argv, cwd=cwd, env=env, stdout=sys.stderr, check=False).returncode
    except OSError as exc:
        print(f"aiotrack: cannot run {argv[0]}: {exc}", file=sys.stderr)
        return 127


def build_webui(webui: Path = WEBUI, dist: Path = DIST, env: dict[str, str] | None = None) -> str | None:
    """Build the UI into ``dist`` if it is out of date; None when the UI is there, else the reason
    it is not (also recorded in dist/NOT-BUILT.json when no built UI is left)."""
    env = dict(os.environ if env is None else env)
    index = dist / "index.html"
    reason = _build(webui, dist, index, env)
    marker = dist / NOT_BUILT
    if index.is_file():
        marker.unlink(missing_ok=True)
        if reason is not None:
            reason += "; the UI of an earlier build is installed"
    elif reason is not None:
        dist.mkdir(parents=True, exist_ok=True)
        needed = node_requirement(webui)
        marker.write_text(json.dumps({"reason": reason, "node": _dotted(needed) if needed else None}) + "\n")
    return reason


def _build(webui: Path, dist: Path, index: Path, env: dict[str, str]) -> str | None:
    if env.get("AIOTRACK_SKIP_WEBUI"):
        return None if index.is_file() else "AIOTRACK_SKIP_WEBUI was set"
    if not (webui / "package.json").is_file():
        return None if index.is_file() else "the web UI sources (webui/) are not in this source tree"
    if index.is_file() and index.stat().st_mtime >= _newest(webui):
        return None
    path = env.get("PATH")
    node, npm = shutil.which("node", path=path), shutil.which("npm", path=path)
    if node is None or npm is None:
        return f"{'node' if node is None else 'npm'} was not found on PATH"
    needed = node_requirement(webui)
    try:
        answer = subprocess.run([node, "--version"], capture_output=True, text=True, env=env, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return f"`node --version` failed: {exc}"
    have = parse_node_version(answer)
    if have is None:
        return f"`node --version` answered {answer.strip()!r}, not a version"
    if needed and have < needed:
        return f"Node.js {_dotted(have)} is older than the {_dotted(needed)} the UI build needs"
    deps = webui.parent / "scripts" / "webui-deps"  # npm ci once per lock file (absent from an sdist)
    if deps.is_file():
        code = _run([str(deps)], webui, env)
        if code:
            return f"`scripts/webui-deps` (npm ci) failed (exit status {code})"
    elif not (webui / "node_modules").is_dir():
        code = _run([npm, "ci", "--no-audit", "--no-fund"], webui, env)
        if code:
            return f"`npm ci` failed (exit status {code})"
    code = _run([npm, "run", "build"], webui, env)
    if code:
        return f"`npm run build` failed (exit status {code})"
    if not index.is_file():
        return f"`npm run build` succeeded but wrote no {index.relative_to(dist.parent.parent)}"
    return None


def warn_not_built(reason: str, webui: Path = WEBUI) -> None:
    needed = node_requirement(webui)
    node = f"Node.js >= {_dotted(needed)}" if needed else "Node.js"
    text = (
        f"aiotrack: WARNING: the web UI is not built ({reason}). The server and its REST API are "
        f"installed and work without it. To get the UI, reinstall with {node} and npm on PATH, or "
        "install the aiotrack wheel, which carries the built UI."
    )
    print(text, file=sys.stderr, flush=True)
    atexit.register(_say_at_the_end, text)


def _say_at_the_end(text: str, terminal: str = "/dev/tty") -> None:
    """Repeat the warning when the build ends, below the npm and setuptools output. pip shows a
    successful build's output only with -v, so it also goes to the terminal (/dev/tty), if any."""
    print("\n" + text, file=sys.stderr, flush=True)
    try:
        with open(terminal, "w") as tty:
            tty.write("\n" + text + "\n")
    except OSError:
        pass


class BuildPyWithWebUI(build_py):
    def run(self) -> None:
        reason = build_webui()
        if reason is not None:
            warn_not_built(reason)
        super().run()


if __name__ == "__main__":  # setuptools' build backend runs this file as __main__
    setup(cmdclass={"build_py": BuildPyWithWebUI})
