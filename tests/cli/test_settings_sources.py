"""Every setting of the table through the real `aiotrack server` command line: set by its aiotrack
variable, by MLflow's variable, by an env file; the flag beats the variable; bad values name their
source. (What each setting then *does* in a running server: tests/cli/test_settings_behaviour.py.)

The command runs up to the point where it hands its Settings to run_server, which is replaced
here by a recorder: everything before it (click, the table, the env file) is the real code.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import pytest
from click.testing import CliRunner, Result

from aiotrack.cli import main
from aiotrack.config import SETTINGS, Setting, Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting variable of the machine running the tests leaks in."""
    for s in SETTINGS:
        for name in s.envvars:
            monkeypatch.delenv(name, raising=False)


class Recorded:
    settings: Settings
    origins: dict[str, str]
    env_file: str | None


@pytest.fixture()
def recorded(monkeypatch: pytest.MonkeyPatch) -> Recorded:
    box = Recorded()

    def record(settings: Settings, origins: dict[str, str] | None = None, *, env_file: str | None = None) -> None:
        box.settings, box.origins, box.env_file = settings, dict(origins or {}), env_file

    # The module, not the `server` command that aiotrack.cli exports under the same name.
    monkeypatch.setattr(importlib.import_module("aiotrack.cli.server"), "run_server", record)
    return box


def _invoke(args: list[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, args, env=env)


def _sample(s: Setting) -> tuple[str, Any]:
    """A value other than the default: its text in a variable and its value in Settings."""
    if s.type is bool:
        return ("false" if s.default else "true"), not s.default
    if s.choices:
        other = next(c for c in s.choices if c != s.default)
        return other.lower(), other  # case-insensitive, as the flag is
    if s.type is int:
        value = s.default + 1 if s.max_value is None or s.default < s.max_value else s.default - 1
        return str(value), value
    return f"sample-{s.name}", f"sample-{s.name}"


def _flag_args(s: Setting, value: Any) -> list[str]:
    if s.type is bool:
        return [s.flag] if value else [f"--no-{s.flag[2:]}"]
    return [s.flag, str(value)]


def _other_value(s: Setting, value: Any) -> Any:
    """A third value, for the flag when the variable holds the sample."""
    if s.type is bool:
        return s.default  # the flag sets the default back explicitly
    if s.choices:
        return next(c for c in s.choices if c != value)
    if s.type is int:
        return value + 1 if s.max_value is None or value < s.max_value else value - 2
    return f"flag-{s.name}"


@pytest.mark.parametrize("s", SETTINGS, ids=lambda s: s.name)
def test_the_aiotrack_variable_sets_the_setting(s: Setting, recorded: Recorded) -> None:
    text, value = _sample(s)
    result = _invoke(["server"], env={s.env: text})
    assert result.exit_code == 0, result.output
    assert getattr(recorded.settings, s.name) == value
    assert recorded.origins[s.name] == s.env


@pytest.mark.parametrize("s", [s for s in SETTINGS if s.mlflow_env], ids=lambda s: s.name)
def test_mlflow_variable_sets_the_setting(s: Setting, recorded: Recorded) -> None:
    text, value = _sample(s)
    result = _invoke(["server"], env={s.mlflow_env or "": text})
    assert result.exit_code == 0, result.output
    assert getattr(recorded.settings, s.name) == value
    assert recorded.origins == {s.name: s.mlflow_env}


@pytest.mark.parametrize("s", [s for s in SETTINGS if s.mlflow_env], ids=lambda s: s.name)
def test_the_aiotrack_variable_beats_mlflow_variable(s: Setting, recorded: Recorded) -> None:
    text, value = _sample(s)
    result = _invoke(["server"], env={s.env: text, s.mlflow_env or "": "this-one-is-ignored"})
    assert result.exit_code == 0, result.output
    assert getattr(recorded.settings, s.name) == value
    assert recorded.origins[s.name] == s.env


@pytest.mark.parametrize("s", SETTINGS, ids=lambda s: s.name)
def test_the_flag_beats_both_variables(s: Setting, recorded: Recorded) -> None:
    text, value = _sample(s)
    flag_value = _other_value(s, value)
    env = {name: text for name in s.envvars}
    result = _invoke(["server", *_flag_args(s, flag_value)], env=env)
    assert result.exit_code == 0, result.output
    assert getattr(recorded.settings, s.name) == flag_value
    assert recorded.origins[s.name] == "the command line"


def test_defaults_have_no_origin(recorded: Recorded) -> None:
    result = _invoke(["server"])
    assert result.exit_code == 0, result.output
    assert recorded.settings == Settings()
    assert recorded.origins == {}


@pytest.mark.parametrize(
    "env,expected",
    [
        (
            {"MLFLOW_PORT": "fivethousand"},
            "'fivethousand' is not a valid integer range (from the environment variable MLFLOW_PORT)",
        ),
        ({"AIOTRACK_WORKERS": "0"}, "0 is not in the range x>=1 (from the environment variable AIOTRACK_WORKERS)."),
        ({"MLFLOW_SERVE_ARTIFACTS": "perhaps"}, "(from the environment variable MLFLOW_SERVE_ARTIFACTS)"),
        (
            {"MLFLOW_SERVER_X_FRAME_OPTIONS": "ALLOWALL"},
            "(from the environment variable MLFLOW_SERVER_X_FRAME_OPTIONS)",
        ),
    ],
)
def test_a_bad_variable_is_refused_naming_it(env: dict[str, str], expected: str, recorded: Recorded) -> None:
    result = _invoke(["server"], env=env)
    assert result.exit_code == 2
    assert expected in result.output
    assert not hasattr(recorded, "settings")


def test_dev_with_workers_from_a_variable_is_refused(recorded: Recorded) -> None:
    result = _invoke(["server", "--dev"], env={"MLFLOW_WORKERS": "3"})
    assert result.exit_code == 2
    assert "--dev runs a single worker" in result.output
    assert "--workers 3 (from MLFLOW_WORKERS)" in result.output


def test_dev_runs_one_worker_by_default(recorded: Recorded) -> None:
    result = _invoke(["server"], env={"AIOTRACK_DEV": "1"})
    assert result.exit_code == 0, result.output
    assert recorded.settings.dev and recorded.settings.workers == 1


@pytest.mark.parametrize("variable", ["MLFLOW_GUNICORN_OPTS", "MLFLOW_UVICORN_OPTS"])
def test_mlflow_variables_for_other_servers_are_refused(variable: str, recorded: Recorded) -> None:
    result = _invoke(["server"], env={variable: "--timeout 60"})
    assert result.exit_code == 2
    assert f"{variable} (the environment variable for" in result.output
    assert "configures a server aiotrack does not use" in result.output


# --------------------------------------------------------------------------- --env-file


def test_env_file_sets_settings_and_the_environment_wins(
    tmp_path: Any, recorded: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "aiotrack.env"
    env_file.write_text(
        "# as written for mlflow server\n"
        "export MLFLOW_PORT=5123\n"
        'MLFLOW_BACKEND_STORE_URI="sqlite:///${AIOTRACK_TEST_DIR}/from-file.db"\n'
        "MLFLOW_WORKERS=7\n"
        "AIOTRACK_TEST_ONLY_VARIABLE='reaches the environment'\n"
    )
    for name in ("AIOTRACK_TEST_ONLY_VARIABLE", "MLFLOW_PORT", "MLFLOW_BACKEND_STORE_URI"):
        monkeypatch.setenv(name, "x")  # recorded by monkeypatch, so the file's values are undone after
        monkeypatch.delenv(name)
    monkeypatch.setenv("AIOTRACK_TEST_DIR", str(tmp_path))
    monkeypatch.setenv("MLFLOW_WORKERS", "2")  # already in the environment: wins over the file
    result = _invoke(["--env-file", str(env_file), "server"])
    assert result.exit_code == 0, result.output
    assert recorded.env_file == str(env_file)  # the server logs it (so a JSON log stays JSON)
    assert recorded.settings.port == 5123
    assert recorded.settings.backend_store_uri == f"sqlite:///{tmp_path}/from-file.db"
    assert recorded.settings.workers == 2
    assert recorded.origins["port"] == f"MLFLOW_PORT in {env_file}"
    assert recorded.origins["workers"] == "MLFLOW_WORKERS"
    assert os.environ["AIOTRACK_TEST_ONLY_VARIABLE"] == "reaches the environment"


def test_flag_beats_env_file(tmp_path: Any, recorded: Recorded, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("MLFLOW_PORT=5123\n")
    monkeypatch.setenv("MLFLOW_PORT", "x")
    monkeypatch.delenv("MLFLOW_PORT")
    result = _invoke(["--env-file", str(env_file), "server", "--port", "5200"])
    assert result.exit_code == 0, result.output
    assert recorded.settings.port == 5200


def test_missing_env_file_is_refused(tmp_path: Any, recorded: Recorded) -> None:
    result = _invoke(["--env-file", str(tmp_path / "nope.env"), "server"])
    assert result.exit_code == 2
    assert "nope.env' does not exist" in result.output
