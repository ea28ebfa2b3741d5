"""Default roots as `mlflow server` builds them, the location checks, run-root resolution."""

from __future__ import annotations

import os

import pytest

from aiotrack.artifacts.local import LocalArtifactRepository
from aiotrack.artifacts.s3 import S3ArtifactRepository
from aiotrack.config import Settings
from aiotrack.errors import AiotrackError, ConfigError
from aiotrack.services.artifact_uris import ArtifactLocations, resolve_default_artifact_root


def test_default_roots(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_default_artifact_root(Settings()) == "mlflow-artifacts:/"
    assert resolve_default_artifact_root(Settings(serve_artifacts=False)) == f"file://{tmp_path}/mlruns"
    assert resolve_default_artifact_root(Settings(default_artifact_root="./rel")) == f"{tmp_path}/rel"
    assert resolve_default_artifact_root(Settings(default_artifact_root="s3://b/p")) == "s3://b/p"


def test_repositories_per_configuration(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    loc = ArtifactLocations(Settings())
    assert isinstance(loc.proxy, LocalArtifactRepository)
    assert loc.proxy.root == tmp_path / "aiotrack-artifacts"
    assert loc.default_repo is None
    loc = ArtifactLocations(Settings(artifacts_destination="s3://bucket/pre"))
    assert isinstance(loc.proxy, S3ArtifactRepository) and (loc.proxy.bucket, loc.proxy.prefix) == ("bucket", "pre")
    loc = ArtifactLocations(Settings(serve_artifacts=False))
    assert loc.proxy is None and isinstance(loc.default_repo, LocalArtifactRepository)
    loc = ArtifactLocations(Settings(artifacts_destination=f"file://{tmp_path}/d"))
    assert loc.proxy.root == tmp_path / "d"
    for bad in ("gs://bucket/x", "hdfs://nn/x", "s3:///nobucket"):
        with pytest.raises(ConfigError):
            ArtifactLocations(Settings(artifacts_destination=bad))


def test_endpoint_url_from_environment(monkeypatch):
    monkeypatch.delenv("MLFLOW_S3_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://aws-endpoint:1")
    assert S3ArtifactRepository("s3://b/p").endpoint_url == "http://aws-endpoint:1"
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", "http://minio:9000")
    assert S3ArtifactRepository("s3://b/p").endpoint_url == "http://minio:9000"


@pytest.mark.parametrize(
    "location,ok",
    [
        ("mlflow-artifacts:/team/x", True),
        ("mlflow-artifacts:/", True),
        ("mlflow-artifacts://host:5000/x", False),
        ("mlflow-artifacts:/a/../../x", False),
        ("mlflow-artifacts:/a/%2e%2e/%2e%2e/x", False),
        ("mlflow-artifacts:/a/%252e%252e/x", False),
        ("https://other/api/2.0/mlflow-artifacts/artifacts/x", False),
        ("s3://dest-bucket/prefix/exp", True),
        ("s3://dest-bucket/prefix", True),
        ("s3://dest-bucket/prefixother", False),
        ("s3://dest-bucket/other", False),
        ("s3://another-bucket/prefix", False),
        ("/etc", False),
        ("file:///etc", False),
        ("relative/dir", False),
        ("gs://bucket/x", False),
        ("mlflow-artifacts:/x#frag", False),
        ("mlflow-artifacts:/x?q=1", False),
        ("mlflow-artifacts:/a\x00b", False),
    ],
)
def test_check_when_serving_to_s3(location, ok):
    loc = ArtifactLocations(Settings(artifacts_destination="s3://dest-bucket/prefix"))
    if ok:
        assert loc.check_artifact_location(location) == location
    else:
        with pytest.raises(AiotrackError) as info:
            loc.check_artifact_location(location)
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_local_locations_are_made_absolute_and_confined(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    loc = ArtifactLocations(Settings(serve_artifacts=False, default_artifact_root="./root"))
    assert loc.check_artifact_location("root/exp") == f"{tmp_path}/root/exp"
    assert loc.check_artifact_location(f"file://{tmp_path}/root/./exp/") == f"file://{tmp_path}/root/exp"
    for bad in ("root/../x", f"{tmp_path}/rootx", "file://otherhost/root", f"{tmp_path}", "mlflow-artifacts:/x"):
        with pytest.raises(AiotrackError):
            loc.check_artifact_location(bad)


def test_resolve_run_root(tmp_path):
    loc = ArtifactLocations(Settings(artifacts_destination=str(tmp_path / "d")))
    repo, base = loc.resolve_run_root("mlflow-artifacts:/1/abc/artifacts")
    assert repo is loc.proxy and base == "1/abc/artifacts"
    repo, base = loc.resolve_run_root("http://h:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts")
    assert repo is loc.proxy and base == "1/abc/artifacts"
    repo, base = loc.resolve_run_root(f"{tmp_path}/d/7/r/artifacts")
    assert repo is loc.proxy and base == "7/r/artifacts"
    assert loc.resolve_run_root("s3://elsewhere/x") is None
    assert loc.resolve_run_root("/etc") is None
    assert loc.resolve_run_root("mlflow-artifacts:/1/../../x") is None
    assert loc.resolve_run_root("http://h/api/2.0/mlflow-artifacts/artifacts/%2e%2e/x") is None
    no_serve = ArtifactLocations(Settings(serve_artifacts=False, default_artifact_root=str(tmp_path / "root")))
    assert no_serve.resolve_run_root("mlflow-artifacts:/1/abc/artifacts") is None
    repo, base = no_serve.resolve_run_root(f"file://{tmp_path}/root/1/abc/artifacts")
    assert repo is no_serve.default_repo and base == "1/abc/artifacts"
    assert os.fspath(no_serve.default_repo.root) == str(tmp_path / "root")
