"""An import killed midway leaves whole experiments only, and a rerun finishes it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from mlflow_source import aiotrack_cli

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
from import_rate import build_mlflow_sqlite  # the benchmark's generator of MLflow databases

pytestmark = pytest.mark.slow  # builds a 1.2-million-point MLflow database and imports it three times

EXPERIMENTS = 30
TOTAL = EXPERIMENTS + 1  # and MLflow's Default experiment (id 0, no runs)


@pytest.fixture(scope="module")
def synthetic_source(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("synthetic") / "mlflow.db"
    build_mlflow_sqlite(str(path), experiments=EXPERIMENTS, runs=20, keys=4, points=400, params=3, tags=2)
    return f"sqlite:///{path}"


def _journal(db: str) -> int:
    if not os.path.exists(db):
        return 0
    conn = sqlite3.connect(db, timeout=30)
    try:
        # (experiments only: each experiment's traces are a unit of their own, journaled after it)
        return conn.execute("SELECT COUNT(*) FROM aiotrack_import_journal WHERE entity = 'experiment'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # the schema is not there yet
    finally:
        conn.close()


def test_killed_import_continues_and_ends_verified(synthetic_source, tmp_path):
    db = f"{tmp_path}/target.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiotrack", "import", synthetic_source, "--backend-store-uri", f"sqlite:///{db}"],
        cwd=str(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while _journal(db) < 2:
        assert proc.poll() is None, "the import ended before it could be interrupted"
        assert time.monotonic() < deadline, "the import made no progress"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    conn = sqlite3.connect(db)
    try:
        journaled = {
            int(r[0]) for r in conn.execute("SELECT entity_id FROM aiotrack_import_journal WHERE entity = 'experiment'")
        }
        present = {r[0] for r in conn.execute("SELECT experiment_id FROM experiments")}
        runs_per_experiment = dict(conn.execute("SELECT experiment_id, COUNT(*) FROM runs GROUP BY experiment_id"))
    finally:
        conn.close()
    assert 2 <= len(journaled) < TOTAL
    # Whole experiments only: every experiment present is journaled and has all its runs.
    assert present == journaled
    assert all(runs_per_experiment.get(e, 0) == (20 if e else 0) for e in journaled)

    rerun = aiotrack_cli("import", synthetic_source, "--backend-store-uri", f"sqlite:///{db}", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"Imported {TOTAL - len(journaled)} experiment(s)" in rerun.stdout
    assert "verification: OK" in rerun.stdout
    assert _journal(db) == TOTAL

    again = aiotrack_cli("import", synthetic_source, "--backend-store-uri", f"sqlite:///{db}", cwd=tmp_path)
    assert again.returncode == 0
    assert "Imported 0 experiment(s) and 0 registered model(s) (0 rows)" in again.stdout
