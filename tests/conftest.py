"""Shared fixtures: real SQLite files and a real PostgreSQL database per test session.

PostgreSQL: the machine's server at 127.0.0.1:5432 (override with AIOTRACK_TEST_PG, a DSN of a
database we may connect to in order to create others). A uniquely named database is created for
the session, and every test that asks for a store gets a fresh database named after it; all are
dropped at the end of the session. Where PostgreSQL is unreachable the tests skip with the
reason, unless CI is set (CI=true), where that skip is a failure.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid

import asyncpg
import pytest

from aiotrack.stores.sql.database import PostgresDatabase, SqliteDatabase
from aiotrack.stores.sql import migrations

PG_ADMIN_DSN = os.environ.get("AIOTRACK_TEST_PG", "postgresql://root@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_reachable() -> str | None:
    async def probe():
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL at {PG_ADMIN_DSN} is not reachable: {exc!r}"


class PgServer:
    """Creates and drops databases on the machine's PostgreSQL for one test session."""

    def __init__(self, admin_dsn: str):
        self.admin_dsn = admin_dsn
        self.prefix = f"aiotrack_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []

    def dsn(self, name: str) -> str:
        base = self.admin_dsn.rsplit("/", 1)[0]
        return f"{base}/{name}"

    async def create(self, suffix: str | None = None) -> str:
        name = f"{self.prefix}_{suffix or uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self.created.append(name)
        return self.dsn(name)

    def create_sync(self, suffix: str | None = None) -> str:
        return asyncio.run(self.create(suffix))

    async def drop_all(self) -> None:
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            for name in self.created:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@pytest.fixture(scope="session")
def pg_server():
    reason = _pg_reachable()
    if reason:
        if IN_CI:
            pytest.fail(f"{reason} (CI is set, so a missing PostgreSQL is a failure, not a skip)")
        pytest.skip(reason)
    server = PgServer(PG_ADMIN_DSN)
    yield server
    asyncio.run(server.drop_all())


@pytest.fixture(params=["sqlite", "postgresql"])
def store_uri(request, tmp_path) -> str:
    """A backend store URI for an empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/aiotrack-test.db"
    server = request.getfixturevalue("pg_server")
    return server.create_sync()


@pytest.fixture
async def database(store_uri):
    """An open, migrated Database on each backend."""
    from aiotrack.stores.sql.uri import parse_store_uri

    parsed = parse_store_uri(store_uri)
    if parsed.kind == "sqlite":
        db = await SqliteDatabase(parsed.target).open()
    else:
        db = await PostgresDatabase(parsed.target, max_size=4).open()
    await migrations.upgrade(db)
    yield db
    await db.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- real servers

import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402


class ServerProcess:
    """A real `aiotrack server` subprocess on a free port."""

    def __init__(self, args: list[str], cwd, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(str(cwd), f"server-{self.port}.log")
        self._log = open(self.log_path, "wb")
        full_env = {**os.environ, **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aiotrack", "server", "--port", str(self.port), *args],
            cwd=str(cwd),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=full_env,
            start_new_session=True,
        )

    def wait_ready(self, path: str = "/health", timeout: float = 30.0) -> "ServerProcess":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"aiotrack server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"aiotrack server did not answer {path} within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self) -> None:
        import signal

        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def start_server(tmp_path):
    """Start real servers: ``start_server(["--backend-store-uri", uri, ...])`` -> ServerProcess."""
    started: list[ServerProcess] = []

    def start(args: list[str], env: dict | None = None, ready_path: str = "/health") -> ServerProcess:
        server = ServerProcess(args, tmp_path, env)
        started.append(server)
        return server.wait_ready(ready_path)

    yield start
    for server in started:
        server.stop()
