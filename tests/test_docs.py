"""The README documents every server option as the settings table declares it, and the CLI offers it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from aiotrack.cli import main
from aiotrack.config import SETTINGS, Setting

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
OPTIONS_SECTION = README.split("## `aiotrack server` options", 1)[1].split("\n## ", 1)[0]
NO_VARIABLE = "—"


def _option_rows() -> dict[str, list[str]]:
    """The README's option table: long flag -> the cells of its row, backticks removed."""
    rows = {}
    for line in OPTIONS_SECTION.splitlines():
        if not line.startswith("| `--"):
            continue
        cells = [c.strip().replace("`", "") for c in line.strip().strip("|").split("|")]
        flag = re.match(r"--[a-z0-9-]+", cells[0])
        assert flag, line
        rows[flag.group(0)] = cells
    return rows


ROWS = _option_rows()


def _default_text(s: Setting) -> str:
    if s.default_doc is not None:
        return s.default_doc
    if s.type is bool:
        return "on" if s.default else "off"
    return str(s.default)


def test_readme_table_has_a_row_for_every_setting_and_nothing_else():
    assert sorted(ROWS) == sorted(s.flag for s in SETTINGS)


@pytest.mark.parametrize("s", SETTINGS, ids=lambda s: s.name)
def test_readme_row_matches_the_settings_table(s: Setting):
    option, mlflow_variable, aiotrack_variable, default, _meaning = ROWS[s.flag]
    for flag in s.flags:
        for part in flag.split("/"):
            assert part in option.replace(" / ", "/"), f"{s.flag}: the option cell lacks {part}"
    assert mlflow_variable == (s.mlflow_env or NO_VARIABLE)
    assert aiotrack_variable == s.env
    assert default == _default_text(s)


def test_cli_offers_every_setting():
    help_text = CliRunner().invoke(main, ["server", "--help"], terminal_width=400).output
    for s in SETTINGS:
        assert s.flag in help_text, f"`aiotrack server --help` lacks {s.flag}"
        for variable in s.envvars:
            assert variable in help_text, f"`aiotrack server --help` does not name {variable}"


def test_readme_names_the_node_version_the_ui_build_needs():
    package = json.loads((ROOT / "webui" / "package.json").read_text())
    needed = package["engines"]["node"].removeprefix(">=")
    mentions = re.findall(r"Node\.js\s+>=\s+([\d.]+)", README)
    assert mentions and set(mentions) == {needed}, f"README says Node.js >= {mentions}; webui needs {needed}"


def test_readme_links_the_deploy_files():
    for name in ("deploy/aiotrack.service", "deploy/compose.yaml", "deploy/Dockerfile"):
        assert f"]({name})" in README and (ROOT / name).is_file()
