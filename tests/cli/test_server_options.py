"""`aiotrack server` refuses what it does not offer, with messages that say why."""

from __future__ import annotations

import socket
import sys

import pytest
from click.testing import CliRunner

from aiotrack.cli import main


def _run(*args, tmp_path):
    runner = CliRunner()
    return runner.invoke(main, ["server", "--backend-store-uri", f"sqlite:///{tmp_path}/c.db", *args])


@pytest.mark.parametrize(
    "option,expected",
    [
        ("--gunicorn-opts", "configures a server aiotrack does not use"),
        ("--waitress-opts", "configures a server aiotrack does not use"),
        ("--uvicorn-opts", "configures a server aiotrack does not use"),
        ("--app-name", "aiotrack has no authentication plugins yet"),
    ],
)
def test_other_server_options_are_refused(option, expected, tmp_path):
    result = _run(option, "basic-auth" if option == "--app-name" else "--timeout 60", tmp_path=tmp_path)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert option in result.output


def test_dev_with_several_workers_is_refused(tmp_path):
    result = _run("--dev", "--workers", "2", tmp_path=tmp_path)
    assert result.exit_code == 2
    assert "--dev runs a single worker" in result.output and "--workers 2" in result.output


def test_dev_without_aiohttp_devtools_is_refused(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "aiohttp_devtools.runserver.watch", None)  # import fails
    result = _run("--dev", tmp_path=tmp_path)
    assert result.exit_code == 1
    assert "--dev needs aiohttp-devtools" in result.output and "pip install 'aiotrack[dev]'" in result.output


@pytest.mark.parametrize(
    "args,expected",
    [
        (
            ["--allowed-hosts", "http://mlflow.example.com"],
            "--allowed-hosts: 'http://mlflow.example.com' is not a host",
        ),
        (["--cors-allowed-origins", "app.example.com"], "--cors-allowed-origins: 'app.example.com' is not an origin"),
        (["--x-frame-options", "ALLOWALL"], "Invalid value for '--x-frame-options'"),
        (["--workers", "0"], "Invalid value for '--workers' / '-w'"),
    ],
)
def test_bad_security_options_are_refused_before_serving(args, expected, tmp_path):
    result = _run(*args, tmp_path=tmp_path)
    assert result.exit_code != 0
    assert expected in result.output


def test_port_in_use_is_refused_clearly(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = _run("--port", str(port), "--workers", "1", tmp_path=tmp_path)
    assert result.exit_code == 1
    assert f"Cannot listen on 127.0.0.1:{port}: the address is already in use." in result.output
