"""The logged-model service's rules (aiotrack/services/logged_models.py): names, statuses,
key/value lists and its own page tokens (which carry the query they page through)."""

from __future__ import annotations

import pytest

from aiotrack.errors import AiotrackError
from aiotrack.services import logged_models as lm


@pytest.mark.parametrize(
    ("name", "expected"), [(None, None), ("", None), ("model-1", "model-1"), ("with space", "with space")]
)
def test_name_accepted(name, expected):
    assert lm.validate_logged_model_name(name) == expected


@pytest.mark.parametrize("name", ["a/b", "a:b", "a.b", "50%", 'q"', "it's", 7])
def test_name_refused(name):
    with pytest.raises(AiotrackError, match="Invalid model name"):
        lm.validate_logged_model_name(name)


@pytest.mark.parametrize(
    ("status", "value"),
    [
        ("LOGGED_MODEL_STATUS_UNSPECIFIED", 0),
        ("LOGGED_MODEL_PENDING", 1),
        ("LOGGED_MODEL_READY", 2),
        ("LOGGED_MODEL_UPLOAD_FAILED", 3),
        (0, 0),
        ("3", 3),
    ],
)
def test_status_accepted(status, value):
    assert lm.parse_status(status) == value


@pytest.mark.parametrize("status", ["READY", "logged_model_ready", -1, 9, "9", True, None, 2.0])
def test_status_refused(status):
    with pytest.raises(AiotrackError, match="status"):
        lm.parse_status(status)


def test_key_values():
    items = [{"key": "a", "value": "1"}, {"key": "b", "value": None}]
    assert lm._key_values(items, "tags") == [{"key": "a", "value": "1"}, {"key": "b", "value": ""}]


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([{"value": "1"}], r"tags\[0\].key"),
        ([{"key": "", "value": "1"}], r"tags\[0\].key"),
        ([{"key": "a"}, {"key": "b", "value": 2}], r"tags\[1\].value"),
    ],
)
def test_key_values_refused(items, message):
    with pytest.raises(AiotrackError, match=message):
        lm._key_values(items, "tags")


QUERY = (["1", "2"], "name = 'x'", [{"field_name": "name", "ascending": True}])


def test_token_round_trip():
    token = lm.make_token(*QUERY, 40)
    assert lm.parse_token(token, *QUERY) == 40


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ((["1"], QUERY[1], QUERY[2]), "Experiment IDs in the page token do not match"),
        ((QUERY[0], "name = 'y'", QUERY[2]), "Filter string in the page token does not match"),
        ((QUERY[0], QUERY[1], None), "Order by in the page token does not match"),
    ],
)
def test_token_must_match_its_query(query, message):
    with pytest.raises(AiotrackError, match=message):
        lm.parse_token(lm.make_token(*QUERY, 40), *query)


@pytest.mark.parametrize("token", ["not-base64!", "bnVsbA==", "WzFd"])  # garbage, null, [1]
def test_bad_tokens_refused(token):
    with pytest.raises(AiotrackError, match="Invalid page token"):
        lm.parse_token(token, *QUERY)
