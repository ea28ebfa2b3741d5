"""Installing aiotrack: the wheel carries the built web UI; a source install without a working
Node.js still installs the server and says, at install and at run time, how to get the UI.

Everything runs on copies of the source tree in tmp (the tracked and untracked, not ignored,
files), so no build writes into this checkout. The slow tests build the real wheel with
`python -m build --wheel`, install it into a fresh venv whose PATH has no node or npm, serve it
and open `/` in headless Chromium. The others call setup.py's build step directly, with a real
node and npm, on sources that cannot build.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cli_support import request
from server_process import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("AIOTRACK_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def _load_setup() -> ModuleType:
    """setup.py as a module (not __main__, so it does not run setup())."""
    spec = importlib.util.spec_from_file_location("aiotrack_setup_py", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


setup_py = _load_setup()


def copy_sources(dest: Path, *, node_modules: bool) -> Path:
    """The files git would commit (tracked, or untracked and not ignored), copied to dest."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / name.decode()
        if source.is_file():
            target = dest / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    modules = ROOT / "webui" / "node_modules"
    if node_modules and modules.is_dir():
        shutil.copytree(modules, dest / "webui" / "node_modules", symlinks=True)
    return dest


def no_node_env(venv: Path) -> dict[str, str]:
    """An environment whose PATH has the venv and nothing else: no node, no npm."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = str(venv / "bin")
    return env


# --------------------------------------------------------------------------- setup.py's build step


def test_node_versions_are_compared_as_numbers() -> None:
    assert setup_py.parse_node_version("v20.19.0\n") == (20, 19, 0)
    assert setup_py.parse_node_version("v9.11.2") < (20, 19)
    assert setup_py.parse_node_version("v20.20.2") >= (20, 19)
    assert setup_py.parse_node_version("v100.0.0") >= (20, 19)
    assert setup_py.parse_node_version("command not found") is None
    assert setup_py.node_requirement(ROOT / "webui") >= (18,)  # read from package.json's engines


@pytest.fixture
def webui_copy(tmp_path: Path) -> Path:
    """webui/ sources in a tmp tree, building into tmp/aiotrack/webui_dist."""
    copy_sources(tmp_path / "tree", node_modules=False)
    return tmp_path / "tree" / "webui"


def _needs_node() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        _skip_or_fail("node and npm are needed to show how a failing UI build is reported")


def test_missing_node_is_reported_and_recorded(webui_copy: Path) -> None:
    dist = webui_copy.parent / "aiotrack" / "webui_dist"
    reason = setup_py.build_webui(webui_copy, dist, env={"PATH": str(webui_copy / "no-such-dir")})
    assert reason == "node was not found on PATH"
    recorded = json.loads((dist / setup_py.NOT_BUILT).read_text())
    assert recorded == {"reason": reason, "node": ".".join(map(str, setup_py.node_requirement(webui_copy)))}


def test_a_node_older_than_the_build_needs_is_reported(webui_copy: Path) -> None:
    _needs_node()
    package = json.loads((webui_copy / "package.json").read_text())
    package["engines"]["node"] = ">=999.1"
    (webui_copy / "package.json").write_text(json.dumps(package))
    dist = webui_copy.parent / "aiotrack" / "webui_dist"
    reason = setup_py.build_webui(webui_copy, dist, env=dict(os.environ))
    assert (
        reason is not None and reason.startswith("Node.js ") and "is older than the 999.1 the UI build needs" in reason
    )
    assert json.loads((dist / setup_py.NOT_BUILT).read_text())["node"] == "999.1"


@pytest.mark.slow
def test_a_failing_ui_build_is_reported_and_the_install_goes_on(webui_copy: Path) -> None:
    _needs_node()
    modules = ROOT / "webui" / "node_modules"
    if not modules.is_dir():
        _skip_or_fail("webui/node_modules is needed (cd webui && npm ci)")
    shutil.copytree(modules, webui_copy / "node_modules", symlinks=True)
    (webui_copy / "src" / "broken.ts").write_text("const x: number = 'not a number';\nexport default x;\n")
    dist = webui_copy.parent / "aiotrack" / "webui_dist"
    reason = setup_py.build_webui(webui_copy, dist, env=dict(os.environ))
    assert reason is not None and reason.startswith("`npm run build` failed (exit status ")
    assert not (dist / "index.html").exists()
    assert json.loads((dist / setup_py.NOT_BUILT).read_text())["reason"] == reason


def test_the_warning_says_how_to_get_the_ui_now_and_at_the_end(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    at_exit: list[tuple[Any, ...]] = []
    monkeypatch.setattr(setup_py.atexit, "register", lambda *call: at_exit.append(call))
    setup_py.warn_not_built("node was not found on PATH")
    err = capfd.readouterr().err
    assert "aiotrack: WARNING: the web UI is not built (node was not found on PATH)" in err
    assert "Node.js >= " in err and "install the aiotrack wheel" in err
    ((say, text),) = at_exit
    terminal = tmp_path / "tty"
    terminal.touch()
    say(text, str(terminal))
    assert text in capfd.readouterr().err and text in terminal.read_text()


# --------------------------------------------------------------------------- real installs


class Installed:
    venv: Path
    pip_output: str
    banner: str
    index_status: int
    index_body: bytes


def _pip(venv: Path, args: list[str], env: dict[str, str]) -> str:
    """pip as a user runs it: in a terminal (util-linux `script` gives it one) when possible."""
    command = [str(venv / "bin" / "pip"), *args]
    script = shutil.which("script")
    if script:
        # env keeps this process's PATH out: the venv is all pip sees.
        inner = shlex.join(["/usr/bin/env", "-u", "PYTHONPATH", "-u", "VIRTUAL_ENV", f"PATH={env['PATH']}", *command])
        proc = subprocess.run([script, "-qec", inner, "/dev/null"], capture_output=True, text=True, timeout=900)
    else:
        proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    return output


def _serve(venv: Path, workdir: Path, env: dict[str, str]) -> tuple[ServerProcess, str]:
    port = free_port()
    argv = [str(venv / "bin" / "aiotrack"), "server", "--port", str(port), "--workers", "1"]
    server = ServerProcess.command(argv, workdir, env, port).wait_ready()
    return server, server.url


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    return venv


@pytest.fixture(scope="module")
def source_install(fresh_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """`pip install <source tree>` with no node or npm on PATH, then the server it installed."""
    src = copy_sources(tmp_path_factory.mktemp("src"), node_modules=False)
    env = no_node_env(fresh_venv)
    done = Installed()
    done.venv = fresh_venv
    done.pip_output = _pip(fresh_venv, ["install", str(src)], env)
    workdir = tmp_path_factory.mktemp("source-run")
    server, url = _serve(fresh_venv, workdir, env)
    try:
        done.index_status, _, done.index_body = request(url + "/")
    finally:
        server.stop()
    done.banner = server.log()
    return done


@pytest.mark.slow
def test_a_source_install_without_node_installs_the_server_and_says_how_to_get_the_ui(
    source_install: Installed,
) -> None:
    if shutil.which("script"):  # in a terminal the warning shows despite pip's quiet output
        assert "aiotrack: WARNING: the web UI is not built (node was not found on PATH)" in source_install.pip_output
    assert "the web UI is not built (the build said: node was not found on PATH)" in source_install.banner
    assert "Node.js >= " in source_install.banner and "install the aiotrack wheel" in source_install.banner
    assert source_install.index_status == 404
    page = source_install.index_body.decode()
    assert "web UI is not built" in page and "node was not found on PATH" in page and "wheel" in page


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m build --wheel` of a copy of the sources, once, with node and npm available."""
    pytest.importorskip("build", reason="`build` is in the test extra: pip install -e '.[test]'")
    if shutil.which("npm") is None:
        _skip_or_fail("building the wheel needs npm (the wheel carries the built UI)")
    src = copy_sources(tmp_path_factory.mktemp("wheel-src"), node_modules=True)
    out = tmp_path_factory.mktemp("wheelhouse")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(src)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "WARNING: the web UI is not built" not in proc.stderr
    (built,) = out.glob("aiotrack-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_carries_the_built_ui(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "aiotrack/webui_dist/index.html" in names
    assert any(n.startswith("aiotrack/webui_dist/static-files/") and n.endswith(".js") for n in names)
    assert "aiotrack/webui_dist/NOT-BUILT.json" not in names
    assert not any(n.startswith(("webui/", "tests/")) for n in names)


@pytest.mark.slow
@pytest.mark.browser
def test_the_installed_wheel_serves_the_ui_without_node(source_install: Installed, wheel: Path, tmp_path: Path) -> None:
    if not os.path.exists(CHROMIUM):
        _skip_or_fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    venv = source_install.venv  # its dependencies are installed; the wheel replaces the package
    env = no_node_env(venv)
    _pip(venv, ["install", "--force-reinstall", "--no-deps", str(wheel)], env)
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import aiotrack.http.api.webui as w; print(w.DIST)"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=tmp_path,
    ).stdout.strip()
    assert where.startswith(str(venv)), where  # the wheel's copy, not this checkout
    server, url = _serve(venv, tmp_path, env)
    try:
        status, _, body = request(url + "/")
        assert status == 200 and b'<div id="app">' in body
        _open_in_chromium(url + "/")
    finally:
        server.stop()
    assert "web UI is not built" not in server.log()


def _open_in_chromium(url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    errors: list[Any] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda error: errors.append(error))
            page.goto(url)
            expect(page.get_by_role("heading", name="Experiments")).to_be_visible(timeout=15_000)
            expect(page.get_by_role("link", name="Default")).to_be_visible()
        finally:
            browser.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
