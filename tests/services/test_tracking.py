"""The tracking service's own rules (aiotrack/services/tracking.py): run names, tags, view
types, page sizes and paging, on a real SQLite store."""

from __future__ import annotations

import base64
import re

import orjson
import pytest

from aiotrack import names
from aiotrack.errors import AiotrackError
from aiotrack.names import RUN_NAME_TAG
from aiotrack.services import tracking as t
from aiotrack.services.paging import make_token
from aiotrack.stores.sql import migrations
from aiotrack.stores.sql.database import SqliteDatabase
from aiotrack.stores.sql.tracking import SqlTrackingStore


@pytest.fixture
async def service(tmp_path):
    db = await SqliteDatabase(str(tmp_path / "t.db")).open()
    await migrations.upgrade(db)
    store = SqlTrackingStore(db)
    await store.initialize(str(tmp_path / "artifacts"))
    yield t.TrackingService(store, str(tmp_path / "artifacts"))
    await db.close()


def name_tag(run) -> str | None:
    return next((x["value"] for x in run["data"].get("tags", []) if x["key"] == RUN_NAME_TAG), None)


@pytest.mark.parametrize(
    ("run_name", "tags", "expected"),
    [
        ("given", [], "given"),
        (None, [{"key": RUN_NAME_TAG, "value": "from-tag"}], "from-tag"),
        ("same", [{"key": RUN_NAME_TAG, "value": "same"}], "same"),
        ("", [{"key": RUN_NAME_TAG, "value": "from-tag"}], "from-tag"),
    ],
)
async def test_run_name_rules(service, run_name, tags, expected):
    run = await service.create_run("0", "me", 1, tags, run_name)
    assert run["info"]["run_name"] == expected
    assert name_tag(await service.get_run(run["info"]["run_id"])) == expected


async def test_a_run_without_a_name_gets_a_random_one(service):
    names = {(await service.create_run(None, None, None, [], None))["info"]["run_name"] for _ in range(5)}
    assert all(re.fullmatch(r"[a-z]+-[a-z]+-\d{1,3}", n) for n in names)
    assert len(names) > 1


async def test_run_name_and_tag_must_agree(service):
    with pytest.raises(AiotrackError, match=r"Both 'run_name' argument and 'mlflow\.runName' tag are specified"):
        await service.create_run("0", "me", 1, [{"key": RUN_NAME_TAG, "value": "b"}], "a")


@pytest.mark.parametrize(
    ("value", "stored"),
    [(None, ""), ("", ""), ("x" * (names.MAX_TAG_VAL_LENGTH + 10), "x" * names.MAX_TAG_VAL_LENGTH)],
)
async def test_run_tag_values(service, value, stored):
    run = await service.create_run("0", "me", 1, [], "r")
    await service.set_tag(run["info"]["run_id"], "k", value)
    tags = {x["key"]: x["value"] for x in (await service.get_run(run["info"]["run_id"]))["data"]["tags"]}
    assert tags["k"] == stored


@pytest.mark.parametrize(("value", "message"), [(5, "Expected a string."), ({"a": 1}, "Expected a string.")])
async def test_run_tag_value_must_be_a_string(service, value, message):
    run = await service.create_run("0", "me", 1, [], "r")
    with pytest.raises(AiotrackError, match=message):
        await service.set_tag(run["info"]["run_id"], "k", value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "ACTIVE_ONLY"),
        ("", "ACTIVE_ONLY"),
        ("all", "ALL"),
        ("DELETED_ONLY", "DELETED_ONLY"),
        (1, "ACTIVE_ONLY"),
        ("2", "DELETED_ONLY"),
        (3, "ALL"),
    ],
)
def test_view_types(value, expected):
    assert t._view_type(value) == expected


@pytest.mark.parametrize("value", ["ACTIVE", 4, "0", "9"])
def test_view_type_refused(value):
    with pytest.raises(AiotrackError, match="view_type"):
        t._view_type(value)


@pytest.mark.parametrize(("max_results", "expected"), [(None, names.SEARCH_MAX_RESULTS_DEFAULT), (1, 1), (50, 50)])
def test_page_size(max_results, expected):
    assert t._page_size(max_results, 50) == expected


@pytest.mark.parametrize(
    ("max_results", "message"), [(0, "must be a positive integer"), (51, "must be at most 50, but got 51")]
)
def test_page_size_refused(max_results, message):
    with pytest.raises(AiotrackError, match=message):
        t._page_size(max_results, 50, ", but got 51")


async def test_search_pages_through_with_tokens(service):
    for i in range(5):
        await service.create_experiment(f"e{i}", None, [])
    seen, token, pages = [], None, 0
    while True:
        page, token = await service.search_experiments(None, 2, None, ["name"], token)
        seen += [e["name"] for e in page]
        pages += 1
        if token is None:
            break
    assert seen == ["Default", "e0", "e1", "e2", "e3", "e4"]
    assert pages == 3
    page, token = await service.search_experiments(None, 2, None, ["name"], make_token(5))
    assert [e["name"] for e in page] == ["e4"] and token is None


async def test_metric_history_tokens_carry_the_cursor_and_mlflow_offset_tokens_still_page(service):
    run_id = (await service.create_run("0", "me", 1, [], "r"))["info"]["run_id"]
    points = [{"key": "m", "value": float(i), "timestamp": 100 + i, "step": i} for i in range(9)]
    await service.log_batch(run_id, points, [], [])
    page, token = await service.get_metric_history(run_id, "m", 4, None)
    assert [m["step"] for m in page] == [0, 1, 2, 3] and token is not None
    decoded = orjson.loads(base64.b64decode(token))
    assert decoded == {"offset": 4, "after": [103, 3, 3.0, 0]}  # MLflow's offset, and where the page ended
    page2, token2 = await service.get_metric_history(run_id, "m", 4, token)
    assert [m["step"] for m in page2] == [4, 5, 6, 7]
    by_offset, _ = await service.get_metric_history(run_id, "m", 4, make_token(4))  # as MLflow writes it
    assert by_offset == page2
    last, none = await service.get_metric_history(run_id, "m", 4, token2)
    assert [m["step"] for m in last] == [8] and none is None


@pytest.mark.parametrize(
    "after", [[1, 2, 3.0], [1, 2, 3.0, 2], ["1", 2, 3.0, 0], [1, 2, "x", 0], [True, 2, 3.0, 0], {"a": 1}]
)
async def test_a_history_token_with_a_bad_cursor_is_refused(service, after):
    run = await service.create_run("0", "me", 1, [], "r")
    token = base64.b64encode(orjson.dumps({"offset": 4, "after": after})).decode()
    with pytest.raises(AiotrackError, match="Invalid page token") as caught:
        await service.get_metric_history(run["info"]["run_id"], "m", 4, token)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(
    ("max_results", "page_token", "message"),
    [(0, None, "It must be a positive integer"), (None, "garbage!", "Invalid page token")],
)
async def test_metric_history_paging_rules(service, max_results, page_token, message):
    run = await service.create_run("0", "me", 1, [], "r")
    with pytest.raises(AiotrackError, match=message):
        await service.get_metric_history(run["info"]["run_id"], "m", max_results, page_token)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"run_ids": []}, "Missing value for required parameter 'run_ids'"),
        ({"run_ids": ["r"] * 101}, "at most 100 run_ids"),
        ({"key": ""}, "metric_key"),
        ({"max_results": 0}, "max_results must be between 1 and 2500"),
        ({"max_results": 2501}, "max_results must be between 1 and 2500"),
        ({"start_step": 1}, "both must be specified"),
        ({"start_step": 5, "end_step": 1}, "end_step must be greater than start_step"),
        ({"run_ids": ["bad/id"]}, "run_ids"),
    ],
)
async def test_bulk_interval_rules(service, kwargs, message):
    args = {"run_ids": ["r1"], "key": "m", "start_step": None, "end_step": None, "max_results": None} | kwargs
    with pytest.raises(AiotrackError, match=message):
        await service.get_metric_history_bulk_interval(**args)
