"""The filter/order_by parser: valid input -> AST, invalid input -> INVALID_PARAMETER_VALUE."""

from __future__ import annotations

import pytest

from aiotrack.errors import AiotrackError
from aiotrack.search import (
    EXPERIMENTS,
    MODEL_VERSIONS,
    REGISTERED_MODELS,
    RUNS,
    OrderBy,
    parse_filter,
    parse_order_by,
)
from aiotrack.search import (
    Comparison as C,
)

VALID = [
    ("metrics.acc > 0.5", [C("metric", "acc", ">", 0.5)]),
    ("metric.acc <= -1", [C("metric", "acc", "<=", -1.0)]),
    ("metrics.x >= 1e-5", [C("metric", "x", ">=", 1e-5)]),
    ("metrics.x != .5", [C("metric", "x", "!=", 0.5)]),
    ("metrics.`my metric` = 3", [C("metric", "my metric", "=", 3.0)]),
    ('metrics."my metric" = 3', [C("metric", "my metric", "=", 3.0)]),
    ("metrics.a.b < 2", [C("metric", "a.b", "<", 2.0)]),
    ("params.lr = '0.01'", [C("param", "lr", "=", "0.01")]),
    ('parameters.lr = "0.01"', [C("param", "lr", "=", "0.01")]),
    ("param.opt like 'a%'", [C("param", "opt", "LIKE", "a%")]),
    ("params.x = 'it''s'", [C("param", "x", "=", "it''s")]),  # MLflow keeps the text verbatim
    ('params.x = "a\'b"', [C("param", "x", "=", "a'b")]),
    ("params.x = ''", [C("param", "x", "=", "")]),
    ("params.x IS NULL", [C("param", "x", "IS NULL", None)]),
    ("tags.x is not null", [C("tag", "x", "IS NOT NULL", None)]),
    ("tags.\"mlflow.runName\" ILIKE '%a'", [C("tag", "mlflow.runName", "ILIKE", "%a")]),
    ("tag.`a.b` != 'x'", [C("tag", "a.b", "!=", "x")]),
    ("`tags`.x = 'y'", [C("tag", "x", "=", "y")]),
    ("run_id IN ('a', \"b\",)", [C("attribute", "run_id", "IN", ("a", "b"))]),
    ("attributes.run_id not in ('a')", [C("attribute", "run_id", "NOT IN", ("a",))]),
    ("attr.status = 'FINISHED'", [C("attribute", "status", "=", "FINISHED")]),
    ("run.user_id LIKE 'a%'", [C("attribute", "user_id", "LIKE", "a%")]),
    ("`Run name` = 'x'", [C("attribute", "run_name", "=", "x")]),
    ("created > 5", [C("attribute", "start_time", ">", 5)]),
    ("end_time <= 1.5", [C("attribute", "end_time", "<=", 1.5)]),
    ("start_time >= 1e3", [C("attribute", "start_time", ">=", 1000.0)]),
    ("datasets.name IN ('a', 'b')", [C("dataset", "name", "IN", ("a", "b"))]),
    ("dataset.context = 'training'", [C("dataset", "context", "=", "training")]),
    (
        "metrics.a > 1 AND params.b = 'x' and tags.c != 'y'",
        [C("metric", "a", ">", 1.0), C("param", "b", "=", "x"), C("tag", "c", "!=", "y")],
    ),
    ("  AND metrics.a > 1 AND ", [C("metric", "a", ">", 1.0)]),  # MLflow tolerates stray ANDs
    ("", []),
    (None, []),
]


@pytest.mark.parametrize("text,expected", VALID)
def test_valid_run_filters(text, expected):
    assert list(parse_filter(text, RUNS)) == expected


INVALID = [
    ("metrics.x > 1 OR metrics.y < 2", "Invalid clause(s) in filter string: 'OR'"),
    ("(metrics.x > 1)", "Invalid clause(s) in filter string"),
    ("metrics.x > 1;", "Invalid clause(s) in filter string: ';'"),
    ("metrics.x", "Invalid clause(s) in filter string"),
    ("metrics.my metric > 1", "Invalid clause(s) in filter string"),
    ("params.x = 'unterminated", "Invalid clause(s) in filter string"),
    ("Metrics.x > 1", "Invalid entity type 'Metrics'"),
    ("lifecycle_stage = 'active'", "Invalid attribute key 'lifecycle_stage' specified. Valid keys are"),
    ("datasets.profile = 'a'", "Invalid dataset key 'profile' specified"),
    ("metrics.x = 'a'", "Expected numeric value type for metric. Found 'a'"),
    ("params.x = 1", "Expected a quoted string value for parameter (e.g. 'my-value'). Got value 1"),
    ("tags.x = x", "Parameter value is either not quoted or unidentified quote types"),
    ("start_time > '5'", "Expected numeric value type for numeric attribute: start_time. Found '5'"),
    ("status IN ('a', 'b')", "Only ['run_id'] attributes support comparison with a list of quoted string values."),
    ("run_id IN ()", "expected a non-empty list of string values, but got empty list"),
    ("run_id IN (1, 2)", "but got different type in list: (1, 2)"),
    ("run_id = ('a', 'b')", "IN or NOT IN"),
    ("metrics.x IS NULL", "IS NULL / IS NOT NULL is only supported for tags and params, not for 'metric' 'x'"),
    ("status IS NOT NULL", "IS NULL / IS NOT NULL is only supported for tags and params"),
    ("metrics.x LIKE 1", "Invalid comparator 'LIKE' not one of"),
    ("metrics.x <> 1", "Invalid comparator '<>' not one of"),
    ("params.x > 'a'", "Invalid comparator '>' not one of"),
    ("datasets.name > 'a'", "Invalid comparator '>' not one of"),
    ("start_time LIKE 5", "Invalid comparator 'LIKE' not one of"),
    ("params.x = 'a\x00'", "NUL"),
]


@pytest.mark.parametrize("text,message", INVALID)
def test_invalid_run_filters(text, message):
    with pytest.raises(AiotrackError) as info:
        parse_filter(text, RUNS)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert message in info.value.message


def test_experiment_filters():
    assert parse_filter("name ILIKE '%a%' AND tags.t IS NULL AND experiment_id IN ('1', '2')", EXPERIMENTS) == (
        C("attribute", "name", "ILIKE", "%a%"),
        C("tag", "t", "IS NULL", None),
        C("attribute", "experiment_id", "IN", (1, 2)),
    )
    assert parse_filter("creation_time >= 5", EXPERIMENTS) == (C("attribute", "creation_time", ">=", 5),)
    for text, message in [
        ("attributes.name = 'a'", "Valid entity types are ('attribute', 'tag', 'tags')"),
        ("experiment_id = 'x'", "Invalid experiment ID 'x'"),
        ("experiment_id > '1'", "Invalid comparator for experiment_id: >"),
        ("name IN ('a')", "Only ['experiment_id'] attributes support"),
        ("creation_time > 5.5", "Invalid value for numeric attribute 'creation_time': '5.5'"),
        ("name IS NULL", "only supported for tags, not for attribute 'name'"),
    ]:
        with pytest.raises(AiotrackError) as info:
            parse_filter(text, EXPERIMENTS)
        assert message in info.value.message, text


def test_registry_filters():
    assert parse_filter("name IN ('a') AND tags.k LIKE 'v%'", REGISTERED_MODELS) == (
        C("attribute", "name", "IN", ("a",)),
        C("tag", "k", "LIKE", "v%"),
    )
    assert parse_filter("version_number >= '3' AND source_path = 's'", MODEL_VERSIONS) == (
        C("attribute", "version_number", ">=", 3),
        C("attribute", "source_path", "=", "s"),
    )
    with pytest.raises(AiotrackError):
        parse_filter("tags.k IS NULL", REGISTERED_MODELS)


ORDERS = [
    ("metrics.acc", OrderBy("metric", "acc", True)),
    ("metrics.acc DESC", OrderBy("metric", "acc", False)),
    ("metric.acc desc", OrderBy("metric", "acc", False)),
    ("metrics.`my metric` ASC", OrderBy("metric", "my metric", True)),
    ('tags."mlflow.runName" DESC', OrderBy("tag", "mlflow.runName", False)),
    ("params.lr", OrderBy("param", "lr", True)),
    ("start_time", OrderBy("attribute", "start_time", True)),
    ("Created DESC", OrderBy("attribute", "start_time", False)),
    ("attributes.run_name", OrderBy("attribute", "run_name", True)),
    (" run_id  ASC ", OrderBy("attribute", "run_id", True)),
]


@pytest.mark.parametrize("text,expected", ORDERS)
def test_order_by(text, expected):
    assert parse_order_by([text], RUNS) == (expected,)


@pytest.mark.parametrize(
    "clauses,message",
    [
        (["metrics.x DOWN"], "Invalid ordering key in order_by clause 'metrics.x DOWN'."),
        (["metrics.x DESC ASC"], "Could not be parsed."),
        (["metrics.x, metrics.y"], "Could not be parsed."),
        ([""], "Could not be parsed."),
        (["experiment_id"], "Invalid attribute key 'experiment_id' specified"),
        (["datasets.name"], "Invalid identifier type 'dataset'"),
        (["metrics.a", "metric.a DESC"], "`order_by` contains duplicate fields"),
        (["created", "start_time"], "`order_by` contains duplicate fields"),
    ],
)
def test_invalid_order_by(clauses, message):
    with pytest.raises(AiotrackError) as info:
        parse_order_by(clauses, RUNS)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert message in info.value.message


def test_experiment_and_registry_order_by():
    assert parse_order_by(["name DESC", "attribute.experiment_id"], EXPERIMENTS) == (
        OrderBy("attribute", "name", False),
        OrderBy("attribute", "experiment_id", True),
    )
    with pytest.raises(AiotrackError, match="Invalid order_by entity: tag"):
        parse_order_by(["tags.x"], EXPERIMENTS)
    assert parse_order_by(["timestamp DESC"], REGISTERED_MODELS) == (
        OrderBy("attribute", "last_updated_timestamp", False),
    )
    with pytest.raises(AiotrackError, match="Invalid order by key 'version'"):
        parse_order_by(["version"], REGISTERED_MODELS)
