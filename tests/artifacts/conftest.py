from __future__ import annotations

import pytest

from aiotrack.artifacts.local import LocalArtifactRepository
from aiotrack.artifacts.s3 import S3ArtifactRepository


@pytest.fixture(params=["local", "s3"])
async def repo(request, tmp_path):
    """An empty, started repository on local disk and on S3 (moto over real HTTP)."""
    if request.param == "local":
        r = LocalArtifactRepository(tmp_path / "root")
    else:
        s3 = request.getfixturevalue("s3_env")
        r = S3ArtifactRepository(f"s3://{s3.create_bucket()}/some/prefix")
    await r.start()
    yield r
    await r.close()
