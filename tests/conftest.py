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
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import asyncpg
import pytest

from aiotrack.stores.sql import migrations
from aiotrack.stores.sql.database import PostgresDatabase, SqliteDatabase

PG_ADMIN_DSN = os.environ.get("AIOTRACK_TEST_PG", "postgresql://root@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DROP_CONCURRENCY = 8


def _pg_reachable() -> str | None:
    async def probe():
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
        return None
    except Exception as exc:
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

    async def clone(self, template: str) -> str:
        """A new database copied from ``template`` (a file copy: much faster than migrating)."""
        name = f"{self.prefix}_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            await conn.close()
        self.created.append(name)
        return self.dsn(name)

    async def drop_all(self) -> None:
        """Drop every database made for the session, several at once: each DROP DATABASE waits for
        a checkpoint and concurrent drops share one (one by one, ~200 of them took 190 s of a
        430 s run on a loaded machine; 8 at a time, 186 took 18 s)."""
        names = list(self.created)
        if not names:
            return
        conns = await asyncio.gather(
            *(asyncpg.connect(self.admin_dsn) for _ in range(min(DROP_CONCURRENCY, len(names))))
        )
        try:

            async def drop_some(conn: asyncpg.Connection) -> None:
                while names:
                    name = names.pop()
                    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

            await asyncio.gather(*(drop_some(c) for c in conns))
        finally:
            await asyncio.gather(*(c.close() for c in conns))


# --------------------------------------------------------------------------- markers

TESTS = Path(__file__).resolve().parent
# Whole folders are one kind of test (the markers are registered in pyproject.toml).
FOLDER_MARKERS = {TESTS / "ui": "browser", TESTS / "compat": "slow"}


def _marks_for(item: pytest.Item) -> list[str]:
    marks = [mark for folder, mark in FOLDER_MARKERS.items() if folder in item.path.parents]
    callspec = getattr(item, "callspec", None)
    # pg_pair: the primary and replica tests/serving/test_nodes.py makes (tests/pg_cluster.py).
    on_postgres = bool({"pg_server", "pg_pair"} & set(getattr(item, "fixturenames", ()))) or (
        callspec is not None and "postgresql" in callspec.params.values()
    )
    if on_postgres:
        marks.append("postgres")
    return marks


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for mark in _marks_for(item):
            item.add_marker(mark)


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


@pytest.fixture(scope="session")
def pg_template(pg_server) -> str:
    """The name of a PostgreSQL database with the current schema and no data, to clone from."""

    async def make() -> str:
        dsn = await pg_server.create("template")
        db = await PostgresDatabase(dsn, max_size=1).open()
        try:
            await migrations.upgrade(db)
        finally:
            await db.close()
        return dsn.rsplit("/", 1)[1]

    return asyncio.run(make())


@pytest.fixture(params=["sqlite", "postgresql"])
def store_uri(request, tmp_path) -> str:
    """A backend store URI of each kind, holding no data. The SQLite file does not exist yet (the
    server creates its schema); the PostgreSQL database is a clone of a migrated template, since
    creating and migrating a PostgreSQL database per test dominated the suite's time. Tests that
    need an empty PostgreSQL database ask pg_server.create_sync()."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/aiotrack-test.db"
    server = request.getfixturevalue("pg_server")
    return asyncio.run(server.clone(request.getfixturevalue("pg_template")))


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


# --------------------------------------------------------------------------- real servers

from server_process import ServerProcess, free_port  # noqa: E402  (tests/ is on sys.path)


@pytest.fixture
def start_server(tmp_path):
    """Start real servers for one test: ``start_server(["--workers", "2", ...], env=..., ready=path,
    store_uri=...)`` -> a ServerProcess, ready unless ``ready`` is None. Each is stopped at the end
    and whatever is left of its process session killed (tests/server_process.py)."""
    started: list[ServerProcess] = []

    def start(
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        *,
        ready: str | None = "/health",
        store_uri: str | None = None,
    ) -> ServerProcess:
        server = ServerProcess(args, tmp_path, env, store_uri=store_uri)
        started.append(server)
        return server.wait_ready(ready) if ready is not None else server

    yield start
    for server in started:
        server.stop()


# --------------------------------------------------------------------------- S3 (moto server)


class MotoS3:
    """A `moto[server]` subprocess speaking S3 over real HTTP on a free loopback port."""

    access_key = "aiotrack-test-key"
    secret_key = "aiotrack-test-secret"
    region = "us-east-1"

    def __init__(self, workdir):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(str(workdir), "moto.log")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - moto's log, open for its lifetime
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto server exited: {Path(self.log_path).read_text()}")
            try:
                with urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start within 30s") from None
                time.sleep(0.1)

    @property
    def env(self) -> dict[str, str]:
        """What a process needs to reach this S3 (the server under test, the mlflow client)."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "MLFLOW_S3_ENDPOINT_URL": self.endpoint,
        }

    def boto3_client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )

    def create_bucket(self) -> str:
        name = f"aiotrack-{uuid.uuid4().hex[:12]}"
        self.boto3_client().create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        import signal

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory):
    """One moto S3 server per test session; tests make their own bucket (``create_bucket()``)."""
    server = MotoS3(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture
def s3_env(moto_s3, monkeypatch):
    """This process's AWS settings pointed at moto (for aiobotocore in-process)."""
    for key, value in moto_s3.env.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    return moto_s3
