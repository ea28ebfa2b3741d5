"""MLflow's search language compiled to SQL, executed on SQLite and PostgreSQL.

The expected run sets and orders were derived from MLflow 3.17's SQL store semantics
(mlflow/store/tracking/sqlalchemy_store.py): see aiotrack/stores/sql/search_sql.py.
"""

from __future__ import annotations

import pytest

from aiotrack.errors import AiotrackError
from aiotrack.stores.base import Page
from aiotrack.stores.sql.search_sql import experiments_query, runs_query

MAX = 1.7976931348623157e308
NAN = "nan"

# run_uuid: (experiment_id, name, user_id, status, start, end, lifecycle)
RUNS = {
    "r1": (1, "alpha", "alice", "FINISHED", 100, 200, "active"),
    "r2": (1, "beta", "bob", "RUNNING", 200, None, "active"),
    "r3": (1, "gamma", "alice", "FAILED", 300, 400, "active"),
    "r4": (1, "alpha2", "carol", "FINISHED", 300, 350, "active"),
    "r5": (1, None, None, "FINISHED", 50, 60, "active"),
    "r6": (1, "delta", "dave", "KILLED", 150, 160, "active"),
    "r7": (1, "deleted-run", "alice", "FINISHED", 500, 510, "deleted"),
    "r8": (2, "other", "alice", "FINISHED", 600, 610, "active"),
}
METRICS = {
    "r1": {"acc": 0.9, "loss": 0.1},
    "r2": {"acc": 0.5, "loss": NAN},
    "r3": {"acc": MAX, "my metric": 3.0},
    "r4": {"acc": -MAX, "loss": 0.0},
    "r7": {"acc": 1.0},
    "r8": {"acc": 1.0},
}
PARAMS = {
    "r1": {"lr": "0.01", "opt": "adam"},
    "r2": {"lr": "0.1"},
    "r3": {"opt": "sgd"},
    "r4": {"lr": "0.001", "opt": "Adam"},
}
TAGS = {
    "r1": {"team": "Vision", "my tag": "x", "rank": "c"},
    "r2": {"team": "nlp", "rank": "a"},
    "r3": {"rank": "b"},
    "r4": {"team": "vision"},
}
# dataset_uuid: (name, digest); inputs: (run, dataset, context)
DATASETS = {"d1": ("iris", "abc"), "d2": ("wine", "def")}
INPUTS = [("r6", "d1", "training"), ("r6", "d2", "eval"), ("r1", "d1", "eval")]
DEFAULT_ORDER = ["r3", "r4", "r2", "r6", "r1", "r5"]


@pytest.fixture
async def db(database):
    async with database.transaction() as tx:
        await tx.executemany(
            "INSERT INTO experiments (experiment_id, name, lifecycle_stage, creation_time, last_update_time)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (1, "exp-a", "active", 1000, 5000),
                (2, "exp-b", "active", 2000, 4000),
                (3, "Exp-C", "deleted", 3000, 3000),
                (4, "exp-d", "active", 2000, None),
            ],
        )
        await tx.executemany(
            "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)",
            [(1, "team", "vision"), (1, "k", "v"), (2, "team", "nlp")],
        )
        await tx.executemany(
            "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, end_time,"
            " lifecycle_stage, artifact_uri) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(rid, *row, f"s3://b/{rid}") for rid, row in RUNS.items()],
        )
        rows = []
        for rid, ms in METRICS.items():
            for key, v in ms.items():
                rows.append((rid, key, 0, 1, 0.0 if v == NAN else float(v), 1 if v == NAN else 0))
        await tx.executemany(
            "INSERT INTO latest_metrics (run_uuid, key, step, timestamp, value, is_nan) VALUES (?, ?, ?, ?, ?, ?)", rows
        )
        await tx.executemany(
            "INSERT INTO params (run_uuid, key, value) VALUES (?, ?, ?)",
            [(rid, k, v) for rid, ps in PARAMS.items() for k, v in ps.items()],
        )
        tags = [(rid, k, v) for rid, ts in TAGS.items() for k, v in ts.items()]
        tags += [(rid, "mlflow.runName", row[1]) for rid, row in RUNS.items() if row[1] is not None]
        await tx.executemany("INSERT INTO tags (run_uuid, key, value) VALUES (?, ?, ?)", tags)
        await tx.executemany(
            "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, dataset_source_type, dataset_source)"
            " VALUES (?, 1, ?, ?, 'local', '{}')",
            [(d, n, g) for d, (n, g) in DATASETS.items()],
        )
        for n, (rid, did, ctx) in enumerate(INPUTS):
            await tx.execute(
                "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id)"
                " VALUES (?, 'DATASET', ?, 'RUN', ?)",
                (f"i{n}", did, rid),
            )
            await tx.execute(
                "INSERT INTO input_tags (input_uuid, name, value) VALUES (?, 'mlflow.data.context', ?)", (f"i{n}", ctx)
            )
    return database


async def search(db, filter_string=None, order_by=None, *, view="ACTIVE_ONLY", exps=(1,), limit=1000, offset=0):
    sql, params = runs_query(
        db.dialect,
        Page(filter_string, order_by or [], limit, offset),
        columns="runs.run_uuid",
        experiment_ids=list(exps),
        run_view_type=view,
    )
    return [r[0] for r in await db.fetch(sql, params)]


FILTERS = [
    (None, DEFAULT_ORDER),
    ("", DEFAULT_ORDER),
    ("metrics.acc > 0.6", ["r3", "r1"]),
    ("metrics.acc >= 0.5", ["r3", "r2", "r1"]),
    ("metric.acc < 0", ["r4"]),
    ("metrics.acc > 1e308", ["r3"]),
    ("metrics.loss = 0", ["r4"]),  # the NaN stored as 0 must not match
    ("metrics.loss != 0", ["r2", "r1"]),  # NaN satisfies !=
    ("metrics.loss != 0.1", ["r4", "r2"]),
    ("metrics.loss > -1", ["r4", "r1"]),
    ("metrics.missing != 1", []),
    ("metrics.`my metric` = 3", ["r3"]),
    ('metrics."my metric" >= 3', ["r3"]),
    ("params.lr = '0.01'", ["r1"]),
    ('params.lr = "0.01"', ["r1"]),
    ("params.lr != '0.01'", ["r4", "r2"]),  # runs without the param are excluded
    ("params.opt LIKE 'a%'", ["r1"]),  # LIKE is case-sensitive
    ("params.opt ILIKE 'a%'", ["r4", "r1"]),
    ("param.opt like 'A_am'", ["r4"]),
    ("params.lr IS NULL", ["r3", "r6", "r5"]),
    ("params.lr IS NOT NULL", ["r4", "r2", "r1"]),
    ("tags.team = 'vision'", ["r4"]),
    ("tags.team ILIKE 'VISION'", ["r4", "r1"]),
    ("tags.`my tag` = 'x'", ["r1"]),
    ("tags.\"mlflow.runName\" = 'beta'", ["r2"]),
    ("tags.team is null", ["r3", "r6", "r5"]),
    ("attributes.run_name = 'alpha'", ["r1"]),
    ("run_name LIKE 'alpha%'", ["r4", "r1"]),
    ("run_name ILIKE 'ALPHA_'", ["r4"]),
    ("`Run name` = 'delta'", ["r6"]),
    ("run_name != 'alpha'", ["r3", "r4", "r2", "r6"]),
    ("status = 'FINISHED'", ["r4", "r1", "r5"]),
    ("attr.status != 'FINISHED'", ["r3", "r2", "r6"]),
    ("run.status LIKE 'F%'", ["r3", "r4", "r1", "r5"]),
    ("run_id IN ('r1', 'r2')", ["r2", "r1"]),
    ("run_id NOT IN ('r1', 'r2')", ["r3", "r4", "r6", "r5"]),
    ("attribute.run_id = 'r3'", ["r3"]),
    ("user_id = 'alice'", ["r3", "r1"]),
    ("user_id != 'alice'", ["r4", "r2", "r6"]),  # NULL user_id never matches
    ("user_id LIKE '%o%'", ["r4", "r2"]),
    ("artifact_uri = 's3://b/r1'", ["r1"]),
    ("start_time >= 200", ["r3", "r4", "r2"]),
    ("created < 100", ["r5"]),
    ("start_time > 149.5", ["r3", "r4", "r2", "r6"]),
    ("end_time > 300", ["r3", "r4"]),
    ("end_time != 400", ["r4", "r6", "r1", "r5"]),
    ("datasets.name = 'iris'", ["r6", "r1"]),
    ("dataset.name = 'wine'", ["r6"]),
    ("datasets.digest IN ('def')", ["r6"]),
    ("datasets.name != 'iris'", ["r6"]),
    ("datasets.name NOT IN ('wine')", ["r6", "r1"]),
    ("datasets.context = 'training'", ["r6"]),
    ("datasets.context LIKE 'ev%'", ["r6", "r1"]),
    ("datasets.name = 'iris' AND datasets.context = 'eval'", ["r6", "r1"]),  # independent, as in MLflow
    ("metrics.acc > 0 AND params.opt = 'adam' AND tags.team = 'Vision'", ["r1"]),
    ("metrics.acc > 0.6 and status = 'FAILED'", ["r3"]),
    ("params.x = 'it''s'", []),
]


@pytest.mark.parametrize("filter_string,expected", FILTERS)
async def test_run_filters(db, filter_string, expected):
    assert await search(db, filter_string) == expected


ORDERS = [
    (["metrics.acc DESC"], ["r3", "r1", "r2", "r4", "r6", "r5"]),
    (["metrics.acc ASC"], ["r4", "r2", "r1", "r3", "r6", "r5"]),
    (["metrics.loss"], ["r4", "r1", "r2", "r3", "r6", "r5"]),  # values, then NaN, then missing
    (["metrics.loss DESC"], ["r1", "r4", "r2", "r3", "r6", "r5"]),
    (["params.lr ASC"], ["r4", "r1", "r2", "r3", "r6", "r5"]),
    (["params.lr DESC"], ["r2", "r1", "r4", "r3", "r6", "r5"]),
    (["tags.rank"], ["r2", "r3", "r1", "r4", "r6", "r5"]),
    (["tags.`rank` desc"], ["r1", "r3", "r2", "r4", "r6", "r5"]),
    (["start_time ASC"], ["r5", "r1", "r6", "r2", "r3", "r4"]),
    (["start_time DESC"], DEFAULT_ORDER),
    (["created DESC"], DEFAULT_ORDER),
    (["end_time ASC"], ["r5", "r6", "r1", "r4", "r3", "r2"]),  # NULL last
    (["end_time DESC"], ["r3", "r4", "r1", "r6", "r5", "r2"]),  # NULL last
    (["run_name ASC"], ["r1", "r4", "r2", "r6", "r3", "r5"]),
    (["attributes.run_name DESC"], ["r3", "r6", "r2", "r4", "r1", "r5"]),
    (["status ASC", "start_time ASC"], ["r3", "r5", "r1", "r4", "r6", "r2"]),
    (["user_id DESC"], ["r6", "r4", "r2", "r3", "r1", "r5"]),
    (["run_id DESC"], ["r6", "r5", "r4", "r3", "r2", "r1"]),
    (["artifact_uri"], ["r1", "r2", "r3", "r4", "r5", "r6"]),
    (["params.opt", "metrics.acc DESC"], ["r4", "r1", "r3", "r2", "r6", "r5"]),
]


@pytest.mark.parametrize("order_by,expected", ORDERS)
async def test_run_order_by(db, order_by, expected):
    assert await search(db, None, order_by) == expected


async def test_filter_and_order_together(db):
    assert await search(db, "metrics.acc > -1e400", ["metrics.acc ASC"]) == ["r4", "r2", "r1", "r3"]
    assert await search(db, "params.lr IS NOT NULL", ["params.lr DESC"], limit=2) == ["r2", "r1"]


async def test_view_types_experiments_and_paging(db):
    assert await search(db, view="DELETED_ONLY") == ["r7"]
    assert await search(db, view="ALL") == ["r7", *DEFAULT_ORDER]
    assert await search(db, exps=(1, 2)) == ["r8", *DEFAULT_ORDER]
    assert await search(db, exps=()) == []
    assert await search(db, limit=2, offset=1) == ["r4", "r2"]
    assert await search(db, limit=2, offset=5) == ["r5"]
    assert await search(db, "metrics.acc = 1", view="ALL", exps=(1, 2)) == ["r8", "r7"]


@pytest.mark.parametrize(
    "filter_string,order_by",
    [
        ("metrics.acc > 1 OR metrics.loss < 1", None),
        ("lifecycle_stage = 'active'", None),
        ("status IN ('FINISHED')", None),
        ("metrics.acc LIKE '1'", None),
        ("params.opt LIKE 'a\\'", None),
        (None, ["metrics.acc", "metric.acc DESC"]),
        (None, ["datasets.name"]),
        (None, ["experiment_id"]),
        (None, ["metrics.acc UP"]),
    ],
)
async def test_invalid_search_is_invalid_parameter_value(db, filter_string, order_by):
    with pytest.raises(AiotrackError) as info:
        await search(db, filter_string, order_by)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_values_are_never_in_the_sql_text():
    from aiotrack.stores.sql.dialect import POSTGRESQL

    sql, params = runs_query(
        POSTGRESQL,
        Page(
            "params.`p'x` = 'v; DROP TABLE runs' AND metrics.m > 0.25 AND run_id IN ('a', 'b')",
            ["tags.`t t` DESC"],
            10,
            0,
        ),
        columns="runs.run_uuid",
        experiment_ids=[7],
        run_view_type="ALL",
    )
    assert "DROP" not in sql and "0.25" not in sql and "p'x" not in sql and "t t" not in sql
    assert sql.count("?") == len(params)
    assert params == ["t t", 7, "active", "deleted", "p'x", "v; DROP TABLE runs", "m", 0.25, "a", "b", 10, 0]


# --------------------------------------------------------------------------- experiments

MINE = {1, 2, 3, 4}


async def search_experiments(db, filter_string=None, order_by=None, view="ACTIVE_ONLY", limit=1000, offset=0):
    sql, params = experiments_query(
        db.dialect,
        Page(filter_string, order_by or [], limit, offset),
        columns="experiments.experiment_id",
        view_type=view,
    )
    return [int(r[0]) for r in await db.fetch(sql, params) if int(r[0]) in MINE]


EXPERIMENT_CASES = [
    (None, None, "ACTIVE_ONLY", [2, 4, 1]),
    ("name = 'exp-a'", None, "ACTIVE_ONLY", [1]),
    ("name LIKE 'exp-%'", None, "ALL", [2, 4, 1]),
    ("attribute.name ILIKE 'exp-%'", None, "ALL", [3, 2, 4, 1]),
    ("name != 'exp-a'", None, "ACTIVE_ONLY", [2, 4]),
    ("tags.team = 'vision'", None, "ACTIVE_ONLY", [1]),
    ("tags.team != 'vision'", None, "ACTIVE_ONLY", [2]),
    ("tags.team IS NULL", None, "ACTIVE_ONLY", [4]),
    ("tag.k IS NOT NULL", None, "ACTIVE_ONLY", [1]),
    ("creation_time > 1500", None, "ACTIVE_ONLY", [2, 4]),
    ("last_update_time < 4500", None, "ACTIVE_ONLY", [2]),
    ("experiment_id = '2'", None, "ACTIVE_ONLY", [2]),
    ("experiment_id IN ('1', '4')", None, "ACTIVE_ONLY", [4, 1]),
    ("experiment_id NOT IN ('1')", None, "ACTIVE_ONLY", [2, 4]),
    (None, None, "DELETED_ONLY", [3]),
    (None, ["name ASC"], "ACTIVE_ONLY", [1, 2, 4]),
    (None, ["last_update_time DESC"], "ACTIVE_ONLY", [1, 2, 4]),
    (None, ["last_update_time ASC"], "ACTIVE_ONLY", [2, 1, 4]),
    (None, ["creation_time ASC"], "ACTIVE_ONLY", [1, 4, 2]),  # tie broken by experiment_id DESC
    (None, ["experiment_id DESC"], "ACTIVE_ONLY", [4, 2, 1]),
]


@pytest.mark.parametrize("filter_string,order_by,view,expected", EXPERIMENT_CASES)
async def test_experiments(db, filter_string, order_by, view, expected):
    assert await search_experiments(db, filter_string, order_by, view) == expected


@pytest.mark.parametrize(
    "filter_string,order_by",
    [
        ("params.x = 'a'", None),
        ("experiment_id LIKE '1'", None),
        ("experiment_id = 'one'", None),
        ("creation_time > 5.5", None),
        ("name IN ('a')", None),
        (None, ["tags.team"]),
        (None, ["lifecycle_stage"]),
    ],
)
async def test_invalid_experiment_search(db, filter_string, order_by):
    with pytest.raises(AiotrackError) as info:
        await search_experiments(db, filter_string, order_by)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


# --------------------------------------------------------------------------- runs ordered by a metric
# runs_query takes another shape when the first ordering key is a metric (values, NaN and missing
# as separate parts, each cut to the page); these cases hold it to the plain query's rows and order.

METRIC_LED_ORDERS = [
    ["metrics.acc DESC"],
    ["metrics.acc"],
    ["metrics.loss"],
    ["metrics.loss DESC", "params.lr DESC"],
    ["metrics.`my metric` ASC", "tags.rank"],
    ["metrics.loss", "metrics.acc DESC", "start_time ASC"],
]


async def plain_search(db, filter_string, order_by, *, limit, offset, exps=(1,), stages=("active",)):
    from aiotrack.search import RUNS, parse_filter, parse_order_by
    from aiotrack.stores.sql.search_sql import _plain_runs_query, _RunCriteria, _Sql

    crit = _RunCriteria(list(exps), stages, parse_filter(filter_string, RUNS), parse_order_by(order_by, RUNS))
    q = _Sql(db.dialect)
    sql = _plain_runs_query(q, "runs.run_uuid", crit, limit, offset)
    return [r[0] for r in await db.fetch(sql, q.params)]


async def test_metric_led_order_is_the_plain_order_on_every_page(db):
    for order_by in METRIC_LED_ORDERS:
        for filter_string in (None, "params.lr IS NOT NULL", "metrics.acc > 0 AND tags.rank != 'z'"):
            whole = await plain_search(db, filter_string, order_by, limit=100, offset=0)
            assert await search(db, filter_string, order_by) == whole
            for limit in range(0, 7):
                for offset in range(0, 7):
                    got = await search(db, filter_string, order_by, limit=limit, offset=offset)
                    assert got == whole[offset : offset + limit], (order_by, filter_string, limit, offset)


async def test_metric_led_order_over_experiments_and_lifecycle_stages(db):
    # r7 (deleted, acc 1.0) and r8 (experiment 2, acc 1.0) tie on the value: start_time DESC
    # puts r8 (600) first; r3 (acc = float max) leads, r1 (0.9) follows.
    for order_by in (["metrics.acc DESC"], ["metrics.loss"]):
        whole = await plain_search(db, None, order_by, limit=100, offset=0, exps=(1, 2), stages=("active", "deleted"))
        assert await search(db, None, order_by, view="ALL", exps=(1, 2)) == whole
        assert await search(db, None, order_by, view="ALL", exps=(1, 2), limit=3, offset=2) == whole[2:5]
    assert (await search(db, None, ["metrics.acc DESC"], view="ALL", exps=(1, 2)))[:4] == ["r3", "r8", "r7", "r1"]


async def test_metric_led_ties_nan_and_missing_across_page_edges(db):
    # r1..r4 share the value (ties broken by start_time DESC, then run_uuid: r3 and r4 both
    # started at 300), r6 is NaN, r5 lacks the metric; the same order in both directions.
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO latest_metrics (run_uuid, key, step, timestamp, value, is_nan) VALUES (?, 'tie', 0, 1, ?, ?)",
            [("r1", 1.0, 0), ("r2", 1.0, 0), ("r3", 1.0, 0), ("r4", 1.0, 0), ("r6", 0.0, 1)],
        )
    expected = ["r3", "r4", "r2", "r1", "r6", "r5"]
    for order_by in (["metrics.tie DESC"], ["metrics.tie ASC"]):
        assert await search(db, None, order_by) == expected
        assert await search(db, None, order_by, limit=2, offset=3) == ["r1", "r6"]
        assert await search(db, None, order_by, limit=1, offset=4) == ["r6"]
        assert await search(db, None, order_by, limit=3, offset=5) == ["r5"]
        assert await search(db, "start_time < 300", order_by, limit=2) == ["r2", "r1"]


async def test_metric_led_search_reads_the_metric_index(db):
    # 2,000 runs in experiment 5; with statistics (PostgreSQL) both planners read the values part
    # from latest_metrics_key_value in the requested order, instead of sorting every run.
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO experiments (experiment_id, name) VALUES (5, 'many')")
        await tx.executemany(
            "INSERT INTO runs (run_uuid, experiment_id, status, start_time, lifecycle_stage)"
            " VALUES (?, 5, 'FINISHED', ?, 'active')",
            [(f"m{i:04d}", i) for i in range(2000)],
        )
        await tx.executemany(
            "INSERT INTO latest_metrics (run_uuid, key, step, timestamp, value, is_nan) VALUES (?, ?, 0, 1, ?, 0)",
            [(f"m{i:04d}", k, (i * 7919 % 2000) / 2000) for i in range(2000) for k in ("score", "other")],
        )
        await tx.executemany(
            "INSERT INTO params (run_uuid, key, value) VALUES (?, 'half', ?)",
            [(f"m{i:04d}", "yes" if i % 2 else "no") for i in range(2000)],
        )
    if db.dialect.name == "postgresql":
        async with db.transaction() as tx:
            await tx.execute("ANALYZE")
    sql, params = runs_query(
        db.dialect,
        Page("params.half = 'yes' AND metrics.other >= 0", ["metrics.score DESC"], 10, 0),
        columns="runs.run_uuid",
        experiment_ids=[5],
        run_view_type="ACTIVE_ONLY",
    )
    explain = "EXPLAIN QUERY PLAN " if db.dialect.name == "sqlite" else "EXPLAIN "
    plan = "\n".join(str(r[-1]) for r in await db.fetch(explain + sql, params))
    if db.dialect.name == "sqlite":
        assert "SEARCH o0 USING INDEX latest_metrics_key_value (key=?)" in plan, plan
    else:
        assert "Index Scan Backward using latest_metrics_key_value on latest_metrics o0" in plan, plan
    got = [r[0] for r in await db.fetch(sql, params)]
    scores = {f"m{i:04d}": (i * 7919 % 2000) / 2000 for i in range(2000) if i % 2}
    assert got == sorted(scores, key=lambda r: (-scores[r], -int(r[1:]), r))[:10]
