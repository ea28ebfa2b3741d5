"""An mlflow 2.x client against `aiotrack server`.

The 2.x client cannot share a virtualenv with the 3.x client the other tests use, so it gets one
of its own (mlflow-skinny 2.x, cached in ~/.cache/aiotrack-tests/mlflow2-<key>, the key a hash of
the requirement and the Python version, so it is made once, not per run) and runs a workflow
script against the real server.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

MLFLOW2 = "mlflow-skinny>=2.22,<3"
CACHE = Path(os.environ.get("AIOTRACK_TEST_CACHE", Path.home() / ".cache" / "aiotrack-tests"))
# Keyed by what is installed and the Python it runs on: a new requirement or Python gets a new venv.
KEY = hashlib.sha256(f"{MLFLOW2}|{sys.version_info[0]}.{sys.version_info[1]}".encode()).hexdigest()[:12]
VENV = Path(os.environ.get("AIOTRACK_MLFLOW2_VENV", CACHE / f"mlflow2-{KEY}"))
PY = VENV / "bin" / "python"
READY = VENV / ".aiotrack-ready"  # written once the install has succeeded
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def mlflow2_python() -> Path:
    """The cached venv's python; made (once per key, not per run) when missing or incomplete."""
    if READY.exists():
        return PY
    made = subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], capture_output=True, text=True)
    installed = made.returncode == 0 and subprocess.run(
        [str(PY), "-m", "pip", "install", "-q", MLFLOW2], capture_output=True, text=True, timeout=600
    )
    if made.returncode or not installed or installed.returncode:
        reason = f"could not install an mlflow 2.x client: {(installed or made).stderr[-2000:]}"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    READY.write_text(MLFLOW2 + "\n")
    return PY


def test_mlflow2_tracking_workflow(mlflow2_python, tracking_server):
    script = Path(__file__).with_name("mlflow2_workflow.py")
    done = subprocess.run(
        [str(mlflow2_python), str(script), tracking_server.url], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr + tracking_server.log()[-3000:]
    assert done.stdout.strip().endswith("OK")
