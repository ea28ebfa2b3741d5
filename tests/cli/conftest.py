"""Fixtures of the import and gc tests: real MLflow stores, each built once per session by the
mlflow client against a real `mlflow server` (kept running, so the tests can ask it the same
questions they ask aiotrack), and a helper running `python -m aiotrack` as a subprocess."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import pytest
from mlflow_source import MlflowServer, populate  # tests/cli is on sys.path

# Before mlflow is imported: its telemetry thread sets and unsets an environment variable, which
# races with requests reading os.environ for proxies (KeyError: '_MLFLOW_TELEMETRY_SESSION_ID').
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"


@dataclass
class MlflowSource:
    kind: str  # sqlite | postgresql | mysql | file
    location: str  # what `aiotrack import` is given
    server: MlflowServer
    artifacts: str
    facts: dict


def _build(kind: str, tmp_path_factory, backend: str, location: str, env: dict[str, str] | None = None):
    # Here, not at the top of this file: importing mlflow costs ~2 s of CPU in every process that
    # collects tests/cli, and only the import and gc tests (slow) use these sources.
    pytest.importorskip("mlflow", reason="the import tests build their sources with the mlflow client")
    workdir = tmp_path_factory.mktemp(f"mlflow-{kind}")
    artifacts = str(workdir / "artifacts")
    backend = backend.format(dir=workdir)
    server = MlflowServer(backend, artifacts, str(workdir), env)
    try:
        facts = populate(server.url, str(workdir), database=kind != "file")
    except BaseException:
        server.stop()
        raise
    return MlflowSource(kind, location.format(dir=workdir, backend=backend), server, artifacts, facts)


@pytest.fixture(scope="session")
def mlflow_sqlite_source(tmp_path_factory):
    source = _build("sqlite", tmp_path_factory, "sqlite:///{dir}/mlflow.db", "{backend}")
    yield source
    source.server.stop()


@pytest.fixture(scope="session")
def mlflow_pg_source(tmp_path_factory, pg_server):
    dsn = pg_server.create_sync("mlflow_source")
    source = _build("postgresql", tmp_path_factory, dsn.replace("postgresql://", "postgresql+psycopg://"), dsn)
    yield source
    source.server.stop()


@pytest.fixture(scope="session")
def mlflow_mysql_source(tmp_path_factory):
    """MLflow on the machine's MariaDB (127.0.0.1:3306, root, no password), in a database made for
    this session and dropped after it."""
    pymysql = pytest.importorskip("pymysql", reason="the MySQL source needs the mysql extra")
    name = f"mlflow_source_{uuid.uuid4().hex[:8]}"
    admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        uri = f"mysql+pymysql://root@127.0.0.1:3306/{name}"
        source = _build("mysql", tmp_path_factory, uri, uri)
        yield source
        source.server.stop()
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


@pytest.fixture(scope="session")
def mlflow_file_source(tmp_path_factory):
    env = {"MLFLOW_ALLOW_FILE_STORE": "true"}
    source = _build("file", tmp_path_factory, "file://{dir}/mlruns", "{dir}/mlruns", env)
    yield source
    source.server.stop()


@pytest.fixture(params=["sqlite", "postgresql", "mysql", "file"])
def mlflow_source(request) -> MlflowSource:
    name = {
        "sqlite": "mlflow_sqlite_source",
        "postgresql": "mlflow_pg_source",
        "mysql": "mlflow_mysql_source",
        "file": "mlflow_file_source",
    }
    return request.getfixturevalue(name[request.param])
