"""The registry service's rules (aiotrack/services/registry.py): names, versions, stages,
aliases, models:/ URIs, model version sources and page sizes."""

from __future__ import annotations

import pytest

from aiotrack.errors import AiotrackError
from aiotrack.services import registry as r


def refused(fn, *args) -> str:
    with pytest.raises(AiotrackError) as info:
        fn(*args)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    return info.value.message


@pytest.mark.parametrize("name", ["model", "my model", "a.b-c_d", "ünïcode"])
def test_model_name_accepted(name):
    assert r.validate_model_name(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (None, "Missing value for required parameter 'name'."),
        ("", "Missing value for required parameter 'name'."),
        ("   ", "Missing value for required parameter 'name'."),
        (3, "Missing value for required parameter 'name'."),
        ("a/b", "Names cannot contain '/' or ':'."),
        ("a:b", "Names cannot contain '/' or ':'."),
        ("..", "would resolve to"),
    ],
)
def test_model_name_refused(name, message):
    assert message in refused(r.validate_model_name, name)


@pytest.mark.parametrize(("version", "expected"), [(1, 1), ("2", 2), (" 3 ", 3), (4.0, 4), (2**63 - 1, 2**63 - 1)])
def test_version_accepted(version, expected):
    assert r.validate_version(version) == expected


@pytest.mark.parametrize("version", [True, "x", "1.5", 2**63, [1], {"v": 1}])
def test_version_refused(version):
    assert "must be an integer" in refused(r.validate_version, version)


@pytest.mark.parametrize("version", [None, ""])
def test_version_missing(version):
    assert refused(r.validate_version, version) == "Missing value for required parameter 'version'."


@pytest.mark.parametrize(
    ("stage", "canonical"),
    [("none", "None"), ("STAGING", "Staging"), ("Production", "Production"), ("archived", "Archived")],
)
def test_stages_canonical(stage, canonical):
    assert r.canonical_stage(stage) == canonical


@pytest.mark.parametrize("stage", ["prod", "", None, 1, "Deleted_Internal"])
def test_stage_refused(stage):
    assert refused(r.canonical_stage, stage).startswith("Invalid Model Version stage")


@pytest.mark.parametrize("alias", ["champion", "a-b_c", "v1x", "x" * r.MAX_ALIAS_LENGTH])
def test_alias_accepted(alias):
    assert r.validate_alias(alias) == alias
    r.validate_alias_not_reserved(alias)


@pytest.mark.parametrize(
    ("alias", "message"),
    [
        ("", "cannot be empty"),
        (None, "cannot be empty"),
        ("a b", "Invalid alias name"),
        ("a/b", "Invalid alias name"),
        (5, "Invalid alias name"),
        ("x" * (r.MAX_ALIAS_LENGTH + 1), "exceeds the maximum length of 255"),
    ],
)
def test_alias_refused(alias, message):
    assert message in refused(r.validate_alias, alias)


@pytest.mark.parametrize(
    ("alias", "message"), [("latest", "reserved"), ("LATEST", "reserved"), ("v1", "reserved"), ("V12", "reserved")]
)
def test_alias_reserved(alias, message):
    assert message in refused(r.validate_alias_not_reserved, alias)


@pytest.mark.parametrize(
    ("uri", "parsed"),
    [
        ("models:/m-0123abcd", {"model_id": "m-0123abcd"}),
        ("models:/reg/3", {"name": "reg", "version": 3}),
        ("models:/reg@champion", {"name": "reg", "alias": "champion"}),
        ("models:/reg/Production", {"name": "reg", "stage": "Production"}),
        ("models:/reg/latest", {"name": "reg", "stage": "latest"}),
        ("models:/reg/2/", {"name": "reg", "version": 2}),
    ],
)
def test_models_uri_parsed(uri, parsed):
    assert r.parse_models_uri(uri) == parsed


@pytest.mark.parametrize(
    "uri",
    [
        "models:/",
        "models://host/reg/1",
        "models:/reg",
        "models:/reg/1/extra",
        "models:/reg/notastage",
        "models:/@a",
        "models:/reg/1?x=1",
    ],
)
def test_models_uri_refused(uri):
    with pytest.raises(ValueError):
        r.parse_models_uri(uri)


@pytest.mark.parametrize(
    "source",
    ["s3://b/../x", "/a/%2e%2e/b", "/a/%252e%252e/b", "C:\\models\\m", "/a/b\x00", "runs:/r/../../x"],
)
def test_source_traversal_refused(source):
    assert "without relative path references" in refused(r._check_no_traversal, source)


@pytest.mark.parametrize(
    ("source", "root", "inside"),
    [
        ("s3://b/p/run/artifacts/model", "s3://b/p", True),
        ("s3://b/p2/x", "s3://b/p", False),
        ("s3://B/p/x", "s3://b/p", True),  # hosts compare case-insensitively
        ("s3://other/p/x", "s3://b/p", False),
        ("gs://b/p/x", "s3://b/p", False),
        ("mlflow-artifacts:/1/run/artifacts", "mlflow-artifacts:/", True),
        ("mlflow-artifacts:/", "mlflow-artifacts:/", False),
        ("s3://b/p", "", False),
    ],
)
def test_source_within_root(source, root, inside):
    assert r._within(source, root) is inside


@pytest.mark.parametrize(
    ("uri", "scheme"),
    [
        ("s3://b", "s3"),
        ("File:///x", "file"),
        ("/abs/path", ""),
        ("C:/x", ""),
        ("mlflow-artifacts:/x", "mlflow-artifacts"),
    ],
)
def test_scheme(uri, scheme):
    assert r._scheme(uri) == scheme


def test_local_source_within_owner_root(tmp_path):
    root = tmp_path / "1" / "run" / "artifacts"
    (root / "model").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (root / "link").symlink_to(tmp_path / "elsewhere")
    assert r._local_within(str(root / "model"), f"file://{root}")
    assert r._local_within(str(root), str(root))
    assert not r._local_within(str(tmp_path / "1" / "run"), str(root))
    assert not r._local_within(str(root / "link"), str(root))  # symlinks are resolved first
    assert not r._local_within(str(root / "model"), "s3://b/p")


@pytest.mark.parametrize(
    ("max_results", "expected"),
    [
        (None, r.SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT),
        (1, 1),
        (r.SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD, 1000),
    ],
)
def test_page_size(max_results, expected):
    limit = r.SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD
    assert r._page_size(max_results, r.SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT, limit) == expected


@pytest.mark.parametrize(
    ("max_results", "message"), [(0, "must be a positive integer"), (-5, "positive"), (1001, "at most 1000")]
)
def test_page_size_refused(max_results, message):
    assert message in refused(r._page_size, max_results, 100, 1000)
