"""The tracking store contract, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from aiotrack.errors import AiotrackError
from aiotrack.names import FLOAT_MAX
from aiotrack.stores.base import Batch, DatasetIn, MetricPoint, Page
from aiotrack.stores.sql.tracking import SqlTrackingStore

ROOT = "mlflow-artifacts:/"


@pytest.fixture
async def store(database):
    s = SqlTrackingStore(database)
    await s.initialize(ROOT)
    return s


async def new_run(store, experiment_id="0", name="r"):
    run = await store.create_run(experiment_id, "alice", 1000, [], name)
    return run["info"]["run_id"]


async def test_default_experiment_exists_once(store):
    await store.initialize(ROOT)  # idempotent
    exp = await store.get_experiment("0")
    assert exp["name"] == "Default"
    assert exp["artifact_location"] == "mlflow-artifacts:/0"
    assert (await store.get_experiment_by_name("Default"))["experiment_id"] == "0"


async def test_experiment_lifecycle(store):
    eid = await store.create_experiment("e", None, [{"key": "k", "value": "v"}], ROOT)
    exp = await store.get_experiment(eid)
    assert exp["artifact_location"] == f"mlflow-artifacts:/{eid}"
    assert exp["tags"] == [{"key": "k", "value": "v"}]
    with pytest.raises(AiotrackError) as err:
        await store.create_experiment("e", None, [], ROOT)
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"

    run_id = await new_run(store, eid)
    await store.delete_experiment(eid)
    assert (await store.get_experiment(eid))["lifecycle_stage"] == "deleted"
    assert (await store.get_run_info(run_id))["lifecycle_stage"] == "deleted"
    with pytest.raises(AiotrackError, match="deleted state"):
        await store.create_experiment("e", None, [], ROOT)
    with pytest.raises(AiotrackError) as err:
        await store.rename_experiment(eid, "other")
    assert err.value.error_code == "INVALID_STATE"
    await store.restore_experiment(eid)
    assert (await store.get_run_info(run_id))["lifecycle_stage"] == "active"
    await store.rename_experiment(eid, "renamed")
    assert (await store.get_experiment_by_name("renamed"))["experiment_id"] == eid
    with pytest.raises(AiotrackError) as err:
        await store.get_experiment_by_name("e")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


async def test_experiment_given_artifact_location_is_kept(store):
    eid = await store.create_experiment("loc", "s3://bucket/path", [], ROOT)
    assert (await store.get_experiment(eid))["artifact_location"] == "s3://bucket/path"
    run = await store.create_run(eid, "u", 1, [], "n")
    assert run["info"]["artifact_uri"] == f"s3://bucket/path/{run['info']['run_id']}/artifacts"


async def test_experiment_tags(store):
    eid = await store.create_experiment("tagged", None, [], ROOT)
    await store.set_experiment_tag(eid, "a", "1")
    await store.set_experiment_tag(eid, "a", "2")
    assert (await store.get_experiment(eid))["tags"] == [{"key": "a", "value": "2"}]
    await store.delete_experiment_tag(eid, "a")
    assert "tags" not in await store.get_experiment(eid)
    with pytest.raises(AiotrackError) as err:
        await store.delete_experiment_tag(eid, "a")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


async def test_unknown_and_malformed_experiment_ids(store):
    with pytest.raises(AiotrackError) as err:
        await store.get_experiment("12345")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(AiotrackError) as err:
        await store.get_experiment("abc")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(AiotrackError) as err:
        await store.get_experiment(str(2**70))
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


async def test_create_run_records_name_tag_and_artifact_uri(store):
    run = await store.create_run("0", "bob", 42, [{"key": "t", "value": "v"}], "my-run")
    info = run["info"]
    assert info["run_name"] == "my-run"
    assert info["status"] == "RUNNING"
    assert info["artifact_uri"] == f"mlflow-artifacts:/0/{info['run_id']}/artifacts"
    fetched = await store.get_run(info["run_id"])
    assert {t["key"]: t["value"] for t in fetched["data"]["tags"]} == {"t": "v", "mlflow.runName": "my-run"}
    assert fetched["info"]["user_id"] == "bob"
    assert fetched["info"]["start_time"] == 42


async def test_log_batch_history_latest_and_idempotence(store):
    run_id = await new_run(store)
    points = [
        MetricPoint("loss", 3.0, 100, 0),
        MetricPoint("loss", 2.0, 200, 1),
        MetricPoint("loss", 5.0, 150, 1),  # same step, earlier timestamp: not the latest
        MetricPoint("loss", 1.0, 50, 0),
    ]
    await store.log_batch(run_id, Batch(points, [], []))
    await store.log_batch(run_id, Batch(points[:2], [], []))  # a retried request adds nothing
    history, more = await store.get_metric_history(run_id, "loss", None, 0)
    assert more is None
    assert [(m["timestamp"], m["step"], m["value"]) for m in history] == [
        (50, 0, 1.0),
        (100, 0, 3.0),
        (150, 1, 5.0),
        (200, 1, 2.0),
    ]
    run = await store.get_run(run_id)
    assert run["data"]["metrics"] == [{"key": "loss", "value": 2.0, "timestamp": 200, "step": 1}]
    # a later point of an older step does not replace the latest
    await store.log_batch(run_id, Batch([MetricPoint("loss", 9.0, 999, 0)], [], []))
    run = await store.get_run(run_id)
    assert run["data"]["metrics"][0]["value"] == 2.0


async def test_nan_metrics_round_trip(store):
    run_id = await new_run(store)
    await store.log_batch(run_id, Batch([MetricPoint("m", 0.0, 1, 0, is_nan=True)], [], []))
    run = await store.get_run(run_id)
    assert run["data"]["metrics"] == [{"key": "m", "value": "NaN", "timestamp": 1, "step": 0}]
    history, _ = await store.get_metric_history(run_id, "m", None, 0)
    assert history[0]["value"] == "NaN"


async def test_params_immutable_and_tags_upserted(store):
    run_id = await new_run(store)
    await store.log_batch(run_id, Batch([], [{"key": "p", "value": "1"}], [{"key": "t", "value": "a"}]))
    await store.log_batch(run_id, Batch([], [{"key": "p", "value": "1"}], [{"key": "t", "value": "b"}]))
    with pytest.raises(AiotrackError, match="Changing param values is not allowed"):
        await store.log_batch(
            run_id, Batch([MetricPoint("x", 1.0, 1, 0)], [{"key": "p", "value": "2"}, {"key": "q", "value": "3"}], [])
        )
    run = await store.get_run(run_id)
    assert run["data"]["params"] == [{"key": "p", "value": "1"}]
    assert "metrics" not in run["data"]  # the failed batch wrote nothing
    assert {"key": "t", "value": "b"} in run["data"]["tags"]


async def test_run_name_tag_renames_run(store):
    run_id = await new_run(store)
    await store.log_batch(run_id, Batch([], [], [{"key": "mlflow.runName", "value": "renamed"}]))
    assert (await store.get_run_info(run_id))["run_name"] == "renamed"
    info = await store.update_run_info(run_id, "FINISHED", 5000, "final")
    assert info["run_name"] == "final"
    assert info["status"] == "FINISHED"
    assert info["end_time"] == 5000
    tags = {t["key"]: t["value"] for t in (await store.get_run(run_id))["data"]["tags"]}
    assert tags["mlflow.runName"] == "final"


async def test_deleted_run_refuses_logging_and_restores(store):
    run_id = await new_run(store)
    await store.delete_run(run_id)
    with pytest.raises(AiotrackError, match="must be in the 'active' state"):
        await store.log_batch(run_id, Batch([MetricPoint("m", 1.0, 1, 0)], [], []))
    await store.restore_run(run_id)
    await store.log_batch(run_id, Batch([MetricPoint("m", 1.0, 1, 0)], [], []))
    with pytest.raises(AiotrackError) as err:
        await store.log_batch("f" * 32, Batch([MetricPoint("m", 1.0, 1, 0)], [], []))
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


async def test_delete_tag(store):
    run_id = await new_run(store)
    await store.log_batch(run_id, Batch([], [], [{"key": "t", "value": "v"}]))
    await store.delete_tag(run_id, "t")
    with pytest.raises(AiotrackError) as err:
        await store.delete_tag(run_id, "t")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


async def test_log_inputs_dedupes_datasets_and_outputs(store):
    run_id = await new_run(store)
    ds = DatasetIn("train", "abc123", "local", '{"uri": "/x"}', '{"s": 1}', None, (("mlflow.data.context", "train"),))
    await store.log_inputs(run_id, [ds], ["m-1"])
    await store.log_inputs(run_id, [ds], [])
    other = await new_run(store)
    await store.log_inputs(other, [ds], [])
    await store.log_outputs(run_id, [("m-2", 3)])
    run = await store.get_run(run_id)
    inputs = run["inputs"]["dataset_inputs"]
    assert len(inputs) == 1
    assert inputs[0]["dataset"] == {
        "name": "train",
        "digest": "abc123",
        "source_type": "local",
        "source": '{"uri": "/x"}',
        "schema": '{"s": 1}',
    }
    assert inputs[0]["tags"] == [{"key": "mlflow.data.context", "value": "train"}]
    assert run["inputs"]["model_inputs"] == [{"model_id": "m-1"}]
    assert run["outputs"] == {"model_outputs": [{"model_id": "m-2", "step": 3}]}
    rows = await store.db.fetch("SELECT COUNT(*) FROM datasets")
    assert rows[0][0] == 1


async def test_metric_history_pages(store):
    run_id = await new_run(store)
    await store.log_batch(run_id, Batch([MetricPoint("m", float(i), i, i) for i in range(10)], [], []))
    page, cursor = await store.get_metric_history(run_id, "m", 4, 0)
    assert [m["step"] for m in page] == [0, 1, 2, 3] and cursor == (3, 3, 3.0, 0)
    page, cursor = await store.get_metric_history(run_id, "m", 4, 8)
    assert [m["step"] for m in page] == [8, 9] and cursor is None


async def test_metric_history_keyset_pages_equal_one_read_in_time_order(store):
    """Pages read after each cursor, of every size, add up to the one-read history: ties on the
    timestamp (steps in any order), on the step, equal values, NaN and infinities included."""
    run_id = await new_run(store)
    points = [
        MetricPoint("m", v, ts, step, is_nan=nan)
        for ts, step, v, nan in [
            (5, 9, 1.0, False),
            (5, 2, 1.0, False),  # same time, a lower step: first
            (5, 2, 0.5, False),  # same time and step, a lower value: before it
            (5, 2, 0.0, True),  # NaN at the same time and step (stored as 0.0 with is_nan)
            (1, 100, 7.0, False),  # an early time at a high step: first of all
            (9, 0, FLOAT_MAX, False),
            (9, 0, -FLOAT_MAX, False),
        ]
    ] + [MetricPoint("m", float(i % 3), 10 + i // 2, i, is_nan=False) for i in range(25)]
    await store.log_batch(run_id, Batch(points, [], []))
    whole, cursor = await store.get_metric_history(run_id, "m", None, 0)
    assert cursor is None and len(whole) == len(points)
    assert [m["timestamp"] for m in whole] == sorted(m["timestamp"] for m in whole)
    assert whole[0]["step"] == 100
    assert [(m["step"], m["value"]) for m in whole[1:5]] == [(2, "NaN"), (2, 0.5), (2, 1.0), (9, 1.0)]
    for size in (1, 2, 3, 7, 31, 32, 100):
        read, after = [], None
        while True:
            page, after = await store.get_metric_history(run_id, "m", size, 0, after)
            read += page
            assert len(page) <= size
            if after is None:
                break
        assert read == whole, size


async def test_bulk_interval_keeps_first_last_and_count(store):
    run_id = await new_run(store)
    await store.log_batch(run_id, Batch([MetricPoint("m", float(i), 1000 + i, i) for i in range(1000)], [], []))
    sampled = await store.get_metric_history_bulk_interval([run_id], "m", 10, None, None)
    steps = [m["step"] for m in sampled]
    assert len(steps) == 10 and steps[0] == 0 and steps[-1] == 999
    assert steps == sorted(steps)
    assert all(m["run_id"] == run_id for m in sampled)
    one = await store.get_metric_history_bulk_interval([run_id], "m", 1, None, None)
    assert [m["step"] for m in one] == [999]
    window = await store.get_metric_history_bulk_interval([run_id], "m", 2500, 100, 199)
    assert [m["step"] for m in window] == list(range(100, 200))


async def test_search_runs_hydrates_many_runs(store):
    eid = await store.create_experiment("many", None, [], ROOT)
    ids = []
    for i in range(30):
        rid = (await store.create_run(eid, "u", 1000 + i, [], f"r{i}"))["info"]["run_id"]
        await store.log_batch(rid, Batch([MetricPoint("m", float(i), 1, 0)], [{"key": "p", "value": str(i)}], []))
        ids.append(rid)
    runs, more = await store.search_runs([eid], "ACTIVE_ONLY", Page(None, [], 20, 0))
    assert more and len(runs) == 20
    assert [r["info"]["run_id"] for r in runs] == list(reversed(ids))[:20]  # start_time DESC
    assert all(r["data"]["metrics"][0]["value"] == float(ids.index(r["info"]["run_id"])) for r in runs)
    rest, more = await store.search_runs([eid], "ACTIVE_ONLY", Page(None, [], 20, 20))
    assert not more and len(rest) == 10
