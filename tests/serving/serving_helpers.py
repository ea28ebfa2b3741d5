"""Helpers for the serving tests: a real `aiotrack server` subprocess, and the checks that it
leaves no process behind."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(p) for p in text.split()]


def session_members(sid: int) -> list[int]:
    """Live processes of a session (the server was started in a new session, sid = its pid)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            found.append(int(entry.name))
    return found


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Server:
    def __init__(self, tmp_path: Path, *args: str, env: dict | None = None, store_uri: str | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / f"server-{self.port}.log"
        self.store_uri = store_uri or f"sqlite:///{tmp_path}/serving.db"
        command = [
            sys.executable,
            "-m",
            "aiotrack",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--backend-store-uri",
            self.store_uri,
            "--artifacts-destination",
            str(tmp_path / "artifacts"),
            *args,
        ]
        full_env = {**os.environ, "AIOTRACK_WORKER_HEADER": "1", **(env or {})}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, env=full_env, start_new_session=True
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60, path: str = "/health") -> None:
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                return requests.get(self.url + path, timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        wait_until(ready, timeout, "the server to answer")

    def workers(self) -> list[int]:
        return children(self.proc.pid)

    def stop(self, timeout: float = 45) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill_leftovers()

    def kill_leftovers(self) -> list[int]:
        """Safety net for a failed test: kill what is left of the session we started."""
        left = session_members(self.proc.pid)
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(5)
        return left
