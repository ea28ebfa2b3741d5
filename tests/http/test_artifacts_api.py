"""The mlflow-artifacts API and the run-artifact endpoints, in-process, on local disk and S3."""

from __future__ import annotations

import asyncio
import hashlib
import os

import pytest

from aiotrack.artifacts.local import TEMP_PREFIX

A = "/api/2.0/mlflow-artifacts/artifacts"


@pytest.fixture(params=["local", "s3"])
def destination(request, tmp_path):
    if request.param == "local":
        return str(tmp_path / "dest")
    s3 = request.getfixturevalue("s3_env")
    return f"s3://{s3.create_bucket()}/root"


@pytest.fixture
async def api(make_client, destination):
    return await make_client(artifacts_destination=destination)


async def test_upload_download_list_delete(api):
    r = await api.put(f"{A}/1/run/artifacts/dir/a.txt", data=b"hello")
    assert r.status == 200 and await r.json() == {}
    r = await api.put(f"{A}/1/run/artifacts/dir/sub/b.bin", data=b"\x00" * 10)
    assert r.status == 200
    r = await api.get(f"{A}/1/run/artifacts/dir/a.txt")
    assert r.status == 200 and await r.read() == b"hello"
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.headers["Content-Disposition"] == "attachment; filename=a.txt"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in r.headers["Content-Security-Policy"]

    r = await api.get(A, params={"path": "1/run/artifacts/dir"})
    assert await r.json() == {
        "files": [{"path": "a.txt", "is_dir": False, "file_size": 5}, {"path": "sub", "is_dir": True}]
    }
    r = await api.get(A, params={"path": "1/run/artifacts"})
    assert await r.json() == {"files": [{"path": "dir", "is_dir": True}]}
    assert await (await api.get(A, params={"path": "1/run/artifacts/dir/a.txt"})).json() == {}
    assert await (await api.get(A, params={"path": "nothing/here"})).json() == {}

    r = await api.delete(f"{A}/1/run/artifacts/dir/sub")
    assert r.status == 200 and await r.json() == {}
    r = await api.get(A, params={"path": "1/run/artifacts/dir"})
    assert await r.json() == {"files": [{"path": "a.txt", "is_dir": False, "file_size": 5}]}
    r = await api.get(f"{A}/1/run/artifacts/dir/sub/b.bin")
    assert r.status == 404
    assert await r.json() == {
        "error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": "No such artifact: '1/run/artifacts/dir/sub/b.bin'",
    }
    r = await api.get(f"{A}/1/run/artifacts/dir")
    assert r.status == 400
    body = await r.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert body["message"] == "Artifact path refers to a directory, not a file: '1/run/artifacts/dir'"


async def test_ajax_twin(api):
    r = await api.put("/ajax-api/2.0/mlflow-artifacts/artifacts/x/y.txt", data=b"ajax")
    assert r.status == 200
    r = await api.get("/ajax-api/2.0/mlflow-artifacts/artifacts/x/y.txt")
    assert await r.read() == b"ajax"


async def test_streamed_upload_of_many_chunks(api):
    """A chunked request body larger than one S3 part goes through intact."""
    block = os.urandom(256 * 1024)
    digest = hashlib.sha256()

    async def gen():
        for i in range(50):  # 12.5 MiB
            chunk = block[i:] + block[:i]
            digest.update(chunk)
            yield chunk

    r = await api.put(f"{A}/big/file.bin", data=gen())
    assert r.status == 200, await r.text()
    r = await api.get(f"{A}/big/file.bin")
    got = hashlib.sha256()
    async for chunk in r.content.iter_chunked(1 << 20):
        got.update(chunk)
    assert got.hexdigest() == digest.hexdigest()
    assert int(r.headers["Content-Length"]) == 50 * len(block)


@pytest.mark.parametrize(
    "header,status,expected,content_range",
    [
        ("bytes=0-3", 206, b"0123", "bytes 0-3/10"),
        ("bytes=7-", 206, b"789", "bytes 7-9/10"),
        ("bytes=-2", 206, b"89", "bytes 8-9/10"),
        ("bytes=5-100", 206, b"56789", "bytes 5-9/10"),
        ("bytes=10-", 416, b"", "bytes */10"),
    ],
)
async def test_range(api, header, status, expected, content_range):
    await api.put(f"{A}/r/digits.bin", data=b"0123456789")
    r = await api.get(f"{A}/r/digits.bin", headers={"Range": header})
    assert r.status == status
    assert r.headers["Content-Range"] == content_range
    if status == 206:
        assert await r.read() == expected
        assert r.headers["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize(
    "name,content_type",
    [
        ("page.html", "text/plain"),
        ("page.htm", "text/plain"),
        ("x.xhtml", "text/plain"),
        ("drawing.svg", "image/svg+xml"),
        ("image.png", "image/png"),
        ("data.json", "text/plain"),
        ("script.js", "text/plain"),
        ("MLmodel", "text/plain"),
        ("mlproject", "text/plain"),  # MLflow lists the name in lower case ...
        ("MLproject", "application/octet-stream"),  # ... so this one is binary to MLflow too
        ("blob.unknownext", "application/octet-stream"),
        ("日本語.txt", "text/plain"),
    ],
)
async def test_never_served_as_active_content(api, name, content_type):
    body = b"<html><script>alert(1)</script></html>"
    await api.put(f"{A}/ct/{name}", data=body)
    r = await api.get(f"{A}/ct/{name}")
    assert r.status == 200
    assert r.headers["Content-Type"].split(";")[0] == content_type
    assert r.headers["Content-Disposition"].startswith("attachment; filename=")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in r.headers["Content-Security-Policy"]
    if name.startswith("日本語"):
        assert "filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.txt" in r.headers["Content-Disposition"]


async def test_download_names_are_sanitized(api):
    """Quotes, control and bidi characters never reach Content-Disposition; non-ASCII names get
    RFC 6266's filename* next to an ASCII fallback."""
    cases = {
        'say "hi".txt': 'attachment; filename="say _hi_.txt"',
        "invoice\u202etxt.exe": "attachment; filename=invoicetxt.exe",
        "a\u2066b\u200fc.bin": "attachment; filename=abc.bin",
        "tab\tname.csv": "attachment; filename=tabname.csv",
        "r\u00e9sum\u00e9.pdf": "attachment; filename=resume.pdf; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
        "\u202e": "attachment; filename=download",
    }
    for name, expected in cases.items():
        await api.put(f"{A}/names/{name.replace(chr(9), '%09')}", data=b"x")
        r = await api.get(f"{A}/names/{name.replace(chr(9), '%09')}")
        if "\t" in name:
            assert r.status == 400  # a control character is never a valid path
            continue
        assert r.status == 200, name
        assert r.headers["Content-Disposition"] == expected


async def test_overlong_path_segment_is_refused(api):
    long_name = "x" * 256
    for method in ("put", "get", "delete"):
        r = await getattr(api, method)(
            f"{A}/1/run/artifacts/{long_name}", **({"data": b"x"} if method == "put" else {})
        )
        assert r.status == 400, method
        body = await r.json()
        assert body["error_code"] == "INVALID_PARAMETER_VALUE" and "255 bytes" in body["message"]
    r = await api.get(A, params={"path": f"a/{'é' * 128}"})
    assert r.status == 400
    r = await api.put(f"{A}/1/run/artifacts/{'x' * 255}", data=b"ok")
    assert r.status == 200
    r = await api.get(f"{A}/1/run/artifacts/{'x' * 255}")
    assert r.status == 200 and await r.read() == b"ok"


async def test_compressed_sibling_is_not_served_instead(api):
    await api.put(f"{A}/gz/data.csv", data=b"a,b\n1,2\n")
    await api.put(f"{A}/gz/data.csv.gz", data=b"not the csv")
    r = await api.get(f"{A}/gz/data.csv", headers={"Accept-Encoding": "gzip, br"})
    assert await r.read() == b"a,b\n1,2\n"
    assert "Content-Encoding" not in r.headers


async def test_multipart_per_destination(api, destination):
    body = {"path": "/home/me/model.bin", "num_parts": 2}
    r = await api.post("/api/2.0/mlflow-artifacts/mpu/create/1/run/artifacts", json=body)
    if not destination.startswith("s3://"):
        assert r.status == 501
        data = await r.json()
        assert data["error_code"] == "NOT_IMPLEMENTED"
        assert data["message"].startswith("Multipart upload is not supported for the current artifact repository")
        r = await api.get("/api/2.0/mlflow-artifacts/presigned/1/run/artifacts/x")
        assert r.status == 501
        assert (await r.json())["message"].startswith("Multipart download is not supported")
        return
    import io

    import aiohttp

    assert r.status == 200, await r.text()
    data = await r.json()
    assert [c["part_number"] for c in data["credentials"]] == [1, 2]
    payloads = [os.urandom(5 * 1024 * 1024), b"end"]
    parts = []
    async with aiohttp.ClientSession() as http:
        for cred, payload in zip(data["credentials"], payloads, strict=False):
            async with http.put(cred["url"], data=io.BytesIO(payload), headers=cred["headers"]) as resp:
                assert resp.status == 200
                parts.append({"part_number": cred["part_number"], "etag": resp.headers["ETag"], "url": cred["url"]})
    r = await api.post(
        "/api/2.0/mlflow-artifacts/mpu/complete/1/run/artifacts",
        json={"path": "/home/me/model.bin", "upload_id": data["upload_id"], "parts": parts},
    )
    assert r.status == 200 and await r.json() == {}
    r = await api.get(f"{A}/1/run/artifacts/model.bin")
    assert await r.read() == b"".join(payloads)
    r = await api.get("/api/2.0/mlflow-artifacts/presigned/1/run/artifacts/model.bin")
    pres = await r.json()
    assert pres["file_size"] == sum(map(len, payloads)) and pres["headers"] == {}
    async with aiohttp.ClientSession() as http, http.get(pres["url"]) as resp:
        assert await resp.read() == b"".join(payloads)
    # abort: the upload disappears and nothing is stored
    r = await api.post(
        "/api/2.0/mlflow-artifacts/mpu/create/1/run/artifacts", json={"path": "C:\\x\\y.bin", "num_parts": 1}
    )
    upload_id = (await r.json())["upload_id"]
    r = await api.post(
        "/api/2.0/mlflow-artifacts/mpu/abort/1/run/artifacts", json={"path": "C:\\x\\y.bin", "upload_id": upload_id}
    )
    assert r.status == 200
    assert (await api.get(f"{A}/1/run/artifacts/y.bin")).status == 404


@pytest.mark.parametrize("local_file", ["..", "/tmp/..", "a/%2e%2e", "", "x/"])
async def test_multipart_refuses_bad_client_names(make_client, s3_env, local_file):
    api = await make_client(artifacts_destination=f"s3://{s3_env.create_bucket()}/r")
    r = await api.post("/api/2.0/mlflow-artifacts/mpu/create/1/run", json={"path": local_file, "num_parts": 1})
    assert r.status == 400
    assert (await r.json())["error_code"] == "INVALID_PARAMETER_VALUE"


async def test_multipart_request_validation(api):
    r = await api.post("/api/2.0/mlflow-artifacts/mpu/create/1/run", json={"num_parts": 1})
    assert r.status == 400
    assert "path" in (await r.json())["message"]
    r = await api.post("/api/2.0/mlflow-artifacts/mpu/complete/1/run", json={"path": "f", "upload_id": "u"})
    assert r.status == 400


async def test_no_serve_artifacts_answers_mlflows_503(make_client, tmp_path):
    api = await make_client(serve_artifacts=False)
    r = await api.put(f"{A}/x.txt", data=b"x")
    assert r.status == 503
    assert await r.text() == (
        "Endpoint: /api/2.0/mlflow-artifacts/artifacts/<path:artifact_path> disabled due to the mlflow server "
        "running with `--no-serve-artifacts`. To enable artifacts server functionality, run `mlflow server` "
        "with `--serve-artifacts`"
    )
    for method, path in [
        ("GET", A),
        ("GET", f"{A}/x"),
        ("DELETE", f"{A}/x"),
        ("POST", "/api/2.0/mlflow-artifacts/mpu/create/x"),
        ("GET", "/api/2.0/mlflow-artifacts/presigned/x"),
    ]:
        r = await api.request(method, path, json={"path": "x", "upload_id": "u"} if method == "POST" else None)
        assert r.status == 503, path
    assert not (tmp_path / "artifacts").exists()
    # experiments get MLflow's local default root, made absolute
    r = await api.get("/api/2.0/mlflow/experiments/get", params={"experiment_id": "0"})
    loc = (await r.json())["experiment"]["artifact_location"]
    assert loc.endswith("/mlruns/0") and ("://" not in loc or loc.startswith("file:///"))


async def test_artifacts_only(make_client, tmp_path):
    api = await make_client(artifacts_only=True)
    assert (await api.get("/health")).status == 200
    assert (await api.get("/version")).status == 200
    r = await api.put(f"{A}/x.txt", data=b"x")
    assert r.status == 200
    r = await api.post("/api/2.0/mlflow/experiments/create", json={"name": "e"})
    assert r.status == 503
    assert await r.text() == (
        "Endpoint: /api/2.0/mlflow/experiments/create disabled due to the mlflow server running in "
        "`--artifacts-only` mode. To enable tracking server functionality, run `mlflow server` without "
        "`--artifacts-only`"
    )
    for path in (
        "/api/2.0/mlflow/artifacts/list?run_id=x",
        "/get-artifact?run_id=x&path=y",
        "/ajax-api/2.0/mlflow/runs/get?run_id=x",
    ):
        assert (await api.get(path)).status == 503, path


async def _make_run(api) -> dict:
    r = await api.post("/api/2.0/mlflow/runs/create", json={"experiment_id": "0"})
    assert r.status == 200, await r.text()
    return (await r.json())["run"]["info"]


async def test_run_artifacts_list_and_get_artifact(api):
    info = await _make_run(api)
    assert info["artifact_uri"] == f"mlflow-artifacts:/0/{info['run_id']}/artifacts"
    base = f"{A}/0/{info['run_id']}/artifacts"
    await api.put(f"{base}/model/MLmodel", data=b"flavors: {}")
    await api.put(f"{base}/plot.svg", data=b"<svg/>")
    r = await api.get("/api/2.0/mlflow/artifacts/list", params={"run_id": info["run_id"]})
    assert await r.json() == {
        "root_uri": info["artifact_uri"],
        "files": [{"path": "model", "is_dir": True}, {"path": "plot.svg", "is_dir": False, "file_size": 6}],
    }
    r = await api.get("/ajax-api/2.0/mlflow/artifacts/list", params={"run_uuid": info["run_id"], "path": "model"})
    assert await r.json() == {
        "root_uri": info["artifact_uri"],
        "files": [{"path": "model/MLmodel", "is_dir": False, "file_size": 11}],
    }
    r = await api.get("/api/2.0/mlflow/artifacts/list", params={"run_id": info["run_id"], "path": "empty"})
    assert await r.json() == {"root_uri": info["artifact_uri"]}
    r = await api.get("/get-artifact", params={"run_uuid": info["run_id"], "path": "model/MLmodel"})
    assert r.status == 200 and await r.read() == b"flavors: {}"
    assert r.headers["Content-Disposition"] == "attachment; filename=MLmodel"
    r = await api.get("/get-artifact", params={"run_id": info["run_id"], "path": "plot.svg"})
    assert r.headers["Content-Type"] == "image/svg+xml"
    r = await api.get("/get-artifact", params={"run_uuid": info["run_id"], "path": "../../../x"})
    assert r.status == 400
    r = await api.get("/api/2.0/mlflow/artifacts/list", params={"run_id": info["run_id"], "path": "%2e%2e"})
    assert r.status == 400
    r = await api.get("/get-artifact", params={"run_uuid": "0" * 32, "path": "x"})
    assert r.status == 404
    r = await api.get("/get-artifact", params={"run_uuid": info["run_id"], "path": "missing"})
    assert r.status == 404


async def test_experiment_artifact_location_is_confined(make_client, tmp_path):
    api = await make_client(serve_artifacts=False, default_artifact_root=str(tmp_path / "root"))

    async def create(name, location):
        return await api.post("/api/2.0/mlflow/experiments/create", json={"name": name, "artifact_location": location})

    for i, bad in enumerate(
        [
            "/etc",
            str(tmp_path / "other"),
            f"file://{tmp_path}/root/../x",
            str(tmp_path / "root" / "%2e%2e" / "x"),
            "s3://someone-elses-bucket/x",
            "http://evil.example/api/2.0/mlflow-artifacts/artifacts/x",
            "file://otherhost/x",
            "mlflow-artifacts:/x",  # not serving artifacts
            f"{tmp_path}/root\\..\\x",
        ]
    ):
        r = await create(f"bad{i}", bad)
        assert r.status == 400, bad
        assert (await r.json())["error_code"] == "INVALID_PARAMETER_VALUE"
    r = await create("good", str(tmp_path / "root" / "mine"))
    assert r.status == 200
    exp_id = (await r.json())["experiment_id"]
    r = await api.get("/api/2.0/mlflow/experiments/get", params={"experiment_id": exp_id})
    assert (await r.json())["experiment"]["artifact_location"] == str(tmp_path / "root" / "mine")
    r = await create("good2", f"file://{tmp_path}/root/other")
    assert r.status == 200
    # a run in the direct-access root: the server still lists and serves its files from disk
    run = (await (await api.post("/api/2.0/mlflow/runs/create", json={"experiment_id": exp_id})).json())["run"]["info"]
    run_dir = tmp_path / "root" / "mine" / run["run_id"] / "artifacts"
    run_dir.mkdir(parents=True)
    (run_dir / "f.txt").write_text("direct")
    r = await api.get("/api/2.0/mlflow/artifacts/list", params={"run_id": run["run_id"]})
    assert (await r.json())["files"] == [{"path": "f.txt", "is_dir": False, "file_size": 6}]
    r = await api.get("/get-artifact", params={"run_id": run["run_id"], "path": "f.txt"})
    assert await r.read() == b"direct"


async def test_serving_accepts_mlflow_artifacts_locations(api):
    r = await api.post(
        "/api/2.0/mlflow/experiments/create", json={"name": "p", "artifact_location": "mlflow-artifacts:/team/p"}
    )
    assert r.status == 200
    r = await api.post(
        "/api/2.0/mlflow/experiments/create", json={"name": "q", "artifact_location": "mlflow-artifacts://otherhost/p"}
    )
    assert r.status == 400


async def test_aborted_upload_leaves_nothing_under_the_final_name(make_client, tmp_path):
    """A client that dies mid-body: no file under the final name, and the temp file goes away."""
    api = await make_client()
    dest = tmp_path / "artifacts"
    _reader, writer = await asyncio.open_connection(api.host, api.port)
    writer.write(
        b"PUT /api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/half.bin HTTP/1.1\r\n"
        b"Host: localhost\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Length: 10000000\r\n\r\n" + b"x" * 3_000_000
    )
    await writer.drain()
    # wait until the server has started writing the temp file
    for _ in range(200):
        temps = [p for p in dest.rglob(TEMP_PREFIX + "*")] if dest.exists() else []
        if temps:
            break
        await asyncio.sleep(0.02)
    assert temps, "the upload should be in progress in a temp file"
    writer.transport.abort()
    for _ in range(200):
        if not list(dest.rglob(TEMP_PREFIX + "*")):
            break
        await asyncio.sleep(0.02)
    assert not list(dest.rglob(TEMP_PREFIX + "*"))
    assert not (dest / "1" / "r" / "artifacts" / "half.bin").exists()
    r = await api.get(f"{A}/1/r/artifacts/half.bin")
    assert r.status == 404
