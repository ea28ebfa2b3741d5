"""The mlflow client's artifact workflows against a real `aiotrack server`, local disk and S3."""

from __future__ import annotations

import hashlib
import json
import os
import time

import pytest
import requests
from compat_support import mlflow_pointed_at  # tests/compat is on sys.path

mlflow = pytest.importorskip("mlflow")


@pytest.fixture(params=["local", "s3"])
def art_server(request, start_server, tmp_path):
    env = {}
    server_moto = None
    if request.param == "local":
        dest = str(tmp_path / "dest")
    else:
        s3 = request.getfixturevalue("moto_s3")
        env = s3.env
        server_moto = s3
        dest = f"s3://{s3.create_bucket()}/mlartifacts"
    server = start_server(
        ["--backend-store-uri", f"sqlite:///{tmp_path}/db.sqlite", "--artifacts-destination", dest], env=env
    )
    server.destination = dest
    server.kind = request.param
    server.moto = server_moto
    return server


@pytest.fixture
def tracking(art_server, monkeypatch):
    yield from mlflow_pointed_at(art_server, monkeypatch)


def _read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def _paths(infos):
    return [(f.path, f.is_dir, f.file_size) for f in infos]


def test_logging_listing_downloading_deleting(tracking, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    src = tmp_path / "src"
    (src / "nested" / "deeper").mkdir(parents=True)
    (src / "top.txt").write_text("top")
    (src / "nested" / "n.json").write_text('{"a": 1}')
    (src / "nested" / "deeper" / "d.bin").write_bytes(bytes(range(256)) * 4)
    single = tmp_path / "single.csv"
    single.write_text("x,y\n1,2\n")

    mlflow.set_experiment("artifacts-e2e")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(single))
        mlflow.log_artifact(str(single), artifact_path="copies/csv")
        mlflow.log_artifacts(str(src), artifact_path="tree")
        mlflow.log_text("some text", "texts/note.txt")
        mlflow.log_dict({"k": [1, 2]}, "dicts/d.json")
        mlflow.log_image(np.zeros((8, 8, 3), dtype=np.uint8), "images/black.png")
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3])
        mlflow.log_figure(fig, "figures/line.png")
        plt.close(fig)
        mlflow.log_table(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), "tables/t.json")
    run_id = run.info.run_id
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")

    client = mlflow.MlflowClient()
    root = _paths(client.list_artifacts(run_id))
    assert [p for p, _, _ in root] == ["copies", "dicts", "figures", "images", "single.csv", "tables", "texts", "tree"]
    assert ("single.csv", False, 8) in root
    assert _paths(client.list_artifacts(run_id, "tree")) == [
        ("tree/nested", True, None),
        ("tree/top.txt", False, 3),
    ]
    assert _paths(client.list_artifacts(run_id, "tree/nested/deeper")) == [("tree/nested/deeper/d.bin", False, 1024)]
    assert client.list_artifacts(run_id, "tree/top.txt") == []

    out = tmp_path / "out"
    f = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="texts/note.txt", dst_path=str(out / "f"))
    assert _read(f) == "some text"
    d = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="tree", dst_path=str(out / "d"))
    assert _read(os.path.join(d, "top.txt")) == "top"
    assert _read(os.path.join(d, "nested", "deeper", "d.bin"), "rb") == bytes(range(256)) * 4
    assert json.loads(_read(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/dicts/d.json"))) == {"k": [1, 2]}
    png = mlflow.artifacts.download_artifacts(f"runs:/{run_id}/figures/line.png")
    assert _read(png, "rb")[:8] == b"\x89PNG\r\n\x1a\n"
    table = json.loads(_read(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/tables/t.json")))
    assert table["columns"] == ["a", "b"]
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/texts/note.txt") == "some text"

    # the UI's endpoints
    r = requests.get(
        f"{tracking.url}/ajax-api/2.0/mlflow/artifacts/list", params={"run_uuid": run_id, "path": "images"}
    )
    assert r.json()["files"][0]["path"] == "images/black.png"
    r = requests.get(f"{tracking.url}/get-artifact", params={"run_uuid": run_id, "path": "tree/top.txt"})
    assert r.status_code == 200 and r.text == "top"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Disposition"] == "attachment; filename=top.txt"

    # delete through the proxy
    repo = get_artifact_repository(run.info.artifact_uri)
    repo.delete_artifacts("tree/nested")
    assert _paths(client.list_artifacts(run_id, "tree")) == [("tree/top.txt", False, 3)]
    repo.delete_artifacts("single.csv")
    assert "single.csv" not in [f.path for f in client.list_artifacts(run_id)]


def test_large_file_round_trip(tracking, tmp_path):
    """256 MiB through the proxy and back with the same checksum (local disk and S3)."""
    size_mib = 256 if tracking.kind == "local" else 64  # moto keeps objects in memory
    big = tmp_path / "big.bin"
    digest = hashlib.sha256()
    block = os.urandom(1024 * 1024)
    with open(big, "wb") as f:
        for i in range(size_mib):
            chunk = i.to_bytes(8, "big") + block[8:]
            digest.update(chunk)
            f.write(chunk)
    mlflow.set_experiment("large")
    start = time.monotonic()
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(big), artifact_path="large")
    got_path = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="large/big.bin", dst_path=str(tmp_path / "dl")
    )
    elapsed = time.monotonic() - start
    got = hashlib.sha256()
    with open(got_path, "rb") as f:
        while chunk := f.read(1 << 20):
            got.update(chunk)
    assert got.hexdigest() == digest.hexdigest()
    assert os.path.getsize(got_path) == size_mib * 1024 * 1024
    assert elapsed < 60, f"round trip took {elapsed:.1f}s"


def test_client_multipart_upload(tracking, tmp_path, monkeypatch):
    """MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD: presigned parts straight to S3; on local disk the
    server's refusal makes the client fall back to one streamed PUT."""
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(1024 * 1024))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(5 * 1024 * 1024))
    data = os.urandom(11 * 1024 * 1024)
    f = tmp_path / "model.bin"
    f.write_bytes(data)
    mlflow.set_experiment("multipart")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(f), artifact_path="mp")
    back = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="mp/model.bin", dst_path=str(tmp_path / "dl")
    )
    assert _read(back, "rb") == data
    info = requests.get(f"{tracking.url}/api/3.0/mlflow/server-info").json()
    if tracking.kind == "s3":
        assert info["multipart_uploads_enabled"] is True
        assert info["multipart_downloads_enabled"] is True
        # S3 marks an object assembled from parts with "-<parts>" in its ETag: 11 MiB / 5 MiB = 3
        # parts, where the server's own streaming upload would have used 8 MiB parts (2).
        bucket, prefix = tracking.destination[len("s3://") :].split("/", 1)
        key = f"{prefix}/{run.info.experiment_id}/{run.info.run_id}/artifacts/mp/model.bin"
        head = tracking.moto.boto3_client().head_object(Bucket=bucket, Key=key)
        assert head["ETag"].strip('"').endswith("-3")
    else:
        assert info["multipart_uploads_enabled"] is False
        assert info["multipart_downloads_enabled"] is False


def test_no_serve_artifacts_client_writes_directly(start_server, tmp_path, monkeypatch):
    """--no-serve-artifacts: runs get a local artifact_uri under the root, the client writes
    there itself, the server still lists and serves those files to the UI, and the proxy routes
    answer MLflow's 503."""
    root = tmp_path / "direct-root"
    server = start_server(
        [
            "--backend-store-uri",
            f"sqlite:///{tmp_path}/db.sqlite",
            "--no-serve-artifacts",
            "--default-artifact-root",
            str(root),
        ]
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    mlflow.set_tracking_uri(server.url)
    try:
        mlflow.set_experiment("direct")
        with mlflow.start_run() as run:
            mlflow.log_text("written by the client", "notes/n.txt")
        assert run.info.artifact_uri.startswith(str(root))
        on_disk = root / run.info.experiment_id / run.info.run_id / "artifacts" / "notes" / "n.txt"
        assert on_disk.read_text() == "written by the client"
        r = requests.get(
            f"{server.url}/api/2.0/mlflow/artifacts/list", params={"run_id": run.info.run_id, "path": "notes"}
        )
        assert r.json()["files"] == [{"path": "notes/n.txt", "is_dir": False, "file_size": 21}]
        r = requests.get(f"{server.url}/get-artifact", params={"run_uuid": run.info.run_id, "path": "notes/n.txt"})
        assert r.text == "written by the client"
        r = requests.put(f"{server.url}/api/2.0/mlflow-artifacts/artifacts/x.txt", data=b"x")
        assert r.status_code == 503 and "--no-serve-artifacts" in r.text
        # an experiment pointing outside the root is refused
        with pytest.raises(mlflow.exceptions.MlflowException, match="outside the configured artifact roots"):
            mlflow.create_experiment("escape", artifact_location=str(tmp_path / "elsewhere"))
    finally:
        while mlflow.active_run():
            mlflow.end_run()
        mlflow.set_tracking_uri(None)
