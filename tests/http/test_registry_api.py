"""The model registry REST API in-process: MLflow's JSON shapes, methods, error contract, and the
model-version source policy against hostile sources."""

from __future__ import annotations

import asyncio
import os

import asyncpg
import pytest
from http_calls import API, H, call  # noqa: F401  (tests/http is on sys.path)

from aiotrack.stores.sql.uri import parse_store_uri


def assert_error(data, code):
    assert set(data) == {"error_code", "message"}, data
    assert data["error_code"] == code, data


async def make_run(client, experiment_id="0"):
    return (await call(client, "POST", "runs/create", {"experiment_id": experiment_id}))["run"]["info"]


async def test_registered_model_lifecycle_and_shapes(client):
    rm = (
        await call(
            client,
            "POST",
            "registered-models/create",
            {"name": "m", "tags": [{"key": "a", "value": "b"}], "description": "d"},
        )
    )["registered_model"]
    assert set(rm) == {"name", "creation_timestamp", "last_updated_timestamp", "description", "tags"}
    dup = await call(client, "POST", "registered-models/create", {"name": "m"}, status=400)
    assert_error(dup, "RESOURCE_ALREADY_EXISTS")
    missing = await call(client, "GET", "registered-models/get", params={"name": "nope"}, status=404)
    assert_error(missing, "RESOURCE_DOES_NOT_EXIST")
    assert_error(await call(client, "POST", "registered-models/create", {}, status=400), "INVALID_PARAMETER_VALUE")
    assert_error(
        await call(client, "POST", "registered-models/create", {"name": "a/b"}, status=400), "INVALID_PARAMETER_VALUE"
    )

    run = await make_run(client)
    src = f"runs:/{run['run_id']}/model"
    mv = await call(
        client,
        "POST",
        "model-versions/create",
        {"name": "m", "source": src, "run_id": run["run_id"], "tags": [{"key": "t", "value": "1"}]},
    )
    mv = mv["model_version"]
    assert mv["version"] == "1" and mv["current_stage"] == "None" and mv["status"] == "READY"
    assert mv["source"] == src and mv["run_id"] == run["run_id"] and mv["tags"] == [{"key": "t", "value": "1"}]
    await call(client, "POST", "model-versions/create", {"name": "m", "source": src, "run_id": run["run_id"]})

    upd = await call(client, "PATCH", "registered-models/update", {"name": "m", "description": "new"})
    assert upd["registered_model"]["description"] == "new"
    upd = await call(client, "PATCH", "model-versions/update", {"name": "m", "version": "1", "description": "v1"})
    assert upd["model_version"]["description"] == "v1"

    await call(client, "POST", "registered-models/alias", {"name": "m", "alias": "champ", "version": "2"})
    by_alias = await call(client, "GET", "registered-models/alias", params={"name": "m", "alias": "champ"})
    assert by_alias["model_version"]["version"] == "2" and by_alias["model_version"]["aliases"] == ["champ"]
    got = (await call(client, "GET", "registered-models/get", params={"name": "m"}))["registered_model"]
    assert got["aliases"] == [{"alias": "champ", "version": "2"}]
    for bad_alias in ("latest", "v3", "bad alias"):
        bad = await call(
            client, "POST", "registered-models/alias", {"name": "m", "alias": bad_alias, "version": "1"}, status=400
        )
        assert_error(bad, "INVALID_PARAMETER_VALUE")
    await call(client, "DELETE", "registered-models/alias", {"name": "m", "alias": "champ"})
    await call(client, "GET", "registered-models/alias", params={"name": "m", "alias": "champ"}, status=400)

    t = await call(
        client,
        "POST",
        "model-versions/transition-stage",
        {"name": "m", "version": "1", "stage": "staging", "archive_existing_versions": False},
    )
    assert t["model_version"]["current_stage"] == "Staging"
    await call(
        client,
        "POST",
        "model-versions/transition-stage",
        {"name": "m", "version": "2", "stage": "Staging", "archive_existing_versions": True},
    )
    v1 = await call(client, "GET", "model-versions/get", params={"name": "m", "version": "1"})
    assert v1["model_version"]["current_stage"] == "Archived"
    bad = await call(
        client,
        "POST",
        "model-versions/transition-stage",
        {"name": "m", "version": "1", "stage": "Archived", "archive_existing_versions": True},
        status=400,
    )
    assert_error(bad, "INVALID_PARAMETER_VALUE")
    bad = await call(
        client, "POST", "model-versions/transition-stage", {"name": "m", "version": "1", "stage": "Nowhere"}, status=400
    )
    assert "Invalid Model Version stage" in bad["message"]

    for method in ("POST", "GET"):
        body, params = (
            ({"name": "m", "stages": ["Staging"]}, None)
            if method == "POST"
            else (None, {"name": "m", "stages": "Staging"})
        )
        latest = await call(client, method, "registered-models/get-latest-versions", body, params=params)
        assert [v["version"] for v in latest["model_versions"]] == ["2"]

    uri = await call(client, "GET", "model-versions/get-download-uri", params={"name": "m", "version": "1"})
    assert uri == {"artifact_uri": src}

    await call(client, "POST", "registered-models/set-tag", {"name": "m", "key": "k", "value": "v"})
    await call(client, "DELETE", "registered-models/delete-tag", {"name": "m", "key": "k"})
    await call(client, "POST", "model-versions/set-tag", {"name": "m", "version": "1", "key": "k", "value": "v"})
    v1 = (await call(client, "GET", "model-versions/get", params={"name": "m", "version": "1"}))["model_version"]
    assert {"key": "k", "value": "v"} in v1["tags"]
    await call(client, "DELETE", "model-versions/delete-tag", {"name": "m", "version": "1", "key": "k"})
    bad = await call(client, "GET", "model-versions/get", params={"name": "m", "version": "x"}, status=400)
    assert bad["message"] == "Parameter 'version' must be an integer, got 'x'."

    renamed = await call(client, "POST", "registered-models/rename", {"name": "m", "new_name": "m2"})
    assert renamed["registered_model"]["name"] == "m2"
    await call(client, "DELETE", "model-versions/delete", {"name": "m2", "version": "1"})
    await call(client, "GET", "model-versions/get", params={"name": "m2", "version": "1"}, status=404)
    await call(client, "DELETE", "registered-models/delete", {"name": "m2"})
    await call(client, "GET", "registered-models/get", params={"name": "m2"}, status=404)
    # The UI's twin paths answer too.
    await call(client, "GET", "registered-models/search", params={}, base="/ajax-api/2.0/mlflow")


async def test_searches_paging_and_limits(client):
    run = await make_run(client)
    for i in range(5):
        await call(client, "POST", "registered-models/create", {"name": f"model-{i}"})
        await call(
            client,
            "POST",
            "model-versions/create",
            {"name": f"model-{i}", "source": f"runs:/{run['run_id']}/m", "run_id": run["run_id"]},
        )
    page = await call(
        client, "GET", "registered-models/search", params={"filter": "name LIKE 'model-%'", "max_results": "2"}
    )
    assert [m["name"] for m in page["registered_models"]] == ["model-0", "model-1"]
    assert page["next_page_token"] == "eyJvZmZzZXQiOiAyfQ=="  # MLflow's {"offset": 2}
    seen = [m["name"] for m in page["registered_models"]]
    token = page["next_page_token"]
    while token:
        page = await call(
            client,
            "GET",
            "registered-models/search",
            params={"filter": "name LIKE 'model-%'", "max_results": "2", "page_token": token},
        )
        seen += [m["name"] for m in page["registered_models"]]
        token = page.get("next_page_token")
    assert seen == [f"model-{i}" for i in range(5)]
    mvs = await call(
        client,
        "GET",
        "model-versions/search",
        params=[("filter", f"run_id = '{run['run_id']}'"), ("order_by", "name DESC"), ("max_results", "3")],
    )
    assert [v["name"] for v in mvs["model_versions"]] == ["model-4", "model-3", "model-2"]
    assert "next_page_token" in mvs
    assert await call(client, "GET", "model-versions/search", params={"filter": "name = 'none'"}) == {}
    too_many = await call(client, "GET", "registered-models/search", params={"max_results": "1001"}, status=400)
    assert_error(too_many, "INVALID_PARAMETER_VALUE")
    await call(client, "GET", "model-versions/search", params={"max_results": "0"}, status=400)
    await call(client, "GET", "registered-models/search", params={"filter": "name = 'a' OR name = 'b'"}, status=400)
    await call(client, "GET", "registered-models/search", params={"page_token": "not-a-token"}, status=400)


async def test_prompts_are_registered_models_with_prompt_tags(client):
    prompt_tags = [{"key": "mlflow.prompt.is_prompt", "value": "true"}]
    await call(client, "POST", "registered-models/create", {"name": "qa", "tags": prompt_tags})
    version_tags = [*prompt_tags, {"key": "mlflow.prompt.text", "value": "Answer {{q}}"}]
    mv = await call(
        client, "POST", "model-versions/create", {"name": "qa", "source": "dummy-source", "tags": version_tags}
    )
    assert mv["model_version"]["version"] == "1"
    bad = await call(
        client,
        "POST",
        "model-versions/create",
        {"name": "qa", "source": "s3://bucket/x", "tags": version_tags},
        status=400,
    )
    assert "Invalid prompt source" in bad["message"]
    assert await call(client, "GET", "registered-models/search") == {}
    found = await call(
        client, "GET", "registered-models/search", params={"filter": "tags.`mlflow.prompt.is_prompt` = 'true'"}
    )
    assert [m["name"] for m in found["registered_models"]] == ["qa"]
    clash = await call(client, "POST", "registered-models/create", {"name": "qa"}, status=400)
    assert "already taken by a prompt" in clash["message"]
    # A prompt version cannot be the source of a model version.
    await call(client, "POST", "registered-models/create", {"name": "real"})
    bad = await call(client, "POST", "model-versions/create", {"name": "real", "source": "models:/qa/1"}, status=400)
    assert "Prompt versions cannot be used" in bad["message"]


HOSTILE_SOURCES = [
    "mlflow-artifacts:/../../../etc/passwd",
    "mlflow-artifacts:/%2e%2e/%2e%2e/etc/passwd",
    "mlflow-artifacts:/%252e%252e/%252e%252e/etc",
    "mlflow-artifacts:/0/{run}/artifacts/..%2f..%2f..%2fsecret",
    "mlflow-artifacts://evil.example:8080/0/{run}/artifacts/model",
    "mlflow-artifacts:/0/{run}/artifacts/model%00",
    "http://evil.example/api/2.0/mlflow-artifacts/artifacts/0/{run}/artifacts",
    "https://169.254.169.254/latest/meta-data",
    "ftp://evil.example/model",
    "sftp://evil.example/model",
    "hdfs://evil.example:8020/model",
    "file:///etc/passwd",
    "/etc/passwd",
    "/tmp/../etc/passwd",
    "file://evil.example/share/model",
    "s3://someone-elses-bucket/model",
    "gs://bucket/model",
    "runs:/{other}/model",
    "runs://evil.example/{run}/model",
    "models:/m-0123456789abcdef0123456789abcdef",
    "models://evil.example/name/1",
    "models:/does-not-exist/1",
    "mlflow-artifacts:/1/someone-elses-run/artifacts/model",
    "C:\\Windows\\system32",
    "mlflow-artifacts:/0/{run}/artifacts\\..\\..\\x",
]


async def test_hostile_model_version_sources_are_refused(client):
    run = (await make_run(client))["run_id"]
    other = (await make_run(client))["run_id"]
    await call(client, "POST", "registered-models/create", {"name": "target"})
    for template in HOSTILE_SOURCES:
        source = template.format(run=run, other=other)
        data = await call(
            client, "POST", "model-versions/create", {"name": "target", "source": source, "run_id": run}, status=400
        )
        assert_error(data, "INVALID_PARAMETER_VALUE")
        data = await call(client, "POST", "model-versions/create", {"name": "target", "source": source}, status=400)
        assert_error(data, "INVALID_PARAMETER_VALUE")
    # Nothing was created; then honest sources inside the run's artifacts are accepted.
    assert (await call(client, "GET", "model-versions/search", params={"filter": "name = 'target'"})) == {}
    ok = await call(
        client,
        "POST",
        "model-versions/create",
        {"name": "target", "source": f"mlflow-artifacts:/0/{run}/artifacts/model", "run_id": run},
    )
    assert ok["model_version"]["version"] == "1"
    ok = await call(
        client, "POST", "model-versions/create", {"name": "target", "source": f"runs:/{run}/model", "run_id": run}
    )
    assert ok["model_version"]["version"] == "2"
    # Another run's location is refused even with a run id.
    bad = await call(
        client,
        "POST",
        "model-versions/create",
        {"name": "target", "source": f"mlflow-artifacts:/0/{other}/artifacts/model", "run_id": run},
        status=400,
    )
    assert "run_id request parameter must identify" in bad["message"]


async def test_local_sources_resolve_inside_the_runs_own_directory(make_client, tmp_path):
    """MLflow 3.17 resolves a local source (``..`` and symlinks) and accepts it inside the run's
    local artifact directory; every reading that resolves elsewhere is refused."""
    root = tmp_path / "runs-root"
    client = await make_client(serve_artifacts=False, default_artifact_root=str(root))
    run = await make_run(client)
    other = await make_run(client)
    art = run["artifact_uri"]
    assert art.startswith(str(root)), art
    await call(client, "POST", "registered-models/create", {"name": "local"})
    accepted = [
        f"{art}/model",
        f"{art}/sub/../model",
        f"file://{art}/a/b/../../model",
        f"{art}",
        f"file://{art}/my%20model",
    ]
    for source in accepted:
        mv = await call(
            client, "POST", "model-versions/create", {"name": "local", "source": source, "run_id": run["run_id"]}
        )
        assert mv["model_version"]["source"] == source
    (root / "outside").mkdir(parents=True)
    os.makedirs(art, exist_ok=True)
    os.symlink(root / "outside", f"{art}/escape")
    refused = [
        f"{art}/../../{other['run_id']}/artifacts/model",  # another run, reached with ..
        f"{art}/../model",  # the run's own directory but not its artifacts
        f"{art}/%2e%2e/%2e%2e/{other['run_id']}/artifacts",  # encoded: decodes to outside
        f"{art}/%252e%252e/x",  # doubly encoded
        f"file://{art}/..%2f..%2fx",
        f"{art}/escape/model",  # a symlink leading out
        f"{art}\\..\\..\\x",
        f"{art}/model\x00",
        f"file://otherhost{art}/model",
        f"{art}/../../../../../etc/passwd",
        "relative/model",
        f"{other['artifact_uri']}/model",
    ]
    for source in refused:
        bad = await call(
            client,
            "POST",
            "model-versions/create",
            {"name": "local", "source": source, "run_id": run["run_id"]},
            status=400,
        )
        assert_error(bad, "INVALID_PARAMETER_VALUE")
    # Without a run id a local source is never accepted.
    bad = await call(client, "POST", "model-versions/create", {"name": "local", "source": f"{art}/model"}, status=400)
    assert "run_id request parameter has to be specified" in bad["message"]
    versions = await call(client, "GET", "model-versions/search", params={"filter": "name = 'local'"})
    assert len(versions["model_versions"]) == len(accepted)


async def test_runs_sources_are_checked_as_mlflow_checks_them(client):
    """A runs:/ source only has to name the request's run id (MLflow does not look the run up);
    a .. in it is refused in any encoding."""
    await call(client, "POST", "registered-models/create", {"name": "refs"})
    ghost = "0" * 32
    mv = await call(
        client, "POST", "model-versions/create", {"name": "refs", "source": f"runs:/{ghost}/model", "run_id": ghost}
    )
    assert mv["model_version"]["run_id"] == ghost
    for source in (f"runs:/{ghost}/../x", f"runs:/{ghost}/%2e%2e/x", f"runs:/{ghost}/%252e%252e/x"):
        bad = await call(
            client, "POST", "model-versions/create", {"name": "refs", "source": source, "run_id": ghost}, status=400
        )
        assert "without relative path references" in bad["message"]
    bad = await call(
        client, "POST", "model-versions/create", {"name": "refs", "source": f"runs:/{ghost}/m"}, status=400
    )
    assert "run_id request parameter must identify" in bad["message"]


async def test_logged_model_sources_and_registration_tag(client):
    exp = (await call(client, "POST", "experiments/create", {"name": "lm"}))["experiment_id"]
    run = (await make_run(client, exp))["run_id"]
    model = (
        await call(client, "POST", "logged-models", {"experiment_id": exp, "name": "model", "source_run_id": run})
    )["model"]["info"]
    mid = model["model_id"]
    await call(client, "POST", "registered-models/create", {"name": "reg"})
    mv = await call(
        client, "POST", "model-versions/create", {"name": "reg", "source": f"models:/{mid}", "model_id": mid}
    )
    assert mv["model_version"]["run_id"] == run  # taken from the logged model
    uri = await call(client, "GET", "model-versions/get-download-uri", params={"name": "reg", "version": "1"})
    assert uri["artifact_uri"] == f"mlflow-artifacts:/{exp}/models/{mid}/artifacts"
    await call(client, "POST", "model-versions/create", {"name": "reg", "source": f"models:/{mid}", "model_id": mid})
    tags = (await call(client, "GET", f"logged-models/{mid}"))["model"]["info"]["tags"]
    assert tags == [
        {"key": "mlflow.modelVersions", "value": '[{"name": "reg", "version": 1}, {"name": "reg", "version": 2}]'}
    ]
    # models:/<id> needs that model id; inside the model's location is fine, outside is not.
    await call(client, "POST", "model-versions/create", {"name": "reg", "source": f"models:/{mid}"}, status=400)
    await call(
        client,
        "POST",
        "model-versions/create",
        {"name": "reg", "source": f"mlflow-artifacts:/{exp}/models/{mid}/artifacts/x", "model_id": mid},
    )
    await call(
        client,
        "POST",
        "model-versions/create",
        {"name": "reg", "source": f"mlflow-artifacts:/{exp}/{run}/artifacts", "model_id": mid},
        status=400,
    )
    await call(
        client,
        "POST",
        "model-versions/create",
        {"name": "reg", "source": f"runs:/{run}/model", "model_id": mid},
        status=400,
    )
    # A registered version as source resolves to its own location.
    mv = await call(client, "POST", "model-versions/create", {"name": "reg", "source": "models:/reg/1"})
    assert mv["model_version"]["source"] == "models:/reg/1"
    uri = await call(
        client,
        "GET",
        "model-versions/get-download-uri",
        params={"name": "reg", "version": mv["model_version"]["version"]},
    )
    assert uri["artifact_uri"] == f"mlflow-artifacts:/{exp}/models/{mid}/artifacts"


async def test_model_version_get_artifact(client):
    exp = (await call(client, "POST", "experiments/create", {"name": "art"}))["experiment_id"]
    run = (await make_run(client, exp))["run_id"]
    mid = (await call(client, "POST", "logged-models", {"experiment_id": exp, "source_run_id": run}))["model"]["info"][
        "model_id"
    ]
    resp = await client.put(
        f"/api/2.0/mlflow-artifacts/artifacts/{exp}/models/{mid}/artifacts/MLmodel", data=b"flavors: {}\n"
    )
    assert resp.status == 200, await resp.text()
    await call(client, "POST", "registered-models/create", {"name": "reg"})
    await call(client, "POST", "model-versions/create", {"name": "reg", "source": f"models:/{mid}", "model_id": mid})
    resp = await client.get("/model-versions/get-artifact", params={"name": "reg", "version": "1", "path": "MLmodel"})
    assert resp.status == 200 and await resp.read() == b"flavors: {}\n"
    for bad in ("../../../etc/passwd", "%2e%2e/%2e%2e/x", "/etc/passwd", "a/../../b"):
        resp = await client.get("/model-versions/get-artifact", params={"name": "reg", "version": "1", "path": bad})
        assert resp.status == 400, bad
    resp = await client.get("/model-versions/get-artifact", params={"name": "reg", "version": "9", "path": "MLmodel"})
    assert resp.status == 404


@pytest.fixture
def second_store_uri(store_uri, tmp_path, request):
    if store_uri.startswith("sqlite"):
        return f"sqlite:///{tmp_path}/registry.db"
    return request.getfixturevalue("pg_server").create_sync()


async def _count(uri: str, table: str) -> int:
    parsed = parse_store_uri(uri)
    if parsed.kind == "sqlite":
        import sqlite3

        with sqlite3.connect(parsed.target) as conn:
            return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    conn = await asyncpg.connect(parsed.target)
    try:
        return await conn.fetchval(f"SELECT COUNT(*) FROM {table}")
    finally:
        await conn.close()


async def test_registry_in_its_own_database(make_client, store_uri, second_store_uri):
    client = await make_client(backend_store_uri=store_uri, registry_store_uri=second_store_uri)
    exp = (await call(client, "POST", "experiments/create", {"name": "split"}))["experiment_id"]
    run = (await make_run(client, exp))["run_id"]
    mid = (await call(client, "POST", "logged-models", {"experiment_id": exp, "source_run_id": run}))["model"]["info"][
        "model_id"
    ]
    await call(client, "POST", "registered-models/create", {"name": "split-model"})
    await call(
        client, "POST", "model-versions/create", {"name": "split-model", "source": f"models:/{mid}", "model_id": mid}
    )
    await call(
        client, "POST", "model-versions/create", {"name": "split-model", "source": f"runs:/{run}/model", "run_id": run}
    )
    assert await _count(second_store_uri, "registered_models") == 1
    assert await _count(second_store_uri, "model_versions") == 2
    assert await _count(store_uri, "registered_models") == 0
    assert await _count(store_uri, "logged_models") == 1
    tags = (await call(client, "GET", f"logged-models/{mid}"))["model"]["info"]["tags"]
    assert tags[0]["key"] == "mlflow.modelVersions"


async def test_concurrent_version_creation_over_http(client):
    await call(client, "POST", "registered-models/create", {"name": "busy"})
    run = (await make_run(client))["run_id"]
    results = await asyncio.gather(
        *(
            call(client, "POST", "model-versions/create", {"name": "busy", "source": f"runs:/{run}/m", "run_id": run})
            for _ in range(6)
        )
    )
    assert sorted(int(r["model_version"]["version"]) for r in results) == list(range(1, 7))
