"""The logged-model store contract (and metrics logged with a model id), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re

import pytest

from aiotrack.errors import AiotrackError
from aiotrack.stores.base import Batch, LoggedModelIn, LoggedModelSearch, MetricPoint
from aiotrack.stores.sql.logged_models import SqlLoggedModelStore
from aiotrack.stores.sql.tracking import SqlTrackingStore

ROOT = "mlflow-artifacts:/"


@pytest.fixture
async def stores(database):
    tracking = SqlTrackingStore(database)
    await tracking.initialize(ROOT)
    return tracking, SqlLoggedModelStore(database)


async def test_create_get_finalize_delete(stores):
    tracking, lm = stores
    eid = await tracking.create_experiment("e", None, [], ROOT)
    run = await tracking.create_run(eid, "u", 1, [], "r")
    run_id = run["info"]["run_id"]
    model = await lm.create_logged_model(
        eid,
        LoggedModelIn(
            "model",
            model_type="sk",
            source_run_id=run_id,
            params=[{"key": "p", "value": "1"}],
            tags=[{"key": "t", "value": "v"}],
        ),
    )
    info = model["info"]
    assert re.fullmatch(r"m-[0-9a-f]{32}", info["model_id"])
    assert info["artifact_uri"] == f"mlflow-artifacts:/{eid}/models/{info['model_id']}/artifacts"
    assert info["status"] == "LOGGED_MODEL_PENDING" and info["experiment_id"] == eid
    assert info["source_run_id"] == run_id and info["model_type"] == "sk"
    assert info["tags"] == [{"key": "t", "value": "v"}]
    assert model["data"] == {"params": [{"key": "p", "value": "1"}]}
    ready = await lm.finalize_logged_model(info["model_id"], 2)
    assert ready["info"]["status"] == "LOGGED_MODEL_READY"
    await lm.set_logged_model_tags(info["model_id"], [{"key": "t", "value": "w"}, {"key": "u", "value": "x"}])
    await lm.log_logged_model_params(info["model_id"], [{"key": "q", "value": "2"}])
    got = await lm.get_logged_model(info["model_id"])
    assert got["info"]["tags"] == [{"key": "t", "value": "w"}, {"key": "u", "value": "x"}]
    assert got["data"]["params"] == [{"key": "p", "value": "1"}, {"key": "q", "value": "2"}]
    await lm.delete_logged_model_tag(info["model_id"], "u")
    with pytest.raises(AiotrackError) as err:
        await lm.delete_logged_model_tag(info["model_id"], "u")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    await lm.delete_logged_model(info["model_id"])
    with pytest.raises(AiotrackError) as err:
        await lm.get_logged_model(info["model_id"])
    assert err.value.message == f"Logged model with ID '{info['model_id']}' not found."
    assert (await lm.get_logged_model(info["model_id"], allow_deleted=True))["info"]["model_id"] == info["model_id"]
    with pytest.raises(AiotrackError) as err:
        await lm.create_logged_model(
            "12345", LoggedModelIn("x", model_type=None, source_run_id=None, params=[], tags=[])
        )
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


async def test_model_metrics_from_log_batch(stores):
    tracking, lm = stores
    run_id = (await tracking.create_run("0", "u", 1, [], "r"))["info"]["run_id"]
    mid = (
        await lm.create_logged_model("0", LoggedModelIn("m", model_type=None, source_run_id=run_id, params=[], tags=[]))
    )["info"]["model_id"]
    await tracking.log_batch(
        run_id,
        Batch(
            [
                MetricPoint("acc", 0.5, 10, 1, model_id=mid, dataset_name="ds", dataset_digest="d1"),
                MetricPoint("acc", 0.0, 11, 2, is_nan=True, model_id=mid),
                MetricPoint("plain", 1.0, 10, 1),
            ],
            [],
            [],
        ),
    )
    metrics = (await lm.get_logged_model(mid))["data"]["metrics"]
    assert metrics == [
        {
            "key": "acc",
            "value": 0.5,
            "timestamp": 10,
            "step": 1,
            "dataset_name": "ds",
            "dataset_digest": "d1",
            "model_id": mid,
            "run_id": run_id,
        },
        {"key": "acc", "value": "NaN", "timestamp": 11, "step": 2, "model_id": mid, "run_id": run_id},
    ]
    # The run's own metrics are unaffected, and a retried request is harmless.
    await tracking.log_batch(run_id, Batch([MetricPoint("acc", 0.5, 10, 1, model_id=mid)], [], []))
    assert len((await lm.get_logged_model(mid))["data"]["metrics"]) == 2
    with pytest.raises(AiotrackError) as err:
        await tracking.log_batch(run_id, Batch([MetricPoint("acc", 1.0, 1, 1, model_id="m-missing")], [], []))
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


async def test_search(stores):
    tracking, lm = stores
    e1 = await tracking.create_experiment("e1", None, [], ROOT)
    e2 = await tracking.create_experiment("e2", None, [], ROOT)
    run_id = (await tracking.create_run(e1, "u", 1, [], "r"))["info"]["run_id"]
    ids = {}
    for name, acc, exp in (("a", 0.9, e1), ("b", 0.5, e1), ("c", None, e1), ("model", 0.7, e2)):
        model = await lm.create_logged_model(
            exp,
            LoggedModelIn(
                name,
                model_type="t" if name != "b" else "u",
                source_run_id=run_id,
                params=[{"key": "lr", "value": name}],
                tags=[{"key": "k", "value": name}],
            ),
        )
        ids[name] = model["info"]["model_id"]
        await asyncio.sleep(0.005)  # distinct creation timestamps: the default order is newest first
        if acc is not None and exp == e1:
            await tracking.log_batch(
                run_id,
                Batch(
                    [MetricPoint("acc", acc, 5, 0, model_id=ids[name], dataset_name="ds", dataset_digest="d")], [], []
                ),
            )
    await lm.finalize_logged_model(ids["a"], 2)
    await lm.delete_logged_model(ids["c"])

    async def names(filt=None, exps=(e1,), datasets=None, order=None, max_results=100, offset=0):
        models, _ = await lm.search_logged_models(
            list(exps), LoggedModelSearch(filt, datasets, order, max_results, offset)
        )
        return [m["info"]["name"] for m in models]

    assert await names() == ["b", "a"]  # newest first, deleted left out
    assert await names(exps=(e1, e2)) == ["model", "b", "a"]
    assert await names("name = 'model'", exps=(e1, e2)) == ["model"]
    assert await names("metrics.acc > 0.6") == ["a"]
    assert await names("metrics.acc >= 0.5 AND params.lr = 'b'") == ["b"]
    assert await names("tags.k LIKE 'a%'") == ["a"]
    assert await names("model_type IN ('u')") == ["b"]
    assert await names("status = 'READY'") == ["a"]
    assert await names("status = 'LOGGED_MODEL_PENDING'") == ["b"]
    assert await names(f"source_run_id = '{run_id}'") == ["b", "a"]
    assert await names(datasets=[{"dataset_name": "ds"}]) == ["b", "a"]
    assert await names(datasets=[{"dataset_name": "ds", "dataset_digest": "other"}]) == []
    assert await names(order=[{"field_name": "metrics.acc", "ascending": True}]) == ["b", "a"]
    assert await names(order=[{"field_name": "metrics.acc", "ascending": False}]) == ["a", "b"]
    assert await names(order=[{"field_name": "name", "ascending": True}]) == ["a", "b"]
    assert await names(exps=("999",)) == []
    page, more = await lm.search_logged_models([e1, e2], LoggedModelSearch(None, None, None, 2, 0))
    assert len(page) == 2 and more
    page, more = await lm.search_logged_models([e1, e2], LoggedModelSearch(None, None, None, 2, 2))
    assert len(page) == 1 and not more
    for bad in ("metrics.acc > 'x'", "name > 'a'", "bogus = 'x'", "status = 'SOMETIMES'"):
        with pytest.raises(AiotrackError) as err:
            await names(bad)
        assert err.value.error_code == "INVALID_PARAMETER_VALUE", bad
    with pytest.raises(AiotrackError) as err:
        await names(order=[{"field_name": "bogus"}])
    assert err.value.message == "Invalid order by field name: bogus"
    with pytest.raises(AiotrackError):
        await names(order=[{"field_name": "params.lr"}])
