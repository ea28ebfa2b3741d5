from __future__ import annotations

import pytest

from aiotrack.config import Settings
from aiotrack.http.app import create_app


@pytest.fixture
def make_client(aiohttp_client, tmp_path):
    async def make(**overrides):
        settings = Settings(
            backend_store_uri=overrides.pop("backend_store_uri", f"sqlite:///{tmp_path}/http.db"),
            artifacts_destination=overrides.pop("artifacts_destination", str(tmp_path / "artifacts")),
            **overrides,
        )
        return await aiohttp_client(create_app(settings))

    return make


@pytest.fixture
async def client(make_client, store_uri):
    """The real app in-process, on each backend."""
    return await make_client(backend_store_uri=store_uri)
