"""Searches answer only what the caller may read, and page correctly: the filter is in the SQL."""

from __future__ import annotations

import pytest
from auth_support import ADMIN, As, add_user, grant, make_auth_client


async def _pages(user: As, method: str, path: str, field: str, body: dict) -> list[list[dict]]:
    pages, token = [], None
    while True:
        req = {**body, **({"page_token": token} if token else {})}
        if method == "GET":
            data = await user.get(path, {k: str(v) for k, v in req.items()})
        else:
            data = await user.post(path, req)
        pages.append(data.get(field, []))
        token = data.get("next_page_token")
        if not token:
            return pages


@pytest.mark.parametrize("default", ["NO_PERMISSIONS", "READ"])
async def test_experiment_and_run_search_filter_before_paging(aiohttp_client, store_uri, tmp_path, default):
    client = await make_auth_client(aiohttp_client, store_uri, tmp_path, default_permission=default)
    admin = As(client, ADMIN)
    await add_user(admin, "u")
    exps = [(await admin.post("2.0/mlflow/experiments/create", {"name": f"e{i}"}))["experiment_id"] for i in range(9)]
    runs = {}
    for e in exps:
        runs[e] = (await admin.post("2.0/mlflow/runs/create", {"experiment_id": e}))["run"]["info"]["run_id"]
    if default == "NO_PERMISSIONS":
        readable = exps[::3]  # e0, e3, e6
        for e in readable:
            await grant(admin, "u", "experiment", e, "READ")
    else:
        hidden = exps[1::2]  # denied; the default experiment "0" stays readable
        for e in hidden:
            await grant(admin, "u", "experiment", e, "DENY")
        readable = ["0", *[e for e in exps if e not in hidden]]
    user = As(client, "u")
    pages = await _pages(user, "GET", "2.0/mlflow/experiments/search", "experiments", {"max_results": 2})
    assert all(len(p) == 2 for p in pages[:-1]) and 1 <= len(pages[-1]) <= 2  # full pages, no gaps
    assert sorted(e["experiment_id"] for p in pages for e in p) == sorted(readable)
    # runs/search over every experiment answers the readable ones' runs, in full pages
    pages = await _pages(user, "POST", "2.0/mlflow/runs/search", "runs", {"experiment_ids": exps, "max_results": 1})
    assert sorted(r["info"]["run_id"] for p in pages for r in p) == sorted(runs[e] for e in readable if e in runs)
    hidden_only = [e for e in exps if e not in readable]
    assert await user.post("2.0/mlflow/runs/search", {"experiment_ids": hidden_only}) == {}
    # and so does the web UI's runs table, its variant
    table = await _pages(user, "POST", "2.0/aiotrack/runs/table", "runs", {"experiment_ids": exps, "max_results": 1})
    assert [[r["info"]["run_id"] for r in p] for p in table] == [[r["info"]["run_id"] for r in p] for p in pages]
    assert await user.post("2.0/aiotrack/runs/table", {"experiment_ids": hidden_only}) == {}
    # the admin still sees everything
    everything = await _pages(admin, "GET", "2.0/mlflow/experiments/search", "experiments", {"max_results": 4})
    assert len([e for p in everything for e in p]) == 10


async def test_registry_searches_filter_models_and_prompts_apart(aiohttp_client, store_uri, tmp_path):
    client = await make_auth_client(aiohttp_client, store_uri, tmp_path, default_permission="NO_PERMISSIONS")
    admin = As(client, ADMIN)
    await add_user(admin, "u")
    prompt_tag = [{"key": "mlflow.prompt.is_prompt", "value": "true"}]
    run = (await admin.post("2.0/mlflow/runs/create", {"experiment_id": "0"}))["run"]["info"]["run_id"]
    for i in range(6):
        await admin.post("2.0/mlflow/registered-models/create", {"name": f"m{i}"})
        version = {"name": f"m{i}", "source": f"runs:/{run}/model", "run_id": run}
        await admin.post("2.0/mlflow/model-versions/create", version)
        await admin.post("2.0/mlflow/registered-models/create", {"name": f"p{i}", "tags": prompt_tag})
    for name in ("m1", "m4"):
        await grant(admin, "u", "registered_model", name, "READ")
    await grant(admin, "u", "prompt", "p2", "READ")
    await grant(admin, "u", "registered_model", "p3", "READ")  # a model grant does not open a prompt
    user = As(client, "u")
    pages = await _pages(user, "GET", "2.0/mlflow/registered-models/search", "registered_models", {"max_results": 1})
    assert [m["name"] for p in pages for m in p] == ["m1", "m4"]
    prompts = await user.get(
        "2.0/mlflow/registered-models/search", {"filter": "tags.`mlflow.prompt.is_prompt` = 'true'"}
    )
    assert [m["name"] for m in prompts["registered_models"]] == ["p2"]
    versions = await user.get("2.0/mlflow/model-versions/search", {"max_results": "10"})
    assert sorted(v["name"] for v in versions["model_versions"]) == ["m1", "m4"]
    await user.get("2.0/mlflow/registered-models/get", {"name": "m2"}, status=403)
    await user.get("2.0/mlflow/registered-models/get", {"name": "p2"})
    await user.get("2.0/mlflow/registered-models/get", {"name": "p3"}, status=403)
