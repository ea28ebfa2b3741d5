"""Which MLflow schemas the SQL source reads, and what it says it leaves behind.

The source database is made by MLflow's own stores (its alembic migrations, its webhook and
evaluation-dataset writers); a newer MLflow's head is given by rewriting ``alembic_version``, as
only the revision differs for the tables the import reads.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from aiotrack.errors import ConfigError
from aiotrack.services.importing.mlflow_sql import KNOWN_REVISIONS, MlflowSqlSource
from aiotrack.stores.sql.uri import parse_store_uri
from tests.cli.mlflow_source import aiotrack_cli

mlflow = pytest.importorskip("mlflow")


@pytest.fixture(scope="module")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Made once per module (MLflow's migrations take seconds); each test gets a copy."""
    from mlflow.entities.webhook import WebhookAction, WebhookEntity, WebhookEvent
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingStore

    tmp_path = tmp_path_factory.mktemp("mlflow-template")
    path = tmp_path / "mlflow.db"
    uri = f"sqlite:///{path}"
    tracking = TrackingStore(uri, str(tmp_path / "artifacts"))
    tracking.create_experiment("kept")
    tracking.create_dataset("eval-set")
    registry = RegistryStore(uri)
    event = WebhookEvent(WebhookEntity.REGISTERED_MODEL, WebhookAction.CREATED)
    registry.create_webhook("hook", "https://1.1.1.1/hook", [event])
    registry.create_webhook("hook2", "https://1.1.1.1/hook2", [event])
    tracking.engine.dispose()
    registry.engine.dispose()
    return path


@pytest.fixture
def mlflow_db(mlflow_template: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "mlflow.db"
    shutil.copyfile(mlflow_template, copy)
    return copy


def _set_revision(path: Path, revision: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    conn.commit()
    conn.close()


async def _open(path: Path) -> MlflowSqlSource:
    source = MlflowSqlSource(parse_store_uri(f"sqlite:///{path}"))
    await source.open()
    return source


@pytest.mark.parametrize("revision", sorted(KNOWN_REVISIONS))
async def test_each_known_release_head_is_read(mlflow_db: Path, revision: str) -> None:
    _set_revision(mlflow_db, revision)
    source = await _open(mlflow_db)
    try:
        names = [row[1] for row in await source.experiments()]
    finally:
        await source.close()
    assert "kept" in names


async def test_an_unknown_revision_is_refused_naming_it_and_what_is_read(mlflow_db: Path) -> None:
    _set_revision(mlflow_db, "0123456789ab")
    with pytest.raises(ConfigError) as caught:
        await _open(mlflow_db)
    message = str(caught.value)
    assert "schema version 0123456789ab" in message
    assert "dc11669786a5 (MLflow 3.17)" in message and "f4a9b2c7d1e6 (MLflow 3.18)" in message


async def test_what_aiotrack_does_not_serve_is_counted(mlflow_db: Path) -> None:
    source = await _open(mlflow_db)
    try:
        assert await source.not_carried() == {"evaluation datasets": 1, "webhooks": 2}
    finally:
        await source.close()


async def test_an_18_database_with_skills_counts_them(mlflow_db: Path) -> None:
    # 3.18's e7d1f4b2a9c6 creates `skills`; a row there is something the import leaves behind.
    _set_revision(mlflow_db, "f4a9b2c7d1e6")
    conn = sqlite3.connect(mlflow_db)
    conn.execute("CREATE TABLE skills (workspace TEXT, organization TEXT, name TEXT)")
    conn.execute("INSERT INTO skills VALUES ('default', '', 'summarize')")
    conn.commit()
    conn.close()
    source = await _open(mlflow_db)
    try:
        assert (await source.not_carried())["skills"] == 1
    finally:
        await source.close()


def test_the_cli_warns_of_what_it_leaves_behind_in_a_dry_run_and_an_import(mlflow_db: Path, tmp_path: Path) -> None:
    dry = aiotrack_cli("import", f"sqlite:///{mlflow_db}", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "1 evaluation datasets, 2 webhooks; aiotrack does not serve these" in dry.stderr
    done = aiotrack_cli(
        "import", f"sqlite:///{mlflow_db}", "--backend-store-uri", f"sqlite:///{tmp_path}/a.db", cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr  # left behind on purpose: not a mismatch
    assert "verification: OK" in done.stdout
    assert "2 webhooks; aiotrack does not serve these, so they were left behind" in done.stderr
