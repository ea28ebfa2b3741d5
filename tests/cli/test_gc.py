"""`aiotrack gc` on an imported MLflow store: deleted runs and experiments go with their rows and
artifacts; everything else stays as it was."""

from __future__ import annotations

import os
import shutil
import sqlite3

import pytest
from mlflow_source import aiotrack_cli

pytestmark = pytest.mark.slow  # builds real MLflow stores with the mlflow client against mlflow server

CHILD_TABLES = (("params", "run_uuid"), ("tags", "run_uuid"), ("metrics", "run_uuid"), ("latest_metrics", "run_uuid"))
TRACE_TABLES = (("trace_info", "request_id"), ("trace_tags", "request_id"), ("trace_request_metadata", "request_id"),
                ("spans", "trace_id"), ("assessments", "trace_id"), ("trace_links", "trace_id"))  # fmt: skip


@pytest.fixture
def imported(mlflow_sqlite_source, tmp_path):
    """An aiotrack database imported from the MLflow source, with a private copy of its artifacts."""
    db = tmp_path / "gc.db"
    done = aiotrack_cli("import", mlflow_sqlite_source.location, "--backend-store-uri", f"sqlite:///{db}", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    artifacts = tmp_path / "artifacts"
    shutil.copytree(mlflow_sqlite_source.artifacts, artifacts)
    return db, artifacts, mlflow_sqlite_source.facts


def _rows(db, table: str, column: str, value) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", (value,)).fetchone()[0]
    finally:
        conn.close()


def _everything(db) -> dict:
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
    finally:
        conn.close()


@pytest.mark.parametrize("artifacts_via", ["artifacts-destination", "tracking-uri"])
def test_gc_removes_deleted_runs_and_experiments_with_their_artifacts(imported, tmp_path, start_server, artifacts_via):
    db, artifacts, facts = imported
    gone, doomed_run, doomed_trace = facts["deleted_run"], facts["doomed_run"], facts["doomed_trace"]
    kept = [r for r in facts["run_ids"] if r not in (gone, doomed_run)]
    assert (artifacts / "1" / gone / "artifacts" / "data.bin").exists()
    trace_artifacts = artifacts / "3" / "traces" / doomed_trace / "artifacts"
    assert (trace_artifacts / "traces.json").exists()
    kept_trace_files = list((artifacts / facts["trace_experiment"] / "traces").rglob("*.json"))
    assert _rows(db, "trace_info", "request_id", doomed_trace) == 1 and _rows(db, "spans", "trace_id", doomed_trace)
    before = _everything(db)

    if artifacts_via == "tracking-uri":
        server = start_server(["--backend-store-uri", f"sqlite:///{db}", "--artifacts-destination", str(artifacts)])
        where = ["--tracking-uri", server.url]
    else:
        where = ["--artifacts-destination", str(artifacts)]
    done = aiotrack_cli("gc", "--backend-store-uri", f"sqlite:///{db}", *where, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Run with ID {gone} has been permanently deleted." in done.stdout
    assert f"Run with ID {doomed_run} has been permanently deleted." in done.stdout
    assert "Experiment with ID 3 has been permanently deleted." in done.stdout
    assert (
        "Summary: 2 run(s), 1 experiment(s), 0 logged model(s), 1 trace(s) and 3 artifact location(s) deleted."
        in done.stdout
    )

    for run_id in (gone, doomed_run):
        assert _rows(db, "runs", "run_uuid", run_id) == 0
        for table, column in CHILD_TABLES:
            assert _rows(db, table, column, run_id) == 0, table
    assert not (artifacts / "1" / gone / "artifacts").exists()
    assert not (artifacts / "3" / doomed_run / "artifacts").exists()
    assert _rows(db, "experiments", "experiment_id", 3) == 0
    for table, column in TRACE_TABLES:  # the deleted experiment's trace, with its spans, tags and metadata
        assert _rows(db, table, column, doomed_trace) == 0, table
    assert not trace_artifacts.exists()
    assert all(f.exists() for f in kept_trace_files)  # the other experiment's trace artifacts stay

    # Everything else is untouched: the same rows, the same artifact files.
    after = _everything(db)
    removed = {gone, doomed_run, doomed_trace}
    for table, rows in before.items():
        if table in ("aiotrack_import_journal",):
            assert after[table] == rows
            continue
        expected = [r for r in rows if not removed & {v for v in r if isinstance(v, str)}]
        if table in ("experiments", "experiment_tags"):
            expected = [r for r in expected if r[0] != 3]
        assert after[table] == expected, table
    pid = kept[0]
    assert (artifacts / "1" / pid / "artifacts" / "empty.txt").exists()
    assert (artifacts / "1" / pid / "artifacts" / "sub" / "data.bin").exists()


def test_gc_refuses_runs_that_are_not_deleted_and_removes_nothing(imported, tmp_path):
    db, artifacts, facts = imported
    before = _everything(db)
    active = facts["run_ids"][0]
    done = aiotrack_cli(
        "gc", "--backend-store-uri", f"sqlite:///{db}", "--artifacts-destination", str(artifacts),
        "--run-ids", f"{facts['deleted_run']},{active}", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode != 0
    assert f"Run {active} is not in `deleted` lifecycle stage" in done.stderr
    assert _everything(db) == before
    assert (artifacts / "1" / facts["deleted_run"] / "artifacts" / "data.bin").exists()

    done = aiotrack_cli(
        "gc", "--backend-store-uri", f"sqlite:///{db}", "--experiment-ids", "1", cwd=tmp_path
    )  # an active experiment
    assert done.returncode != 0
    assert "Experiments ['1'] are not in the deleted lifecycle stage" in done.stderr
    assert _everything(db) == before


def test_gc_dry_run_and_older_than(imported, tmp_path):
    db, _artifacts, facts = imported
    before = _everything(db)
    dry = aiotrack_cli("gc", "--backend-store-uri", f"sqlite:///{db}", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "would permanently delete 2 run(s), 1 experiment(s)" in dry.stdout
    assert "and the 1 trace(s) of those experiments" in dry.stdout and "experiment 3 with 1 trace(s)" in dry.stdout
    assert facts["deleted_run"] in dry.stdout
    assert _everything(db) == before

    young = aiotrack_cli("gc", "--backend-store-uri", f"sqlite:///{db}", "--older-than", "30d", cwd=tmp_path)
    assert young.returncode == 0, young.stderr
    assert "Summary: 0 run(s), 0 experiment(s), 0 logged model(s), 0 trace(s)" in young.stdout
    assert _everything(db) == before

    explicit = aiotrack_cli(
        "gc", "--backend-store-uri", f"sqlite:///{db}", "--older-than", "30d", "--run-ids", facts["deleted_run"],
        cwd=tmp_path,
    )  # fmt: skip
    assert explicit.returncode != 0
    assert "is not older than the required age" in explicit.stderr

    bad = aiotrack_cli("gc", "--backend-store-uri", f"sqlite:///{db}", "--older-than", "soon", cwd=tmp_path)
    assert bad.returncode != 0 and "Could not parse any time information from 'soon'" in bad.stderr
    assert os.path.exists(db)
