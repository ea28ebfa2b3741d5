"""The `start_server` fixture: real `aiotrack server` subprocesses, stopped and checked afterwards."""

from __future__ import annotations

import contextlib
import signal
import subprocess

import pytest
from serving_helpers import Server


@pytest.fixture
def start_server(tmp_path):
    started: list[Server] = []

    def start(*args: str, ready: bool = True, **kwargs) -> Server:
        server = Server(tmp_path, *args, **kwargs)
        started.append(server)
        if ready:
            server.wait_ready()
        return server

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.proc.wait(45)
        server.kill_leftovers()
