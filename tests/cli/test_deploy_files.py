"""deploy/: the systemd unit and the compose file configure aiotrack with MLflow's variables.

No docker engine runs here, so the compose file is parsed and its aiotrack environment fed to
the real `aiotrack server` command line; the unit is checked by `systemd-analyze verify` (where
systemd is installed) and its environment fed to the command line the same way.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from aiotrack.cli import main
from aiotrack.cli.workers import GRACEFUL_TIMEOUT, KILL_MARGIN
from aiotrack.config import SETTINGS, Settings
from aiotrack.stores.sql.uri import parse_store_uri

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SETTING_VARIABLES = {name for s in SETTINGS for name in s.envvars}
# Variables read by the libraries behind the settings, not settings themselves.
OTHER_VARIABLES = {
    "MLFLOW_S3_ENDPOINT_URL",
    "MLFLOW_S3_IGNORE_TLS",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
}


def settings_from(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """What `aiotrack server` makes of this environment (through the real command line)."""
    for name in SETTING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    seen: list[Settings] = []
    module = importlib.import_module("aiotrack.cli.server")
    monkeypatch.setattr(module, "run_server", lambda settings, *a, **k: seen.append(settings))
    result = CliRunner().invoke(main, ["server"], env=environment)
    assert result.exit_code == 0, result.output
    (settings,) = seen
    return settings


def _interpolate(value: str) -> str:
    """docker compose's ${NAME:-default} with nothing set: the default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


# --------------------------------------------------------------------------- compose


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_has_aiotrack_postgresql_and_an_s3_store(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"aiotrack", "postgres", "minio", "create-bucket"} <= set(services)
    aiotrack = services["aiotrack"]
    assert aiotrack["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert aiotrack["depends_on"]["create-bucket"]["condition"] == "service_completed_successfully"
    assert "/health" in " ".join(aiotrack["healthcheck"]["test"])
    grace = int(aiotrack["stop_grace_period"].rstrip("s"))
    assert grace >= GRACEFUL_TIMEOUT + KILL_MARGIN
    assert aiotrack["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY / aiotrack["build"]["context"] / aiotrack["build"]["dockerfile"]).is_file()


def test_compose_configures_aiotrack_with_mlflow_variables(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = {k: _interpolate(str(v)) for k, v in compose["services"]["aiotrack"]["environment"].items()}
    unknown = set(environment) - SETTING_VARIABLES - OTHER_VARIABLES
    assert not unknown, f"compose.yaml sets variables aiotrack does not read: {unknown}"
    assert all(k.startswith("MLFLOW_") for k in environment if k in SETTING_VARIABLES and k != "AIOTRACK_LOG_FORMAT")
    settings = settings_from(environment, monkeypatch)
    postgres = compose["services"]["postgres"]["environment"]
    store = parse_store_uri(settings.backend_store_uri)
    assert store.kind == "postgresql"
    assert f"@postgres:5432/{postgres['POSTGRES_DB']}" in settings.backend_store_uri
    assert f"{postgres['POSTGRES_USER']}:{_interpolate(postgres['POSTGRES_PASSWORD'])}@" in settings.backend_store_uri
    bucket = compose["services"]["create-bucket"]["entrypoint"][-1].rsplit("local/", 1)[1]
    assert settings.artifacts_destination == f"s3://{bucket}"
    assert environment["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"
    minio = compose["services"]["minio"]["environment"]
    assert environment["AWS_SECRET_ACCESS_KEY"] == _interpolate(minio["MINIO_ROOT_PASSWORD"])
    assert settings.host == "0.0.0.0" and settings.workers == 4
    published = compose["services"]["aiotrack"]["ports"][0]
    assert published.endswith(f":{settings.port}")
    assert settings.log_format == "json"
    assert "localhost" in (settings.allowed_hosts or "").split(",")


def test_the_dockerfile_builds_with_a_node_the_ui_accepts() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    node = re.search(r"^FROM node:(\d+)", text, re.MULTILINE)
    assert node, "the UI stage starts from a node image"
    setup_py = importlib.util.spec_from_file_location("aiotrack_setup_py_deploy", ROOT / "setup.py")
    assert setup_py is not None and setup_py.loader is not None
    module = importlib.util.module_from_spec(setup_py)
    setup_py.loader.exec_module(module)
    assert (int(node.group(1)), 99) >= module.node_requirement(ROOT / "webui")
    for source in re.findall(r"^COPY (webui/\S+)", text, re.MULTILINE):
        for part in source.split():
            assert (ROOT / part).exists(), f"the Dockerfile copies {part}, which does not exist"
    assert 'CMD ["aiotrack", "server"]' in text


# --------------------------------------------------------------------------- systemd


def _unit_environment(text: str) -> dict[str, str]:
    return dict(line.split("=", 2)[1:] for line in text.splitlines() if line.startswith("Environment="))


def test_the_unit_configures_aiotrack_with_mlflow_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (DEPLOY / "aiotrack.service").read_text()
    environment = _unit_environment(text)
    unknown = set(environment) - SETTING_VARIABLES - OTHER_VARIABLES
    assert not unknown, f"aiotrack.service sets variables aiotrack does not read: {unknown}"
    settings = settings_from(environment, monkeypatch)
    assert settings.artifacts_destination.startswith("s3://")
    assert settings.host == "0.0.0.0" and settings.port == 5000 and settings.workers == 4
    assert settings.expose_prometheus == "/var/lib/aiotrack/prometheus"
    assert re.search(r"^ExecStart=\S+/aiotrack server$", text, re.MULTILINE)
    assert "KillMode=mixed" in text and "KillSignal=SIGTERM" in text
    stop = int(re.search(r"^TimeoutStopSec=(\d+)$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert stop > GRACEFUL_TIMEOUT + KILL_MARGIN
    assert "StateDirectory=aiotrack" in text and settings.expose_prometheus.startswith("/var/lib/aiotrack/")


def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (the unit's contents are checked above)")
    unit = tmp_path / "aiotrack.service"
    # verify checks that ExecStart's program exists: point it at this environment's aiotrack.
    here = Path(sys.executable).parent / "aiotrack"
    assert here.exists(), here
    text = (DEPLOY / "aiotrack.service").read_text()
    unit.write_text(re.sub(r"^ExecStart=\S+/aiotrack ", f"ExecStart={here} ", text, flags=re.MULTILINE))
    proc = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=120)
    # verify exits 0 on unknown keys and bad values, but says so: nothing may be said.
    complaints = [line for line in (proc.stdout + proc.stderr).splitlines() if str(unit.name) in line]
    assert proc.returncode == 0 and not complaints, proc.stdout + proc.stderr
