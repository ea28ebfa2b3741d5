"""The markers tests/conftest.py applies: what `-m` selects is what the README's table says.

One `pytest --collect-only` of a sample of folders, with a small plugin that prints each test's
markers (collection only: nothing runs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = [
    "tests/ui/test_serving.py",
    "tests/compat/test_mlflow2_client.py",
    "tests/stores/test_ui_queries.py",
    "tests/services/test_paging.py",
]
PLUGIN = """
def pytest_collection_finish(session):
    for item in session.items:
        print("MARKS", item.nodeid, ",".join(sorted({m.name for m in item.iter_markers()})))
"""


@pytest.fixture(scope="module")
def marks(tmp_path_factory) -> dict[str, set[str]]:
    plugin_dir = tmp_path_factory.mktemp("plugin")
    (plugin_dir / "print_marks.py").write_text(PLUGIN)
    path = os.pathsep.join([str(plugin_dir), str(ROOT), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "print_marks",
            *SAMPLE,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    found = {}
    for line in done.stdout.splitlines():
        if line.startswith("MARKS "):
            _, nodeid, names = [*line.split(" ", 2), ""][:3]
            found[nodeid] = set(filter(None, names.split(",")))
    assert found, done.stdout
    return found


@pytest.mark.parametrize(
    ("marker", "belongs"),
    [
        ("browser", lambda test: test.startswith("tests/ui/")),
        ("slow", lambda test: test.startswith("tests/compat/")),
        ("postgres", lambda test: "[postgresql" in test),
    ],
)
def test_each_marker_is_on_its_tests_and_only_those(marks, marker, belongs):
    tagged = {t for t, names in marks.items() if marker in names}
    assert tagged, f"no test in the sample is marked {marker}"
    assert tagged == {t for t in marks if belongs(t)}


def test_the_fast_loop_keeps_both_backends_and_the_service_tests(marks):
    fast = {t for t, names in marks.items() if not names & {"slow", "browser"}}
    assert any(t.startswith("tests/services/") for t in fast)
    assert any("[sqlite" in t for t in fast) and any("[postgresql" in t for t in fast)
