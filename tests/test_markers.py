"""The markers tests/conftest.py applies: what `-m` selects is what the README's table says.

One `pytest --collect-only` of a sample of folders, with a small plugin that prints each test's
markers (collection only: nothing runs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from marker_expression import rules_out  # tests/ is on sys.path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = [
    "tests/ui/test_serving.py",
    "tests/compat/test_mlflow2_client.py",
    "tests/stores/test_ui_queries.py",
    "tests/services/test_paging.py",
    "tests/serving/test_protocol.py",
    "tests/http/test_auth_matrix.py",
]
# The tests conftest.py's SLOW_TESTS marks in the sampled files, written out again here.
SLOW_BY_NAME = {
    "tests/serving/test_protocol.py::test_half_a_header_is_closed_after_the_header_read_timeout",
    "tests/serving/test_protocol.py::test_a_slow_body_is_not_cut_off_by_the_header_timeout",
}


def _slow(test: str) -> bool:
    matrix = "tests/http/test_auth_matrix.py::test_permission_matrix["
    if test.startswith(matrix):
        return test != matrix + "sqlite-EDIT]"  # one level stays in the fast loop
    return test.startswith("tests/compat/") or test in SLOW_BY_NAME


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
        ("slow", _slow),
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
    # a file with a slow test keeps its quick ones in the fast loop
    assert any(t.startswith("tests/serving/test_protocol.py::") for t in fast)


def test_a_stale_slow_entry_is_a_usage_error(tmp_path):
    """SLOW_TESTS naming a test its file does not have stops the run (a renamed slow test would
    otherwise slip back into the fast loop unnoticed)."""
    plugin_dir = tmp_path / "plugin"
    plugin_dir.mkdir()
    (plugin_dir / "stale_slow.py").write_text(
        "def pytest_configure(config):\n"
        "    import conftest  # tests/conftest.py, loaded by now\n"
        "    conftest.SLOW_TESTS['serving/test_protocol.py'] = frozenset({'test_that_was_renamed'})\n"
    )
    path = os.pathsep.join([str(plugin_dir), str(ROOT / "tests"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"),
            *("-p", "stale_slow", "tests/serving/test_protocol.py"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert done.returncode == 4, done.stdout + done.stderr  # pytest's usage error
    assert "test_that_was_renamed" in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("markexpr", "marks", "ruled_out"),
    [
        ("not slow and not browser", {"browser"}, True),  # the fast loop: tests/ui is not collected
        ("not slow and not browser", {"slow"}, True),  # ...nor tests/compat
        ("not slow and not browser and not postgres", {"slow"}, True),
        ("not (slow or browser)", {"browser"}, True),
        ("not slow", {"browser"}, False),
        ("browser", {"browser"}, False),
        ("", {"slow"}, False),  # the full run collects everything
        ("slow and not postgres", {"slow"}, False),  # compat tests on SQLite
        ("not postgres", {"slow"}, False),
        ("postgres or not postgres", {"slow"}, False),
        ("slow and not slow", {"browser"}, True),
        ("not slow or browser", {"slow"}, False),  # a compat test could also be a browser test
        ("mark(x=1)", {"slow"}, False),  # not read: nothing ruled out
        ("not slow-ish", {"slow"}, False),
        ("not", {"slow"}, False),
    ],
)
def test_a_folder_is_left_uncollected_only_when_the_expression_rules_out_its_marker(markexpr, marks, ruled_out):
    assert rules_out(markexpr, frozenset(marks)) is ruled_out
