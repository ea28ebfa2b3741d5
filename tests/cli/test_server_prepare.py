"""Checks `aiotrack server` makes once, in the parent, before any worker starts."""

from __future__ import annotations

from click.testing import CliRunner

from aiotrack.cli import main


def test_server_refuses_an_unusable_artifact_directory_before_forking(tmp_path):
    (tmp_path / "file").write_text("x")
    out = CliRunner().invoke(
        main,
        [
            "server",
            "--backend-store-uri",
            f"sqlite:///{tmp_path}/a.db",
            "--artifacts-destination",
            str(tmp_path / "file" / "sub"),
            "--port",
            "0",
            "--workers",
            "1",
        ],
    )
    assert out.exit_code != 0
    assert "Cannot use" in out.output and "artifact directory" in out.output
