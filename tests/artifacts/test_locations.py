"""URI and path safety (aiotrack/artifacts/locations.py) against hostile tables: every encoding of
a traversal is refused, honest paths and URIs are canonicalized, confinement follows symlinks."""

from __future__ import annotations

import os

import pytest

from aiotrack.artifacts.locations import (
    MAX_DECODE_ROUNDS,
    MAX_SEGMENT_BYTES,
    Location,
    UnsafeLocation,
    confine,
    decode_until_stable,
    join,
    join_uri,
    local_path,
    parse_location,
    real_path_within,
    relative_path,
    scheme,
)
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
    "%2e%2e%5c%2e%2e%5cx",
    "\\\\host\\share",
    "a/\u202e/b\x7f",
    "a/b%7f",
    "x" * (MAX_SEGMENT_BYTES + 1),
    "a/" + "é" * 128,  # 256 bytes in UTF-8
    "D:\\x",
    "file://host/share/x",
    "file:/etc/passwd",
    "mlflow-artifacts:/x",
]


@pytest.mark.parametrize("raw", BAD)
def test_refused(raw):
    with pytest.raises(AiotrackError) as info:
        relative_path(raw)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert info.value.status == 400
    assert info.value.message.startswith("Invalid path")


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
    assert relative_path(raw) == expected


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


def test_segment_length_is_counted_in_bytes():
    assert relative_path("x" * MAX_SEGMENT_BYTES) == "x" * MAX_SEGMENT_BYTES
    assert relative_path("é" * 127) == "é" * 127  # 254 bytes
    with pytest.raises(UnsafeLocation) as info:
        relative_path("ok/" + "é" * 128)
    assert info.value.status == 400 and "255 bytes" in info.value.message


def test_unicode_dots_are_names_not_traversal():
    # U+2024 ONE DOT LEADER and U+FF0E FULLWIDTH FULL STOP are not '.', and no filesystem treats
    # them as such: they stay literal names (and never collapse to a parent directory).
    for name in ("\u2024\u2024", "\uff0e\uff0e", "\u2025"):
        assert relative_path(f"a/{name}/b") == f"a/{name}/b"


def test_decode_has_one_bound():
    value = "x"
    for _ in range(MAX_DECODE_ROUNDS - 1):
        value = value.replace("%", "%25") if "%" in value else "%78"
    assert decode_until_stable(value) == "x"
    with pytest.raises(UnsafeLocation):
        decode_until_stable("%" + "25" * MAX_DECODE_ROUNDS + "78")


@pytest.mark.parametrize(
    "uri,expected",
    [
        ("", ""),
        ("/abs/path", ""),
        ("rel/path", ""),
        ("file:///x", "file"),
        ("FILE:///x", "file"),
        ("S3://b/k", "s3"),
        ("mlflow-artifacts:/x", "mlflow-artifacts"),
        ("C:\\x", "c"),
        ("runs:/abc/m", "runs"),
    ],
)
def test_scheme(uri, expected):
    assert scheme(uri) == expected


@pytest.mark.parametrize(
    "uri,expected",
    [
        ("/abs/x", "/abs/x"),
        ("rel/x", "rel/x"),
        ("file:///abs/x", "/abs/x"),
        ("file://localhost/abs/x", "/abs/x"),
        ("file:///a%20b", "/a b"),
        ("file://otherhost/share/x", None),
        ("s3://b/k", None),
        ("mlflow-artifacts:/x", None),
        ("http://h/x", None),
    ],
)
def test_local_path(uri, expected):
    assert local_path(uri) == expected


def test_drive_letters_are_local_only_on_windows():
    assert local_path("C:\\x") == ("C:\\x" if os.name == "nt" else None)


HOSTILE_LOCATIONS = [
    "mlflow-artifacts:/a/../../x",
    "mlflow-artifacts:/a/%2e%2e/x",
    "mlflow-artifacts:/a/%252e%252e/x",
    "mlflow-artifacts:/a/..%2f..%2fx",
    "mlflow-artifacts:/a\\..\\x",
    "mlflow-artifacts:/a%5c..%5cx",
    "mlflow-artifacts:/a\x00b",
    "mlflow-artifacts:/a%00b",
    "mlflow-artifacts:/a%2500b",
    "mlflow-artifacts:/a\nb",
    "mlflow-artifacts:/x#frag",
    "mlflow-artifacts:/x?q=1",
    "mlflow-artifacts:/x;y",
    "s3://b/p/../../other",
    "file:///tmp/../etc",
    "file:///tmp/%2e%2e/etc",
    "/tmp/../etc",
    "/tmp/%2e%2e/etc",
    "s3://b/%" + "25" * MAX_DECODE_ROUNDS + "2e",
]


@pytest.mark.parametrize("uri", HOSTILE_LOCATIONS)
def test_parse_location_refuses(uri):
    with pytest.raises(UnsafeLocation):
        parse_location(uri)


def test_parse_location_and_within(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = parse_location("s3://Bucket/prefix")
    assert root == Location("s3", "bucket", ("prefix",))
    assert parse_location("s3://bucket/prefix/a//b/./c").within(root)
    assert parse_location("s3://bucket/prefix").within(root)
    assert not parse_location("s3://bucket/prefixother").within(root)
    assert not parse_location("s3://other/prefix/x").within(root)
    assert not parse_location("gs://bucket/prefix/x").within(root)
    assert parse_location("s3://bucket/prefix/a%2Fb").relative_to(root) == "a/b"
    assert parse_location("rel/x") == Location("file", "", (*tmp_path.parts[1:], "rel", "x"))
    assert parse_location("file:///a/b") == parse_location("/a/b") == parse_location("file://localhost/a/b")
    # file:// naming another host is not a local path: it never matches a local root.
    assert not parse_location("file://evil/a/b").within(parse_location("/a"))
    # Unicode look-alikes of '.' are names, not parents.
    assert parse_location("/a/\uff0e\uff0e/b").within(parse_location("/a"))


def test_real_path_within(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "rootx").mkdir()
    assert real_path_within(root / "sub" / ".." / "sub" / "m", root)
    assert real_path_within(root, root)
    assert not real_path_within(root / ".." / "rootx", root)
    assert not real_path_within(tmp_path / "rootx" / "m", root)
    assert not real_path_within("/etc/passwd", root)
    os.symlink("/etc", root / "escape")
    assert not real_path_within(root / "escape" / "passwd", root)


def test_join():
    assert join("", "a") == "a" and join("a", "") == "a" and join("a", "b/c") == "a/b/c"
    assert join_uri("mlflow-artifacts:/", "1") == "mlflow-artifacts:/1"
    assert join_uri("mlflow-artifacts:/1", "r/artifacts") == "mlflow-artifacts:/1/r/artifacts"
    assert join_uri("s3://b/p/", "1") == "s3://b/p/1"
    assert join_uri("file:///", "1") == "file:///1"
    assert join_uri("/abs/root", "1", "models", "m-1") == "/abs/root/1/models/m-1"
    assert join_uri("", "x") == "x" and join_uri("s3://b", "") == "s3://b"
