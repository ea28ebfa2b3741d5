"""`aiotrack server --dev`: change a source file, see the new code served.

The server runs on a temporary copy of the aiotrack package (put first on PYTHONPATH), so the
test edits the copy, never the repository."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import requests
from server_process import ServerProcess, session_members, wait_until

import aiotrack


def test_dev_mode_reloads_on_code_change(tmp_path):
    pkg_root = tmp_path / "pkg"
    shutil.copytree(
        Path(aiotrack.__file__).parent,
        pkg_root / "aiotrack",
        ignore=shutil.ignore_patterns("__pycache__", "webui_dist"),
    )
    server = ServerProcess(["--dev", "--worker-header"], tmp_path, env={"PYTHONPATH": str(pkg_root)})
    try:
        server.wait_ready()
        first = requests.get(server.url + "/health", timeout=5)
        assert first.text == "OK"
        log = server.log()
        assert "with 1 worker " in log and "dev mode: watching " + str(pkg_root / "aiotrack") in log
        assert " DEBUG " in log  # debug logging

        source = pkg_root / "aiotrack" / "http" / "api" / "server_info.py"
        text = source.read_text()
        assert 'web.Response(text="OK")' in text
        time.sleep(0.5)
        source.write_text(text.replace('web.Response(text="OK")', 'web.Response(text="RELOADED")'))

        def reloaded():
            try:
                return requests.get(server.url + "/health", timeout=2).text == "RELOADED"
            except requests.ConnectionError:
                return False

        wait_until(reloaded, 30, "the dev server to serve the new code", interval=0.2)
        assert first.headers["X-Aiotrack-Worker"] != requests.get(server.url + "/health").headers["X-Aiotrack-Worker"]
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(20) == 0
        wait_until(lambda: not session_members(server.proc.pid), 10, "the dev server's processes to exit")
    finally:
        server.kill_leftovers()
