"""Path safety: every encoding of a traversal is refused; honest paths are canonicalized."""

from __future__ import annotations

import os

import pytest

from aiotrack.artifacts.paths import confine, safe_relative_path
from aiotrack.errors import AiotrackError

BAD = [
    "..",
    "../x",
    "a/../../x",
    "a/..",
    "%2e%2e/x",
    "%2E%2E/x",
    "%252e%252e/x",
    "%25252e%25252e/x",
    "a/%2e%2e%2fx",
    "..%2fx",
    "..%252fx",
    "..\\x",
    "a\\..\\..\\x",
    "%5c..%5cx",
    "/etc/passwd",
    "%2fetc/passwd",
    "//etc/passwd",
    "file:///etc/passwd",
    "file:%2f%2f%2fetc/passwd",
    "s3://bucket/x",
    "C:/Windows",
    "c:x",
    "a\x00b",
    "a%00b",
    "a%2500b",
    "a\nb",
    "a#b",
    "a%23b",
    "..;/x",
    "a;b",
    "%3b",
    "%" + "25" * 10 + "2e",  # deeper than any honest path
]


@pytest.mark.parametrize("raw", BAD)
def test_refused(raw):
    with pytest.raises(AiotrackError) as info:
        safe_relative_path(raw)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert info.value.status == 400
    assert info.value.message == "Invalid path"


@pytest.mark.parametrize(
    "raw,expected",
    [
        (None, ""),
        ("", ""),
        (".", ""),
        ("a", "a"),
        ("a/b/c.txt", "a/b/c.txt"),
        ("a//b/./c", "a/b/c"),
        ("a/", "a"),
        ("a%2Fb", "a/b"),
        ("my%20file.txt", "my file.txt"),
        ("..a/b..", "..a/b.."),
        ("...", "..."),
        ("日本語/ü.txt", "日本語/ü.txt"),
        ("1/abc/artifacts/model/MLmodel", "1/abc/artifacts/model/MLmodel"),
    ],
)
def test_accepted(raw, expected):
    assert safe_relative_path(raw) == expected


def test_confine_refuses_symlink_leading_outside(tmp_path):
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret").write_text("s")
    os.symlink(outside, root / "link")
    os.symlink(outside / "secret", root / "filelink")
    (root / "inner").mkdir()
    os.symlink(root / "inner", root / "goodlink")
    for rel in ("link", "link/secret", "filelink", "link/new/file"):
        with pytest.raises(AiotrackError):
            confine(root, rel)
    assert confine(root, "goodlink") == root / "goodlink"
    assert confine(root, "a/b") == root / "a" / "b"
    assert confine(root, "") == root


def test_confine_when_root_itself_is_a_symlink(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "alias")
    assert confine(tmp_path / "alias", "x/y").name == "y"
