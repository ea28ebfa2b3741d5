"""The bulk store (import units, permanent deletes) on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from aiotrack.stores.base import Batch, MetricPoint
from aiotrack.stores.sql.bulk import BulkStore
from aiotrack.stores.sql.database import IntegrityViolation
from aiotrack.stores.sql.tracking import SqlTrackingStore

ROOT = "mlflow-artifacts:/"


@pytest.fixture
async def stores(database):
    tracking = SqlTrackingStore(database)
    await tracking.initialize(ROOT)
    return tracking, BulkStore(database)


async def _run_with_data(tracking) -> str:
    run_id = (await tracking.create_run("0", "u", 1, [{"key": "t", "value": "v"}], "r"))["info"]["run_id"]
    await tracking.log_batch(run_id, Batch([MetricPoint("m", 1.5, 1, 0)], [{"key": "p", "value": "1"}], []))
    return run_id


async def _count(db, table: str, run_id: str) -> int:
    row = await db.fetchrow(f"SELECT COUNT(*) FROM {table} WHERE run_uuid = ?", (run_id,))
    return int(row[0])


async def test_hard_delete_never_removes_an_active_run(stores, database):
    tracking, bulk = stores
    active, deleted = await _run_with_data(tracking), await _run_with_data(tracking)
    await tracking.delete_run(deleted)
    tables = ("runs", "metrics", "latest_metrics", "params", "tags")
    before = [await _count(database, table, active) for table in tables]
    assert all(before)
    assert await bulk.hard_delete_runs([active, deleted]) == 1
    assert [await _count(database, table, active) for table in tables] == before
    for table in tables:
        assert await _count(database, table, deleted) == 0, table
    assert (await tracking.get_run(active))["data"]["params"] == [{"key": "p", "value": "1"}]


async def test_hard_delete_experiment_keeps_one_with_active_runs(stores, database):
    tracking, bulk = stores
    eid = await tracking.create_experiment("doomed", None, [], ROOT)
    run_id = (await tracking.create_run(eid, "u", 1, [], "r"))["info"]["run_id"]
    await tracking.delete_experiment(eid)
    # A run brought back to active inside the deleted experiment keeps the experiment alive.
    async with database.transaction() as tx:
        await tx.execute("UPDATE runs SET lifecycle_stage = 'active' WHERE run_uuid = ?", (run_id,))
    assert await bulk.hard_delete_experiment(int(eid)) is False
    assert await tracking.get_experiment(eid)
    async with database.transaction() as tx:
        await tx.execute("UPDATE runs SET lifecycle_stage = 'deleted' WHERE run_uuid = ?", (run_id,))
    assert await bulk.hard_delete_runs([run_id]) == 1
    assert await bulk.hard_delete_experiment(int(eid)) is True
    assert await database.fetchrow("SELECT 1 FROM experiments WHERE experiment_id = ?", (int(eid),)) is None


async def test_an_experiment_unit_is_all_or_nothing_and_journaled(stores, database):
    _tracking, bulk = stores
    row = (7, "imported", "mlflow-artifacts:/7", "active", 1, 2)
    run = (
        "r" * 32,
        7,
        "n",
        "LOCAL",
        "",
        "",
        "u",
        "FINISHED",
        1,
        2,
        None,
        "",
        "active",
        "mlflow-artifacts:/7/r/artifacts",
    )
    with pytest.raises(IntegrityViolation):
        async with bulk.experiment_unit("src", 7) as unit:
            await unit.rows("experiments", [row])
            await unit.rows("runs", [run])
            await unit.rows("params", [(run[0], "k", "v"), (run[0], "k", "again")])  # a duplicate key
    assert await database.fetchrow("SELECT 1 FROM experiments WHERE experiment_id = 7") is None
    assert await bulk.journal("src") == set()

    async with bulk.experiment_unit("src", 7) as unit:
        await unit.rows("experiments", [row])
        await unit.rows("runs", [run])
        await unit.rows("metrics", [(run[0], "m", 0, 1, 0.5, 0), (run[0], "m", 1, 2, 0.0, 1)])
    assert await bulk.journal("src") == {("experiment", "7")}
    assert await bulk.unit_counts([7]) == {
        **dict.fromkeys(await bulk.unit_counts([]), 0),
        "experiments": 1,
        "runs": 1,
        "metrics": 2,
    }
    assert await bulk.metric_sums([7]) == {run[0]: (2, 1, 0, 0.5)}
    await bulk.resync_identities()
    tracking = SqlTrackingStore(database)
    assert int(await tracking.create_experiment("after the import", None, [], ROOT)) == 8


async def test_a_traces_unit_is_journaled_counted_and_goes_with_its_deleted_experiment(stores, database):
    tracking, bulk = stores
    eid = int(await tracking.create_experiment("traced", None, [], ROOT))
    kept = int(await tracking.create_experiment("kept", None, [], ROOT))
    span = ("tr-a", "0123456789abcdef", None, "root", "CHAIN", "OK", 1_000_000, 2_000_000, "{}")
    assessment = ("a-1", "tr-a", "helpful", "feedback", "true", 1, None, 1, 1, "{}")
    for trace_id, experiment in (("tr-a", eid), ("tr-b", kept)):
        async with bulk.traces_unit("src", experiment) as unit:
            await unit.rows("trace_info", [(trace_id, experiment, 1, 1, "OK", None, None, None, 1)])
            await unit.rows("trace_tags", [(trace_id, "mlflow.artifactLocation", f"{ROOT}{experiment}/traces")])
            await unit.rows("trace_request_metadata", [(trace_id, "mlflow.sourceRun", "r")])
            await unit.rows("spans", [(trace_id, *span[1:])])
            if trace_id == "tr-a":
                await unit.rows("assessments", [assessment])
                await unit.rows("trace_links", [("tr-a", "RUN", "r")])
    assert await bulk.journal("src") == {("experiment_traces", str(eid)), ("experiment_traces", str(kept))}
    counts = await bulk.trace_counts([eid, kept])
    assert counts[eid] == dict.fromkeys(counts[eid], 1)
    assert counts[kept] == {**counts[eid], "assessments": 0, "trace_links": 0}
    assert await bulk.traces_of_experiment(eid) == [("tr-a", f"{ROOT}{eid}/traces")]

    assert await bulk.hard_delete_experiment(eid) is False  # still active: nothing goes
    assert (await bulk.trace_counts([eid]))[eid]["spans"] == 1
    await tracking.delete_experiment(str(eid))
    assert await bulk.hard_delete_experiment(eid) is True
    assert (await bulk.trace_counts([eid]))[eid] == dict.fromkeys(counts[eid], 0)
    assert (await bulk.trace_counts([kept]))[kept] == counts[kept]  # the other experiment's trace stays
