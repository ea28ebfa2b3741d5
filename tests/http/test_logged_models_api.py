"""MLflow 3 logged-model endpoints in-process: shapes, search and paging, artifacts, errors."""

from __future__ import annotations

import base64
import json

from http_calls import API, H, call  # noqa: F401  (tests/http is on sys.path)


async def setup(client):
    exp = (await call(client, "POST", "experiments/create", {"name": "lm"}))["experiment_id"]
    run = (await call(client, "POST", "runs/create", {"experiment_id": exp}))["run"]["info"]["run_id"]
    return exp, run


async def test_logged_model_lifecycle(client):
    exp, run = await setup(client)
    created = await call(
        client,
        "POST",
        "logged-models",
        {
            "experiment_id": exp,
            "name": "model",
            "source_run_id": run,
            "model_type": "sklearn",
            "params": [{"key": "alpha", "value": "0.1"}],
            "tags": [{"key": "t", "value": "v"}],
        },
    )
    info = created["model"]["info"]
    mid = info["model_id"]
    assert info["artifact_uri"] == f"mlflow-artifacts:/{exp}/models/{mid}/artifacts"
    assert info["status"] == "LOGGED_MODEL_PENDING" and info["name"] == "model"
    assert created["model"]["data"] == {"params": [{"key": "alpha", "value": "0.1"}]}
    # Unnamed models get a generated name; absent strings come back empty, as from MLflow.
    anon = (await call(client, "POST", "logged-models", {"experiment_id": exp}))["model"]["info"]
    assert anon["name"] and anon["model_type"] == "" and anon["source_run_id"] == ""
    await call(client, "POST", "runs/outputs", {"run_id": run, "models": [{"model_id": mid, "step": 0}]})
    await call(
        client,
        "POST",
        "runs/log-metric",
        {
            "run_id": run,
            "key": "acc",
            "value": 0.75,
            "timestamp": 5,
            "step": 1,
            "model_id": mid,
            "dataset_name": "iris",
            "dataset_digest": "abc",
        },
    )
    ready = await call(client, "PATCH", f"logged-models/{mid}", {"model_id": mid, "status": "LOGGED_MODEL_READY"})
    assert ready["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    assert ready["model"]["data"]["metrics"] == [
        {
            "key": "acc",
            "value": 0.75,
            "timestamp": 5,
            "step": 1,
            "dataset_name": "iris",
            "dataset_digest": "abc",
            "model_id": mid,
            "run_id": run,
        }
    ]
    await call(client, "PATCH", f"logged-models/{mid}", {"status": 2})  # the enum number works too
    bad = await call(client, "PATCH", f"logged-models/{mid}", {"status": "DONE"}, status=400)
    assert bad["error_code"] == "INVALID_PARAMETER_VALUE"
    await call(client, "PATCH", f"logged-models/{mid}/tags", {"tags": [{"key": "x", "value": "y"}]})
    await call(
        client, "POST", f"logged-models/{mid}/params", {"model_id": mid, "params": [{"key": "beta", "value": "2"}]}
    )
    got = (await call(client, "GET", f"logged-models/{mid}"))["model"]
    assert {"key": "x", "value": "y"} in got["info"]["tags"]
    assert {"key": "beta", "value": "2"} in got["data"]["params"]
    await call(client, "DELETE", f"logged-models/{mid}/tags/x")
    missing_tag = await call(client, "DELETE", f"logged-models/{mid}/tags/x", status=404)
    assert missing_tag["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    await call(client, "DELETE", f"logged-models/{mid}")
    await call(client, "GET", f"logged-models/{mid}", status=404)
    await call(client, "GET", f"logged-models/{mid}", params={"allow_deleted": "true"})
    missing = await call(client, "GET", "logged-models/m-00000000000000000000000000000000", status=404)
    assert missing["message"] == "Logged model with ID 'm-00000000000000000000000000000000' not found."
    await call(client, "POST", "logged-models", {}, status=400)
    await call(client, "POST", "logged-models", {"experiment_id": exp, "name": "bad/name"}, status=400)
    await call(client, "POST", "logged-models", {"experiment_id": "424242"}, status=404)


async def test_search_as_the_client_uses_it_and_paging(client):
    exp, run = await setup(client)
    ids = []
    for i in range(5):
        ids.append(
            (
                await call(
                    client,
                    "POST",
                    "logged-models",
                    {"experiment_id": exp, "name": "model" if i % 2 == 0 else "other", "source_run_id": run},
                )
            )["model"]["info"]["model_id"]
        )
    # What `runs:/<run>/model` resolution sends (mlflow/store/artifact/runs_artifact_repo.py).
    found = await call(client, "POST", "logged-models/search", {"experiment_ids": [exp], "filter": "name = 'model'"})
    assert sorted(m["info"]["model_id"] for m in found["models"]) == sorted(ids[0::2])
    assert all(m["info"]["source_run_id"] == run for m in found["models"])
    page = await call(client, "POST", "logged-models/search", {"experiment_ids": [exp], "max_results": 2})
    assert len(page["models"]) == 2
    token = json.loads(base64.b64decode(page["next_page_token"]))
    assert token == {"experiment_ids": [exp], "filter_string": None, "order_by": None, "offset": 2}
    seen = [m["info"]["model_id"] for m in page["models"]]
    while "next_page_token" in page:
        page = await call(
            client,
            "POST",
            "logged-models/search",
            {"experiment_ids": [exp], "max_results": 2, "page_token": page["next_page_token"]},
        )
        seen += [m["info"]["model_id"] for m in page.get("models", [])]
    assert sorted(seen) == sorted(ids)
    mismatch = await call(
        client, "POST", "logged-models/search", {"experiment_ids": ["0"], "page_token": page_token_for(exp)}, status=400
    )
    assert "do not match" in mismatch["message"]
    await call(client, "POST", "logged-models/search", {"experiment_ids": [exp], "page_token": "%%%"}, status=400)
    await call(client, "POST", "logged-models/search", {}, status=400)
    await call(
        client,
        "POST",
        "logged-models/search",
        {"experiment_ids": [exp], "datasets": [{"dataset_digest": "x"}]},
        status=400,
    )
    bad_order = await call(
        client,
        "POST",
        "logged-models/search",
        {"experiment_ids": [exp], "order_by": [{"field_name": "bogus"}]},
        status=400,
    )
    assert bad_order["message"] == "Invalid order by field name: bogus"
    ordered = await call(
        client,
        "POST",
        "logged-models/search",
        {"experiment_ids": [exp], "order_by": [{"field_name": "name", "ascending": False}]},
    )
    assert ordered["models"][0]["info"]["name"] == "other"


def page_token_for(exp: str) -> str:
    data = {"experiment_ids": [exp], "filter_string": None, "order_by": None, "offset": 2}
    return base64.b64encode(json.dumps(data).encode()).decode()


async def test_logged_model_artifacts(client):
    exp, _run = await setup(client)
    mid = (await call(client, "POST", "logged-models", {"experiment_id": exp}))["model"]["info"]["model_id"]
    for rel, body in (("MLmodel", b"flavors: {}\n"), ("sub/model.pkl", b"\x00\x01")):
        resp = await client.put(f"/api/2.0/mlflow-artifacts/artifacts/{exp}/models/{mid}/artifacts/{rel}", data=body)
        assert resp.status == 200, await resp.text()
    listing = await call(client, "GET", f"logged-models/{mid}/artifacts/directories")
    assert listing["root_uri"] == f"mlflow-artifacts:/{exp}/models/{mid}/artifacts"
    assert listing["files"] == [{"path": "MLmodel", "is_dir": False, "file_size": 12}, {"path": "sub", "is_dir": True}]
    sub = await call(
        client, "GET", f"logged-models/{mid}/artifacts/directories", params={"artifact_directory_path": "sub"}
    )
    assert sub["files"] == [{"path": "sub/model.pkl", "is_dir": False, "file_size": 2}]
    resp = await client.get(
        f"/ajax-api/2.0/mlflow/logged-models/{mid}/artifacts/files", params={"artifact_file_path": "sub/model.pkl"}
    )
    assert resp.status == 200 and await resp.read() == b"\x00\x01"
    resp = await client.get(f"/ajax-api/2.0/mlflow/logged-models/{mid}/artifacts/files")
    assert resp.status == 400 and (await resp.json())["error_code"] == "BAD_REQUEST"
    for bad in ("../../../../etc/passwd", "%2e%2e/%2e%2e/x", "/etc/passwd", "sub/../../x"):
        resp = await client.get(
            f"/ajax-api/2.0/mlflow/logged-models/{mid}/artifacts/files", params={"artifact_file_path": bad}
        )
        assert resp.status == 400, bad
        resp = await client.get(
            f"{API}/logged-models/{mid}/artifacts/directories", params={"artifact_directory_path": bad}
        )
        assert resp.status == 400, bad
