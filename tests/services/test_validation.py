"""MLflow's validation rules (aiotrack/services/validation.py), one table per rule."""

from __future__ import annotations

import math

import pytest

from aiotrack import names
from aiotrack.errors import INVALID_PARAMETER_VALUE, AiotrackError
from aiotrack.services import validation as v


def refused(fn, *args, **kwargs) -> str:
    with pytest.raises(AiotrackError) as info:
        fn(*args, **kwargs)
    assert info.value.error_code == INVALID_PARAMETER_VALUE
    return info.value.message


@pytest.mark.parametrize(
    "name",
    ["loss", "a/b", "with space", "x:y", "dots.and-dashes_1", "k" * names.MAX_ENTITY_KEY_LENGTH],
)
def test_key_accepted(name):
    assert v.validate_key(name, "key") == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (None, "A key name must be provided."),
        (5, "Expected a string."),
        ("semi;colon", "Names may only contain alphanumerics"),
        ("tab\tkey", "Names may only contain alphanumerics"),
        ("a/../b", "would resolve to 'b'"),
        ("./a", "would resolve to 'a'"),
        ("/abs", "would resolve to '/abs'"),
        ("a//b", "would resolve to 'a/b'"),
        (".", "would resolve to '.'"),
        ("k" * (names.MAX_ENTITY_KEY_LENGTH + 1), "'key' exceeds the maximum length of 250 characters"),
    ],
)
def test_key_refused(name, message):
    assert message in refused(v.validate_key, name, "key")


@pytest.mark.parametrize(
    ("value", "truncate", "expected"),
    [(None, False, None), ("abc", False, "abc"), ("abcd", True, "abc"), ("abc", True, "abc")],
)
def test_limit_length(value, truncate, expected):
    assert v.limit_length(value, 3, "value", truncate=truncate) == expected


def test_limit_length_refuses_without_truncation():
    assert (
        refused(v.limit_length, "abcd", 3, "name", truncate=False)
        == "'name' exceeds the maximum length of 3 characters"
    )


@pytest.mark.parametrize(
    ("run_id", "ok"),
    [
        ("0123abcd", True),
        ("a" * 256, True),
        ("run_with-dash", True),
        ("a" * 257, False),
        ("-starts-with-dash", False),
        ("has/slash", False),
        ("", False),
        (None, False),
        (12, False),
    ],
)
def test_run_id(run_id, ok):
    if ok:
        assert v.validate_run_id(run_id) == run_id
    else:
        refused(v.validate_run_id, run_id)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (None, "Invalid experiment name: ''"),
        ("", "Invalid experiment name: ''"),
        (7, "Invalid experiment name: 7. Expects a string."),
        ("x" * (names.MAX_EXPERIMENT_NAME_LENGTH + 1), "'name' exceeds the maximum length of 500 characters"),
    ],
)
def test_experiment_name_refused(name, message):
    assert refused(v.validate_experiment_name, name) == message


def test_experiment_name_accepted():
    assert v.validate_experiment_name("x" * names.MAX_EXPERIMENT_NAME_LENGTH) == "x" * 500


@pytest.mark.parametrize(
    ("metrics", "params", "tags", "entity"),
    [
        (names.MAX_METRICS_PER_BATCH + 1, 0, 0, "metrics"),
        (0, names.MAX_PARAMS_TAGS_PER_BATCH + 1, 0, "params"),
        (0, 0, names.MAX_PARAMS_TAGS_PER_BATCH + 1, "tags"),
        (900, 100, 1, "metrics, params, and tags"),
    ],
)
def test_batch_limits_refused(metrics, params, tags, entity):
    message = refused(v.validate_batch_limits, metrics, params, tags)
    assert "at most" in message and f" {entity}. Got " in message


def test_batch_limits_at_the_limits():
    v.validate_batch_limits(names.MAX_METRICS_PER_BATCH, 0, 0)
    v.validate_batch_limits(800, 100, 100)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, (1.0, False)),
        (-2.5, (-2.5, False)),
        ("3.25", (3.25, False)),
        (" 4 ", (4.0, False)),
        ("NaN", (0.0, True)),
        ("nan", (0.0, True)),
        (math.nan, (0.0, True)),
        ("Infinity", (names.FLOAT_MAX, False)),
        ("inf", (names.FLOAT_MAX, False)),
        ("-Infinity", (-names.FLOAT_MAX, False)),
        (math.inf, (names.FLOAT_MAX, False)),
        (-math.inf, (-names.FLOAT_MAX, False)),
    ],
)
def test_metric_value_encoding(value, expected):
    assert v.encode_metric_value(value, "value", 0) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [(None, "Missing value"), ("abc", "valid double"), (True, "valid double"), ([1], "valid double")],
)
def test_metric_value_refused(value, message):
    assert message in refused(v.encode_metric_value, value, "metrics[0].value", 123)


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (None, {}, None),
        (None, {"default": 0}, 0),
        (12, {}, 12),
        ("12", {}, 12),
        (" -7 ", {}, -7),
        (12.0, {}, 12),
        (2**63 - 1, {}, 2**63 - 1),
        (-(2**63), {}, -(2**63)),
    ],
)
def test_int64_accepted(value, kwargs, expected):
    assert v.parse_int64(value, "n", **kwargs) == expected


@pytest.mark.parametrize("value", [True, 12.5, "12.5", "x", 2**63, -(2**63) - 1, [1], {"a": 1}])
def test_int64_refused(value):
    assert refused(v.parse_int64, value, "n").startswith("Invalid value")


def test_int64_required():
    assert refused(v.parse_int64, None, "step", required=True) == "Missing value for required parameter 'step'."


@pytest.mark.parametrize(
    ("value", "shown"),
    [("a", '"a"'), (1, "1"), ({"b": 1, "a": 2}, '{"a":2,"b":1}'), (object, repr(object))],
)
def test_invalid_value_shows_the_value_as_json(value, shown):
    assert v.invalid_value("p", value) == f"Invalid value {shown} for parameter 'p' supplied."
