"""X-Request-Id: an acceptable incoming id is kept and echoed, anything else replaced; every
response carries one, errors and refusals included; handlers' log lines see it."""

from __future__ import annotations

import pytest

from aiotrack.config import Settings
from aiotrack.http.app import create_app
from aiotrack.http.middleware.request_id import MAX_LENGTH, accepted_request_id


@pytest.mark.parametrize(
    "value,accepted",
    [
        ("4bf92f3577b34da6a3ce929d0e0e4736", True),
        ("Root=1-5759e988-bd862e3fe1be46a994272793", True),
        ("req:a/b+c@d_e.f~", False),  # ~ is not in the set
        ("x" * MAX_LENGTH, True),
        ("x" * (MAX_LENGTH + 1), False),
        ("", False),
        ("two words", False),
        ('quote"', False),
        ("new\nline", False),
        ("tab\there", False),
        ("\u00e9t\u00e9", False),
    ],
)
def test_which_incoming_ids_are_kept(value: str, accepted: bool) -> None:
    assert (accepted_request_id(value) == value) is accepted


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    settings = Settings(backend_store_uri=f"sqlite:///{tmp_path}/r.db", artifacts_destination=str(tmp_path / "art"))
    return await aiohttp_client(create_app(settings))


async def test_an_acceptable_id_is_echoed(client) -> None:
    resp = await client.get("/health", headers={"X-Request-Id": "abc-123"})
    assert resp.headers["X-Request-Id"] == "abc-123"


@pytest.mark.parametrize("sent", [None, "bad id", "y" * 500])
async def test_other_ids_are_replaced_by_a_fresh_one(client, sent) -> None:
    headers = {"X-Request-Id": sent} if sent is not None else {}
    first = (await client.get("/health", headers=headers)).headers["X-Request-Id"]
    second = (await client.get("/health", headers=headers)).headers["X-Request-Id"]
    assert first != second and len(first) == 32 and int(first, 16) >= 0


async def test_errors_refusals_and_unknown_paths_carry_the_id(client) -> None:
    missing = await client.get("/api/2.0/mlflow/experiments/get?experiment_id=999", headers={"X-Request-Id": "e1"})
    assert missing.status == 404 and missing.headers["X-Request-Id"] == "e1"
    refused = await client.get(
        "/api/2.0/mlflow/experiments/search", headers={"Host": "evil.test", "X-Request-Id": "e2"}
    )
    assert refused.status == 403 and refused.headers["X-Request-Id"] == "e2"
    unknown = await client.get("/no/such/page", headers={"X-Request-Id": "e3"})
    assert unknown.status == 404 and unknown.headers["X-Request-Id"] == "e3"
