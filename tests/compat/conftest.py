"""Compatibility tests: the real mlflow client against a real aiotrack server subprocess."""

from __future__ import annotations

import pytest

mlflow = pytest.importorskip("mlflow", reason="the compatibility tests need the mlflow client (pip install -e '.[test]')")


@pytest.fixture
def tracking_server(start_server, store_uri, tmp_path):
    """A real server on each backend (SQLite file, fresh PostgreSQL database)."""
    return start_server(
        ["--backend-store-uri", store_uri, "--artifacts-destination", str(tmp_path / "artifacts"), "--workers", "1"]
    )


@pytest.fixture
def client_env(tracking_server, monkeypatch):
    """Point the mlflow client at the server, the way users do: MLFLOW_TRACKING_URI."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server.url)
    mlflow.set_tracking_uri(tracking_server.url)
    yield tracking_server
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
