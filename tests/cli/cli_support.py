"""A real `aiotrack server` configured through its environment, for the tests in tests/cli."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from aiotrack.config import SETTINGS


def clean_env(**variables: str) -> dict[str, str]:
    """This process's environment without any setting variable, plus ``variables``."""
    names = {name for s in SETTINGS for name in s.envvars}
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(variables)
    return env


class EnvServer:
    """``python -m aiotrack [pre_args] server [args]`` with ``env``; stdout and stderr to a log file."""

    def __init__(
        self,
        workdir: Path,
        env: dict[str, str],
        args: Sequence[str] = (),
        pre_args: Sequence[str] = (),
        *,
        argv: Sequence[str] | None = None,
    ):
        """``argv`` replaces the whole command (e.g. another venv's ``aiotrack server ...``)."""
        self.log_path = workdir / f"server-{time.monotonic_ns()}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            list(argv) if argv is not None else [sys.executable, "-m", "aiotrack", *pre_args, "server", *args],
            cwd=str(workdir),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )

    def wait_ready(self, url: str, timeout: float = 60.0) -> EnvServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"aiotrack server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except urllib.error.HTTPError as exc:
                exc.close()
                time.sleep(0.1)
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"aiotrack server did not answer {url} within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_bytes().decode(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=40)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()
        return self.proc.returncode


def request(
    url: str, *, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """status, headers, body of one HTTP request (errors included, never raised)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers.items()), exc.read()
