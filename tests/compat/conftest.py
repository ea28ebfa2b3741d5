"""Compatibility tests: the real mlflow client against a real aiotrack server subprocess."""

from __future__ import annotations

import pytest
from compat_support import mlflow_pointed_at  # tests/compat is on sys.path

mlflow = pytest.importorskip(
    "mlflow", reason="the compatibility tests need the mlflow client (pip install -e '.[test]')"
)


@pytest.fixture
def tracking_server(start_server, store_uri, tmp_path):
    """A real server on each backend (SQLite file, fresh PostgreSQL database)."""
    return start_server(
        ["--backend-store-uri", store_uri, "--artifacts-destination", str(tmp_path / "artifacts"), "--workers", "1"]
    )


@pytest.fixture
def client_env(tracking_server, monkeypatch):
    yield from mlflow_pointed_at(tracking_server, monkeypatch)
