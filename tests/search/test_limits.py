"""Search complexity limits: filters and order_by lists over the limits get a clear 400."""

from __future__ import annotations

import pytest

from aiotrack.errors import AiotrackError
from aiotrack.search import EXPERIMENTS, LOGGED_MODELS, MODEL_VERSIONS, RUNS, parse_filter, parse_order_by
from aiotrack.search.limits import (
    MAX_FILTER_CLAUSES,
    MAX_FILTER_LENGTH,
    MAX_FILTER_VALUES,
    MAX_ORDER_BY_CLAUSES,
    MAX_ORDER_BY_LENGTH,
)


def _clauses(n: int) -> str:
    return " AND ".join(f"params.a{i} = 'b'" for i in range(n))


def _refused(fn, *args) -> str:
    with pytest.raises(AiotrackError) as info:
        fn(*args)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE" and info.value.status == 400
    return info.value.message


def test_clauses_up_to_the_limit_parse():
    assert len(parse_filter(_clauses(MAX_FILTER_CLAUSES), RUNS)) == MAX_FILTER_CLAUSES


@pytest.mark.parametrize("n", [MAX_FILTER_CLAUSES + 1, 1000, 20000])
def test_more_clauses_are_refused(n):
    text = _clauses(n)
    if len(text) > MAX_FILTER_LENGTH:
        assert "characters long" in _refused(parse_filter, text, RUNS)
    else:
        assert f"more than {MAX_FILTER_CLAUSES} clauses" in _refused(parse_filter, text, RUNS)


@pytest.mark.parametrize("spec", [EXPERIMENTS, MODEL_VERSIONS, LOGGED_MODELS])
def test_every_entity_has_the_clause_limit(spec):
    text = " AND ".join(f"tags.a{i} = 'b'" for i in range(MAX_FILTER_CLAUSES + 1))
    assert "clauses" in _refused(parse_filter, text, spec)


def test_long_filter_refused_before_parsing():
    text = "params.a = '" + "x" * MAX_FILTER_LENGTH + "'"
    assert f"at most {MAX_FILTER_LENGTH}" in _refused(parse_filter, text, RUNS)


def test_list_values_bounded():
    ok = "run_id IN (" + ",".join(f"'{i}'" for i in range(2000)) + ")"
    assert len(parse_filter(ok, RUNS)[0].value) == 2000
    per_list = MAX_FILTER_VALUES // 4 + 1
    text = " AND ".join("run_id IN (" + ",".join(f"'{i}'" for i in range(per_list)) + ")" for _ in range(4))
    assert len(text) <= MAX_FILTER_LENGTH
    assert f"more than {MAX_FILTER_VALUES} values" in _refused(parse_filter, text, RUNS)


def test_order_by_bounded():
    keys = [f"metrics.m{i} DESC" for i in range(MAX_ORDER_BY_CLAUSES)]
    assert len(parse_order_by(keys, RUNS)) == MAX_ORDER_BY_CLAUSES
    assert "order_by" in _refused(parse_order_by, [*keys, "metrics.extra"], RUNS)
    assert "characters" in _refused(parse_order_by, ["metrics.`" + "m" * MAX_ORDER_BY_LENGTH + "`"], RUNS)
