"""Helpers shared by the compatibility tests."""

from __future__ import annotations


def mlflow_pointed_at(server, monkeypatch):
    """Point the mlflow client at a server the way users do (MLFLOW_TRACKING_URI) for one test;
    a generator for fixtures to ``yield from``: ends any run left open, then forgets the URI."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    mlflow.set_tracking_uri(server.url)
    yield server
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
