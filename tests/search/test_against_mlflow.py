"""Differential test: every filter here is parsed by MLflow 3.x (the reference, when installed)
and by aiotrack; both must accept it with the same result, or both must reject it."""

from __future__ import annotations

import pytest

from aiotrack.errors import AiotrackError
from aiotrack.search import EXPERIMENTS, RUNS, parse_filter


@pytest.fixture(scope="module")
def mlflow_search():
    """MLflow's search parsers, imported when the first test here runs rather than at collection
    (importing mlflow costs ~2 s of CPU in every process that collects this file)."""
    return pytest.importorskip("mlflow.utils.search_utils")


RUN_FILTERS = """\
metrics.x > -1
metrics.x > +1
metrics.x > 1e5
metrics.x > .5
metrics.x = 'a'
params.x = "a b"
params.x = 'it''s'
tags.'a' = 'x'
tags."a.b" = 'x'
tags.`a.b` = 'x'
`tags`.x = 'x'
tags.x = x
run_id in ('a')
run_id IN ('a', "b")
run_id IN ()
run_id IN (1, 2)
status IN ('a','b')
run_id not in ('a','b')
tags.x is not null
params.x IS NULL
metrics.x IS NULL
status IS NULL
metrics.x > 1 OR metrics.y < 2
metrics.x > 1 and metrics.y < 2
metrics.x > 1 AND
attributes.run name = 'x'
`Run name` = 'x'
created > 5
Created > 5.5
start_time > '5'
lifecycle_stage = 'active'
attributes.experiment_id = '1'
run.status = 'FINISHED'
Metrics.x > 1
parameter.x = 'a'
datasets.digest IN ('a')
datasets.context LIKE 'tr%'
datasets.profile = 'a'
datasets.name > 'a'
metrics.x LIKE 1
params.x > 'a'
params.x IN ('a')
status like 'F%'
start_time LIKE 5
metrics.x <> 1
(metrics.x > 1)
metrics.x > 1;
metrics.`my metric` >= 0.5
metrics.my metric >= 0.5
metrics.a.b > 1
metrics.1x > 1
metrics.a-b > 1
params.select = 'x'
metrics.x >= 0x10
params.x = 'unterminated
run_id IN ('a',)
run_id IN ['a']
start_time >= -5
params.x = 'y' -- comment
datasets.context IS NULL
tags.x NOT NULL
metrics.x IN (1)
start_time IN (1)
run_id = 'a' AND metrics.x > 2 AND params.p LIKE 'v%' AND tags.t != 'z'"""

EXPERIMENT_FILTERS = """\
name = 'a'
attribute.name LIKE 'a%'
attributes.name = 'a'
tags.x IS NULL
name IS NULL
experiment_id = '1'
experiment_id = 1
experiment_id IN ('1', '2')
experiment_id LIKE '1'
experiment_id = 'abc'
name IN ('a')
name > 'a'
creation_time > 5
creation_time > 5.5
creation_time > '5'
params.x = 'a'
tags.x > 'a'"""


def _mlflow_runs(mlflow_search, text):
    S = mlflow_search.SearchUtils
    out = []
    for c in S.parse_search_filter(text):
        kind, key, op, value = c["type"], c["key"], c["comparator"].upper(), c["value"]
        if kind == "metric":
            S.is_metric(kind, op)
            value = float(value)
        elif kind == "parameter":
            S.is_param(kind, op)
        elif kind == "tag":
            S.is_tag(kind, op)
        elif kind == "dataset":
            S.is_dataset(kind, op)
        else:
            key = S.translate_key_alias(key)
            S.is_string_attribute(kind, key, op) or S.is_numeric_attribute(kind, key, op)
        out.append(({"parameter": "param"}.get(kind, kind), key, op, value))
    return out


def _mlflow_experiments(mlflow_search, text):
    from mlflow.exceptions import MlflowException

    E = mlflow_search.SearchExperimentsUtils
    out = []
    for c in E.parse_search_filter(text):
        kind, key, op, value = c["type"], c["key"], c["comparator"].upper(), c["value"]
        if kind == "attribute" and key == "experiment_id":
            if op not in ("=", "!=", "IN", "NOT IN"):
                raise MlflowException("invalid comparator")
            value = tuple(int(v) for v in value) if isinstance(value, tuple) else int(value)
        elif kind == "attribute" and key in E.NUMERIC_ATTRIBUTES:
            E.is_numeric_attribute(kind, key, op)
            if isinstance(value, float):
                raise MlflowException("float")
        elif kind == "attribute":
            E.is_string_attribute(kind, key, op)
            if op not in ("=", "!=", "LIKE", "ILIKE"):
                raise MlflowException("invalid comparator")
        elif op not in ("=", "!=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL"):
            raise MlflowException("invalid comparator")
        out.append((kind, key, op, value))
    return out


def _both(mlflow_search, reference, text, spec):
    from mlflow.exceptions import MlflowException

    try:
        expected = reference(mlflow_search, text)
    except (MlflowException, ValueError):
        expected = "error"
    try:
        got = [(c.kind, c.key, c.op, c.value) for c in parse_filter(text, spec)]
    except AiotrackError as exc:
        assert exc.error_code == "INVALID_PARAMETER_VALUE"
        got = "error"
    return expected, got


@pytest.mark.parametrize("text", RUN_FILTERS.splitlines())
def test_run_filters_match_mlflow(mlflow_search, text):
    expected, got = _both(mlflow_search, _mlflow_runs, text, RUNS)
    assert got == expected


@pytest.mark.parametrize("text", EXPERIMENT_FILTERS.splitlines())
def test_experiment_filters_match_mlflow(mlflow_search, text):
    expected, got = _both(mlflow_search, _mlflow_experiments, text, EXPERIMENTS)
    assert got == expected
