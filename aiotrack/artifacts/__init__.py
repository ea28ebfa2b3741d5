"""Artifact repositories: where proxied artifact bytes live (local disk, S3), streamed in chunks."""

from __future__ import annotations

import os

from aiotrack.artifacts.base import ArtifactRepository
from aiotrack.artifacts.locations import local_path, scheme
from aiotrack.errors import ConfigError


def repository_for_uri(uri: str) -> ArtifactRepository:
    """A repository for a configured location (never for a client-supplied one): a local
    directory, ``file://`` URI or ``s3://bucket/prefix``. Nothing is opened until ``start()``."""
    local = local_path(uri)
    if local is not None:
        from aiotrack.artifacts.local import LocalArtifactRepository

        return LocalArtifactRepository(os.path.abspath(local))
    if scheme(uri) == "s3":
        from aiotrack.artifacts.s3 import S3ArtifactRepository

        return S3ArtifactRepository(uri)
    raise ConfigError(
        f"Unsupported artifact location {uri!r}: aiotrack stores artifacts in a local directory "
        "(a path or file:// URI) or in S3 (s3://bucket/prefix)."
    )
