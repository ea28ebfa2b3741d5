"""The registry store contract, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from aiotrack.errors import AiotrackError
from aiotrack.stores.base import ModelVersionIn, Page
from aiotrack.stores.sql.registry import SqlRegistryStore

PROMPT_TAG = {"key": "mlflow.prompt.is_prompt", "value": "true"}


@pytest.fixture
async def store(database):
    return SqlRegistryStore(database)


def code(err) -> str:
    return err.value.error_code


async def add_version(store, name, source="s3://b/x", run_id="r1", tags=(), model_id=None):
    return await store.create_model_version(
        name,
        ModelVersionIn(source, source, run_id=run_id, tags=list(tags), run_link="", description="", model_id=model_id),
    )


async def test_create_get_and_duplicate_names(store):
    rm = await store.create_registered_model("m", [{"key": "a", "value": "1"}], "desc")
    assert rm["name"] == "m" and rm["description"] == "desc"
    assert rm["tags"] == [{"key": "a", "value": "1"}]
    assert rm["creation_timestamp"] == rm["last_updated_timestamp"]
    assert "latest_versions" not in rm and "aliases" not in rm
    with pytest.raises(AiotrackError) as err:
        await store.create_registered_model("m", [], None)
    assert code(err) == "RESOURCE_ALREADY_EXISTS" and err.value.message == "Registered Model (name=m) already exists."
    with pytest.raises(AiotrackError) as err:
        await store.create_registered_model("m", [PROMPT_TAG], None)
    assert "already taken by a registered model" in err.value.message
    await store.create_registered_model("p", [PROMPT_TAG], None)
    with pytest.raises(AiotrackError) as err:
        await store.create_registered_model("p", [PROMPT_TAG], None)
    assert err.value.message == "Prompt (name=p) already exists."
    with pytest.raises(AiotrackError) as err:
        await store.get_registered_model("nope")
    assert code(err) == "RESOURCE_DOES_NOT_EXIST"
    assert err.value.message == "Registered Model with name=nope not found"


async def test_versions_are_numbered_and_never_reused(store):
    await store.create_registered_model("m", [], None)
    v1 = await add_version(store, "m", tags=[{"key": "t", "value": "x"}])
    assert v1["version"] == "1" and v1["current_stage"] == "None" and v1["status"] == "READY"
    assert v1["tags"] == [{"key": "t", "value": "x"}]
    v2 = await add_version(store, "m")
    assert v2["version"] == "2"
    await store.delete_model_version("m", 2)
    v3 = await add_version(store, "m")
    assert v3["version"] == "3"
    with pytest.raises(AiotrackError) as err:
        await store.get_model_version("m", 2)
    assert code(err) == "RESOURCE_DOES_NOT_EXIST"
    assert err.value.message == "Model Version (name=m, version=2) not found"
    with pytest.raises(AiotrackError) as err:
        await add_version(store, "missing")
    assert code(err) == "RESOURCE_DOES_NOT_EXIST"


async def test_concurrent_version_creation_gets_distinct_numbers(store):
    await store.create_registered_model("m", [], None)
    created = await asyncio.gather(*(add_version(store, "m") for _ in range(8)))
    assert sorted(int(v["version"]) for v in created) == list(range(1, 9))


async def test_stage_transitions_and_archiving(store):
    await store.create_registered_model("m", [], None)
    for _ in range(3):
        await add_version(store, "m")
    await store.transition_model_version_stage("m", 1, "Production", False)
    await store.transition_model_version_stage("m", 2, "Production", False)
    latest = await store.get_latest_versions("m", ["Production"])
    assert [v["version"] for v in latest] == ["2"]
    mv = await store.transition_model_version_stage("m", 3, "Production", True)
    assert mv["current_stage"] == "Production"
    assert (await store.get_model_version("m", 1))["current_stage"] == "Archived"
    assert (await store.get_model_version("m", 2))["current_stage"] == "Archived"
    stages = {v["current_stage"]: v["version"] for v in await store.get_latest_versions("m", None)}
    assert stages == {"Archived": "2", "Production": "3"}
    rm = await store.get_registered_model("m")
    assert {v["version"] for v in rm["latest_versions"]} == {"2", "3"}


async def test_aliases(store):
    await store.create_registered_model("m", [], None)
    await add_version(store, "m")
    await add_version(store, "m")
    await store.set_registered_model_alias("m", "champ", 1)
    await store.set_registered_model_alias("m", "champ", 2)  # moves
    mv = await store.get_model_version_by_alias("m", "champ")
    assert mv["version"] == "2" and mv["aliases"] == ["champ"]
    assert (await store.get_registered_model("m"))["aliases"] == [{"alias": "champ", "version": "2"}]
    assert (await store.get_model_version_by_alias("m", "LATEST"))["version"] == "2"
    with pytest.raises(AiotrackError) as err:
        await store.get_model_version_by_alias("m", "nope")
    assert code(err) == "INVALID_PARAMETER_VALUE"
    await store.delete_model_version("m", 2)  # drops the alias with it
    assert "aliases" not in await store.get_registered_model("m")
    await store.set_registered_model_alias("m", "a", 1)
    await store.delete_registered_model_alias("m", "a")
    await store.delete_registered_model_alias("m", "a")  # missing alias: not an error
    with pytest.raises(AiotrackError):
        await store.set_registered_model_alias("m", "x", 2)  # deleted version


async def test_tags(store):
    await store.create_registered_model("m", [], None)
    await add_version(store, "m")
    await store.set_registered_model_tag("m", "k", "v1")
    await store.set_registered_model_tag("m", "k", "v2")
    assert (await store.get_registered_model("m"))["tags"] == [{"key": "k", "value": "v2"}]
    await store.delete_registered_model_tag("m", "k")
    assert "tags" not in await store.get_registered_model("m")
    await store.set_model_version_tag("m", 1, "k", "v")
    assert (await store.get_model_version("m", 1))["tags"] == [{"key": "k", "value": "v"}]
    await store.delete_model_version_tag("m", 1, "k")
    assert "tags" not in await store.get_model_version("m", 1)
    with pytest.raises(AiotrackError):
        await store.set_model_version_tag("m", 9, "k", "v")


async def test_rename_moves_versions_tags_aliases_and_delete_removes_all(store):
    await store.create_registered_model("old", [{"key": "a", "value": "b"}], None)
    await add_version(store, "old", tags=[{"key": "t", "value": "u"}])
    await store.set_registered_model_alias("old", "champ", 1)
    await store.create_registered_model("taken", [], None)
    with pytest.raises(AiotrackError) as err:
        await store.rename_registered_model("old", "taken")
    assert code(err) == "RESOURCE_ALREADY_EXISTS"
    rm = await store.rename_registered_model("old", "new")
    assert rm["name"] == "new" and rm["tags"] == [{"key": "a", "value": "b"}]
    mv = await store.get_model_version("new", 1)
    assert mv["tags"] == [{"key": "t", "value": "u"}] and mv["aliases"] == ["champ"]
    with pytest.raises(AiotrackError):
        await store.get_registered_model("old")
    await store.delete_registered_model("new")
    with pytest.raises(AiotrackError):
        await store.get_model_version("new", 1)
    # The name can be reused and starts from version 1 again.
    await store.create_registered_model("new", [], None)
    assert (await add_version(store, "new"))["version"] == "1"
    assert "tags" not in await store.get_registered_model("new")


async def test_delete_model_version_redacts(store):
    await store.create_registered_model("m", [], None)
    await add_version(store, "m", source="s3://bucket/secret")
    await store.delete_model_version("m", 1)
    rows = await store.db.fetch("SELECT source, run_id, current_stage FROM model_versions WHERE name = 'm'")
    assert [tuple(r) for r in rows] == [("REDACTED-SOURCE-PATH", "REDACTED-RUN-ID", "Deleted_Internal")]
    assert (await store.search_model_versions(Page("name = 'm'", [], 10, 0))) == ([], False)


async def test_update_and_download_uri(store):
    await store.create_registered_model("m", [], None)
    await store.create_model_version(
        "m",
        ModelVersionIn(
            "models:/m-abc",
            "mlflow-artifacts:/1/models/m-abc/artifacts",
            run_id="r",
            tags=[],
            run_link="",
            description="",
            model_id="m-abc",
        ),
    )
    assert await store.get_model_version_download_uri("m", 1) == "mlflow-artifacts:/1/models/m-abc/artifacts"
    mv = await store.update_model_version("m", 1, "new description")
    assert mv["description"] == "new description"
    rm = await store.update_registered_model("m", "model description")
    assert rm["description"] == "model description"
    internal = await store.get_model_version_internal("m", 1)
    assert internal["model_id"] == "m-abc"


async def test_search_registered_models(store):
    for name in ("alpha", "beta", "gamma", "delta"):
        await store.create_registered_model(name, [{"key": "team", "value": "x" if name != "beta" else "y"}], None)
    await store.create_registered_model("prompt1", [PROMPT_TAG], None)

    async def names(filt=None, order=(), max_results=100, offset=0):
        models, _more = await store.search_registered_models(Page(filt, list(order), max_results, offset))
        return [m["name"] for m in models]

    assert await names() == ["alpha", "beta", "delta", "gamma"]  # name ASC, prompts left out
    assert await names("name LIKE 'AL%'") == []
    assert await names("name ILIKE 'AL%'") == ["alpha"]
    assert await names("name LIKE '%a'") == ["alpha", "beta", "delta", "gamma"]
    assert await names("name IN ('beta', 'gamma')") == ["beta", "gamma"]
    assert await names("tags.team = 'x'") == ["alpha", "delta", "gamma"]
    assert await names("tags.team != 'x'") == ["beta"]
    assert await names("tags.missing != 'x'") == []
    assert await names("name != 'alpha' AND tags.team = 'x'") == ["delta", "gamma"]
    assert await names("tags.`mlflow.prompt.is_prompt` = 'true'") == ["prompt1"]
    assert await names("tags.`mlflow.prompt.is_prompt` = 'false'") == ["alpha", "beta", "delta", "gamma"]
    assert await names(order=["name DESC"]) == ["gamma", "delta", "beta", "alpha"]
    await store.set_registered_model_tag("beta", "touch", "1")
    await store.update_registered_model("beta", "x")
    assert (await names(order=["timestamp DESC"]))[0] == "beta"
    first, more = await store.search_registered_models(Page(None, [], 2, 0))
    assert [m["name"] for m in first] == ["alpha", "beta"] and more
    rest, more = await store.search_registered_models(Page(None, [], 2, 2))
    assert [m["name"] for m in rest] == ["delta", "gamma"] and not more
    for bad in ("name = 'a' OR name = 'b'", "params.x = '1'", "tags.a > 'b'"):
        with pytest.raises(AiotrackError) as err:
            await store.search_registered_models(Page(bad, [], 10, 0))
        assert code(err) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(AiotrackError):
        await store.search_registered_models(Page(None, ["bogus"], 10, 0))


async def test_search_model_versions(store):
    await store.create_registered_model("a", [], None)
    await store.create_registered_model("b", [], None)
    await add_version(store, "a", run_id="r1", source="s3://x/1", tags=[{"key": "k", "value": "1"}])
    await add_version(store, "a", run_id="r2", source="s3://x/2")
    await add_version(store, "b", run_id="r1", source="s3://y/1")
    await store.create_registered_model("p", [PROMPT_TAG], None)
    await add_version(store, "p", source="dummy-source", tags=[PROMPT_TAG])

    async def found(filt=None, order=(), max_results=100, offset=0):
        versions, _ = await store.search_model_versions(Page(filt, list(order), max_results, offset))
        return [(v["name"], v["version"]) for v in versions]

    assert set(await found()) == {("a", "1"), ("a", "2"), ("b", "1")}
    assert await found("name = 'a'", ["version_number ASC"]) == [("a", "1"), ("a", "2")]
    assert await found("run_id = 'r1'", ["name ASC"]) == [("a", "1"), ("b", "1")]
    assert await found("run_id IN ('r2')") == [("a", "2")]
    assert await found("version_number > 1") == [("a", "2")]
    assert await found("version_number = '2'") == [("a", "2")]
    assert await found("source_path LIKE 's3://y/%'") == [("b", "1")]
    assert await found("tags.k = '1'") == [("a", "1")]
    assert await found("tags.`mlflow.prompt.is_prompt` = 'true'") == [("p", "1")]
    assert await found(order=["name DESC", "version_number ASC"]) == [("b", "1"), ("a", "1"), ("a", "2")]
    page, more = await store.search_model_versions(Page(None, ["name ASC", "version_number ASC"], 2, 0))
    assert [(v["name"], v["version"]) for v in page] == [("a", "1"), ("a", "2")] and more
    for bad in ("version_number > 1.5", "run_id LIKE 'r%' OR name = 'a'", "tags.k IN ('1')"):
        with pytest.raises(AiotrackError) as err:
            await store.search_model_versions(Page(bad, [], 10, 0))
        assert code(err) == "INVALID_PARAMETER_VALUE"
