"""The README documents every server option, and the CLI offers every setting."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from aiotrack.cli import main
from aiotrack.config import SETTINGS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def test_readme_documents_every_setting():
    missing = [_flag(s.name) for s in SETTINGS if f"`{_flag(s.name)}" not in README]
    assert not missing, f"README's option table lacks {missing}"


def test_cli_offers_every_setting():
    help_text = CliRunner().invoke(main, ["server", "--help"]).output
    missing = [_flag(s.name) for s in SETTINGS if _flag(s.name) not in help_text]
    assert not missing, f"`aiotrack server --help` lacks {missing}"
