"""MLflow's page tokens (aiotrack/services/paging.py): base64 of ``{"offset": N}``."""

from __future__ import annotations

import base64

import pytest

from aiotrack.errors import AiotrackError
from aiotrack.services import paging


@pytest.mark.parametrize("offset", [0, 1, 1000, 2**40])
def test_round_trip(offset):
    assert paging.parse_token(paging.make_token(offset)) == offset


def test_token_is_what_mlflow_writes():
    # mlflow: base64.b64encode(json.dumps({"offset": N}).encode())
    assert base64.b64decode(paging.make_token(25)) == b'{"offset": 25}'


@pytest.mark.parametrize("token", [None, ""])
def test_no_token_is_the_first_page(token):
    assert paging.parse_token(token) == 0


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("not base64!", "could not base64-decode"),
        (_b64(b"not json"), "decoded value=not json"),
        (_b64(b"[1, 2]"), "parsed value=[1, 2]"),
        (_b64(b'{"page": 1}'), "parsed value="),
        (_b64(b'{"offset": -1}'), "non-negative integer, got -1"),
        (_b64(b'{"offset": "5"}'), "non-negative integer, got '5'"),
        (_b64(b'{"offset": true}'), "non-negative integer, got True"),
        (_b64(b'{"offset": 1.5}'), "non-negative integer, got 1.5"),
    ],
)
def test_bad_tokens_refused(token, message):
    with pytest.raises(AiotrackError) as info:
        paging.parse_token(token)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert message in info.value.message
