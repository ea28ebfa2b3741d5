"""Shared fixtures: real SQLite files and a real PostgreSQL database per test session.

Schema setup happens once per session (per xdist worker): ``sqlite_template`` is a migrated SQLite
file that each test copies, ``pg_template`` a migrated PostgreSQL database. A test that asks for
a PostgreSQL store gets a database in exactly the template's state: a clone of it, or one an
earlier test used, wiped and checked first (``PgServer.take``), because creating and above all
dropping a database per test cost more than the tests (each DROP DATABASE waits for a
checkpoint: ~500 drops took 200 s of a 985 s run). All databases are dropped after the session,
by a process of its own that the session does not wait for (``drop_all_after_exit``; under CI the
session waits). PostgreSQL: the machine's server at 127.0.0.1:5432 (override with AIOTRACK_TEST_PG, a
DSN of a database we may connect to in order to create others). Where it is unreachable the tests
skip with the reason, unless CI is set (CI=true), where that skip is a failure.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


# Everything a test could change in a database's definition, as one digest: schemas' relations,
# columns, constraints, indexes, triggers, functions, types, extensions and the database's own
# settings. A database reused by the next test must give the template's digest after the wipe.
_DEFINITION_DIGEST = """
WITH ns AS (
    SELECT oid, nspname FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema')
      AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp%'
)
SELECT md5(coalesce(string_agg(line, E'\\n' ORDER BY line), '')) FROM (
    SELECT 'ns ' || nspname FROM ns
    UNION ALL
    SELECT 'rel ' || ns.nspname || '.' || c.relname || ' ' || c.relkind::text || c.relpersistence::text
           || coalesce(' ' || CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END, '')
    FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
    UNION ALL
    SELECT 'col ' || a.attrelid::regclass::text || '.' || a.attname || ' '
           || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text
           || coalesce(' ' || pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN ns ON ns.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 'con ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(co.oid)
    FROM pg_constraint co JOIN ns ON ns.oid = co.connamespace
    UNION ALL
    SELECT 'idx ' || pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN ns ON ns.oid = c.relnamespace
    UNION ALL
    SELECT 'trg ' || pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'fn ' || p.oid::regprocedure::text || ' ' || md5(coalesce(p.prosrc, ''))
    FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
    UNION ALL
    SELECT 'type ' || ty.oid::regtype::text || ' ' || ty.typtype::text
    FROM pg_type ty JOIN ns ON ns.oid = ty.typnamespace WHERE ty.typtype IN ('e', 'd', 'r', 'm')
    UNION ALL
    SELECT 'enum ' || enumtypid::regtype::text || ' ' || enumlabel || ' ' || enumsortorder::text FROM pg_enum
    UNION ALL
    SELECT 'ext ' || extname || ' ' || extversion FROM pg_extension
    UNION ALL
    SELECT 'db ' || datallowconn::text || ' ' || datconnlimit::text || ' ' || datistemplate::text
    FROM pg_database WHERE datname = current_database()
    UNION ALL
    SELECT 'set ' || setrole::text || ' ' || array_to_string(setconfig, ',')
    FROM pg_db_role_setting WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
) AS lines(line)
"""


@dataclass(frozen=True)
class TemplateState:
    """What a fresh clone of a template holds: its definition's digest, its rows (the migrations
    table's, today) and where each sequence stands."""

    digest: str
    tables: tuple[str, ...]  # every table, quoted and schema-qualified
    rows: Mapping[str, tuple[tuple[str, ...], list[asyncpg.Record]]]  # table -> (columns, rows)
    sequences: tuple[tuple[str, int, bool], ...]  # (sequence, value, is_called) for setval

    @classmethod
    async def read(cls, conn: asyncpg.Connection) -> TemplateState:
        digest = await conn.fetchval(_DEFINITION_DIGEST)
        tables = await conn.fetch(
            "SELECT format('%I.%I', schemaname, tablename) AS name, schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
        )
        rows = {}
        for table in tables:
            found = await conn.fetch(f"SELECT * FROM {table['name']}")
            if found:
                rows[table["name"]] = (tuple(found[0].keys()), found)
        sequences = await conn.fetch(
            "SELECT format('%I.%I', schemaname, sequencename) AS name, start_value, last_value FROM pg_sequences"
        )
        return cls(
            digest,
            tuple(t["name"] for t in tables),
            rows,
            tuple(
                (s["name"], s["start_value"], False) if s["last_value"] is None else (s["name"], s["last_value"], True)
                for s in sequences
            ),
        )

    async def restore(self, conn: asyncpg.Connection) -> None:
        """Put a database made from this template back in the template's state (one transaction):
        every row deleted (foreign keys and triggers off for it: superuser), the template's rows
        copied back, every sequence set back. DELETE, not TRUNCATE: on these nearly empty tables it
        takes milliseconds where TRUNCATE's new files took most of a second."""
        async with conn.transaction():
            await conn.execute(
                "SET LOCAL session_replication_role = replica; " + "; ".join(f"DELETE FROM {t}" for t in self.tables)
            )
            for table, (columns, records) in self.rows.items():
                schema, name = await conn.fetchrow(
                    "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.oid = $1::regclass",
                    table,
                )
                await conn.copy_records_to_table(
                    name, schema_name=schema, columns=list(columns), records=[tuple(r) for r in records]
                )
            for sequence, value, is_called in self.sequences:
                await conn.execute("SELECT setval($1::regclass, $2::bigint, $3::boolean)", sequence, value, is_called)


class PgServer:
    """Creates and drops databases on the machine's PostgreSQL for one test session."""

    def __init__(self, admin_dsn: str):
        self.admin_dsn = admin_dsn
        self.prefix = f"aiotrack_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []
        self.templates: dict[str, TemplateState] = {}
        self.released: dict[str, list[str]] = {}  # template -> databases tests are done with
        self.reused = 0

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

    async def remember_template(self, template: str) -> None:
        conn = await asyncpg.connect(self.dsn(template))
        try:
            self.templates[template] = await TemplateState.read(conn)
        finally:
            await conn.close()

    async def take(self, template: str) -> str:
        """A database in ``template``'s state: one a finished test gave back, restored and
        checked (its definition must digest like the template's, else it is left to be dropped),
        or else a new clone. Whatever still connects to a returned database is cut off first."""
        state = self.templates[template]
        released = self.released.setdefault(template, [])
        while released:
            name = released.pop()
            if await self._restore(name, state):
                self.reused += 1
                return self.dsn(name)
        return await self.clone(template)

    def give_back(self, dsn: str, template: str) -> None:
        """A test is done with ``dsn`` (from ``take``); the next ``take`` may restore and reuse it."""
        self.released.setdefault(template, []).append(dsn.rsplit("/", 1)[1])

    async def _restore(self, name: str, state: TemplateState) -> bool:
        try:
            admin = await asyncpg.connect(self.admin_dsn)
            try:
                # pg_terminate_backend with a timeout returns once the session has ended.
                await admin.execute(
                    "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()",
                    name,
                )
            finally:
                await admin.close()
            conn = await asyncpg.connect(self.dsn(name))
            try:
                if await conn.fetchval(_DEFINITION_DIGEST) != state.digest:
                    return False
                # No second digest after it: the restore only deletes and copies rows and sets
                # sequences, with triggers off, which cannot change a definition.
                await state.restore(conn)
                return True
            finally:
                await conn.close()
        except (OSError, asyncpg.PostgresError):
            return False  # e.g. a test forbade connections to it: dropped at the end like the rest

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

    def drop_all_after_exit(self, log_path: Path) -> None:
        """``drop_all`` in a process of its own that outlives the session, so the session does not
        wait for the checkpoint every DROP DATABASE waits for (6 to 9 s at the end of each xdist
        worker, on a quiet machine; more while other runs keep the checkpointer busy). Its output
        goes to ``log_path``. A shell starts it in the background and exits: pytest waits for the
        shell only, and no child of this process is left running."""
        if not self.created:
            return
        code = (
            "import asyncio, sys; sys.path.insert(0, sys.argv[1]); from conftest import PgServer; "
            "server = PgServer(sys.argv[2]); server.created = sys.argv[3:]; asyncio.run(server.drop_all())"
        )
        drop = [sys.executable, "-c", code, str(TESTS), self.admin_dsn, *self.created]
        subprocess.run(
            ["sh", "-c", '"$@" < /dev/null > "$DROP_LOG" 2>&1 &', "sh", *drop],
            env={**os.environ, "DROP_LOG": str(log_path)},
            check=True,
            start_new_session=True,  # not ended with this session's process group (Ctrl-C, xdist)
        )


# --------------------------------------------------------------------------- markers

TESTS = Path(__file__).resolve().parent
# Whole folders are one kind of test (the markers are registered in pyproject.toml).
FOLDER_MARKERS = {TESTS / "ui": "browser", TESTS / "compat": "slow"}
# Tests that necessarily take seconds each (processes killed and restarted, real timeouts and
# outages, fuzzing, large bodies through real workers): `slow`, so CI runs them (it runs every
# marker) and the fast loop does not. A file (None: all of it) or some of its tests by name, with
# parameters where only some are slow. Modules that mark themselves (pytestmark) need no entry.
SLOW_TESTS: dict[str, frozenset[str] | None] = {
    # schemathesis against every route of /api/openapi.json: a minute and more
    "http/test_openapi_fuzz.py": frozenset({"test_fuzzing_finds_no_server_errors"}),
    # one fresh app, admin and ~30 resources per level, and an Argon2id check after every grant
    # (a grant drops the credential cache): ~15 s a level. One level stays in the fast loop.
    "http/test_auth_matrix.py": frozenset(
        f"test_permission_matrix[{backend}-{level}]"
        for backend in ("sqlite", "postgresql")
        for level in ("none", "READ", "EDIT", "MANAGE", "admin")
        if (backend, level) != ("sqlite", "EDIT")
    ),
    # PostgreSQL outages through a proxy, start-up waits and timeouts, a full disk
    "serving/test_database_faults.py": None,
    # kill -9 under load, restarts with backoff while the database is away
    "serving/test_supervisor_restarts.py": None,
    # SIGTERM drains, killed workers replaced, a dead supervisor noticed
    "serving/test_workers.py": None,
    # the reloader noticing a code change
    "serving/test_dev_reload.py": None,
    # many large bodies in parallel through real workers
    "serving/test_body_bounds_real_server.py": None,
    # eight clients through four worker processes
    "serving/test_sqlite_concurrency.py": None,
    # the header read timeout, waited for
    "serving/test_protocol.py": frozenset(
        {
            "test_half_a_header_is_closed_after_the_header_read_timeout",
            "test_a_slow_body_is_not_cut_off_by_the_header_timeout",
        }
    ),
    # a replica made silent and refused through a proxy, waited out (statement budget, pool
    # timeout, the retry interval twice: ~18 s); the rule itself, falling back and retrying
    # later, stays in the fast loop in-process (tests/stores/test_replica.py)
    "serving/test_nodes.py": frozenset(
        {"test_a_replica_that_is_down_or_silent_falls_back_to_the_primary_in_bounded_time"}
    ),
    # real servers waiting out database timeouts; a PostgreSQL server without the checks
    "cli/test_settings_behaviour.py": frozenset({"test_database_bounds_from_variables", "test_no_proxy_no_checks_dev"}),
}


def _is_slow(item: pytest.Item) -> bool:
    try:
        key = item.path.relative_to(TESTS).as_posix()
    except ValueError:
        return False
    if key not in SLOW_TESTS:
        return False
    names = SLOW_TESTS[key]
    return names is None or item.name in names or getattr(item, "originalname", None) in names


def _marks_for(item: pytest.Item) -> list[str]:
    marks = [mark for folder, mark in FOLDER_MARKERS.items() if folder in item.path.parents]
    if _is_slow(item) and "slow" not in marks:
        marks.append("slow")
    callspec = getattr(item, "callspec", None)
    # pg_pair: the primary and replica tests/serving/test_nodes.py makes (tests/pg_cluster.py).
    on_postgres = bool({"pg_server", "pg_pair"} & set(getattr(item, "fixturenames", ()))) or (
        callspec is not None and "postgresql" in callspec.params.values()
    )
    if on_postgres:
        marks.append("postgres")
    return marks


def _check_slow_tests(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every SLOW_TESTS entry names a file and tests that exist (a renamed test must not leave the
    fast loop slow, or a stale entry linger). Checked when the whole file was collected."""
    collected: dict[str, set[str]] = {}
    for item in items:
        try:
            key = item.path.relative_to(TESTS).as_posix()
        except ValueError:
            continue
        if key in SLOW_TESTS:
            collected.setdefault(key, set()).update({item.name, getattr(item, "originalname", item.name)})
    for key, names in collected.items():
        missing = (SLOW_TESTS[key] or frozenset()) - names
        if missing and not any("::" in arg for arg in config.args):  # chosen tests leave the rest out
            raise pytest.UsageError(f"tests/conftest.py SLOW_TESTS names tests {key} does not have: {sorted(missing)}")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """A folder whose marker ``-m`` rules out is not collected at all: the fast loop
    (``-m "not slow and not browser"``) would deselect every test in tests/ui and tests/compat
    anyway, and collecting them imports playwright and mlflow (seconds of CPU in each xdist
    worker). The tests are the same either way; only the "deselected" count leaves them out."""
    from marker_expression import rules_out  # tests/ is on sys.path

    mark = FOLDER_MARKERS.get(collection_path)
    if mark is not None and rules_out(config.getoption("markexpr") or "", frozenset({mark})):
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _check_slow_tests(config, items)
    for item in items:
        for mark in _marks_for(item):
            item.add_marker(mark)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    reason = _pg_reachable()
    if reason:
        if IN_CI:
            pytest.fail(f"{reason} (CI is set, so a missing PostgreSQL is a failure, not a skip)")
        pytest.skip(reason)
    server = PgServer(PG_ADMIN_DSN)
    yield server
    if IN_CI:
        asyncio.run(server.drop_all())  # CI waits: a drop that fails fails the run there
    else:
        server.drop_all_after_exit(tmp_path_factory.getbasetemp() / "pg-drops.log")


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
        name = dsn.rsplit("/", 1)[1]
        await pg_server.remember_template(name)
        return name

    return asyncio.run(make())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file with no data, copied by each test that wants an empty store."""

    async def make(path: Path) -> None:
        db = await SqliteDatabase(str(path)).open()
        try:
            await migrations.upgrade(db)
        finally:
            await db.close()

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    asyncio.run(make(path))
    # The writers' lock file (.lock) is made on demand; a WAL left behind would hold schema.
    left = [p.name for p in path.parent.iterdir() if p.name.endswith(("-wal", "-journal"))]
    assert not left, f"closing the template left {left} beside it: a copy of the file alone would miss them"
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def store_uri(request, tmp_path):
    """A backend store URI of each kind, with the current schema and no data: a copy of the
    migrated SQLite template, or a PostgreSQL database in the template's state (PgServer.take).
    Tests that need an empty database without a schema ask pg_server.create_sync() (or name a
    SQLite file of their own); tests/stores/test_migrations.py covers creating the schema."""
    if request.param == "sqlite":
        path = tmp_path / "aiotrack-test.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("pg_template")
    dsn = asyncio.run(server.take(template))
    yield dsn
    server.give_back(dsn, template)


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

    @functools.cached_property
    def _client(self):
        """One boto3 client for the session: making one costs ~0.3 s of CPU (botocore loads and
        parses its service model), which each S3 test used to pay for its bucket."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )

    def boto3_client(self):
        """The session's one client (shared: register no event handlers on it)."""
        return self._client

    def create_bucket(self) -> str:
        name = f"aiotrack-{uuid.uuid4().hex[:12]}"
        self._client.create_bucket(Bucket=name)
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
