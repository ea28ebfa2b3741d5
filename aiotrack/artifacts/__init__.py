"""Artifact repositories: where proxied artifact bytes live (local disk, S3), streamed in chunks."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from aiotrack.artifacts.base import ArtifactRepository
from aiotrack.errors import ConfigError


def local_path_of(uri: str) -> str | None:
    """The absolute filesystem path of a local URI (plain path or ``file:`` URI), else None."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            return None
        return os.path.abspath(unquote(parts.path))
    if parts.scheme == "" or (len(parts.scheme) == 1 and os.name == "nt"):
        return os.path.abspath(uri)
    return None


def repository_for_uri(uri: str) -> ArtifactRepository:
    """A repository for a configured location (never for a client-supplied one): a local
    directory, ``file://`` URI or ``s3://bucket/prefix``. Nothing is opened until ``start()``."""
    local = local_path_of(uri)
    if local is not None:
        from aiotrack.artifacts.local import LocalArtifactRepository

        return LocalArtifactRepository(local)
    if urlsplit(uri).scheme == "s3":
        from aiotrack.artifacts.s3 import S3ArtifactRepository

        return S3ArtifactRepository(uri)
    raise ConfigError(
        f"Unsupported artifact location {uri!r}: aiotrack stores artifacts in a local directory "
        "(a path or file:// URI) or in S3 (s3://bucket/prefix)."
    )
