"""Compatibility tests: the real mlflow client against a real aiotrack server subprocess."""

from __future__ import annotations

import importlib.util

import pytest
from compat_support import mlflow_pointed_at  # tests/compat is on sys.path

# Whether mlflow is installed, without importing it (~2 s of CPU): a process that only collects
# these tests (tests/test_markers.py's subprocess) need not pay for it; the tests import it.
if importlib.util.find_spec("mlflow") is None:
    pytest.skip("the compatibility tests need the mlflow client (pip install -e '.[test]')", allow_module_level=True)


@pytest.fixture
def tracking_server(start_server, store_uri, tmp_path):
    """A real server on each backend (SQLite file, fresh PostgreSQL database)."""
    return start_server(
        ["--backend-store-uri", store_uri, "--artifacts-destination", str(tmp_path / "artifacts"), "--workers", "1"]
    )


@pytest.fixture
def client_env(tracking_server, monkeypatch):
    yield from mlflow_pointed_at(tracking_server, monkeypatch)
