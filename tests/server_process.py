"""Real `aiotrack server` subprocesses for the tests that need one (the `start_server` fixture in
tests/conftest.py uses this; a session-scoped fixture may use ServerProcess directly).

Each server runs in its own process session on a free loopback port, logging to a file in its
working directory. ``stop()`` asks the supervisor to stop (SIGTERM, as an operator would), waits,
then kills whatever is left of the session, so a failed test leaves no process behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(p) for p in text.split()]


def session_members(sid: int) -> list[int]:
    """Live processes of a session (a server is started in a new session: sid = its pid)."""
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


def wait_until(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class ServerProcess:
    """``python -m aiotrack server --host 127.0.0.1 --port <free> *args`` with its working directory
    (and log file) in ``cwd``. Without ``--backend-store-uri``/``--artifacts-destination`` in ``args``
    it uses ``store_uri`` (default: a SQLite file in ``cwd``) and ``cwd/artifacts``."""

    def __init__(
        self,
        args: Sequence[str],
        cwd: Path | str,
        env: Mapping[str, str] | None = None,
        *,
        store_uri: str | None = None,
    ) -> None:
        cwd = Path(cwd)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = cwd / f"server-{self.port}.log"
        args = list(args)
        if "--backend-store-uri" not in args:
            args += ["--backend-store-uri", store_uri or f"sqlite:///{cwd}/aiotrack-test.db"]
        if "--artifacts-destination" not in args:
            args += ["--artifacts-destination", str(cwd / "artifacts")]
        self.store_uri: str | None = args[args.index("--backend-store-uri") + 1]
        command = [sys.executable, "-m", "aiotrack", "server", "--host", "127.0.0.1", "--port", str(self.port), *args]
        self._start(command, cwd, {**os.environ, **(env or {})})

    @classmethod
    def command(cls, command: Sequence[str], cwd: Path | str, env: Mapping[str, str], port: int) -> ServerProcess:
        """``command`` exactly as given, with exactly ``env``, expected to serve on 127.0.0.1:``port``:
        for a server configured by environment variables alone, or another venv's ``aiotrack``."""
        server = cls.__new__(cls)
        server.port, server.url, server.store_uri = port, f"http://127.0.0.1:{port}", None
        server.log_path = Path(cwd) / f"server-{port}.log"
        server._start(command, Path(cwd), env)
        return server

    def _start(self, command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
        with open(self.log_path, "wb") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                list(command),
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env),
                start_new_session=True,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, path: str = "/health", timeout: float = 60.0) -> ServerProcess:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"aiotrack server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as resp:
                    return bool(resp.status == 200)
            except (urllib.error.URLError, OSError):
                return False

        try:
            wait_until(ready, timeout, f"the server to answer {path}", interval=0.1)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.log()}") from None
        return self

    def workers(self) -> list[int]:
        return children(self.proc.pid)

    def stop(self, timeout: float = 45) -> int | None:
        """SIGTERM to the supervisor, wait for it, then kill what is left; its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
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
