"""The registry service's rules (aiotrack/services/registry.py): names, versions, stages,
aliases, models:/ URIs, model version sources and page sizes."""

from __future__ import annotations

import pytest

from aiotrack import names
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


@pytest.mark.parametrize("alias", ["champion", "a-b_c", "v1x", "x" * names.MAX_ALIAS_LENGTH])
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
        ("x" * (names.MAX_ALIAS_LENGTH + 1), "exceeds the maximum length of 255"),
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
    [
        "s3://b/../x",
        "s3://b/%2e%2e/x",
        "s3://b/%252e%252e/x",
        "runs:/r/../../x",
        "mlflow-artifacts:/0/r/artifacts/..%2f..%2fx",
        "C:\\models\\m",
        "/a/b\x00",
        "file:///a/b%00",
        "/a/" + "%" + "25" * 8 + "2e",  # nested deeper than the decoding bound
    ],
)
def test_source_traversal_refused(source):
    assert "without relative path references" in refused(r._screen_source, source)


@pytest.mark.parametrize(
    ("source", "decoded"),
    [
        ("s3://b/p/x", "s3://b/p/x"),
        ("runs:/r/model", "runs:/r/model"),
        ("s3://b/my%20model", "s3://b/my model"),
        # A local source with '..' passes this screen: it is resolved against its owner's directory.
        ("/runs/1/r/artifacts/a/../model", "/runs/1/r/artifacts/a/../model"),
        ("file:///runs/1/r/artifacts/%2e%2e/model", "file:///runs/1/r/artifacts/../model"),
    ],
)
def test_source_screen_passes(source, decoded):
    assert r._screen_source(source) == decoded


@pytest.mark.parametrize(
    ("source", "root", "inside"),
    [
        ("s3://b/p/run/artifacts/model", "s3://b/p", True),
        ("s3://b/p", "s3://b/p", True),  # at or below: the root itself included
        ("s3://b/p2/x", "s3://b/p", False),
        ("s3://B/p/x", "s3://b/p", True),  # hosts compare case-insensitively
        ("s3://other/p/x", "s3://b/p", False),
        ("gs://b/p/x", "s3://b/p", False),
        ("mlflow-artifacts:/1/run/artifacts", "mlflow-artifacts:/", True),
        ("mlflow-artifacts://host/1/run/artifacts", "mlflow-artifacts:/", False),
        ("mlflow-artifacts:/1/r/artifacts/m", "mlflow-artifacts:/1/r/artifacts", True),
        ("mlflow-artifacts:/1/r/artifactsx", "mlflow-artifacts:/1/r/artifacts", False),
        ("s3://b/p/../q", "s3://b/p", False),  # never resolved: refused
        ("s3://b/p", "", False),
    ],
)
def test_source_within_root(source, root, inside):
    assert r._within(source, root) is inside


@pytest.mark.parametrize(
    ("max_results", "expected"),
    [
        (None, names.SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT),
        (1, 1),
        (names.SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD, 1000),
    ],
)
def test_page_size(max_results, expected):
    limit = names.SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD
    assert r._page_size(max_results, names.SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT, limit) == expected


@pytest.mark.parametrize(
    ("max_results", "message"), [(0, "must be a positive integer"), (-5, "positive"), (1001, "at most 1000")]
)
def test_page_size_refused(max_results, message):
    assert message in refused(r._page_size, max_results, 100, 1000)
